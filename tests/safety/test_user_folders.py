"""Issue 13 item 1: a folder that is not a dataset is never written into, and an export never replaces a
folder holding files it did not write. Each test plants the user's files first and checks them byte for byte."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from synthkiln.addon.core.dataset import layout
from synthkiln.addon.core.dataset.status import merge_datasets
from synthkiln.addon.core.errors import DatasetError, UserError
from synthkiln.addon.core.exports.build import write_exports

from tests.helpers.cli import TINY, one_error, sk
from tests.helpers.known_dataset import make_dataset
from tests.tiny import TINY_PRESET


def plant_user_folder(root: Path) -> dict[str, str]:
    """The issue's example: a folder of the user's own that happens to use our names."""
    (root / "images").mkdir(parents=True)
    (root / "exports" / "coco").mkdir(parents=True)
    (root / "images" / "000000.png").write_bytes(b"my photo")
    (root / "exports" / "coco" / "my_labels_v3.json").write_text('{"mine": true}')
    return snapshot(root)


def snapshot(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def test_claim_output_accepts_missing_empty_and_datasets(tmp_path):
    layout.claim_output(tmp_path / "new")
    (tmp_path / "empty").mkdir()
    layout.claim_output(tmp_path / "empty")
    make_dataset(tmp_path / "ds")
    layout.claim_output(tmp_path / "ds")


def test_claim_output_refuses_a_user_folder_and_a_file(tmp_path):
    plant_user_folder(tmp_path / "mine")
    with pytest.raises(DatasetError, match="not empty and not a SynthKiln dataset"):
        layout.claim_output(tmp_path / "mine")
    (tmp_path / "file").write_text("x")
    with pytest.raises(DatasetError, match="not a folder"):
        layout.claim_output(tmp_path / "file")


def test_merge_refuses_a_user_folder(tmp_path):
    make_dataset(tmp_path / "a")
    before = plant_user_folder(tmp_path / "mine")
    with pytest.raises(DatasetError, match="not a SynthKiln dataset"):
        merge_datasets([tmp_path / "a"], tmp_path / "mine")
    assert snapshot(tmp_path / "mine") == before


def test_export_never_replaces_a_folder_holding_a_users_file(tmp_path):
    make_dataset(tmp_path)
    write_exports(tmp_path, ["coco", "yolo"], 0)
    (tmp_path / "exports" / "coco" / "my_labels_v3.json").write_text('{"mine": true}')
    before = snapshot(tmp_path / "exports")
    with pytest.raises(UserError, match="my_labels_v3.json"):
        write_exports(tmp_path, ["yolo", "coco"], 0)
    assert snapshot(tmp_path / "exports") == before          # yolo was not swapped either: all or nothing
    assert [p.name for p in (tmp_path / "exports").iterdir() if p.name.startswith(".")] == []
    (tmp_path / "exports" / "coco" / "my_labels_v3.json").unlink()
    write_exports(tmp_path, ["yolo", "coco"], 0)               # our own folders are replaced as before


def test_a_manifest_written_by_another_process_mid_claim_is_accepted(tmp_path, monkeypatch):
    """A pool's processes claim the folder at once: the manifest one of them writes between the first check
    and the scan is the job's own, not a user's file (made one run in N of test_clips_cli fail)."""
    root = tmp_path / "out"
    root.mkdir()
    scan = layout._foreign_files

    def another_process_writes_the_manifest(folder, top=True):
        (root / layout.MANIFEST).write_text("{}")
        yield from scan(folder, top)

    monkeypatch.setattr(layout, "_foreign_files", another_process_writes_the_manifest)
    layout.claim_output(root)


@pytest.mark.bpy
@pytest.mark.parametrize("workers", [1, 2])
def test_render_into_a_user_folder_is_refused_and_touches_nothing(tmp_path, workers):
    (tmp_path / "tiny.yaml").write_text(TINY_PRESET)
    before = plant_user_folder(tmp_path / "mine")
    p = sk("render", "tiny.yaml", "--frames", 2, "--out", "mine", "--workers", workers, *TINY, cwd=tmp_path)
    one_error(p, "not a SynthKiln dataset", "mine")
    assert snapshot(tmp_path / "mine") == before


def test_what_a_job_writes_before_its_manifest_is_not_foreign(tmp_path):
    """Farm job files, heartbeats and a crashed writer's temp files come before the manifest."""
    root = tmp_path / "out"
    (root / "jobs" / "slurm").mkdir(parents=True)
    (root / "jobs" / "slurm" / "synthkiln-job.json").write_text("{}")
    (root / "shards").mkdir()
    (root / "shards" / "times-host-1.tsv").write_text("")
    (root / "frames").mkdir()
    (root / "frames" / ".000003.json.999999.sk-tmp").write_text("half")
    layout.claim_output(root)
    (root / "frames" / "notes.txt").write_text("mine")
    with pytest.raises(DatasetError, match="frames/notes.txt"):
        layout.claim_output(root)


@pytest.mark.bpy
@pytest.mark.parametrize("workers", [1, 2])
def test_a_complete_dataset_of_another_seed_is_refused(tmp_path, workers):
    """Issue 13 item 8: the pool used to exit 0 here, since no child had anything left to render."""
    (tmp_path / "tiny.yaml").write_text(TINY_PRESET)
    args = ("render", "tiny.yaml", "--frames", 2, "--out", "ds", *TINY)
    assert sk(*args, "--workers", workers, cwd=tmp_path).returncode == 0
    assert sk(*args, "--workers", workers, cwd=tmp_path).returncode == 0      # a resume of the same job
    before = snapshot(tmp_path / "ds")
    one_error(sk(*args, "--workers", workers, "--seed", 99, cwd=tmp_path), "another recipe or seed")
    assert snapshot(tmp_path / "ds") == before


@pytest.mark.bpy
def test_an_hdri_that_is_not_an_image_is_named(tmp_path):
    """Issue 13 item 8: /etc/passwd as an HDRI rendered a magenta world with exit 0."""
    fake = tmp_path / "studio.hdr"
    fake.write_text("root:x:0:0:root:/root:/bin/bash\n")
    (tmp_path / "tiny.yaml").write_text(TINY_PRESET + f"    - {{type: world_hdri, name: sky, hdri: {{choice: ['{fake}']}}}}\n")
    p = sk("render", "tiny.yaml", "--frames", 1, "--out", "ds", *TINY, cwd=tmp_path)
    one_error(p, str(fake), "not a HDR image")
    assert not (tmp_path / "ds" / "frames").exists() or not list((tmp_path / "ds" / "frames").iterdir())

"""Issue 13 items 2, 3, 5 and 8 as a user meets them: `synthkiln export`, `report`, `merge` and `validate` on
hostile records and presets (made here) exit non-zero with one message naming the file, never a traceback,
and nothing outside the dataset is linked into it. Real subprocesses; no rendering."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from synthkiln.addon.core.dataset import layout

from tests.helpers.cli import one_error, sk
from tests.helpers.known_dataset import make_dataset

REC = layout.record_name(1)

# the records, plus paths that lead out of the dataset
CASES = {
    "objects-ints": (lambda r: r.update(objects=[1, 2]), "objects[0]: expected an object (a mapping), got 1"),
    "files-int": (lambda r: r["files"].update(image=5), "files.image: expected a path relative to the dataset"),
    "record-list": (lambda r: [], "expected a JSON object (a frame record), got []"),
    "bbox-string": (lambda r: r["objects"][0].update(bbox="x"), "objects[0].bbox: expected [x, y, w, h]"),
    "absolute": (lambda r: r["files"].update(image="/etc/passwd"), "files.image: '/etc/passwd' is outside the dataset"),
    "dotdot": (lambda r: r["files"].update(image="../secret.png"), "files.image: '../secret.png' is outside the "
                                                                    "dataset"),
}


def hostile(tmp_path: Path, name: str) -> Path:
    root = tmp_path / "data"
    make_dataset(root, frames=range(2))
    (tmp_path / "secret.png").write_bytes(b"not yours")
    path = root / REC
    rec = json.loads(path.read_text())
    out = CASES[name][0](rec)
    path.write_text(json.dumps(rec if out is None else out))
    return root


def nothing_from_outside(root: Path, tmp_path: Path) -> None:
    outside = [os.stat("/etc/passwd") if os.path.exists("/etc/passwd") else None, os.stat(tmp_path / "secret.png")]
    keys = {(s.st_dev, s.st_ino) for s in outside if s is not None}
    for dirpath, _, names in os.walk(root):
        for n in names:
            st = os.stat(Path(dirpath) / n)
            assert (st.st_dev, st.st_ino) not in keys, f"{Path(dirpath) / n} is a file from outside the dataset"


@pytest.mark.parametrize("name", list(CASES))
def test_export(tmp_path, name):
    root = hostile(tmp_path, name)
    one_error(sk("export", root, "--format", "coco,yolo,voc,kitti", cwd=tmp_path), f"{root / REC}: ", CASES[name][1])
    nothing_from_outside(root, tmp_path)


@pytest.mark.parametrize("name", ["objects-ints", "absolute"])
def test_report(tmp_path, name):
    root = hostile(tmp_path, name)
    one_error(sk("report", root, cwd=tmp_path), f"{root / REC}: ", CASES[name][1])


@pytest.mark.parametrize("name", ["record-list", "files-int", "dotdot"])
def test_merge(tmp_path, name):
    root = hostile(tmp_path, name)
    out = tmp_path / "merged"
    message = one_error(sk("merge", root, "--out", out, cwd=tmp_path), str(root / REC))
    assert "Traceback" not in message
    if out.exists():
        nothing_from_outside(out, tmp_path)


def test_validate_refuses_hostile_presets(tmp_path):
    bomb = ["a0: &a0 [" + ", ".join(["lol"] * 9) + "]"]
    bomb += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 9)]
    (tmp_path / "bomb.yaml").write_text("\n".join(bomb) + "\n")
    one_error(sk("validate", "bomb.yaml", cwd=tmp_path, timeout=60), "bomb.yaml:", "more than 100000 values")

    (tmp_path / "empty.yaml").write_text("# nothing yet\n")
    one_error(sk("validate", "empty.yaml", cwd=tmp_path), "empty.yaml: the preset is empty")

    (tmp_path / "hdri.yaml").write_text("extends: tabletop\nrandomizers:\n  lighting:\n"
                                        "    - {type: world_hdri, hdri: {choice: [12345]}}\n")
    one_error(sk("validate", "hdri.yaml", cwd=tmp_path), "hdri.yaml:4: randomizers.lighting[0].hdri.choice[0]: "
                                                         "12345 is not a name")

    if os.path.exists("/dev/zero"):
        (tmp_path / "zero.yaml").write_text("extends: /dev/zero\n")
        one_error(sk("validate", "zero.yaml", cwd=tmp_path, timeout=60), "zero.yaml:1: extends: /dev/zero: is not a "
                                                                        "regular file")
    (tmp_path / "top.yaml").write_text("extends: base.yaml\n")
    one_error(sk("validate", "top.yaml", cwd=tmp_path), "top.yaml:1: extends: ", "base.yaml: file not found")

"""A broken model file in an asset pool's folder, rendered by two workers: ``--strict`` stops the job with one
clear message naming the file (and writes no frame); without it the file is skipped and the job report names
it, while every frame is rendered from the good files. And the same folder through ``synthkiln assets import``
into a library .blend that a recipe then names as its source."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.helpers import cli
from tests.helpers.cli import ok

pytestmark = [pytest.mark.bpy, pytest.mark.render]

SCANS = Path(__file__).resolve().parents[1] / "asset_library" / "scans"
PRESET = """\
version: 1
categories: [{name: mug}, {name: bowl}]
scene:
  library: builtin:asset_library/tabletop.blend
  objects: [{asset: Table, collection: Stage}]
  lights: [{name: Key, type: AREA, size: 1.0}]
assets: [{name: lib, path: lib, category_from: folder}]
randomizers:
  objects:
    - {type: asset_pool, name: pool, count: 3, slots: 3}
    - {type: object_pose, name: scatter, select: {collection: Assets}, mode: surface, surface: Table,
       rotation_mode: upright}
  camera: [{type: camera_shell, name: top, look_at: [0, 0, 0], distance: 1.5, elevation: 60}]
render: {resolution: [64, 48], samples: 1}
output: {frames: 4, seed: 0}
"""


@pytest.fixture
def work(tmp_path: Path) -> Path:
    for rel in ("mug/mug.glb", "bowl/bowl.ply"):
        (tmp_path / "lib" / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(SCANS / rel, tmp_path / "lib" / rel)
    (tmp_path / "lib" / "mug" / "broken.glb").write_text("not a model")
    (tmp_path / "p.yaml").write_text(PRESET)
    return tmp_path


def test_strict_with_two_workers_stops_with_the_file_named(work):
    p = cli.sk("render", "p.yaml", "--workers", "2", "--strict", "--out", "out", cwd=work)
    assert p.returncode != 0
    errors = [ln for ln in p.stderr.splitlines() if ln.startswith("Error:")]
    assert len(errors) == 1 and str(work / "lib" / "mug" / "broken.glb") in errors[0], p.stderr
    assert "importer failed" in errors[0]
    assert not list((work / "out" / "frames").glob("*.json"))


def test_without_strict_two_workers_skip_the_file_and_the_report_names_it(work):
    from synthkiln.addon.core.dataset import jobreport
    p = ok(cli.sk("render", "p.yaml", "--workers", "2", "--out", "out", cwd=work))
    assert "skipped asset lib/mug/broken.glb: " in p.stderr and "broken.glb: Blender's importer failed" in p.stderr
    summary = jobreport.summarize(work / "out")
    assert summary["frames_done"] == 4 and list(summary["skipped_assets"]) == ["lib/mug/broken.glb"]
    assert set(summary["categories"]) == {"mug", "bowl"}
    ok(cli.sk("check", "out", cwd=work))


def test_a_library_built_by_the_cli_is_a_recipe_source(work):
    p = ok(cli.sk("assets", "import", "lib", "--library", "shelf/library.blend", cwd=work))
    assert "2 imported, 1 failed" in p.stdout and "broken.glb" in p.stderr
    listed = ok(cli.sk("assets", "list", "shelf/library.blend", cwd=work)).stdout
    assert "bowl" in listed and "mug" in listed and "2 assets" in listed
    (work / "lib.yaml").write_text(PRESET.replace("path: lib, category_from: folder", "path: shelf/library.blend")
                                   .replace("frames: 4", "frames: 2"))
    ok(cli.sk("render", "lib.yaml", "--out", "out", cwd=work))
    ok(cli.sk("check", "out", cwd=work))
    rec = json.loads((work / "out" / "frames" / "000000.json").read_text())
    shown = sorted((o["category"], o["attributes"]["asset"]) for o in rec["objects"] if not o["hidden"])
    assert shown == [("bowl", "lib/bowl"), ("mug", "lib/mug")]

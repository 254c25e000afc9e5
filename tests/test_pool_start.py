"""A pool's parent reads a .blend + --preset job without starting Blender (issue 16; the runner tier, bpy 5.0: a probing child cost
1.5 s of every pooled job's start-up). What it works out must be what the probing child, which opens the
scene and imports the preset as every worker does, reads."""

import shutil
from pathlib import Path

import pytest

from synthkiln.addon.core.recipe.model import recipe_to_data
from synthkiln.headless import rendering

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("preset, out, expected", [
    ("tabletop.yaml", None, "synthkiln_output"),          # relative: next to the .blend
    ("dashcam.yaml", None, "data/run1"),                    # output.directory "//data/run1": next to the .blend
    ("scans.yaml", "ABS", None),                           # absolute --out
])
def test_preset_job_equals_the_scene_read_in_blender(tmp_path, preset, out, expected):
    blend = tmp_path / "scenes" / "tabletop.blend"
    blend.parent.mkdir()
    shutil.copy(ROOT / "asset_library" / "tabletop.blend", blend)
    out = str(tmp_path / "abs out") if out == "ABS" else out
    path = ROOT / "presets" / preset
    if preset == "dashcam.yaml":
        path = tmp_path / "layered.yaml"
        path.write_text(f"extends: {ROOT / 'presets' / preset}\noutput:\n  directory: //data/run1\n")
    req = rendering.prepare(blend, path, frames=7, seed=3, out=out, resolution=(64, 48))
    fast_recipe, fast_out = rendering.preset_job(req)
    probed_recipe, probed_out = rendering.blend_job(req)
    assert recipe_to_data(fast_recipe) == recipe_to_data(probed_recipe)
    assert fast_out == probed_out
    assert fast_out == (blend.parent / expected if expected else Path(out))

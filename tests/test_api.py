"""The Python API (``import synthkiln``), as a pipeline TD's script uses it.

Fast tier (no Blender): the package's lazy names, recipe loading/editing/saving and its errors, render's
input checks (which fail before anything is written), and reading, exporting and checking a known dataset.
Render tier: real renders through ``synthkiln.render`` (160x120, 1 sample, 3 frames of the tiny preset),
read back with independent readers (Pillow, OpenEXR, pycocotools) and compared byte for byte with the CLI's
single-process render of the same job; a .blend source, a shard, a child's error and a failing progress
callback; and the README's example, run as written.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import synthkiln
from synthkiln.addon.core.dataset.job import Shard
from tests.helpers.cli import clean_env, ok, sk
from tests.helpers.known_dataset import CATEGORIES, frame_mask, make_dataset
from tests.tiny import MAKE_BLEND, TINY_PRESET

ROOT = Path(__file__).resolve().parents[1]
FRAMES = 3
SIZE = (160, 120)


# -- the package -------------------------------------------------------------------------------------

def test_import_is_light_and_names_are_lazy():
    """``import synthkiln`` loads neither the API nor Blender until a name is used (pytest and Blender import
    the root too); every name in ``__all__`` resolves, and nothing else does."""
    code = ("import sys, synthkiln\n"
            "assert 'synthkiln.headless.api' not in sys.modules and 'bpy' not in sys.modules\n"
            "synthkiln.load_recipe\n"
            "assert 'synthkiln.headless.api' in sys.modules and 'bpy' not in sys.modules\n")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)
    from synthkiln.headless import api
    assert synthkiln.__all__ == api.__all__
    for name in synthkiln.__all__:
        assert getattr(synthkiln, name) is getattr(api, name)
    assert set(synthkiln.__all__) <= set(dir(synthkiln))
    with pytest.raises(AttributeError):
        synthkiln.setup_module      # what pytest looks for on a package: must not import anything
    assert issubclass(synthkiln.PresetError, synthkiln.UserError)
    assert issubclass(synthkiln.DatasetError, synthkiln.UserError)
    assert issubclass(synthkiln.UserError, synthkiln.SynthKilnError)


# -- recipes -----------------------------------------------------------------------------------------

@pytest.fixture
def tiny(tmp_path) -> Path:
    p = tmp_path / "tiny.yaml"
    p.write_text(TINY_PRESET + f"output: {{frames: {FRAMES}}}\n")
    return p


def test_load_edit_save_round_trip(tiny, tmp_path):
    recipe = synthkiln.load_recipe(tiny, overrides={"output": {"seed": 9}})
    assert isinstance(recipe, synthkiln.Recipe)
    assert (recipe.output.frames, recipe.output.seed, recipe.render.resolution) == (FRAMES, 9, (64, 48))
    recipe.render.samples = 3
    recipe.output.exports = ["coco", "voc"]
    saved = synthkiln.save_recipe(recipe, tmp_path / "mine.yaml")
    again = synthkiln.load_recipe(saved)
    assert again == recipe


def test_load_recipe_errors_name_file_line_and_field(tmp_path, tiny):
    with pytest.raises(synthkiln.UserError, match="missing.yaml"):
        synthkiln.load_recipe(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text(f"extends: {tiny}\nrender:\n  samples: -4\n")
    with pytest.raises(synthkiln.PresetError) as e:
        synthkiln.load_recipe(bad)
    assert (e.value.file, e.value.line, e.value.path) == (str(bad), 3, "render.samples")
    assert str(e.value).startswith(f"{bad}:3: render.samples: ")
    with pytest.raises(synthkiln.PresetError, match="output.frames"):
        synthkiln.load_recipe(tiny, overrides={"output": {"frames": -1}})


def test_save_recipe_checks_the_edit(tiny, tmp_path):
    recipe = synthkiln.load_recipe(tiny)
    recipe.output.exports = ["coco", "cocoa"]
    with pytest.raises(synthkiln.UserError, match=r"recipe: output.exports\[1\]: unknown export format 'cocoa'"):
        synthkiln.save_recipe(recipe, tmp_path / "x.yaml")
    assert not (tmp_path / "x.yaml").exists()


# -- render's input checks: before Blender, nothing written ----------------------------------------------

@pytest.mark.parametrize("kwargs, message", [
    ({"workers": 0}, "workers=0: expected an integer >= 1"),
    ({"workers": "many"}, "workers='many': expected an integer >= 1 or 'auto'"),
    ({"frames": -2}, "frames=-2: expected an integer >= 1"),
    ({"seed": 2**31}, "seed=2147483648: expected an integer in 0..2147483647"),
    ({"resolution": "640by480"}, "resolution '640by480': expected WxH"),
    ({"resolution": (0, 10)}, "resolution (0, 10): expected width and height in 1..16384"),
    ({"shard": (3, 2)}, "3/2"),
    ({"preset": "over.yaml"}, "--preset goes with a .blend SOURCE"),
])
def test_render_rejects_bad_input_before_writing(tiny, tmp_path, kwargs, message):
    out = tmp_path / "out"
    with pytest.raises(synthkiln.UserError, match=re.escape(message)):
        synthkiln.render(tiny, out, **kwargs)
    assert not out.exists()


def test_render_rejects_unwritable_output_and_bad_recipe(tiny, tmp_path):
    (tmp_path / "file").write_text("")
    with pytest.raises(synthkiln.UserError, match=r"out .*file/out: .*file is not a folder"):
        synthkiln.render(tiny, tmp_path / "file" / "out")
    recipe = synthkiln.load_recipe(tiny)
    recipe.render.samples = 0
    with pytest.raises(synthkiln.UserError, match=r"recipe: render.samples: "):
        synthkiln.render(recipe, tmp_path / "out")
    with pytest.raises(synthkiln.UserError, match="file not found"):
        synthkiln.render(tmp_path / "none.blend", tmp_path / "out")
    assert not (tmp_path / "out").exists()


# -- reading, exporting, checking a dataset (no Blender) --------------------------------------------------

def test_open_dataset_reads_frames_lazily(tmp_path):
    from PIL import Image
    root = tmp_path / "ds"
    masks = make_dataset(root, frames=[0, 1, 3])
    ds = synthkiln.open_dataset(root)
    assert (len(ds), ds.indices, ds.planned) == (3, [0, 1, 3], 6)
    assert [c["name"] for c in ds.categories] == [c["name"] for c in CATEGORIES]
    assert [f.index for f in ds] == [0, 1, 3] and ds[-1].index == 3 and ds.frame(1).index == 1
    frame = ds[2]
    assert frame._arrays == {} and "record" not in vars(frame)      # nothing read yet
    assert frame.record["frame"] == 3 and frame.objects == frame.record["objects"]
    assert frame.mask.dtype == np.uint16 and np.array_equal(frame.mask, masks[3])
    assert np.array_equal(frame.mask, frame_mask(3))
    assert frame.mask is frame.mask                                 # read once
    with Image.open(root / frame.record["files"]["image"]) as im:
        assert np.array_equal(frame.image, np.asarray(im))
    assert frame.semantic.shape == frame.mask.shape and frame.depth is None
    with pytest.raises(synthkiln.DatasetError, match="frame 2 is not finished"):
        ds.frame(2)
    with pytest.raises(synthkiln.DatasetError, match="no 'normals' file"):
        frame.load("normals")
    with pytest.raises(IndexError):
        ds[3]
    with pytest.raises(synthkiln.DatasetError, match="is not a SynthKiln dataset"):
        synthkiln.open_dataset(tmp_path)


def test_export_and_check_a_known_dataset(tmp_path):
    from pycocotools.coco import COCO
    root = tmp_path / "ds"
    make_dataset(root)
    result = synthkiln.check(root)
    assert result.ok and result.problems == [] and "ok: 6 frames" in result.summary
    lines: list[str] = []
    written = synthkiln.export(synthkiln.open_dataset(root), "coco,yolo", previews=0, log=lines.append)
    assert {p.relative_to(root).parts[:2] for p in written} == {("exports", "coco"), ("exports", "yolo")}
    coco = COCO(str(root / "exports" / "coco" / "annotations.json"))
    assert len(coco.getImgIds()) == 6
    with pytest.raises(synthkiln.UserError, match="formats 'jpeg'"):
        synthkiln.export(root, ["jpeg"])
    with pytest.raises(synthkiln.UserError, match="name at least one format"):
        synthkiln.export(root, [])
    (root / "masks" / "000002.png").unlink()
    result = synthkiln.check(root)
    assert not result.ok and any("000002.png" in p for p in result.problems)


# -- real renders ------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    """One API render (a Recipe edited in Python, 2 workers) and the CLI's single-process render of the
    same job, for comparison."""
    work = tmp_path_factory.mktemp("api")
    (work / "tiny.yaml").write_text(TINY_PRESET)
    recipe = synthkiln.load_recipe(work / "tiny.yaml")
    recipe.render.resolution = SIZE
    recipe.output.frames = FRAMES
    recipe.output.seed = 3
    seen: list = []
    ds = synthkiln.render(recipe, work / "api", workers=2, progress=seen.append)
    ok(sk("render", "tiny.yaml", "--frames", FRAMES, "--seed", 3, "--resolution", "x".join(map(str, SIZE)),
          "--out", "cli", "--workers", 1, cwd=work))
    return work, ds, seen


@pytest.mark.bpy
@pytest.mark.render
def test_render_progress_and_files(rendered):
    work, ds, seen = rendered
    assert isinstance(ds, synthkiln.Dataset) and len(ds) == FRAMES and ds.path == work / "api"
    assert [p.done for p in seen] == [1, 2, 3] and {p.frame for p in seen} == {0, 1, 2}
    assert all(p.total == FRAMES and p.eta >= 0 and p.elapsed > 0 for p in seen) and seen[-1].eta == 0
    assert synthkiln.check(ds).ok


@pytest.mark.bpy
@pytest.mark.render
def test_render_equals_the_cli_single_process_render(rendered):
    work, ds, _ = rendered
    for name in ("frames", "images", "masks", "depth"):
        api_files = sorted(p.name for p in (work / "api" / name).iterdir())
        assert api_files == sorted(p.name for p in (work / "cli" / name).iterdir())
        for f in api_files:
            assert (work / "api" / name / f).read_bytes() == (work / "cli" / name / f).read_bytes(), f"{name}/{f}"


@pytest.mark.bpy
@pytest.mark.render
def test_frames_read_back_with_independent_readers(rendered):
    import OpenEXR
    from PIL import Image
    from pycocotools import mask as mask_utils
    from pycocotools.coco import COCO
    work, ds, _ = rendered
    coco = COCO(str(ds.path / "exports" / "coco" / "annotations.json"))
    by_file = {img["file_name"]: img["id"] for img in coco.dataset["images"]}
    for frame in ds:
        files = frame.record["files"]
        assert frame.image.shape == (SIZE[1], SIZE[0], 3) and frame.image.dtype == np.uint8
        with Image.open(ds.path / files["image"]) as im:
            assert np.array_equal(frame.image, np.asarray(im.convert("RGB")))
        with OpenEXR.File(str(ds.path / files["depth"])) as exr:
            (depth,) = [np.asarray(c.pixels, np.float32) for c in exr.channels().values()]
        assert frame.depth.dtype == np.float32 and np.array_equal(frame.depth, depth)
        assert np.isfinite(depth).any() and depth[np.isfinite(depth)].min() > 0
        anns = coco.loadAnns(coco.getAnnIds(imgIds=by_file[Path(files["image"]).name]))
        visible = [o for o in frame.objects if o.get("area", 0) > 0]
        assert len(anns) == len(visible) > 0
        for o in visible:
            want = frame.mask == o["instance_id"]
            assert np.array_equal(mask_utils.decode(o["rle"] | {"counts": o["rle"]["counts"].encode()}) > 0, want)
        assert sorted(coco.annToMask(a).sum() for a in anns) == sorted(o["area"] for o in visible)


@pytest.mark.bpy
@pytest.mark.render
def test_render_again_resumes_and_shard_renders_its_share(rendered):
    work, ds, _ = rendered
    before = {p.name: p.stat().st_mtime_ns for p in (ds.path / "frames").iterdir()}
    seen: list = []
    again = synthkiln.render(work / "tiny.yaml", ds.path, frames=FRAMES, seed=3, resolution=SIZE, progress=seen.append)
    assert seen == [] and len(again) == FRAMES
    assert {p.name: p.stat().st_mtime_ns for p in (ds.path / "frames").iterdir()} == before
    part = synthkiln.render(work / "tiny.yaml", work / "shard", frames=FRAMES, seed=3, resolution=SIZE, shard=(1, 2))
    share = list(Shard(1, 2).frames(FRAMES))
    assert part.indices == share and 0 < len(share) < FRAMES
    for i in share:
        assert (part.path / "frames" / f"{i:06d}.json").read_bytes() == (ds.path / "frames" / f"{i:06d}.json").read_bytes()


@pytest.mark.bpy
@pytest.mark.render
def test_blend_source_takes_its_frame_count_from_the_scene(tmp_path):
    (tmp_path / "two.yaml").write_text(TINY_PRESET + "output: {frames: 2, seed: 4}\n")
    subprocess.run([sys.executable, "-c", MAKE_BLEND, tmp_path / "two.yaml", tmp_path / "scene.blend"],
                   check=True, cwd=tmp_path, env=clean_env(), capture_output=True)
    ds = synthkiln.render(tmp_path / "scene.blend", tmp_path / "out")
    assert ds.indices == [0, 1] and ds.planned == 2 and ds.manifest["seed"] == 4
    assert synthkiln.check(ds).ok


@pytest.mark.bpy
@pytest.mark.render
def test_a_childs_error_is_one_user_error(tmp_path, tiny):
    preset = tmp_path / "surface.yaml"
    preset.write_text(f"extends: {tiny}\nrandomizers:\n  objects:\n"
                      "    - {type: object_pose, name: scatter, mode: surface, surface: Tabel}\n")
    with pytest.raises(synthkiln.UserError) as e:
        synthkiln.render(preset, tmp_path / "out")
    assert f"{preset}:4: randomizers.objects[0].surface: no object named 'Tabel'" in str(e.value)
    assert not list((tmp_path / "out").glob("frames/*.json"))


@pytest.mark.bpy
@pytest.mark.render
def test_a_failing_progress_callback_stops_the_children(tmp_path, tiny):
    out = tmp_path / "out"

    def stop(p):
        raise RuntimeError("stop here")

    with pytest.raises(RuntimeError, match="stop here"):
        synthkiln.render(tiny, out, resolution=(64, 48), frames=10, workers=2, progress=stop)
    done = sorted((out / "frames").glob("*.json"))
    time.sleep(1.0)                     # no child left behind: nothing more appears
    assert sorted((out / "frames").glob("*.json")) == done and 1 <= len(done) < 10
    ds = synthkiln.render(tiny, out, resolution=(64, 48), frames=10)       # resumes
    assert len(ds) == 10 and synthkiln.check(ds).ok


def _readme_example() -> str:
    text = (ROOT / "README.md").read_text()
    section = text[text.index("## Python API"):]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


@pytest.mark.bpy
@pytest.mark.render
def test_readme_example_runs(tmp_path):
    """The README's example, run as written from a checkout's root (its preset path is relative to it)."""
    code = _readme_example()
    assert 10 <= len(code.strip().splitlines()) <= 20
    (tmp_path / "presets").symlink_to(ROOT / "presets")
    p = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=clean_env(), capture_output=True, text=True,
                       timeout=600)
    assert p.returncode == 0, p.stdout + p.stderr
    assert synthkiln.check(tmp_path / "out" / "tabletop").ok
    assert json.loads((tmp_path / "out" / "tabletop" / "synthkiln.json").read_text())["seed"] == 7

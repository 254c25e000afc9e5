"""The ``synthkiln`` CLI, run as a real subprocess (``python -m synthkiln``) from a scratch working folder.

What a user or a farm job sees: exit status, one clear message on stderr (file, line, field path,
what was expected), never a traceback, nothing written on bad input; and for good input a dataset that
resumes, shards and reproduces byte for byte.

Speed: every render is tiny (64x48, 1 sample, 1-4 frames) and the rendered datasets are shared. The
renders start together, with the module's first test, in a module fixture (``jobs``) on a small thread
pool, so they overlap with each other and with the bad-input tests; each test waits only for the dataset
it reads. The shared preset (``base.yaml``) extends the bundled ``presets/tabletop.yaml`` and keeps all
but the world HDRI, with which Cycles rebuilds its importance map every frame (about 2 s per frame at any
resolution); the .blend tests keep the full tabletop lighting, HDRI included.
"""

from __future__ import annotations

import filecmp
import json
import os
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import SimpleNamespace

import pytest

from tests.helpers.cli import TINY, clean_env as _env, ok, one_error, sk
from tests.tiny import BALANCED_PRESET, TABLETOP, TINY_PRESET

ROOT = Path(__file__).resolve().parents[1]
BASE = TINY_PRESET


def snapshot(root: Path) -> dict[str, tuple[int, bytes]]:
    """Every file under root: (mtime_ns, bytes)."""
    return {str(p.relative_to(root)): (p.stat().st_mtime_ns, p.read_bytes())
            for p in sorted(root.rglob("*")) if p.is_file()}


def records(root: Path) -> dict[int, bytes]:
    return {int(p.stem): p.read_bytes() for p in sorted((root / "frames").glob("*.json"))}


def same_files(a: Path, b: Path, names: list[str]) -> None:
    for n in names:
        assert filecmp.cmp(a / n, b / n, shallow=False), f"{a / n} differs from {b / n}"


# -- bad input, found before Blender starts ----------------------------------------------------------

BAD_PRESETS = {
    # name: (body after the extends line, fragments of the message: line, field path, value, expectation)
    "unknown_field": ("render: {resolutoin: [64, 48]}\n",
                      [":2:", "render.resolutoin", "unknown field", "did you mean 'resolution'"]),
    "wrong_type": ("render:\n  samples: many\n",
                   [":3:", "render.samples", "'many'", "expected an integer"]),
    "min_gt_max": ("randomizers:\n  camera:\n    - {type: camera_shell, name: orbit, distance: {uniform: [2, 1]}}\n",
                   [":4:", "randomizers.camera[0].distance", "min 2.0 is greater than max 1.0", "expected min <= max"]),
    "negative_count": ("scene:\n  objects:\n    - {asset: Mug, count: -1}\n",
                       [":4:", "scene.objects[0].count", "-1", "expected 0..1000"]),
    "unknown_randomizer": ("randomizers:\n  objects:\n    - {type: object_wobble, name: w}\n",
                           [":4:", "randomizers.objects[0].type", "'object_wobble'", "did you mean 'object_pose'",
                            "expected one of"]),
    "undeclared_category": ("labels:\n  - {select: {names: [Mug*]}, category: teapot}\n",
                            [":3:", "labels[0].category", "'teapot'", "not in categories (mug, bottle"]),
    "yaml_syntax": ("render: {resolution: [64, 48]\n", [":3:", "not valid YAML"]),
}


def _bad_preset(name: str, folder: Path) -> tuple[Path, list[str]]:
    body, fragments = BAD_PRESETS[name]
    path = folder / f"{name}.yaml"
    path.write_text(f"extends: {TABLETOP}\n{body}")
    return path, [str(path) + fragments[0], *fragments[1:]]     # file:line: first


@pytest.mark.parametrize("name", sorted(BAD_PRESETS))
def test_bad_preset_render(name, tmp_path):
    path, fragments = _bad_preset(name, tmp_path)
    out = tmp_path / "out"
    one_error(sk("render", path, "--frames", 1, "--out", out, *TINY, cwd=tmp_path), *fragments)
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]


@pytest.mark.parametrize("name", ["unknown_field", "negative_count", "yaml_syntax"])
def test_bad_preset_validate(name, tmp_path):
    """The same checks as render's (a few kinds suffice): the same message, exit 1."""
    path, fragments = _bad_preset(name, tmp_path)
    p = sk("validate", path, cwd=tmp_path)
    assert p.returncode == 1
    one_error(p, *fragments)


def test_validate_good_preset(tmp_path):
    p = ok(sk("validate", TABLETOP, cwd=tmp_path))
    assert "tabletop.yaml: ok" in p.stdout and "6 categories" in p.stdout
    assert not list(tmp_path.iterdir())


@pytest.fixture
def base(tmp_path) -> Path:
    path = tmp_path / "base.yaml"
    path.write_text(BASE)
    return path


def test_missing_preset(tmp_path):
    one_error(sk("render", "nope.yaml", "--frames", 1, "--out", tmp_path / "out", cwd=tmp_path),
              "nope.yaml", "file not found")
    one_error(sk("validate", "nope.yaml", cwd=tmp_path), "nope.yaml", "file not found")
    assert not list(tmp_path.iterdir())


def test_missing_blend(tmp_path, base):
    one_error(sk("render", "nope.blend", "--frames", 1, "--out", tmp_path / "out", cwd=tmp_path),
              "nope.blend", "not found")
    one_error(sk("render", "nope.blend", "--preset", base, "--frames", 1, "--out", tmp_path / "out", cwd=tmp_path),
              "nope.blend", "not found")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("shard, fragments", [
    ("4/4", ["--shard '4/4'", "out of range", "expected 0 <= K < N"]),
    ("1/0", ["--shard '1/0'", "expected 0 <= K < N with N >= 1"]),
    ("x", ["--shard 'x'", "expected K/N"]),
    ("SLURM_ARRAY_TASK_ID/2", ["SLURM_ARRAY_TASK_ID", "not set"]),
])
def test_bad_shard(tmp_path, base, shard, fragments):
    out = tmp_path / "out"
    one_error(sk("render", base, "--frames", 4, "--shard", shard, "--out", out, cwd=tmp_path), *fragments)
    assert not out.exists()


@pytest.mark.parametrize("resolution", ["0x10", "wxh"])
def test_bad_resolution(tmp_path, base, resolution):
    out = tmp_path / "out"
    one_error(sk("render", base, "--frames", 1, "--resolution", resolution, "--out", out, cwd=tmp_path),
              f"--resolution '{resolution}'", "expected")
    assert not out.exists()


def test_output_under_a_file(tmp_path, base):
    """--out below a regular file can never be created (holds for root too, unlike a read-only folder)."""
    blocker = tmp_path / "file.txt"
    blocker.write_text("not a folder")
    one_error(sk("render", base, "--frames", 1, "--out", blocker / "sub", cwd=tmp_path),
              f"--out {blocker / 'sub'}", "file.txt is not a folder")
    assert blocker.read_text() == "not a folder"


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root writes through chmod 0o500")
def test_output_in_read_only_folder(tmp_path, base):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        one_error(sk("render", base, "--frames", 1, "--out", ro / "out", cwd=tmp_path), "cannot write to", "ro")
        assert not list(ro.iterdir())
    finally:
        ro.chmod(0o700)


def test_preset_with_preset_source(tmp_path, base):
    one_error(sk("render", base, "--preset", base, "--frames", 1, "--out", tmp_path / "out", cwd=tmp_path),
              "--preset goes with a .blend SOURCE")


# -- bad input that only Blender can see: still one message, nothing written -------------------------

@pytest.mark.bpy
def test_missing_asset(tmp_path, base):
    preset = tmp_path / "teapot.yaml"
    preset.write_text(f"extends: {base}\nscene:\n  objects:\n    - {{asset: Mug}}\n    - {{asset: Teapot}}\n")
    out = tmp_path / "out"
    one_error(sk("render", preset, "--frames", 1, "--out", out, cwd=tmp_path),
              f"{preset}:5:", "scene.objects[1].asset", "'Teapot' not found in tabletop.blend",
              "expected one of Book, Bottle")
    assert not out.exists()


@pytest.mark.bpy
def test_missing_hdri(tmp_path, base):
    preset = tmp_path / "hdri.yaml"
    preset.write_text(f"extends: {base}\nrandomizers:\n  lighting:\n"
                      "    - {type: world_hdri, name: sky, hdri: {choice: [forest, nope]}}\n")
    out = tmp_path / "out"
    out.mkdir()          # an existing (empty) folder stays as it was
    one_error(sk("render", preset, "--frames", 1, "--out", out, cwd=tmp_path),
              f"{preset}:4:", "randomizers.lighting[0].hdri.choice[1]", "HDRI 'nope' not found",
              "expected a bundled HDRI (city, courtyard, forest")
    assert not list(out.iterdir())


@pytest.mark.bpy
def test_error_at_first_frame_writes_nothing(tmp_path, base):
    preset = tmp_path / "target.yaml"
    preset.write_text(f"extends: {base}\nrandomizers:\n  camera:\n    - {{type: camera_shell, name: orbit, target: Nope}}\n")
    out = tmp_path / "out"
    one_error(sk("render", preset, "--frames", 1, "--out", out, cwd=tmp_path),
              f"{preset}:4: randomizers.camera[0].target: no object named 'Nope'")
    assert not out.exists()


@pytest.mark.bpy
def test_missing_surface_names_file_line_and_field(tmp_path, base):
    preset = tmp_path / "surface.yaml"
    preset.write_text(f"extends: {base}\nrandomizers:\n  objects:\n"
                      "    - {type: object_pose, name: scatter, mode: surface, surface: Tabel}\n")
    out = tmp_path / "out"
    one_error(sk("render", preset, "--frames", 1, "--out", out, cwd=tmp_path),
              f"{preset}:4: randomizers.objects[0].surface: no object named 'Tabel'")
    assert not out.exists()


@pytest.mark.bpy
def test_unreadable_blend(tmp_path):
    (tmp_path / "x.blend").write_text("this is not a .blend\n")
    out = tmp_path / "out"
    one_error(sk("render", "x.blend", "--frames", 1, "--out", out, cwd=tmp_path),
              "x.blend: cannot open as a .blend", "File format is not supported")
    assert not out.exists()


# -- rendered datasets, shared ------------------------------------------------------------------------

MAKE_BLEND = """\
import sys
import bpy
from synthkiln import addon

preset, out, marker = sys.argv[1:4]
bpy.ops.wm.read_factory_settings(use_empty=True)
addon.register()
assert bpy.ops.synthkiln.import_preset(filepath=preset) == {"FINISHED"}
# a text block registered on load, and a driver that calls a function: neither may ever run in the CLI
text = bpy.data.texts.new("evil.py")
text.write(f"import pathlib\\npathlib.Path({marker!r}).write_text('text block ran')\\n")
text.use_module = True
holder = bpy.data.objects.new("DriverHolder", None)
bpy.context.scene.collection.objects.link(holder)
fcurve = holder.driver_add("location", 0)
fcurve.driver.type = "SCRIPTED"
fcurve.driver.expression = f"__import__('pathlib').Path({marker + '.driver'!r}).write_text('driver ran') and 0"
bpy.ops.wm.save_as_mainfile(filepath=out)
"""

OPEN_TRUSTED = """\
import sys
import bpy
bpy.context.preferences.filepaths.use_scripts_auto_execute = True
bpy.ops.wm.open_mainfile(filepath=sys.argv[1], use_scripts=True)
bpy.context.scene.frame_set(2)
"""


def _python(code: str, *args, cwd: Path) -> subprocess.CompletedProcess:
    p = subprocess.run([sys.executable, "-c", code, *map(str, args)], cwd=cwd, env=_env(),
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stdout + p.stderr
    return p


@pytest.fixture(scope="module")
def jobs(tmp_path_factory):
    """Every shared render, started at once on a thread pool; ``jobs.<name>.<attr>`` waits for that job."""
    work = tmp_path_factory.mktemp("cli")
    base = work / "base.yaml"
    base.write_text(BASE)

    def render(name, *args, env=None, plant=()):
        out = work / name
        for rel in plant:       # files that exist before the run
            (out / rel).parent.mkdir(parents=True, exist_ok=True)
            (out / rel).write_text("in progress elsewhere")
        p = ok(sk("render", base, "--out", out, *args, cwd=work, env=env))
        return SimpleNamespace(out=out, proc=p, planted=[out / rel for rel in plant])

    def resume():
        out = work / "resume"
        first = ok(sk("render", base, "--frames", 2, "--out", out, cwd=work))
        before = snapshot(out)
        leftover = out / "frames" / ".000001.json.123.sk-tmp"
        leftover.write_text('{"half": ')
        second = ok(sk("render", base, "--frames", 3, "--out", out, cwd=work))
        return SimpleNamespace(out=out, first=first, before=before, leftover=leftover, proc=second)

    def blend():
        src = work / "blendsrc.yaml"    # the full tabletop lighting (HDRI included), tiny
        src.write_text(f"extends: {TABLETOP}\nrender: {{resolution: [64, 48], samples: 1}}\n")
        other = work / "other.yaml"
        other.write_text(f"extends: {base}\noutput: {{seed: 5}}\nrender: {{resolution: [32, 24]}}\n"
                         f"categories:\n" + "".join(f"  - {{name: {c}}}\n" for c in
                                                    ("mug", "bottle", "bowl", "can", "book", "box", "plate")))
        scene, marker = work / "scene.blend", work / "marker"
        _python(MAKE_BLEND, src, scene, marker, cwd=work)
        for m in work.glob("marker*"):     # whatever the builder itself did: only the CLI's runs count
            m.unlink()
        plain = ok(sk("render", scene, "--frames", 1, "--out", work / "blend_plain", cwd=work))
        markers_after_plain = sorted(p.name for p in work.glob("marker*"))
        with_preset = ok(sk("render", scene, "--preset", other, "--frames", 1, "--out", work / "blend_preset",
                            cwd=work))
        markers_after_preset = sorted(p.name for p in work.glob("marker*"))
        _python(OPEN_TRUSTED, scene, cwd=work)       # the control: with scripts allowed, the traps fire
        markers_trusted = sorted(p.name for p in work.glob("marker*"))
        return SimpleNamespace(plain=plain, plain_out=work / "blend_plain", with_preset=with_preset,
                               preset_out=work / "blend_preset", markers=(markers_after_plain, markers_after_preset),
                               markers_trusted=markers_trusted)

    workers = max(2, min(4, os.cpu_count() or 2))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = {
            "full": pool.submit(render, "full", "--frames", 4),
            # another shard's frame being written into the same folder right now (a live temp file)
            "shard0": pool.submit(render, "shard0", "--frames", 4, "--shard", "0/2",
                                  plant=["frames/.000003.json.999999.sk-tmp"]),
            "shard1": pool.submit(render, "shard1", "--frames", 4, "--shard", "SLURM_ARRAY_TASK_ID/2",
                                  env=_env(SLURM_ARRAY_TASK_ID="1")),
            "resume": pool.submit(resume),
            "seed": pool.submit(render, "seed7", "--frames", 1, "--seed", 7),
            "blend": pool.submit(blend),
        }
        yield SimpleNamespace(work=work, **{k: _Lazy(f) for k, f in futures.items()})


@pytest.fixture(scope="module", autouse=True)
def _start_renders_early(request):
    """Start the shared renders with the module's first test when any selected test needs them, so they
    overlap with the bad-input tests instead of following them."""
    if any("jobs" in item.fixturenames and item.module is request.module for item in request.session.items):
        request.getfixturevalue("jobs")


class _Lazy:
    """Attribute access waits for the job (and re-raises its failure in the test that needs it)."""

    def __init__(self, future):
        self._future = future

    def __getattr__(self, name):
        return getattr(self._future.result(), name)


@pytest.mark.bpy
def test_render_progress_and_dataset(jobs):
    full = jobs.full
    lines = [ln for ln in full.proc.stderr.splitlines() if ln.startswith("frames ")]
    assert [ln.split()[1] for ln in lines] == ["1/4", "2/4", "3/4", "4/4"], full.proc.stderr
    assert "ETA" in lines[0]
    assert sorted(records(full.out)) == [0, 1, 2, 3]
    for sub, ext in (("images", "png"), ("masks", "png"), ("depth", "exr")):
        assert sorted(p.name for p in (full.out / sub).iterdir()) == [f"{i:06d}.{ext}" for i in range(4)]
    manifest = json.loads((full.out / "synthkiln.json").read_text())
    assert manifest["seed"] == 0 and manifest["frames"] == 4
    assert len(json.loads((full.out / "exports" / "coco" / "annotations.json").read_text())["images"]) == 4
    assert not list(full.out.rglob("*.sk-tmp"))
    # the job report, read back from the records: frame count and visible instances per category
    visible = sum(1 for i in range(4) for o in json.loads(records(full.out)[i])["objects"] if o["area"])
    assert f"4/4 frames, {visible} visible instances: " in full.proc.stderr


@pytest.mark.bpy
def test_resume_renders_only_missing_frames(jobs):
    from pycocotools.coco import COCO

    r = jobs.resume
    assert "frames 2/2" in r.first.stderr
    # only frame 2 was rendered the second time
    progress = [ln for ln in r.proc.stderr.splitlines() if ln.startswith("frames ")]
    assert len(progress) == 1 and progress[0].startswith("frames 3/3  (frame 2,"), r.proc.stderr
    assert "1 frames rendered, 2 already done" in r.proc.stdout
    after = snapshot(r.out)
    for name in ("frames/000000.json", "frames/000001.json", "images/000000.png", "images/000001.png",
                 "masks/000000.png", "masks/000001.png", "depth/000000.exr", "depth/000001.exr"):
        assert after[name] == r.before[name], f"{name} was rewritten"
    assert not r.leftover.exists() and not list(r.out.rglob("*.sk-tmp"))
    assert sorted(records(r.out)) == [0, 1, 2]
    assert json.loads((r.out / "synthkiln.json").read_text())["frames"] == 3
    coco = COCO(str(r.out / "exports" / "coco" / "annotations.json"))
    assert len(coco.getImgIds()) == 3


@pytest.mark.bpy
def test_shards_are_disjoint_and_match_one_process(jobs):
    full, s0, s1 = jobs.full, jobs.shard0, jobs.shard1
    assert sorted(records(s0.out)) == [0, 1]
    assert sorted(records(s1.out)) == [2, 3]      # SLURM_ARRAY_TASK_ID=1 of 2
    assert "frames 2/2" in s0.proc.stderr and "frames 2/2" in s1.proc.stderr
    for shard, frames in ((s0, (0, 1)), (s1, (2, 3))):
        same_files(full.out, shard.out, [f"{d}/{i:06d}.{e}" for i in frames
                                         for d, e in (("frames", "json"), ("masks", "png"))])
    # a shard alone is not the whole job: no exports yet
    assert not (s0.out / "exports" / "coco" / "annotations.json").exists()


@pytest.mark.bpy
def test_shard_leaves_other_shards_temp_files_alone(jobs):
    s0 = jobs.shard0
    assert sorted(records(s0.out)) == [0, 1]
    assert all(p.exists() for p in s0.planted)


@pytest.mark.bpy
def test_same_seed_same_bytes_other_seed_other_records(jobs):
    from PIL import Image

    full, r, other = jobs.full, jobs.resume, jobs.seed
    # the same preset and seed, rendered by other processes into another folder (2 frames, then 1 more)
    same_files(full.out, r.out, [f"{d}/{i:06d}.{e}" for i in range(3)
                                 for d, e in (("frames", "json"), ("masks", "png"), ("depth", "exr"))])
    for i in range(3):
        a, b = (Image.open(d / "images" / f"{i:06d}.png") for d in (full.out, r.out))
        assert a.tobytes() == b.tobytes(), f"frame {i}: RGB pixels differ"
    a, b = json.loads(records(full.out)[0]), json.loads(records(other.out)[0])
    assert b["seed"] == 7 and a["seed"] == 0
    assert a["values"] != b["values"]
    assert json.loads((other.out / "synthkiln.json").read_text())["seed"] == 7


@pytest.mark.bpy
def test_same_seed_same_image_bytes(jobs):
    same_files(jobs.full.out, jobs.resume.out, [f"images/{i:06d}.png" for i in range(3)])


@pytest.mark.bpy
def test_blend_source_alone(jobs):
    b = jobs.blend
    assert sorted(records(b.plain_out)) == [0]
    manifest = json.loads((b.plain_out / "synthkiln.json").read_text())
    assert manifest["seed"] == 0 and len(manifest["categories"]) == 6
    rec = json.loads(records(b.plain_out)[0])
    assert (rec["width"], rec["height"]) == (64, 48)
    assert "lighting/sky" in rec["values"]         # the HDRI randomizer came with the .blend's recipe
    assert any(o["area"] > 0 for o in rec["objects"])


@pytest.mark.bpy
def test_blend_source_with_preset_override(jobs):
    b = jobs.blend
    manifest = json.loads((b.preset_out / "synthkiln.json").read_text())
    assert manifest["seed"] == 5
    assert [c["name"] for c in manifest["categories"]][-1] == "plate"
    rec = json.loads(records(b.preset_out)[0])
    assert (rec["width"], rec["height"], rec["seed"]) == (32, 24, 5)


@pytest.mark.bpy
def test_blend_never_runs_embedded_scripts(jobs):
    b = jobs.blend
    assert b.markers == ([], []), "a script inside the .blend ran in the CLI"
    assert b.markers_trusted == ["marker", "marker.driver"], "the control did not fire: the test proves nothing"


@pytest.mark.bpy
def test_export(jobs, tmp_path):
    from pycocotools.coco import COCO

    ds = tmp_path / "ds"
    shutil.copytree(jobs.full.out, ds)
    ann = ds / "exports" / "coco" / "annotations.json"
    ann.write_text("stale")
    p = ok(sk("export", ds, "--format", "coco", cwd=tmp_path))
    assert str(ann) in p.stdout
    coco = COCO(str(ann))
    assert len(coco.getImgIds()) == 4

    before = snapshot(ds)
    one_error(sk("export", ds, "--format", "tfrecord", cwd=tmp_path), "--format 'tfrecord'",
              "expected one or more of coco, yolo, yolo-seg, voc, kitti, mot, kitti_tracking, video")
    assert snapshot(ds) == before


@pytest.mark.bpy
def test_export_every_format_and_check(jobs, tmp_path):
    """All formats from the CLI on a rendered job; `check` passes it, then finds each planted problem."""
    ds = tmp_path / "ds"
    shutil.copytree(jobs.full.out, ds)
    ok(sk("export", ds, "--format", "coco,yolo,yolo-seg,voc,kitti", cwd=tmp_path))
    for made in ("coco/annotations.json", "yolo/data.yaml", "yolo-seg/data.yaml", "voc/Annotations/000003.xml",
                 "kitti/training/label_2/000003.txt", "kitti/training/calib/000003.txt"):
        assert (ds / "exports" / made).is_file(), made
    p = ok(sk("check", ds, cwd=tmp_path))
    assert len(p.stdout.strip().splitlines()) == 1 and "4" in p.stdout

    (ds / "masks" / "000001.png").unlink()
    rec = json.loads((ds / "frames" / "000002.json").read_text())
    shown = next(o for o in rec["objects"] if o["area"])
    shown["area"] += 5
    (ds / "frames" / "000002.json").write_text(json.dumps(rec))
    p = sk("check", ds, cwd=tmp_path)
    assert p.returncode == 1
    problems = p.stdout + p.stderr
    assert "000001.png" in problems and "000002.json" in problems, problems


def test_export_not_a_dataset(tmp_path):
    folder = tmp_path / "plain"
    folder.mkdir()
    (folder / "notes.txt").write_text("hi")
    p = sk("export", folder, "--format", "coco", cwd=tmp_path)
    assert p.returncode == 1
    one_error(p, str(folder), "is not a SynthKiln dataset", "no synthkiln.json")
    assert sorted(p.name for p in folder.iterdir()) == ["notes.txt"]


@pytest.mark.bpy
def test_job_report_prints_balance_targets_beside_achieved(tmp_path):
    """A category and a colour balance, followed over a real job; the report reads the records back."""
    preset = tmp_path / "balanced.yaml"
    preset.write_text(BALANCED_PRESET)
    out = tmp_path / "out"
    p = ok(sk("render", preset, "--frames", 4, "--out", out, *TINY, cwd=tmp_path))
    recs = [json.loads(b) for b in records(out).values()]
    shown = [o for r in recs for o in r["objects"] if not o["hidden"]]
    assert {o["category"] for o in shown} == {"mug", "can"} and len(shown) == 12
    assert all(o["attributes"]["colour"] in ("red", "blue") for o in shown)
    table = [ln.split() for ln in p.stderr.splitlines() if ln.startswith("  category") or ln.startswith("  colour")]
    assert [row[:3] for row in table] == [["category", "can", "50.0%"], ["category", "mug", "50.0%"],
                                          ["colour", "blue", "25.0%"], ["colour", "red", "75.0%"]], p.stderr

"""Render Dataset in the background (bridge/background.py) for real: worker processes render shards of the job
from a saved copy of the file (in the ``bpy`` module a worker is this Python opening the copy, as the runner
does; in Blender it is Blender itself: tests/gui/test_gui_overlay.py). The dataset equals an in-process
render's, the open scene is untouched, and a stop leaves only complete frames, which a rerun resumes."""

import json
import time

import numpy as np
import pytest

bpy = pytest.importorskip("bpy")

from synthkiln.addon.bridge import background  # noqa: E402
from synthkiln.addon.core.dataset import layout  # noqa: E402
from synthkiln.addon.core.dataset.job import Shard  # noqa: E402
from tests.helpers.tiny_scene import tiny_tabletop  # noqa: E402

pytestmark = [pytest.mark.bpy, pytest.mark.render]
ops = bpy.ops.synthkiln
ADDON = "synthkiln.addon"
FRAMES = 4


@pytest.fixture
def tabletop(addon_registered, tmp_path):
    return tiny_tabletop(tmp_path, FRAMES)


def _start(scene, root, workers, shard=Shard()):
    from synthkiln.addon.bridge.recipe import scene_recipe
    return background.start(root, FRAMES, shard, workers, "", ADDON, scene_recipe(scene), root.parent)


def _wait(pool, until, timeout=300.0):
    end = time.monotonic() + timeout
    while not until():
        assert time.monotonic() < end, "workers took too long"
        pool.poll()
        time.sleep(0.1)


def _records(root):
    return {i: json.loads((root / layout.record_name(i)).read_text()) for i in layout.record_indices(root)}


def test_worker_shards_compose():
    shards = background.worker_shards(Shard(1, 2), 3)
    assert [(s.index, s.count) for s in shards] == [(3, 6), (4, 6), (5, 6)]
    frames = [i for s in shards for i in s.frames(20)]
    assert frames == list(Shard(1, 2).frames(20))


def test_background_workers_render_the_in_process_dataset(tabletop, tmp_path):
    scene = tabletop
    scene.synthkiln.recipe.output.directory = str(tmp_path / "inproc")
    assert ops.render_dataset() == {"FINISHED"}
    scene.synthkiln.preview_frame = 1
    before = {o.name: np.array(o.matrix_world) for o in scene.objects}

    root = tmp_path / "bg"
    scene.synthkiln.recipe.output.directory = str(root)
    pool = _start(scene, root, workers=2)
    assert len(pool.workers) == 2
    _wait(pool, lambda: not pool.running())
    assert pool.errors() == []
    written = pool.close()
    assert pool.finished_in_scope() == FRAMES and written                  # every frame, then the exports
    assert (root / "exports" / "coco" / "annotations.json").is_file()
    assert not list(root.rglob("*.sk-tmp")) and pool.folder is None        # scratch and the copy removed
    got, want = _records(root), _records(tmp_path / "inproc")
    assert got.keys() == want.keys() == set(range(FRAMES))
    for i in want:
        g, w = dict(got[i]), dict(want[i])
        assert g == w, i                  # the same record, value for value: the same frames, files and ids
    for o in scene.objects:               # the open scene was not touched
        np.testing.assert_allclose(np.array(o.matrix_world), before[o.name], atol=1e-7)


def test_a_stopped_render_keeps_whole_frames_and_resumes(tabletop, tmp_path):
    scene = tabletop
    root = tmp_path / "bg"
    scene.synthkiln.recipe.output.directory = str(root)
    pool = _start(scene, root, workers=1)
    _wait(pool, lambda: pool.finished_in_scope() >= 1 or not pool.running())
    pool.stop()
    _wait(pool, pool.reap)
    assert pool.close() == []                                # stopped: no exports
    done = layout.record_indices(root)
    assert 1 <= len(done) <= FRAMES
    assert not list(root.rglob("*.sk-tmp"))                  # nothing half-written stays
    for i in done:                                           # each finished frame has all its files
        rec = json.loads((root / layout.record_name(i)).read_text())
        assert all((root / f).is_file() for f in rec["files"].values())

    pool = _start(scene, root, workers=2)                    # resume: only the missing frames
    assert pool.start_done == len(done)
    _wait(pool, lambda: not pool.running())
    assert pool.errors() == [] and pool.close()
    assert layout.record_indices(root) == list(range(FRAMES))


def test_a_failing_worker_says_why(tabletop, tmp_path):
    scene = tabletop
    root = tmp_path / "bg"
    scene.synthkiln.recipe.output.directory = str(root)
    from synthkiln.addon.bridge.recipe import scene_recipe
    pool = background.start(root, FRAMES, Shard(), 1, '{"render": {"samples": 0}}', ADDON, scene_recipe(scene),
                            tmp_path)
    _wait(pool, lambda: not pool.running())
    errors = pool.errors()
    assert len(errors) == 1 and "frames 0-3 failed" in errors[0] and "samples" in errors[0], errors
    pool.close(kill=True)
    assert layout.record_indices(root) == []

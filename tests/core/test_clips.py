"""Clip jobs without Blender (issue 19): the recipe's shape, shards of whole clips, draws keyed by the clip,
and the motion types' maths (any frame of a clip is reproducible alone)."""

import json

import numpy as np
import pytest

from synthkiln.addon.core.dataset import layout
from synthkiln.addon.core.dataset import status as st
from synthkiln.addon.core.dataset.job import Shard, clip_of, recipe_hash, sample_frame
from synthkiln.addon.core.errors import UserError
from synthkiln.addon.core.params.rng import stream
from synthkiln.addon.core.params.schema import SchemaError
from synthkiln.addon.core.randomizers import Context, FrameState
from synthkiln.addon.core.randomizers.motion import (CameraMotion, LightMotion, ObjectMotion, catmull_rom,
                                                     random_walk)
from synthkiln.addon.core.recipe.model import recipe_from_data
from synthkiln.addon.core.recipe.preset import load_preset
from synthkiln.headless import options

CLIP_RECIPE = {
    "output": {"clips": 3, "clip_length": 5},
    "randomizers": {
        "objects": [{"type": "object_pose", "name": "pose"},
                    {"type": "object_motion", "name": "walk", "model": "random_walk"},
                    {"type": "object_motion", "name": "glide", "model": "spline", "select": {"names": ["B"]}}],
        "camera": [{"type": "camera_shell", "name": "shell"},
                   {"type": "camera_motion", "name": "hand", "model": "handheld"}],
        "lighting": [{"type": "light_motion", "name": "flicker"}],
    },
}
CONTEXTS = {"objects/pose": Context(targets=["A", "B"]), "objects/walk": Context(targets=["A", "B"]),
            "objects/glide": Context(targets=["B"]), "lighting/flicker": Context(targets=["Lamp"])}


def test_clip_job_shape():
    r = recipe_from_data(CLIP_RECIPE)
    assert r.output.frames == 15 and r.output.shard_unit() == 5
    assert [clip_of(r, i) for i in (0, 4, 5, 14)] == [(0, 0), (0, 4), (1, 0), (2, 4)]
    still = recipe_from_data({"output": {"frames": 7, "clip_length": 5}})
    assert still.output.frames == 7 and still.output.shard_unit() == 1 and clip_of(still, 6) is None
    with pytest.raises(SchemaError, match="views per scene"):
        recipe_from_data({"output": {"clips": 2}, "randomizers": {"camera": [
            {"type": "camera_select", "cameras": {"choice": ["A", "B"]}, "mode": "each"}]}})


def test_clip_fields_change_the_job_only_for_clip_jobs():
    a, b = recipe_from_data({}), recipe_from_data({"output": {"clip_length": 9}})
    assert recipe_hash(a) == recipe_hash(b)        # a still job: older datasets keep their identity
    assert recipe_hash(recipe_from_data({"output": {"clips": 2}})) != recipe_hash(a)
    assert recipe_hash(recipe_from_data({"render": {"motion_blur": True}})) != recipe_hash(a)


@pytest.mark.parametrize("total, unit, n", [(15, 5, 2), (15, 5, 3), (15, 5, 4), (12, 4, 5), (7, 3, 2), (0, 4, 2)])
def test_shards_hold_whole_clips(total, unit, n):
    seen = []
    for k in range(n):
        f = Shard(k, n, unit).frames(total)
        assert f.start % unit == 0 and (f.stop % unit == 0 or f.stop == total)
        seen += list(f)
        for c in range(3):      # the worker pool's chunks: shards of the shard, still whole clips, nested
            sub = Shard(k * 3 + c, n * 3, unit).frames(total)
            assert set(sub) <= set(f) and sub.start % unit == 0
    assert seen == list(range(total))


def test_unfinished_shards_of_a_clip_job(tmp_path):
    root = tmp_path / "d"
    layout.make_dirs(root)
    (root / layout.MANIFEST).write_text(json.dumps({"frames": 9, "seed": 0, "recipe_hash": "r",
                                                   "recipe": {"output": {"clips": 3, "clip_length": 3}}}))
    for i in (0, 1, 2, 3, 4, 5, 6, 7):            # frame 8 (clip 2) missing
        (root / layout.record_name(i)).write_text(json.dumps({"frame": i}))
    assert st.unfinished_shards(root, 2) == [1]   # clips 0 | 1-2 (by frames it would be 0-3 | 4-8 too)
    assert st.unfinished_shards(root, 3) == [2]


def draws(recipe, index, keys=()):
    return sample_frame(recipe, recipe.output.seed, index, CONTEXTS, clip_keys=keys)


def test_draws_are_keyed_by_the_clip():
    r = recipe_from_data(CLIP_RECIPE)
    frames = [draws(r, i) for i in range(15)]
    for key in ("objects/pose", "camera/shell"):      # the start state: the same on every frame of a clip
        assert all(frames[i][key] == frames[0][key] for i in range(5))
        assert frames[5][key] != frames[0][key]
    for i in range(14):                              # motion: frame t's key at t+1 is frame t+1's own state
        a, b = frames[i], frames[i + 1]
        if clip_of(r, i)[0] != clip_of(r, i + 1)[0]:
            continue
        assert a["objects/walk"]["A"]["offset"][2] == b["objects/walk"]["A"]["offset"][1]
        assert a["objects/glide"]["B"]["offset"][2] == pytest.approx(b["objects/glide"]["B"]["offset"][1])
        assert a["camera/hand"]["offset"][2] == pytest.approx(b["camera/hand"]["offset"][1])
        assert a["lighting/flicker"]["lights"]["Lamp"][2] == b["lighting/flicker"]["lights"]["Lamp"][1]
    assert frames[7] == draws(r, 7)                  # alone, in any order
    whole = draws(r, 7, keys=tuple(range(-1, 6)))    # a preview keys the whole clip: the same motion
    assert whole["objects/walk"]["A"]["offset"][1:4] == [frames[5 + t]["objects/walk"]["A"]["offset"][1]
                                                         for t in range(3)]


def test_physics_drop_during_clip_keys_its_frames():
    """physics_drop with during_clip: the clip's start poses (as when it settles) plus the clip frames the
    bridge keys with the simulated poses; off, or in a still, the values are as before and the recipe keeps
    its identity."""
    def job(during, clips=2):
        return recipe_from_data({"output": {"clips": clips, "clip_length": 4}, "randomizers": {"objects": [
            {"type": "physics_drop", "name": "drop", "during_clip": during}]}})

    def drop(recipe, i, keys=()):
        return sample_frame(recipe, 0, i, {"objects/drop": Context(targets=["A"])}, clip_keys=keys)["objects/drop"]["A"]
    on, off = job(True), job(False)
    v = drop(on, 6)
    assert (v["frames"], v["frame"], v["length"]) == ([1, 2, 3], 2, 4)
    assert {k: x for k, x in v.items() if k not in ("frames", "frame", "length")} == drop(off, 6) == drop(off, 4)
    assert drop(on, 4, keys=tuple(range(-1, 5)))["frames"] == [-1, 0, 1, 2, 3, 4]     # a preview: the clip
    assert "frames" not in drop(job(True, clips=0), 0)                                 # a still settles
    assert recipe_hash(job(False, clips=0)) == recipe_hash(recipe_from_data({"randomizers": {"objects": [
        {"type": "physics_drop", "name": "drop"}]}})) != recipe_hash(job(True, clips=0))


def ctx(t, length=10, names=("X",)):
    return Context(targets=list(names), frame=FrameState(clip=0, clip_frame=t, clip_length=length))


def test_motion_starts_at_the_start_state():
    for r in (ObjectMotion(model="constant_velocity"), ObjectMotion(model="random_walk"),
              ObjectMotion(model="spline")):
        v = r.sample(stream(1, 0, "m"), ctx(0))["X"]
        assert v["frames"] == [-1, 0, 1] and v["offset"][1] == [0.0, 0.0, 0.0] and v["spin"][1] == 0.0
    cam = CameraMotion(model="handheld").sample(stream(1, 0, "c"), ctx(0))
    assert cam["offset"][1] == pytest.approx([0, 0, 0]) and cam["rotation"][1] == pytest.approx([0, 0, 0])
    assert LightMotion().sample(stream(1, 0, "l"), ctx(0))["lights"]["X"][1] == 1.0
    still = ObjectMotion().sample(stream(1, 0, "m"), Context(targets=["X"]))["X"]   # a still: no motion
    assert still["frames"] == [0] and still["offset"] == [[0.0, 0.0, 0.0]]


def test_constant_velocity_and_orbit_are_linear_in_t():
    m = ObjectMotion(model="constant_velocity")
    v = m.sample(stream(2, 0, "m"), ctx(4))["X"]
    vel = np.array(v["drawn"]["velocity"])
    assert np.allclose(v["offset"], [vel * 3, vel * 4, vel * 5])
    assert 0.02 <= np.linalg.norm(vel) <= 0.08
    o = CameraMotion(model="orbit").sample(stream(2, 0, "c"), ctx(4))
    assert o["angle"] == pytest.approx([o["rate"] * 3, o["rate"] * 4, o["rate"] * 5])


def test_spline_ends_on_its_last_waypoint_and_day_to_night_on_its_end():
    pts = np.array([[0, 0, 0], [1, 0, 0], [1, 1, 0.0]])
    assert np.allclose(catmull_rom(pts, 0.0), pts[0]) and np.allclose(catmull_rom(pts, 2.0), pts[2])
    assert np.allclose(catmull_rom(pts, 1.0), pts[1])
    night = LightMotion(model="day_to_night", world=True).sample(stream(3, 0, "l"), ctx(9, length=10, names="XY"))
    assert night["lights"]["X"][1] == pytest.approx(night["end"])     # frame L-1: the drawn end share
    assert night["lights"]["X"] == night["lights"]["Y"] == night["world"]     # night falls on everything
    walk = random_walk(np.random.Generator(np.random.PCG64(5)), 6, np.array([0.1, 0.1, 0.0]))
    assert walk.shape == (8, 3) and np.all(walk[1] == 0) and np.all(walk[:, 2] == 0)


def test_cli_flags_make_a_clip_job(tmp_path):
    p = tmp_path / "r.yaml"
    p.write_text("output: {frames: 4}\n")
    r = load_preset(p, options.overrides(None, None, None, None, None, clips=2, clip_length=6), options.OVERRIDE_FLAGS)
    assert (r.output.clips, r.output.clip_length, r.output.frames) == (2, 6, 12)
    with pytest.raises(UserError, match="--clip-length"):
        load_preset(p, options.overrides(None, None, None, None, None, clips=2, clip_length=0), options.OVERRIDE_FLAGS)

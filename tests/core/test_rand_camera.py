"""Camera group and occluder samplers (pure): ranges, candidate poses, multi-view keys, and the disk-overlap
solver that places occluders. Determinism and plain-JSON values: the contract in test_contracts.py."""

import math

import numpy as np
import pytest

from synthkiln.addon.core.dataset.job import application_order, sample_frame, views_per_scene
from synthkiln.addon.core.randomizers import Context
from synthkiln.addon.core.randomizers.camera import CameraSelect, CameraShell
from synthkiln.addon.core.randomizers.occluders import Occluder, covered_fraction, disk_overlap, min_radius, offset_for_overlap
from synthkiln.addon.core.recipe.model import recipe_from_data
from synthkiln.addon.core.params.rng import stream
from synthkiln.addon.core.params.schema import SchemaError, from_data

SHELL = {"distance": {"uniform": [2, 3]}, "elevation": {"uniform": [10, 40]}, "azimuth": {"uniform": [90, 180]},
         "roll": {"uniform": [-5, 5]}, "jitter": {"uniform": [-0.1, 0.1]}, "focal_length": {"uniform": [20, 80]},
         "sensor_width": {"uniform": [20, 36]}, "dof": True, "fstop": {"uniform": [1.4, 4]}}


def shell(**kw):
    return from_data(CameraShell, {**SHELL, **kw})


def draws(r, n, seed=7):
    return [r.sample(stream(seed, i, r.key()), Context()) for i in range(n)]


def test_shell_values_stay_in_their_ranges():
    r = shell(min_visible=2, max_tries=3)
    for v in draws(r, 500):
        assert len(v["poses"]) == 3
        for p in v["poses"]:
            assert 2 <= p["distance"] <= 3
            assert math.radians(10) <= p["elevation"] <= math.radians(40)
            assert math.radians(90) <= p["azimuth"] <= math.radians(180)
            assert abs(p["roll"]) <= math.radians(5)
            assert len(p["jitter"]) == 3 and all(abs(j) <= 0.1 for j in p["jitter"])
            assert 20 <= p["focal_length"] <= 80 and 20 <= p["sensor_width"] <= 36
            assert 1.4 <= p["fstop"] <= 4
            assert all(type(x) is float for x in (p["distance"], p["elevation"], p["fstop"], *p["jitter"]))


def test_candidate_poses_drawn_up_front_only_when_the_check_is_on():
    assert len(shell().sample(stream(1, 0, "x"), Context())["poses"]) == 1
    assert "fstop" not in shell(dof=False).sample(stream(1, 0, "x"), Context())["poses"][0]
    v = shell(min_visible=1, max_tries=12).sample(stream(1, 0, "x"), Context())
    assert len(v["poses"]) == 12 and len({p["azimuth"] for p in v["poses"]}) == 12
    # the candidates are a pure function of (seed, frame, name): the bridge only picks among them
    assert v == shell(min_visible=1, max_tries=12).sample(stream(1, 0, "x"), Context())


def test_schema_ranges_of_the_check():
    with pytest.raises(SchemaError):
        shell(min_visibility=1.5)
    with pytest.raises(SchemaError):
        shell(max_tries=0)


def test_camera_select_pick_follows_weights():
    r = from_data(CameraSelect, {"cameras": {"choice": ["A", "B"], "weights": [1, 3]}})
    assert r.views() == 1
    picks = [v["camera"] for v in draws(r, 2000)]
    assert set(picks) == {"A", "B"}
    assert abs(picks.count("B") / 2000 - 0.75) < 0.04
    with pytest.raises(SchemaError, match="twice"):
        from_data(CameraSelect, {"cameras": {"choice": ["A", "A"]}})


def test_camera_select_each_shares_the_scene_across_views():
    recipe = recipe_from_data({"randomizers": {
        "objects": [{"type": "object_pose", "name": "pose"}],
        "camera": [{"type": "camera_shell", "name": "orbit"},
                   {"type": "camera_select", "name": "rig", "cameras": {"choice": ["A", "B", "C"]}, "mode": "each"}]}})
    assert views_per_scene(recipe) == 3
    ctx = {"objects/pose": Context(targets=["Mug", "Can"])}
    frames = [sample_frame(recipe, 5, i, ctx) for i in range(6)]
    assert [f["camera/rig"]["camera"] for f in frames] == ["A", "B", "C", "A", "B", "C"]
    assert frames[0]["objects/pose"] == frames[1]["objects/pose"] == frames[2]["objects/pose"]
    assert frames[3]["objects/pose"] == frames[5]["objects/pose"] != frames[0]["objects/pose"]
    # each view gets its own camera pose on the shell
    assert len({repr(f["camera/orbit"]) for f in frames}) == 6
    assert [r.TYPE for r in recipe.randomizers.camera] == ["camera_shell", "camera_select"]
    order = [r.TYPE for r in application_order(recipe)]
    assert order.index("camera_select") < order.index("camera_shell")


def test_occluder_draws():
    r = from_data(Occluder, {"probability": 0.3, "occlusion": {"uniform": [0.2, 0.6]},
                             "position": {"uniform": [0.3, 0.7]}, "shapes": {"choice": ["box", "plane"]}})
    a = draws(r, 500)
    assert a == draws(r, 500)
    assert abs(sum(v["appear"] for v in a) / 500 - 0.3) < 0.06
    for v in a:
        assert 0.2 <= v["occlusion"] <= 0.6 and 0.3 <= v["position"] <= 0.7 and v["shape"] in ("box", "plane")
        assert 0 <= v["pick"] < 1 and 0 <= v["which"] < 1 and 0 <= v["angle"] < 2 * math.pi
    assert type(r).phase() == 25


def test_disk_overlap_matches_numeric_integration():
    g = np.linspace(-3, 3, 1201)
    x, y = np.meshgrid(g, g)
    cell = (g[1] - g[0]) ** 2
    for R, r, d in [(1.0, 0.5, 0.9), (1.0, 1.3, 1.2), (1.0, 0.7, 0.1), (1.0, 1.0, 1.0), (0.8, 1.2, 2.5)]:
        numeric = ((x ** 2 + y ** 2 <= R * R) & ((x - d) ** 2 + y ** 2 <= r * r)).sum() * cell
        assert abs(disk_overlap(R, r, d) - numeric) < 0.01 * math.pi * R * R


def test_offset_solver_achieves_the_requested_overlap_within_one_percent():
    rng = np.random.default_rng(0)
    for _ in range(500):
        R = float(rng.uniform(0.01, 5))
        f = float(rng.uniform(0.0, 1.0))
        r = max(float(rng.uniform(0.2, 2.0)) * R, min_radius(R, f))
        d = offset_for_overlap(R, r, f)
        assert abs(covered_fraction(R, r, d) - f) < 0.01, (R, r, f, d)
    assert offset_for_overlap(1.0, 0.5, 0.9) == 0.5     # more than a small disk can cover: full overlap
    assert offset_for_overlap(1.0, 0.5, 0.0) == 1.5

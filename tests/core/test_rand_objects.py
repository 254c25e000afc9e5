"""Objects randomizers, pure half: placement on surface meshes without overlaps, resting heights,
rotation modes, scale, counts with weights and category balance, distractors, physics drop start poses."""

import math
from collections import Counter

import numpy as np
import pytest

from synthkiln.addon.core.randomizers import Context, FrameState
from synthkiln.addon.core.randomizers.objects import Distractors, ObjectCount, ObjectPose, PhysicsDrop
from synthkiln.addon.core.recipe.model import recipe_from_data
from synthkiln.addon.core.params.rng import stream
from synthkiln.addon.core.params.schema import SchemaError, from_data
from synthkiln.addon.core.randomizers.surface import Surface, box_corners, euler_to_matrix, matrix_to_euler

BOX = box_corners((-0.05, -0.03, 0.0), (0.05, 0.03, 0.12))      # origin at the bottom centre, like the assets


def table(z=0.0):
    """An L-shaped top (three unit squares) plus a vertical side face that must never be used."""
    q = lambda x, y: [[[x, y, z], [x + 1, y, z], [x + 1, y + 1, z]], [[x, y, z], [x + 1, y + 1, z], [x, y + 1, z]]]
    side = [[[0, 0, z], [0, 0, z - 1], [1, 0, z - 1]]]
    return Surface(q(0, 0) + q(1, 0) + q(0, 1) + side)


def ctx_for(names, surface=None, frame=None, corners=BOX, **data):
    d = {"corners": {n: corners.tolist() for n in names}, **data}
    if surface is not None:
        d["surface"] = surface
    return Context(targets=list(names), data=d, frame=frame or FrameState())


def world_corners(v, local=BOX):
    rot = euler_to_matrix(*v["rotation"])
    return (local * np.array(v["scale"])) @ rot.T + np.array(v["location"])


NAMES = [f"Obj{i}" for i in range(8)]


def scatter(**kw):
    return from_data(ObjectPose, {"mode": "surface", "surface": "T", "margin": 0.05, "min_spacing": 0.02,
                                  "scale": {"uniform": [0.8, 1.5]}, **kw})


def test_500_scatters_never_overlap_and_stay_inside_with_margin():
    r, surf = scatter(), table()
    shown = 0
    for i in range(500):
        v = r.sample(stream(0, i, r.key()), ctx_for(NAMES, surf))
        feet = [x["footprint"] for x in v.values() if x["visible"]]
        shown += len(feet)
        for j, (x, y, rad) in enumerate(feet):
            assert surf.locate(x, y) >= 0 and surf.edge_distance(x, y) >= rad + 0.05 - 1e-9
            assert 0 <= x <= 2 and 0 <= y <= 2 and not (x > 1 and y > 1)      # the L, not its missing square
            for (x2, y2, r2) in feet[:j]:
                assert math.hypot(x - x2, y - y2) >= rad + r2 + 0.02 - 1e-9
    assert shown > 0.9 * 500 * len(NAMES)


def test_objects_rest_on_the_surface_in_every_rotation_mode():
    tilted = Surface([[[0, 0, 0], [2, 0, 0.4], [2, 2, 0.4]], [[0, 0, 0], [2, 2, 0.4], [0, 2, 0]]])
    n = np.array([-0.2, 0.0, 1.0]) / math.hypot(0.2, 1.0)
    for mode, extra in (("upright", {}), ("free", {"rotation_x": {"uniform": [0, 360]}, "rotation_y": {"uniform": [0, 90]}}),
                        ("normal", {})):
        r = scatter(rotation_mode=mode, margin=0.0, **extra)
        for i in range(50):
            for name, v in r.sample(stream(2, i, r.key()), ctx_for(NAMES[:3], tilted)).items():
                if not v["visible"]:
                    continue
                c = world_corners(v)
                above = (c - [0, 0, 0]) @ n          # signed distance to the plane through the origin
                assert above.min() == pytest.approx(0.0, abs=1e-9), (mode, v)
                if mode == "upright":
                    assert v["rotation"][:2] == [0.0, 0.0]
                if mode == "normal":    # the object's own +Z is the surface normal
                    assert np.allclose(euler_to_matrix(*v["rotation"])[:, 2], n)


def test_height_offset_and_ranges_in_volume_mode():
    r = from_data(ObjectPose, {"x": {"uniform": [-2, -1]}, "y": {"uniform": [3, 4]}, "z": {"uniform": [0.5, 0.7]},
                               "rotation_mode": "upright", "scale": {"uniform": [0.5, 2]},
                               "scale_z": {"uniform": [1, 3]}, "min_spacing": 0.0})
    for i in range(500):
        v = r.sample(stream(0, i, r.key()), ctx_for(["A", "B"]))
        for x in v.values():
            if not x["visible"]:
                continue
            (px, py, pz), (sx, sy, sz) = x["location"], x["scale"]
            assert -2 <= px <= -1 and 3 <= py <= 4 and 0.5 <= pz <= 0.7
            assert 0.5 <= sx == sy <= 2 and sx <= sz <= 3 * sx
            assert 0 <= x["rotation"][2] <= 2 * math.pi and x["rotation"][:2] == [0.0, 0.0]
    r = scatter(z={"constant": 0.25}, margin=0.0)
    v = r.sample(stream(0, 0, r.key()), ctx_for(["A"], table(z=0.7)))["A"]
    assert world_corners(v)[:, 2].min() == pytest.approx(0.95)


def test_euler_round_trip():
    rng = np.random.default_rng(0)
    for e in rng.uniform(-3, 3, (200, 3)):
        m = euler_to_matrix(*e)
        assert np.allclose(euler_to_matrix(*matrix_to_euler(m)), m)


def test_steep_faces_are_not_used_and_a_full_surface_hides_objects():
    r = scatter(margin=0.0, min_spacing=0.0, scale={"constant": 1.0}, max_tries=20)
    wall = Surface([[[0, 0, 0], [1, 0, 0], [1, 0, 1]]])
    assert wall.area == 0
    tiny = Surface.rectangle(0, 0.25, 0, 0.25)        # room for one 0.1 x 0.06 box, not for four
    frame = FrameState()
    v = r.sample(stream(0, 0, r.key()), ctx_for(NAMES[:4], tiny, frame))
    visible = [n for n, x in v.items() if x["visible"]]
    assert 1 <= len(visible) < 4
    assert frame.hidden == {n for n in NAMES[:4] if n not in visible}


def test_hidden_objects_are_skipped_and_earlier_footprints_avoided():
    r, surf = scatter(), table()
    frame = FrameState(hidden={"Obj0"}, placed={"T": [(1.0, 0.5, 0.0, 0.3)]})
    v = r.sample(stream(0, 0, r.key()), ctx_for(NAMES, surf, frame))
    assert "Obj0" not in v
    for x in v.values():
        if x["visible"]:
            cx, cy, rad = x["footprint"]
            assert math.hypot(cx - 1.0, cy - 0.5) >= rad + 0.3 + 0.02 - 1e-9
    assert len(frame.placed["T"]) == 1 + sum(x["visible"] for x in v.values())


def test_bounds_rectangle_and_xy_window():
    r = from_data(ObjectPose, {"mode": "surface", "surface": "T", "limit_xy": True, "x": {"uniform": [0, 0.5]},
                               "y": {"uniform": [-0.5, 0]}, "margin": 0.0})
    ctx = Context(targets=["A", "B"], footprints={"A": 0.05, "B": 0.05}, bounds=(-1, 1, -1, 1))
    for i in range(100):
        for x in r.sample(stream(0, i, r.key()), ctx).values():
            if x["visible"]:
                cx, cy, rad = x["footprint"]
                assert 0 <= cx - rad and cx + rad <= 0.5 and -0.5 <= cy - rad and cy + rad <= 0
    floor = Surface.rectangle(-5, 5, -5, 5).clip(-1, 1, 0, 0.5)
    assert floor.area == pytest.approx(1.0) and floor.holds_disc(0, 0.25, 0.25) and not floor.holds_disc(0, 0.25, 0.26)


def test_checks():
    with pytest.raises(SchemaError, match="needs a `surface`"):
        from_data(ObjectPose, {"mode": "surface"})
    with pytest.raises(SchemaError, match="normal needs mode surface"):
        from_data(ObjectPose, {"rotation_mode": "normal"})
    assert from_data(ObjectCount, {"weights": {"Mug*": -1, "a": 2}}).bad_weight() == ("Mug*", -1)
    assert from_data(ObjectCount, {"weights": {"Mug*": 0.5}}).bad_weight() is None


def test_count_in_range_with_weights():
    r = from_data(ObjectCount, {"count": {"uniform": [2, 5]}, "weights": {"Rare*": 0.1, "never": 0}})
    names = ["A1", "A2", "A3", "Rare1", "Rare2", "N1"]
    cats = {"A1": "a", "A2": "a", "A3": "a", "Rare1": "a", "Rare2": "a", "N1": "never"}
    seen = Counter()
    for i in range(1000):
        frame = FrameState(scene_index=i)
        v = r.sample(stream(0, i, r.key()), ctx_for(names, frame=frame, categories=cats))
        shown = [n for n, x in v.items() if x["visible"]]
        assert 2 <= len(shown) <= 5 and "N1" not in shown
        assert frame.hidden == set(names) - set(shown)
        seen.update(shown)
    assert seen["Rare1"] < 0.5 * seen["A1"] and seen["A1"] > 0


def test_category_balance_over_1000_frames():
    recipe = recipe_from_data({"categories": [{"name": c} for c in ("mug", "can", "box")],
                               "balance": [{"attribute": "category", "shares": {"mug": 5, "can": 3, "box": 2}}],
                               "randomizers": {"objects": [{"type": "object_count", "count": {"uniform": [1, 4]}}]}})
    r = recipe.randomizers.objects[0]
    names = [f"{c}{i}" for c in ("mug", "can", "box") for i in range(4)]
    cats = {n: n[:-1] for n in names}
    counts = Counter()
    for i in range(1000):
        frame = FrameState(index=i, scene_index=i, balance=recipe.balance_shares())
        v = r.sample(stream(0, i, r.key()), ctx_for(names, frame=frame, categories=cats))
        counts.update(cats[n] for n, x in v.items() if x["visible"])
    total = sum(counts.values())
    for c, share in (("mug", 0.5), ("can", 0.3), ("box", 0.2)):
        assert abs(counts[c] / total - share) <= 0.02, (counts, total)


def test_distractors_count_colour_and_clear_of_targets():
    targets = scatter()
    d = from_data(Distractors, {"mode": "surface", "surface": "T", "count": {"uniform": [2, 6]}, "margin": 0.0})
    surf, pool = table(), [f"SK Distractor {i:03d}" for i in range(8)]
    for i in range(200):
        frame = FrameState()
        t = targets.sample(stream(0, i, targets.key()), ctx_for(NAMES[:4], surf, frame))
        v = d.sample(stream(0, i, d.key()), ctx_for(pool, surf, frame))
        shown = [x for x in v.values() if x["visible"]]
        assert len(v) == 8 and len(shown) <= 6
        for x in shown:
            assert all(0 <= c <= 1 for c in x["color"]) and 0.2 <= x["roughness"] <= 0.9
            assert 0.05 <= x["scale"][0] <= 0.2
            cx, cy, rad = x["footprint"]
            for y in t.values():
                if y["visible"]:
                    assert math.hypot(cx - y["footprint"][0], cy - y["footprint"][1]) >= rad + y["footprint"][2]
    a = d.sample(stream(3, 3, d.key()), ctx_for(pool, surf))
    assert a == d.sample(stream(3, 3, d.key()), ctx_for(pool, surf))


def test_physics_drop_starts_above_the_surface_in_free_rotation():
    r = from_data(PhysicsDrop, {"mode": "surface", "surface": "T", "z": {"uniform": [0.1, 0.3]}})
    rots = []
    for i in range(100):
        for x in r.sample(stream(0, i, r.key()), ctx_for(NAMES[:3], table())).values():
            if x["visible"]:
                low = world_corners(x)[:, 2].min()
                assert 0.1 - 1e-9 <= low <= 0.3 + 1e-9
                rots.append(x["rotation"])
    assert np.ptp(np.array(rots)[:, 0]) > 5 and np.ptp(np.array(rots)[:, 1]) > 5

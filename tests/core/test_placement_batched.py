"""Surface placement tries all its spots in one numpy pass (issue 16: the anchor job spent 26 ms a frame in
15,000 one-spot calls). The result must be exactly what trying one spot at a time gives: the same pose,
the same hidden objects and the generator in the same state afterwards (so every later draw matches).
The reference below is the one-spot-at-a-time loop it replaced."""

from __future__ import annotations

import math

import numpy as np

from synthkiln.addon.core.params.rng import stream
from synthkiln.addon.core.params.schema import from_data
from synthkiln.addon.core.randomizers import Context, FrameState
from synthkiln.addon.core.randomizers.objects import ObjectPose, corners_of, deg, place
from synthkiln.addon.core.randomizers.surface import Surface, box_corners, euler_to_matrix

BOX = box_corners((-0.05, -0.03, 0.0), (0.05, 0.03, 0.12))


def reference_place(p, rng, ctx, name, surf):
    """One spot at a time (the loop before issue 16), upright on a surface."""
    s = p.scale.sample(rng)
    scale = [s * p.scale_x.sample(rng), s * p.scale_y.sample(rng), s * p.scale_z.sample(rng)]
    local = corners_of(ctx, name) * np.asarray(scale)
    euler = [0.0, 0.0, deg(p.rotation_z, rng)]
    rot = euler_to_matrix(*euler)
    dz = float(p.z.sample(rng))
    placed = ctx.frame.placed.setdefault(p.surface, [])
    for _ in range(p.max_tries):
        point, normal = surf.sample(rng)
        rc = local @ rot.T
        plane = point[2] - (normal[0] * rc[:, 0] + normal[1] * rc[:, 1]) / normal[2]
        loc = np.array([point[0], point[1], float(np.max(plane - rc[:, 2])) + dz])
        xy = rc[:, :2]
        mid = (xy.min(axis=0) + xy.max(axis=0)) / 2
        r = float(np.max(np.linalg.norm(xy - mid, axis=1)))
        cx, cy = float(loc[0] + mid[0]), float(loc[1] + mid[1])
        if not surf.holds_disc(cx, cy, r + p.margin):
            continue
        if any(math.hypot(cx - q[0], cy - q[1]) < r + q[3] + p.min_spacing for q in placed):
            continue
        placed.append((cx, cy, float(loc[2]), r))
        return {"location": [float(v) for v in loc], "rotation": euler, "scale": scale, "visible": True,
                "footprint": [cx, cy, r]}
    return {"visible": False}


def surfaces():
    q = lambda x, y: [[[x, y, 0], [x + 1, y, 0], [x + 1, y + 1, 0]], [[x, y, 0], [x + 1, y + 1, 0], [x, y + 1, 0]]]
    rng = np.random.default_rng(5)
    bumpy = [[[x, y, 0.1 * rng.random()], [x + 0.5, y, 0.1 * rng.random()], [x, y + 0.5, 0.1 * rng.random()]]
             for x in np.arange(0, 2, 0.5) for y in np.arange(0, 2, 0.5)]       # gaps between the triangles
    return {"L": Surface(q(0, 0) + q(1, 0) + q(0, 1)), "rect": Surface.rectangle(-2.2, 2.2, -2.2, 2.2),
            "bumpy": Surface(bumpy, max_slope=45)}


def test_batched_placement_equals_one_spot_at_a_time():
    names = [f"Obj{i}" for i in range(12)]
    for label, surf in surfaces().items():
        for tries in (1, 7, 100):
            p = from_data(ObjectPose, {"mode": "surface", "surface": "S", "margin": 0.04, "min_spacing": 0.03,
                                       "max_tries": tries, "scale": {"uniform": [0.5, 3.0]},
                                       "rotation_z": {"uniform": [0, 360]}})
            for frame in range(40):
                ctx_a = Context(targets=names, data={"corners": {n: BOX.tolist() for n in names}}, frame=FrameState())
                ctx_b = Context(targets=names, data={"corners": {n: BOX.tolist() for n in names}}, frame=FrameState())
                ra, rb = stream(3, frame, p.key()), stream(3, frame, p.key())
                for name in names:
                    assert place(p, ra, ctx_a, name, surf) == reference_place(p, rb, ctx_b, name, surf), (label, tries)
                    assert ra.bit_generator.state == rb.bit_generator.state
                assert ctx_a.frame.placed == ctx_b.frame.placed


def test_small_surfaces_answer_in_python_exactly_as_numpy():
    """A small surface tests discs in plain Python (numpy's call overhead dominates there): the very same
    answers, distances to the last bit, as the numpy code that larger surfaces use."""
    from synthkiln.addon.core.randomizers import surface as sf
    rng = np.random.default_rng(11)
    for label, surf in surfaces().items():
        assert surf.small
        big = Surface(surf.tris, surf.normals, max_slope=90.0)
        big.small = False                          # the same surface through the numpy code
        pts = rng.uniform(-2.6, 2.6, (4000, 2))
        pts[:400] = np.round(pts[:400] * 2) / 2    # on edges and corners too
        for x, y in pts.tolist():
            assert surf.locate(x, y) == big.locate(x, y), (label, x, y)
            assert surf.edge_distance(x, y) == big.edge_distance(x, y), (label, x, y)
    many = Surface([[[x, y, 0], [x + 1, y, 0], [x, y + 1, 0]] for x in range(5) for y in range(4)])
    assert len(many.tris) > sf.SMALL_SURFACE and not many.small

"""Objects: pose, placement on surfaces, count, distractors, physics drop.

Placement is shared (``Placement`` and ``place``): object_pose, distractors and physics_drop all draw
scale and rotation, then a spot in a volume or on a surface mesh where the object's rotated bounding box
rests on the surface, fits inside it (with a margin) and keeps clear of every footprint placed before it
in the same frame (``ctx.frame.placed``). The bridge supplies the surface (``ctx.data["surface"]``, a
``core.randomizers.surface.Surface``) and each object's local bounding-box corners (``ctx.data["corners"]``).
"""

from __future__ import annotations

import colorsys
import fnmatch
import math
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import numpy as np

from ..params.balance import balanced_choice
from ..params.distributions import Distribution
from ..params.schema import SchemaError, fld
from .surface import Surface, align_z, box_corners, euler_to_matrix, matrix_to_euler
from .base import Randomizer, const, deg, uni

VOLUME = ""     # ctx.frame.placed key of objects placed in a volume (no surface)

SHAPES = ("cube", "sphere", "cylinder", "cone", "torus")


@dataclass
class Placement(Randomizer):
    """Shared placement fields (not a type of its own)."""
    GROUP: ClassVar[str] = "objects"

    mode: Literal["volume", "surface"] = fld("volume", "volume: x, y, z draws; surface: resting on `surface`")
    surface: str = fld("", "Surface mesh object for mode=surface: points are drawn on its upward faces")
    max_slope: float = fld(30.0, "Surface mode: use faces whose normal is within this angle of +Z (degrees)",
                           min=0.0, max=90.0)
    x: Distribution = fld(uni(-1, 1), "Location x (m); in surface mode, bounds the area used if limit_xy")
    y: Distribution = fld(uni(-1, 1), "Location y (m); in surface mode, bounds the area used if limit_xy")
    z: Distribution = fld(const(0.0), "Location z (m); in surface mode, height above resting on the surface")
    limit_xy: bool = fld(False, "Surface mode: use only the part of the surface within the x and y ranges")
    margin: float = fld(0.02, "Surface mode: keep footprints this far inside the surface's edge (m)", min=0.0)
    min_spacing: float = fld(0.01, "Gap between objects' footprints (m); objects never overlap", min=0.0)
    rotation_mode: Literal["free", "upright", "normal"] = fld(
        "free", "free: x, y, z draws; upright: yaw only; normal: aligned to the surface normal, then yaw")
    rotation_x: Distribution = fld(const(0.0), "Rotation about x (degrees; free mode)")
    rotation_y: Distribution = fld(const(0.0), "Rotation about y (degrees; free mode)")
    rotation_z: Distribution = fld(uni(0, 360), "Rotation about z, or yaw about the normal (degrees)")
    scale: Distribution = fld(const(1.0), "Uniform scale factor, times the object's own scale", min=0.0)
    scale_x: Distribution = fld(const(1.0), "Extra scale factor along the object's x", min=0.0)
    scale_y: Distribution = fld(const(1.0), "Extra scale factor along the object's y", min=0.0)
    scale_z: Distribution = fld(const(1.0), "Extra scale factor along the object's z", min=0.0)
    max_tries: int = fld(100, "Placement tries per object before it is hidden", min=1, max=10000)

    def check(self, path):
        if self.mode == "surface" and not self.surface:
            raise SchemaError("mode surface needs a `surface` object name", path + ("surface",), "", "an object name")
        if self.rotation_mode == "normal" and self.mode != "surface":
            raise SchemaError("rotation_mode normal needs mode surface", path + ("rotation_mode",),
                              self.rotation_mode, "free or upright in mode volume")


def window(p: Placement) -> tuple[float, float, float, float] | None:
    """The xy window a surface is clipped to (``limit_xy``): the x and y draws' ranges."""
    if not p.limit_xy:
        return None
    (x0, x1), (y0, y1) = p.x.support() or (-math.inf, math.inf), p.y.support() or (-math.inf, math.inf)
    return x0, x1, y0, y1


def limited(p: Placement, surf: Surface) -> Surface:
    w = window(p)
    return surf.clip(*w) if w else surf


def surface_of(p: Placement, ctx) -> Surface:
    """The frame's surface: measured (and clipped) by the bridge, else the ``bounds`` rectangle at z = 0."""
    surf = ctx.data.get("surface")
    if surf is None:
        if ctx.bounds is None:
            raise ValueError(f"{p.key()}: surface geometry unknown")
        surf = limited(p, Surface.rectangle(*ctx.bounds))
    if surf.area <= 0:
        raise ValueError(f"{p.key()}: surface {p.surface!r} has no faces within {p.max_slope} degrees of +Z")
    return surf


def corners_of(ctx, name: str) -> np.ndarray:
    """Local bounding-box corners (8 x 3): this frame's shape (an asset a pool put in the object), else
    the object's own; without them a flat square of the footprint radius."""
    c = ctx.frame.shapes.get(name)
    if c is None:
        c = ctx.data.get("corners", {}).get(name)
    if c is not None:
        return np.asarray(c, dtype=float).reshape(8, 3)
    h = ctx.footprints.get(name, 0.0) / math.sqrt(2.0)
    return box_corners((-h, -h, 0.0), (h, h, 0.0))


def place(p: Placement, rng: np.random.Generator, ctx, name: str, surf: Surface | None) -> dict[str, Any]:
    """One object's pose: scale, rotation, then up to ``max_tries`` spots; ``visible: False`` when none fits.

    A fitting spot is recorded in ``ctx.frame.placed`` so later objects (and later randomizers on the
    same surface) keep clear of it."""
    s = p.scale.sample(rng)
    own = ctx.data.get("scales", {}).get(name, (1.0, 1.0, 1.0))    # draws are factors of the object's own scale
    scale = [s * p.scale_x.sample(rng) * own[0], s * p.scale_y.sample(rng) * own[1],
             s * p.scale_z.sample(rng) * own[2]]
    local = corners_of(ctx, name) * np.asarray(scale)
    if p.rotation_mode == "free":
        euler = [deg(p.rotation_x, rng), deg(p.rotation_y, rng), deg(p.rotation_z, rng)]
    else:
        euler = [0.0, 0.0, deg(p.rotation_z, rng)]
    rot = euler_to_matrix(*euler)
    dz = float(p.z.sample(rng))
    key = p.surface if p.mode == "surface" else VOLUME
    placed = ctx.frame.placed.setdefault(key, [])
    if surf is not None and p.rotation_mode != "normal":
        return _rest_upright(p, rng, ctx, surf, local, rot, euler, scale, dz, placed)
    for _ in range(p.max_tries):
        if surf is None:
            loc = np.array([p.x.sample(rng), p.y.sample(rng), dz])
            rc = local @ rot.T
            centre = loc + (rc.min(axis=0) + rc.max(axis=0)) / 2
            r = float(np.max(np.linalg.norm(rc - (centre - loc), axis=1)))
            others = [q for qs in ctx.frame.placed.values() for q in qs]
            if all(math.dist(centre, q[:3]) >= r + q[3] + p.min_spacing for q in others):
                placed.append((float(centre[0]), float(centre[1]), float(centre[2]), r))
                return {"location": [float(v) for v in loc], "rotation": euler, "scale": scale, "visible": True}
            continue
        point, normal = surf.sample(rng)
        if p.rotation_mode == "normal":
            rot_try = align_z(normal) @ rot
            rc = local @ rot_try.T
            loc = point + normal * (dz - float(np.min(rc @ normal)))
        else:
            rot_try = rot
            rc = local @ rot.T
            # rest on the plane of the face under the point: every corner at or above it
            plane = point[2] - (normal[0] * rc[:, 0] + normal[1] * rc[:, 1]) / normal[2]
            loc = np.array([point[0], point[1], float(np.max(plane - rc[:, 2])) + dz])
        xy = rc[:, :2]
        mid = (xy.min(axis=0) + xy.max(axis=0)) / 2
        r = float(np.max(np.linalg.norm(xy - mid, axis=1)))
        cx, cy = float(loc[0] + mid[0]), float(loc[1] + mid[1])
        if not surf.holds_disc(cx, cy, r + p.margin):
            continue
        if any(math.hypot(cx - q[0], cy - q[1]) < r + q[3] + p.min_spacing
               for q in placed + ctx.frame.placed.get(VOLUME, [])):
            continue
        placed.append((cx, cy, float(loc[2]), r))
        e = matrix_to_euler(rot_try) if p.rotation_mode == "normal" else euler
        return {"location": [float(v) for v in loc], "rotation": [float(a) for a in e], "scale": scale,
                "visible": True, "footprint": [cx, cy, r]}
    return {"visible": False}


def _rest_upright(p: Placement, rng, ctx, surf: Surface, local, rot, euler, scale, dz, placed) -> dict[str, Any]:
    """``place`` on a surface, upright: the same tries and draws as one spot at a time, found in one numpy
    pass. Every candidate spot is drawn up front from a copy of the generator's state; on a large surface a
    vectorised test first rules out spots that surely fail. Spots are confirmed with the exact scalar tests
    (footprint inside the surface, clear of what is placed) in try order, so the result never differs.
    The generator then advances by exactly the draws of the tries made."""
    rc = local @ rot.T
    xy = rc[:, :2]
    mid = (xy.min(axis=0) + xy.max(axis=0)) / 2
    r = float(np.max(np.linalg.norm(xy - mid, axis=1)))
    mx, my = float(mid[0]), float(mid[1])
    others = placed + ctx.frame.placed.get(VOLUME, [])
    start = rng.bit_generator.state
    points, normals = surf.sample_many(rng, p.max_tries)     # bit-identical to the tries' one-by-one draws
    if surf.small:              # its exact test costs less than the vectorised one: every spot, in try order
        order = range(p.max_tries)
    else:
        centres = points[:, :2] + mid
        possible = surf.may_hold_discs(centres, r + p.margin)
        if others:
            q = np.asarray(others, dtype=float)
            gap = np.hypot(centres[:, :1] - q[:, 0], centres[:, 1:] - q[:, 1]) - (r + q[:, 3] + p.min_spacing)
            possible &= (gap >= -1e-7).all(axis=1)
        order = np.flatnonzero(possible)
    found = None
    pts = points.tolist()
    for j in order:
        cx, cy = pts[j][0] + mx, pts[j][1] + my
        if any(math.hypot(cx - q[0], cy - q[1]) < r + q[3] + p.min_spacing for q in others):
            continue
        if not surf.holds_disc(cx, cy, r + p.margin):
            continue
        found = j
        point, normal = points[j], normals[j]
        break
    rng.bit_generator.state = start             # then advance by exactly the draws of the tries made
    rng.random(3 * (p.max_tries if found is None else found + 1))
    if found is None:
        return {"visible": False}
    # rest on the plane of the face under the point: every corner at or above it
    plane = point[2] - (normal[0] * rc[:, 0] + normal[1] * rc[:, 1]) / normal[2]
    loc = np.array([point[0], point[1], float(np.max(plane - rc[:, 2])) + dz])
    placed.append((cx, cy, float(loc[2]), r))
    return {"location": [float(v) for v in loc], "rotation": [float(a) for a in euler], "scale": scale,
            "visible": True, "footprint": [cx, cy, r]}


def place_all(p: Placement, rng, ctx, names: list[str]) -> dict[str, Any]:
    """Place ``names`` in order, skipping objects hidden earlier this frame; failures are hidden too."""
    surf = surface_of(p, ctx) if p.mode == "surface" else None
    out: dict[str, Any] = {}
    for name in names:
        if name in ctx.frame.hidden:
            continue
        out[name] = v = place(p, rng, ctx, name, surf)
        if not v["visible"]:
            ctx.frame.hidden.add(name)
    return out


@dataclass
class ObjectPose(Placement):
    """Location in a box or resting on a surface mesh (no overlaps), rotation and scale."""
    TYPE: ClassVar[str] = "object_pose"

    def sample(self, rng, ctx):
        return place_all(self, rng, ctx, ctx.targets)


def _count(d: Distribution, rng, n: int) -> int:
    return int(min(max(round(d.sample(rng)), 0), n))


@dataclass
class ObjectCount(Randomizer):
    """Shows k of the selected objects and hides the rest (never deletes); picks follow weights and
    the recipe's category balance target."""
    TYPE: ClassVar[str] = "object_count"
    GROUP: ClassVar[str] = "objects"

    count: Distribution = fld(uni(1, 10), "How many objects to show (rounded, at most the number selected)", min=0.0)
    weights: dict[str, Any] = fld({}, "Pick weight per name pattern or category (first match; others 1)")

    def balances(self):
        return {"category": None}     # category names are checked against the recipe's categories

    def bad_weight(self) -> tuple[str, Any] | None:
        """The first weight that is not a number >= 0 (checked by the bridge: the schema's dict field
        takes any scalar)."""
        for k, w in self.weights.items():
            if isinstance(w, bool) or not isinstance(w, (int, float)) or w < 0:
                return k, w
        return None

    def weight(self, name: str, category: str | None) -> float:
        for pattern, w in self.weights.items():
            if fnmatch.fnmatchcase(name, pattern) or pattern == category:
                return float(w)
        return 1.0

    def sample(self, rng, ctx):
        names = list(ctx.targets)
        cats = ctx.data.get("categories", {})
        w = np.array([self.weight(n, cats.get(n)) for n in names], dtype=float)
        k = _count(self.count, rng, len(names))
        shares = {c: p for c, p in ctx.frame.balance.get("category", {}).items() if p > 0}
        remaining = [i for i in range(len(names)) if w[i] > 0]
        chosen: set[int] = set()
        for slot in range(k):
            if not remaining:
                break
            pick_from = remaining
            allowed = {cats.get(names[i]) for i in remaining} & set(shares)
            if allowed:
                c = balanced_choice(shares, ctx.frame.scene_index, self.key(), slot, allowed=allowed)
                pick_from = [i for i in remaining if cats.get(names[i]) == c]
            ww = w[pick_from]
            i = pick_from[int(rng.choice(len(pick_from), p=ww / ww.sum()))]
            chosen.add(i)
            remaining.remove(i)
        out = {}
        for i, name in enumerate(names):
            out[name] = {"visible": i in chosen}
            if i not in chosen:
                ctx.frame.hidden.add(name)
        return out


@dataclass
class Distractors(Placement):
    """Unlabelled clutter (background in masks): a pool of primitives, or the selected objects, shown,
    scaled, coloured and placed like object_pose, clear of the targets placed before them."""
    TYPE: ClassVar[str] = "distractors"
    TARGETS: ClassVar[str] = "any"

    count: Distribution = fld(uni(2, 6), "How many distractors to show (rounded, at most the pool size)", min=0.0)
    pool_size: int = fld(8, "Primitives created once (when `select` is empty)", min=1, max=200)
    shapes: list[str] = fld(list(SHAPES), f"Primitive shapes, cycled over the pool ({', '.join(SHAPES)})")
    scale: Distribution = fld(uni(0.05, 0.2), "Size (m: the primitives are 1 m across)", min=0.0)
    hue: Distribution = fld(uni(0, 1), "Colour hue 0..1")
    saturation: Distribution = fld(uni(0.0, 0.9), "Colour saturation", min=0.0, max=1.0)
    value: Distribution = fld(uni(0.1, 0.9), "Colour value (brightness)", min=0.0)
    roughness: Distribution = fld(uni(0.2, 0.9), "Principled roughness", min=0.0, max=1.0)

    def sample(self, rng, ctx):
        names = list(ctx.targets)
        k = _count(self.count, rng, len(names))
        shown = sorted(int(i) for i in rng.choice(len(names), size=k, replace=False)) if k else []
        surf = surface_of(self, ctx) if self.mode == "surface" else None
        out: dict[str, Any] = {}
        for i, name in enumerate(names):
            v = place(self, rng, ctx, name, surf) if i in shown else {"visible": False}
            if v["visible"]:
                h, s, val = self.hue.sample(rng) % 1.0, min(self.saturation.sample(rng), 1.0), self.value.sample(rng)
                v["color"] = [float(c) for c in colorsys.hsv_to_rgb(h, s, val)]
                v["roughness"] = float(self.roughness.sample(rng))
            else:
                ctx.frame.hidden.add(name)
            out[name] = v
        return out


@dataclass
class PhysicsDrop(Placement):
    """Drops the selected objects from random poses above a surface and lets Blender's rigid bodies
    settle them (deterministic for a seed); the settled poses are applied and recorded. In a clip job with
    `during_clip` the drop is the clip's motion instead: frame t shows the simulation's step t."""
    TYPE: ClassVar[str] = "physics_drop"

    z: Distribution = fld(uni(0.05, 0.4), "Drop height (m): above resting on the surface (volume: absolute z)")
    rotation_x: Distribution = fld(uni(0, 360), "Start rotation about x (degrees; free mode)")
    rotation_y: Distribution = fld(uni(0, 360), "Start rotation about y (degrees; free mode)")
    colliders: list[str] = fld([], "Other passive colliders (object names or patterns); the surface is one")
    steps: int = fld(60, "Simulated frames (at the scene's frame rate) before the poses are read", min=1, max=2000)
    substeps: int = fld(10, "Rigid body substeps per frame (more: stabler, slower)", min=1, max=100)
    shape: Literal["CONVEX_HULL", "BOX", "SPHERE", "CYLINDER", "CONE", "CAPSULE", "MESH"] = fld(
        "CONVEX_HULL", "Collision shape of the dropped objects (all but CONVEX_HULL and MESH are centred on the "
        "object's origin: use them only for objects whose origin is their centre)")
    collider_shape: Literal["MESH", "BOX", "CONVEX_HULL"] = fld(
        "MESH", "Collision shape of the surface and colliders (BOX: fastest, exact for planes and slabs "
        "centred on their origin)")
    friction: float = fld(0.5, "Friction of dropped objects and colliders", min=0.0, max=1.0)
    bounciness: float = fld(0.0, "Restitution of dropped objects and colliders", min=0.0, max=1.0)
    during_clip: bool = fld(False, "Clip jobs: the drop plays out through the clip (frame t shows simulation "
                                   "step t, falling, tumbling and colliding) instead of settling before frame 0; "
                                   "`steps` is then the clip length")

    def sample(self, rng, ctx):
        out = place_all(self, rng, ctx, ctx.targets)
        if self.during_clip and ctx.frame.clip >= 0:     # the simulated frames the bridge keys (t-1, t, t+1)
            f = ctx.frame
            for v in out.values():
                if v["visible"]:
                    v.update(frames=list(f.motion_frames()), frame=f.clip_frame, length=max(f.clip_length, 1))
        return out

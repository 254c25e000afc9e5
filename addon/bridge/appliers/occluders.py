"""Occluders, Blender half: a pool of objects made once per job; each frame one of them is put between
the camera and a target, sized and offset so that it hides the requested fraction of the target.

The first guess comes from the disk model in core (``offset_for_overlap``); the achieved occlusion
is then measured with ``bridge/visibility.py`` (visible fraction of the target with and without the
occluder) and the model's input is corrected ``refine`` times, keeping the closest placement.
"""

from __future__ import annotations

import fnmatch
import math

import bpy
import numpy as np
from mathutils import Matrix, Vector

from ...core.errors import UserError
from ...core.randomizers.occluders import min_radius, offset_for_overlap
from ...core.params.schema import path_str
from .. import visibility
from .base import Applier

POOL_COLLECTION = "SK Occluders"
SHAPES = ("box", "cylinder", "plane")


def _shape_mesh(shape: str):
    """Unit-sized geometry: a cube of side 1, a cylinder of diameter and height 1 (axis z), a 1×1 plane."""
    if shape == "box":
        verts = [(x, y, z) for x in (-0.5, 0.5) for y in (-0.5, 0.5) for z in (-0.5, 0.5)]
        faces = [(0, 1, 3, 2), (4, 6, 7, 5), (0, 4, 5, 1), (2, 3, 7, 6), (0, 2, 6, 4), (1, 5, 7, 3)]
    elif shape == "cylinder":
        n = 32
        ring = [(0.5 * math.cos(2 * math.pi * k / n), 0.5 * math.sin(2 * math.pi * k / n)) for k in range(n)]
        verts = [(x, y, -0.5) for x, y in ring] + [(x, y, 0.5) for x, y in ring]
        faces = [(k, (k + 1) % n, n + (k + 1) % n, n + k) for k in range(n)]
        faces += [tuple(reversed(range(n))), tuple(range(n, 2 * n))]
    else:
        verts, faces = [(-0.5, -0.5, 0.0), (0.5, -0.5, 0.0), (0.5, 0.5, 0.0), (-0.5, 0.5, 0.0)], [(0, 1, 2, 3)]
    mesh = bpy.data.meshes.new(f"SK Occluder {shape}")
    mesh.from_pydata(verts, [], faces)
    mesh.update()
    return mesh


def ensure_pool(scene, shapes) -> list:
    """The built-in occluder objects (found by name, created once), in collection ``SK Occluders``."""
    coll = bpy.data.collections.get(POOL_COLLECTION)
    if coll is None:
        coll = bpy.data.collections.new(POOL_COLLECTION)
    if coll.name not in scene.collection.children:
        scene.collection.children.link(coll)
    out = []
    for shape in shapes:
        name = f"SK Occluder {shape}"
        obj = bpy.data.objects.get(name)
        if obj is None:
            obj = bpy.data.objects.new(name, _shape_mesh(shape))
        if obj.name not in coll.objects:
            coll.objects.link(obj)
        obj.pass_index = 0
        out.append(obj)
    return out


def _hide(obj, hidden: bool) -> None:
    obj.hide_render = obj.hide_viewport = hidden


class Occluder(Applier):
    TYPE = "occluder"

    def __init__(self):
        self.pools: dict[str, list[str]] = {}

    def setup(self, scene, r, objs, where=()):
        if r.select.is_empty():
            for k, s in enumerate(r.shapes.choices):
                if s not in SHAPES:
                    raise UserError(f"{path_str(where + ('shapes', 'choice', k))}: unknown shape {s!r}: "
                                    f"expected one of {', '.join(SHAPES)}")
            pool = ensure_pool(scene, r.shapes.choices)
        else:
            labelled = [o.name for o in objs if o.pass_index > 0]
            if labelled:
                raise UserError(f"{path_str(where + ('select',))}: {labelled[0]!r} is a labelled target; "
                                "occluders must be unlabelled objects")
            if not objs:
                raise UserError(f"{path_str(where + ('select',))}: no objects match")
            pool = objs
        self.pools[r.key()] = [o.name for o in pool]
        for o in pool:
            _hide(o, True)
        visibility.prepare([o for o in scene.objects if o.pass_index > 0])

    def apply(self, scene, r, v):
        pool = [bpy.data.objects[n] for n in self.pools[r.key()]]
        for o in pool:
            _hide(o, True)
        if not v["appear"]:
            return {"appear": False}
        cam = scene.camera
        if cam is None:
            raise UserError(f"{r.where()}: the scene has no camera")
        bpy.context.view_layer.update()
        dg = bpy.context.evaluated_depsgraph_get()
        view = visibility.View.of(scene, cam)
        candidates = [o for o in visibility.labelled_targets(scene)
                      if not r.target or fnmatch.fnmatchcase(o.name, r.target)]
        before = {o.name: visibility.seen(scene, view, o, dg) for o in candidates}
        usable = [o for o in candidates if before[o.name] is not None and before[o.name].fraction() > 0.05]
        if not usable:
            return {"appear": False, "reason": "no visible target"}
        target = usable[min(int(v["pick"] * len(usable)), len(usable) - 1)]
        if r.select.is_empty():
            occ = pool[r.shapes.choices.index(v["shape"])]
        else:
            occ = pool[min(int(v["which"] * len(pool)), len(pool) - 1)]
        _hide(occ, False)

        base = before[target.name]
        vis0 = base.fraction()
        sel = base.counted & base.visible
        w = base.weight[sel]
        centre = (base.world[sel] * w[:, None]).sum(0) / w.sum()
        D = float(np.linalg.norm(centre - view.origin))
        R = math.sqrt(D * D * float(w.sum()) / math.pi)     # the visible part as a disk at the target's depth
        want = v["occlusion"]
        r_disk = max(v["size"] * R, min_radius(R, want))
        frame = _image_frame(view, centre, v["angle"], v["roll"])

        model, best = want, None
        for step in range(r.refine + 1):
            offset = offset_for_overlap(R, r_disk, min(max(model, 0.0), 1.0))
            self._place(occ, view, frame, offset, r_disk, v["position"], D)
            bpy.context.view_layer.update()
            after = visibility.seen(scene, view, target, dg)
            got = 1.0 - after.fraction() / vis0
            if best is None or abs(got - want) < abs(best[0] - want):
                best = (got, offset)
            if abs(got - want) < 0.01:
                break
            model += want - got
        got, offset = best
        self._place(occ, view, frame, offset, r_disk, v["position"], D)
        return {"appear": True, "object": occ.name, "target": target.name, "requested": round(want, 4),
                "occlusion": round(got, 4), "steps": step + 1}

    @staticmethod
    def _place(obj, view, frame, offset: float, r_disk: float, t: float, D: float) -> None:
        """Put ``obj`` at fraction ``t`` of the way to the point ``offset`` from the target's centre
        (in the target's image plane), scaled so its cross-section covers a disk of radius ``r_disk``
        there (perspective: a size ``t`` times smaller at ``t`` times the depth)."""
        centre, toward, r1, r2, u = frame
        pos = view.origin + t * (centre + offset * toward - view.origin)
        a = r_disk * t * math.sqrt(math.pi)            # side of a square with the disk's area
        depth = min(a, 0.5 * (1.0 - t) * D)             # never reaching back to the target
        shape = obj.name[len("SK Occluder "):] if obj.name.startswith("SK Occluder ") else ""
        if shape == "cylinder":                          # a post: its axis along the (rolled) image "up"
            rot, scale = (r1, -u, r2), (a, depth, a)
        elif shape in SHAPES:                            # box, plane: square face towards the camera
            rot, scale = (r1, r2, u), (a, a, depth)
        else:                                            # a user's object: its x/y face towards the camera
            dx, dy = (max(c[i] for c in obj.bound_box) - min(c[i] for c in obj.bound_box) for i in range(2))
            s = r_disk * t * math.sqrt(math.pi / max(dx * dy, 1e-12))
            rot, scale = (r1, r2, u), (s, s, s)
        m = Matrix(np.column_stack(rot).tolist()).to_4x4()
        obj.matrix_world = Matrix.Translation(Vector(pos)) @ m @ Matrix.Diagonal((*scale, 1.0))


def _image_frame(view, centre, angle: float, roll: float):
    """Unit vectors at the target's centre: ``toward`` where the occluder sits (at ``angle`` in the
    image), the shape's own axes ``r1``, ``r2`` (turned by ``roll``) and ``u`` along the view ray
    (``r1``, ``r2``, ``u`` right-handed)."""
    u = centre - view.origin
    u = u / np.linalg.norm(u)
    right = view.w2c[0, :3]                           # the camera's x axis in world coordinates
    x = right - u * (right @ u)
    x /= np.linalg.norm(x)
    y = np.cross(u, x)
    toward = math.cos(angle) * x + math.sin(angle) * y
    r1 = math.cos(roll) * x + math.sin(roll) * y
    return centre, toward, r1, np.cross(u, r1), u

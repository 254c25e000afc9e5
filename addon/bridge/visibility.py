"""How much of each labelled target a camera pose sees, without rendering (the "targets visible" check
and occluder placement).

Method. Each target carries a fixed set of surface points (``N_POINTS``, object space, drawn once
per job with a fixed-seed generator: stratified along the triangles' cumulative area and spread
across each triangle by a golden-ratio sequence, so even a face that gets 20 points is evenly
covered; random points clump and were off by up to 0.17 on a cube seen face-on). For a camera
pose, every point whose normal faces the camera is weighted by the image area its surface element
covers (``dA·cos(θ)/d²``); the target's visible fraction is the weight of visible points over the
weight of all counted points. A point is visible when it projects inside the frame and the ray from
the camera reaches it first (``scene.ray_cast`` on the evaluated depsgraph; objects hidden from render
are passed through). A point that the target's own surface hides (non-convex shapes) is not part of
its silhouette and is not counted at all. So the fraction estimates visible mask pixels over the
pixels the target would cover with nothing in front of it and an unbounded frame; measured against
rendered instance masks in tests/bpy/test_camera.py.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import bpy
import numpy as np
from mathutils import Vector

from . import camera as cammath

N_POINTS = 128
_SEED = 20240601


@dataclass
class Samples:
    points: np.ndarray     # (N, 3) object space
    normals: np.ndarray    # (N, 3) object space, unit
    area: float            # the object's surface area per point (object space)


_CACHE: dict[tuple[str, str], Samples] = {}     # by (object, mesh): an asset pool's slots swap meshes per frame


def _key(obj) -> tuple[str, str]:
    return obj.name, getattr(obj.data, "name", "")


def _sample_mesh(obj, depsgraph, n: int) -> Samples | None:
    ev = obj.evaluated_get(depsgraph)
    try:
        mesh = ev.to_mesh()
    except RuntimeError:
        return None
    if mesh is None:
        return None
    try:
        mesh.calc_loop_triangles()
        nt = len(mesh.loop_triangles)
        if nt == 0:
            return None
        co = np.empty(len(mesh.vertices) * 3, np.float64)
        mesh.vertices.foreach_get("co", co)
        tri = np.empty(nt * 3, np.int64)
        mesh.loop_triangles.foreach_get("vertices", tri)
    finally:
        ev.to_mesh_clear()
    v = co.reshape(-1, 3)[tri.reshape(-1, 3)]                     # (T, 3 corners, 3)
    cross = np.cross(v[:, 1] - v[:, 0], v[:, 2] - v[:, 0])
    areas = 0.5 * np.linalg.norm(cross, axis=1)
    total = float(areas.sum())
    if total <= 0.0:
        return None
    rng = np.random.default_rng([_SEED, zlib.crc32(obj.name.encode())])
    cdf = np.concatenate([[0.0], np.cumsum(areas) / total])
    u = (np.arange(n) + rng.random()) / n                         # stratified along the cumulative area
    picks = np.clip(np.searchsorted(cdf, u, side="right") - 1, 0, nt - 1)
    s = np.clip((u - cdf[picks]) / np.maximum(cdf[picks + 1] - cdf[picks], 1e-30), 0.0, 1.0)
    t = (np.arange(n) * 0.6180339887498949 + rng.random()) % 1.0  # golden-ratio sequence across it
    root = np.sqrt(s)                                             # uniform over the triangle's area
    c = v[picks]
    points = (1 - root)[:, None] * c[:, 0] + (root * (1 - t))[:, None] * c[:, 1] + (root * t)[:, None] * c[:, 2]
    normals = cross[picks] / np.maximum(np.linalg.norm(cross[picks], axis=1, keepdims=True), 1e-30)
    return Samples(points, normals, total / n)


def prepare(objs, n: int = N_POINTS) -> None:
    """Sample the surfaces of ``objs`` (once per job; deterministic, so re-preparing changes nothing)."""
    dg = bpy.context.evaluated_depsgraph_get()
    for obj in objs:
        s = _sample_mesh(obj, dg, n)
        if len(_CACHE) >= 4096:
            _CACHE.clear()
        if s is not None:
            _CACHE[_key(obj)] = s
        else:
            _CACHE.pop(_key(obj), None)


def samples(obj) -> Samples | None:
    if _key(obj) not in _CACHE:
        prepare([obj])
    return _CACHE.get(_key(obj))


def labelled_targets(scene) -> list:
    """What "targets" means for the check: labelled objects (pass_index > 0) rendered this frame."""
    return sorted((o for o in scene.objects if o.pass_index > 0 and not o.hide_render), key=lambda o: o.name)


@dataclass
class View:
    """A camera pose as the check needs it: centre, projection and frame size."""
    origin: np.ndarray
    K: np.ndarray
    w2c: np.ndarray
    width: float
    height: float

    @classmethod
    def of(cls, scene, cam) -> "View":
        r = scene.render
        s = r.resolution_percentage / 100.0
        return cls(np.array(cam.matrix_world.translation, float), cammath.intrinsics(scene, cam),
                   cammath.world_to_camera(cam), r.resolution_x * s, r.resolution_y * s)


@dataclass
class Seen:
    """Per sample point of one target: world position, weight (image area), counted and visible flags."""
    world: np.ndarray
    weight: np.ndarray
    counted: np.ndarray
    visible: np.ndarray

    def fraction(self) -> float:
        w = self.weight[self.counted]
        total = float(w.sum())
        return float(self.weight[self.counted & self.visible].sum()) / total if total > 0 else 0.0


def world_samples(obj) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """Sample points, unit normals and area elements in world space, for the object as it stands now."""
    s = samples(obj)
    if s is None:
        return None
    m = np.array(obj.matrix_world, float)
    lin = m[:3, :3]
    pts = s.points @ lin.T + m[:3, 3]
    nt = s.normals @ np.linalg.inv(lin)              # normals transform by the inverse transpose
    scale = np.linalg.norm(nt, axis=1)
    area = s.area * abs(np.linalg.det(lin)) * scale  # dA_world = |det M| |M^-T n| dA
    return pts, nt / np.maximum(scale[:, None], 1e-30), area


def _first_hit(scene, dg, origin: Vector, direction: Vector, distance: float):
    """The first render-visible object along a ray, and its distance (objects hidden from render are
    still in the viewport depsgraph that ray_cast uses: step past them)."""
    travelled = 0.0
    for _ in range(8):
        hit, loc, _n, _i, obj, _m = scene.ray_cast(dg, origin, direction, distance=distance - travelled)
        if not hit:
            return None, distance
        step = (loc - origin).length
        travelled += step
        if not obj.hide_render:
            return obj, travelled
        origin = loc + direction * 1e-5
        travelled += 1e-5
    return None, distance


def seen(scene, view: View, obj, dg=None) -> Seen | None:
    """Which of ``obj``'s sample points the view sees (see the module docstring for the method)."""
    ws = world_samples(obj)
    if ws is None:
        return None
    pts, nrm, area = ws
    to_cam = view.origin - pts
    dist = np.linalg.norm(to_cam, axis=1)
    cos = np.einsum("ij,ij->i", nrm, to_cam) / np.maximum(dist, 1e-12)
    counted = cos > 0.0
    weight = np.where(counted, area * cos / np.maximum(dist, 1e-12) ** 2, 0.0)
    cam_pts = pts @ view.w2c[:3, :3].T + view.w2c[:3, 3]
    z = cam_pts[:, 2]
    uv = (cam_pts @ view.K.T)[:, :2] / np.where(np.abs(z) > 1e-12, z, 1e-12)[:, None]
    inside = (z > 0) & (uv[:, 0] >= 0) & (uv[:, 0] < view.width) & (uv[:, 1] >= 0) & (uv[:, 1] < view.height)
    visible = np.zeros(len(pts), bool)
    dg = dg or bpy.context.evaluated_depsgraph_get()
    origin = Vector(view.origin)
    inv = obj.matrix_world.inverted()
    for i in np.flatnonzero(counted & inside):
        d = float(dist[i])
        direction = Vector(-to_cam[i] / d)
        tol = 1e-3 * d + 1e-4
        hit_obj, hit_d = _first_hit(scene, dg, origin, direction, d + tol)
        if hit_obj is None or (hit_obj.name == obj.name and hit_d >= d - tol):
            visible[i] = True
        elif hit_obj.name == obj.name or _self_hidden(obj, inv, dg, origin, Vector(pts[i]), d - tol):
            counted[i] = False                        # hidden by its own surface: not in its silhouette
    return Seen(pts, weight, counted, visible)


def _self_hidden(obj, inv, dg, origin: Vector, point: Vector, before: float) -> bool:
    """Whether ``obj``'s own surface lies on the ray from ``origin`` to ``point`` (in front of it)."""
    o, p = inv @ origin, inv @ point
    d = p - o
    hit, loc, _n, _i = obj.ray_cast(o, d.normalized(), distance=d.length, depsgraph=dg)
    if not hit:
        return False
    return (obj.matrix_world @ loc - origin).length < before


def measure(scene, view: View, objs, dg=None) -> dict[str, float]:
    """Visible fraction (0..1) of each object from ``view``."""
    dg = dg or bpy.context.evaluated_depsgraph_get()
    out = {}
    for obj in objs:
        s = seen(scene, view, obj, dg)
        if s is not None:
            out[obj.name] = round(s.fraction(), 4)
    return out

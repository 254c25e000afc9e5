"""Geometric labels of the frame's targets: amodal boxes, truncation, visibility, 3D box, 6D pose, keypoints.

Reads each target's evaluated geometry once per frame with ``foreach_get`` (positions and corner lists are
attribute arrays: microseconds) and hands numpy arrays to ``core.geometry``; the render's own instance
mask and depth supply what is seen. Nothing is rendered again and no datablock is created: meshes are the
depsgraph's evaluated ones (``to_mesh`` temporaries, outside ``bpy.data``, only for curves, text...).

Triangles come from ``Mesh.loop_triangles``, whose ``foreach_get`` is slow (~2.7 ms for 16k triangles),
so they are cached per object and reused while the evaluated mesh's corner list is unchanged (a deforming
armature or shape key changes positions, not topology). Geometry-nodes instances, particles and collection
instances are not counted: the object's own evaluated mesh is its geometry.

Keypoints: child empties named ``kp.<name>`` (world location; any depth of parenting below the target)
and vertex groups named ``kp.<name>`` (unweighted centroid of the evaluated vertices in the group; an
empty overrides a group of the same name). A target hidden from render gets flag 0 on every keypoint.
"""

from __future__ import annotations

from dataclasses import dataclass

import bpy
import numpy as np

from ..core.labels import geometry, raster
from ..core.sensor import labels as lens_labels
from .scene import base_name

KP_PREFIX = "kp."


@dataclass
class _Topology:
    corners: np.ndarray          # the evaluated mesh's corner -> vertex list when the triangles were read
    polys: int
    tris: np.ndarray             # (T, 3) vertex indices
    table: raster.EdgeTable      # its edges, for outline rasterising
    groups: dict[str, np.ndarray] | None = None   # kp vertex group -> vertex indices (read on first use)
    group_names: tuple = ()                          # the kp.* groups those were read for


# By mesh, and by object too where modifiers may change the topology: an asset pool's slots swap meshes per frame,
# and a mesh keeps its topology whichever object shows it
_TOPOLOGY: dict[tuple[str, str], _Topology] = {}
_TOPOLOGY_MAX = 4096
_BUFFERS: dict[str, np.ndarray] = {}


def _buffer(key: str, size: int, dtype) -> np.ndarray:
    """A reused flat array of at least ``size`` items (no allocation per frame once warm)."""
    buf = _BUFFERS.get(key)
    if buf is None or buf.size < size or buf.dtype != dtype:
        buf = _BUFFERS[key] = np.empty(max(size, 16), dtype)
    return buf[:size]


def _attribute(mesh, fast: str, slow, prop: str, size: int, width: int, dtype, key: str) -> np.ndarray:
    """An attribute array read into a reused buffer: the generic attribute API is ~50x faster than the
    vertex/loop collections, which stay as the fallback."""
    buf = _buffer(key, size * width, dtype)
    attr = mesh.attributes.get(fast)
    if attr is not None:
        attr.data.foreach_get("vector" if width == 3 else "value", buf)
    else:
        slow.foreach_get(prop, buf)
    return buf


def _mesh_arrays(name: str, mesh) -> tuple[np.ndarray, _Topology]:
    """Local vertex positions (N, 3) float32 (a reused buffer) and the cached topology of ``mesh`` (``name``: the
    object's, where its modifiers make its own topology; else empty)."""
    n = len(mesh.vertices)
    co = _attribute(mesh, "position", mesh.vertices, "co", n, 3, np.float32, "co").reshape(n, 3)
    corners = _attribute(mesh, ".corner_vert", mesh.loops, "vertex_index", len(mesh.loops), 1, np.int32, "cv")
    key = (mesh.name, name)
    topo = _TOPOLOGY.get(key)
    if topo is None or topo.polys != len(mesh.polygons) or not np.array_equal(topo.corners, corners):
        nt = len(mesh.loop_triangles)
        tris = np.empty(nt * 3, np.int32)
        mesh.loop_triangles.foreach_get("vertices", tris)
        tris = tris.reshape(nt, 3)
        if len(_TOPOLOGY) >= _TOPOLOGY_MAX:
            _TOPOLOGY.clear()
        topo = _TOPOLOGY[key] = _Topology(corners.copy(), len(mesh.polygons), tris, raster.edge_table(tris))
    return co, topo


def warm(mesh) -> None:
    """Read and keep a mesh's triangles now (an asset pool's import), not in the first frame that shows it."""
    _mesh_arrays("", mesh)


def _group_members(obj, mesh, topo: _Topology) -> dict[str, np.ndarray]:
    """kp.* vertex group -> indices of evaluated vertices in it (weight > 0); one scan per topology."""
    wanted = {g.index: base_name(g.name)[len(KP_PREFIX):] for g in obj.vertex_groups if g.name.startswith(KP_PREFIX)}
    if topo.groups is None or topo.group_names != tuple(wanted.items()):
        topo.group_names = tuple(wanted.items())
        members: dict[str, list[int]] = {name: [] for name in wanted.values()}
        if wanted:
            for v in mesh.vertices:
                for g in v.groups:
                    if g.group in wanted and g.weight > 0.0:
                        members[wanted[g.group]].append(v.index)
        topo.groups = {k: np.array(v, np.int64) for k, v in members.items() if v}
    return topo.groups


def _keypoint_empties(scene, names: set[str]) -> dict[str, dict[str, np.ndarray]]:
    """target name -> {keypoint name: world location} from ``kp.*`` empties parented below targets."""
    out: dict[str, dict[str, np.ndarray]] = {}
    for o in scene.objects:
        if o.type != "EMPTY" or o.parent is None or not o.name.startswith(KP_PREFIX):
            continue
        p = o.parent
        while p is not None and p.name not in names:
            p = p.parent
        if p is not None:
            out.setdefault(p.name, {})[base_name(o.name)[len(KP_PREFIX):]] = np.array(o.matrix_world.translation)
    return out


def object_labels(scene, cam_obj, targets, mask: np.ndarray, depth: np.ndarray | None, K: np.ndarray,
                  w2c: np.ndarray, lens=None) -> dict[int, dict]:
    """{instance_id: {amodal_bbox, amodal_bbox_clipped, truncation, visibility, box3d, pose, keypoints?}}
    for the pipeline's targets, from the scene as rendered and the render's decoded mask (H x W uint16)
    and z-depth (float32 metres, 0 = no surface).

    With a ``lens`` (``core.sensor.lens.LensWarp``), ``mask`` is the warped output mask while ``depth`` and
    ``K`` are the wider undistorted render's; the labels are measured in the distorted output
    (``core/sensor/labels.py``)."""
    dg = bpy.context.evaluated_depsgraph_get()
    h, w = mask.shape
    areas = np.bincount(mask.ravel(), minlength=max((t.instance_id for t in targets), default=0) + 1)
    near = float(cam_obj.data.clip_start) if cam_obj.type == "CAMERA" else 1e-3
    scale = scene.unit_settings.scale_length or 1.0
    if depth is not None and scale != 1.0:
        depth = depth / scale                              # back to scene units, as the camera coordinates are
    objs = {t.name: bpy.data.objects.get(t.name) for t in targets}
    empties = _keypoint_empties(scene, {n for n, o in objs.items() if o is not None})
    found = []          # per target: (instance id, its labels, keypoints or None, lo, hi, matrix_world)
    for t in targets:
        obj = objs[t.name]
        if obj is None:
            continue
        ev = obj.evaluated_get(dg)
        m = np.array(ev.matrix_world, np.float64)
        co, topo, mesh, tmp = _geometry(ev)
        try:
            if co is not None and len(co):
                rows = np.ascontiguousarray(co.T)          # min along a length-N row: ~8x faster than axis=0
                lo, hi = rows.min(axis=1), rows.max(axis=1)
                cam, tris = geometry.transform(w2c @ m, co), topo.tris
            else:
                bb = np.array(ev.bound_box, np.float64)
                lo, hi = bb.min(axis=0), bb.max(axis=0)
                cam, tris = np.zeros((0, 3)), np.zeros((0, 3), np.int32)
            if lens is not None:
                labels = lens_labels.silhouette_labels(cam, tris, lens, int(areas[t.instance_id]), near=near,
                                                       table=topo.table if topo is not None else None)
            else:
                labels = geometry.silhouette_labels(cam, tris, K, w, h, int(areas[t.instance_id]), near=near,
                                                    table=topo.table if topo is not None else None)
            points: dict[str, np.ndarray] = {}
            if mesh is not None and co is not None and any(g.name.startswith(KP_PREFIX) for g in obj.vertex_groups):
                for name, idx in _group_members(obj, mesh, topo).items():
                    points[name] = geometry.transform(m, co[idx].astype(np.float64)).mean(axis=0)
            points.update(empties.get(t.name, {}))
            kps = None
            if points:
                kps = geometry.keypoints(points, K, w2c, depth if depth is not None else np.zeros((h, w), np.float32),
                                         near=near)
                if lens is not None:
                    kps = lens_labels.keypoints(kps, lens, near)
                if obj.hide_render:
                    for k in kps:
                        k["v"] = 0
        finally:
            if tmp:
                ev.to_mesh_clear()
        found.append((t.instance_id, labels, kps, lo, hi, m))
    if not found:
        return {}
    # the 3D boxes and poses of all targets in one numpy pass: per object, numpy's call overhead is most of it
    _, _, _, lo, hi, m = zip(*found)
    out: dict[int, dict] = {}
    for (iid, labels, kps, *_), box, pose in zip(found, geometry.boxes3d(lo, hi, m, w2c), geometry.poses(m, w2c)):
        out[iid] = {**labels, "box3d": box, "pose": pose, **({"keypoints": kps} if kps is not None else {})}
    return out


def _geometry(ev):
    """(local positions, topology, mesh, made a temporary mesh) of an evaluated object, or Nones."""
    if ev.type == "MESH":
        mesh, tmp = ev.data, False
    else:
        try:
            mesh, tmp = ev.to_mesh(), True
        except RuntimeError:
            return None, None, None, False
        if mesh is None:
            ev.to_mesh_clear()
            return None, None, None, False
    co, topo = _mesh_arrays(ev.name if tmp or len(ev.modifiers) else "", mesh)
    return co, topo, mesh, tmp

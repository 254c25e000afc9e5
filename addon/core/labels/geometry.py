"""Geometric labels from the scene's geometry and the frame's single render (no second render).

Conventions (DESIGN, issue 4): OpenCV camera (x right, y down, z forward), ``K`` in pixels with pixel
column x covering [x, x + 1) (centres at +0.5), ``w2c`` the rigid 4x4 world-to-camera matrix.

Silhouette method. The object's evaluated triangles are taken to camera space, cut at the near plane
(``raster.clip_near``), projected, and rasterised by pixel CENTRES (``raster``, outline edges only): a pixel
belongs to the unoccluded silhouette when its centre lies inside any projected triangle. From it:

- ``truncation`` = 1 - (silhouette pixels inside the image) / (all silhouette pixels), counted on a canvas
  covering the whole projected box. A canvas above ``MAX_CANVAS_CELLS`` (an object very close to the camera)
  is counted on a coarser grid of k x k pixel cells, and its inside part at full resolution.
- ``visibility`` = (instance mask pixels) / (silhouette pixels inside the image), clipped to [0, 1]: the
  mask of the one render says what is seen, the silhouette what would be seen with nothing in front.
  Measured (tests/bpy/test_labels.py, Cycles at 1 and 4 samples): the silhouette count equals the mask
  of the object rendered alone pixel for pixel (Cycles' Object Index pass samples pixel centres too), so a
  half-hidden box's visibility equals mask-with / mask-without exactly. Differences come only from what
  the mesh does not describe: displacement in the shader, instances, motion blur.

The amodal box is the box of the projected (near-clipped) vertices: continuous pixel coordinates, so an
edge at u = 12.3 gives x = 12.3, and a pixel-tight mask box lands within a pixel of it.
"""

from __future__ import annotations

import math

import numpy as np

from . import raster

MAX_CANVAS_CELLS = 1 << 20     # beyond this a silhouette is counted on a coarser grid (huge near objects)
DEPTH_TOLERANCE = 0.005        # metres: keypoint vs rendered surface, plus DEPTH_RELATIVE * depth
DEPTH_RELATIVE = 0.01

# Blender's bound_box corner order: x major, then (y, z) going (-,-) (-,+) (+,+) (+,-)
_BOX_SIGNS = np.array([[0, 0, 0], [0, 0, 1], [0, 1, 1], [0, 1, 0],
                       [1, 0, 0], [1, 0, 1], [1, 1, 1], [1, 1, 0]], dtype=bool)


def transform(m: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Points (..., 3) through an affine 4x4 (matrix_world, world_to_camera)."""
    m = np.asarray(m, dtype=np.float64)
    return np.asarray(points, dtype=np.float64) @ m[:3, :3].T + m[:3, 3]


# -- silhouette labels ------------------------------------------------------------------------------------
def image_edges(cam_verts: np.ndarray, tris: np.ndarray, K: np.ndarray, near: float,
                table: raster.EdgeTable | None = None) -> tuple[raster.Edges, tuple | None]:
    """A mesh's projected outline as crossing edges, and the box (x0, y0, x1, y1) of its projected
    geometry (None when nothing lies in front of the camera).

    Triangles wholly in front of ``near`` go through the mesh's edge table (see ``raster.mesh_edges``);
    the few that cross the near plane are cut and added as separate triangles; the rest are dropped."""
    cam_verts = np.asarray(cam_verts, np.float64).reshape(-1, 3)
    tris = np.asarray(tris).reshape(-1, 3)
    if not len(tris):
        return raster.Edges.empty(), None
    table = table if table is not None else raster.edge_table(tris)
    z = cam_verts[:, 2]
    front = z >= near
    safe = cam_verts if front.all() else np.where(front[:, None], cam_verts, [0.0, 0.0, 1.0])
    uv = raster.project(K, safe)
    u, v = uv[:, 0], uv[:, 1]
    used = table.used if table.used is not None else slice(None)
    if front.all():
        edges = raster.mesh_edges(u, v, tris, table)
        xs, ys = u[used], v[used]
    else:
        tri_front = front[tris]
        whole = tri_front.all(axis=1)
        edges = raster.mesh_edges(u, v, tris, table, include=whole)
        used = np.flatnonzero(front) if table.used is None else table.used[front[table.used]]
        xs, ys = [u[used]], [v[used]]
        cut = raster.clip_near(cam_verts[tris[tri_front.any(axis=1) & ~whole]], near)
        if len(cut):
            cuv = raster.project(K, cut)
            cx, cy = np.ascontiguousarray(cuv[:, :, 0].T), np.ascontiguousarray(cuv[:, :, 1].T)
            edges = edges + raster.soup_edges(cx, cy)
            xs.append(cx.ravel())
            ys.append(cy.ravel())
        xs, ys = np.concatenate(xs), np.concatenate(ys)
    if not xs.size:
        return raster.Edges.empty(), None
    return edges, (float(xs.min()), float(ys.min()), float(xs.max()), float(ys.max()))


def amodal_boxes(extent: tuple | None, width: int, height: int):
    """(unclipped [x, y, w, h], clipped to the image or None) from a box (x0, y0, x1, y1); (None, None)
    without one."""
    if extent is None:
        return None, None
    x0, y0, x1, y1 = extent
    box = [x0, y0, x1 - x0, y1 - y0]
    cx0, cy0, cx1, cy1 = max(x0, 0.0), max(y0, 0.0), min(x1, float(width)), min(y1, float(height))
    clipped = [cx0, cy0, cx1 - cx0, cy1 - cy0] if cx1 > cx0 and cy1 > cy0 else None
    return box, clipped


def silhouette_counts(edges: raster.Edges, extent: tuple | None, width: int, height: int,
                      max_cells: int = MAX_CANVAS_CELLS) -> tuple[int, float]:
    """(silhouette pixels inside the image, silhouette pixels in all) of projected outline edges whose
    geometry spans ``extent`` (x0, y0, x1, y1)."""
    if extent is None or not len(edges):
        return 0, 0.0
    x0, y0, x1, y1 = extent
    # pixels whose centre can be covered: columns ceil(x0 - .5) .. floor(x1 - .5)
    c0, c1 = math.ceil(x0 - 0.5), math.floor(x1 - 0.5)
    r0, r1 = math.ceil(y0 - 0.5), math.floor(y1 - 0.5)
    if c1 < c0 or r1 < r0:
        return 0, 0.0
    cw, ch = c1 - c0 + 1, r1 - r0 + 1
    ix0, iy0 = max(c0, 0), max(r0, 0)                       # the canvas part inside the image
    ix1, iy1 = min(c1 + 1, width), min(r1 + 1, height)
    if cw * ch <= max_cells:
        cov = raster.coverage_edges(edges, cw, ch, c0, r0)
        total = int(np.count_nonzero(cov))
        inside = int(np.count_nonzero(cov[iy0 - r0:iy1 - r0, ix0 - c0:ix1 - c0])) if ix1 > ix0 and iy1 > iy0 else 0
        return inside, float(total)
    inside = 0
    if ix1 > ix0 and iy1 > iy0:
        inside = int(np.count_nonzero(raster.coverage_edges(edges, ix1 - ix0, iy1 - iy0, ix0, iy0)))
    k = math.ceil(math.sqrt(cw * ch / max_cells))
    coarse = raster.coverage_edges(edges, math.ceil(cw / k), math.ceil(ch / k), c0, r0, k)
    return inside, float(np.count_nonzero(coarse)) * k * k


def silhouette_labels(cam_verts: np.ndarray, tris: np.ndarray, K: np.ndarray, width: int, height: int,
                      mask_area: int, near: float = 1e-3, table: raster.EdgeTable | None = None,
                      max_cells: int = MAX_CANVAS_CELLS) -> dict:
    """amodal_bbox, amodal_bbox_clipped, truncation and visibility of one object from its camera-space
    vertices (N, 3) and triangles (T, 3) (see the module docstring); ``table`` is ``raster.edge_table(tris)``,
    which callers cache per topology.

    An object wholly behind the camera has no box, truncation 1 and visibility None. An object too thin
    to cover a pixel centre falls back on its boxes: truncation from the box area outside the image, and
    visibility 1 if the mask saw it after all.
    """
    edges, extent = image_edges(cam_verts, tris, K, near, table)
    box, clipped = amodal_boxes(extent, width, height)
    inside, total = silhouette_counts(edges, extent, width, height, max_cells)
    if total > 0:
        truncation = min(max(1.0 - inside / total, 0.0), 1.0)
    elif box is None or clipped is None:
        truncation = 1.0
    else:
        area = box[2] * box[3]
        truncation = 1.0 - clipped[2] * clipped[3] / area if area > 0 else 0.0
    return occlusion_labels(box, clipped, truncation, mask_area, inside)


def occlusion_labels(box, clipped, truncation: float, mask_area: int, silhouette: int) -> dict:
    """The record's occlusion fields: visibility is the visible pixels over the silhouette's (None when the
    object is neither seen nor in frame)."""
    if silhouette > 0:
        visibility = min(mask_area / silhouette, 1.0)
    else:
        visibility = 1.0 if mask_area > 0 else None
    return {"amodal_bbox": box, "amodal_bbox_clipped": clipped, "truncation": round(truncation, 6),
            "visibility": None if visibility is None else round(visibility, 6)}


# -- 3D box and pose --------------------------------------------------------------------------------------
def box_corners(local_min, local_max) -> np.ndarray:
    """The 8 corners (8, 3) of a local axis-aligned box, in Blender's ``bound_box`` order."""
    lo, hi = np.asarray(local_min, np.float64), np.asarray(local_max, np.float64)
    return np.where(_BOX_SIGNS, hi, lo)


def box3d(local_min, local_max, matrix_world: np.ndarray, w2c: np.ndarray) -> dict:
    """Corners of the object's local bounding box in world and OpenCV camera coordinates, and its edge
    lengths in world units (x, y, z of the object)."""
    return boxes3d([local_min], [local_max], [matrix_world], w2c)[0]


def boxes3d(local_min, local_max, matrix_world, w2c: np.ndarray) -> list[dict]:
    """``box3d`` of N objects in one pass (N, 3) boxes, (N, 4, 4) matrices: a frame's targets at once."""
    lo = np.asarray(local_min, np.float64).reshape(-1, 1, 3)
    hi = np.asarray(local_max, np.float64).reshape(-1, 1, 3)
    m = np.asarray(matrix_world, np.float64).reshape(-1, 4, 4)
    w2c = np.asarray(w2c, np.float64)
    world = np.where(_BOX_SIGNS, hi, lo) @ m[:, :3, :3].transpose(0, 2, 1) + m[:, None, :3, 3]     # (N, 8, 3)
    cam = world @ w2c[:3, :3].T + w2c[:3, 3]
    edges = world[:, (4, 3, 1)] - world[:, :1]               # along the object's x, y, z
    size = np.sqrt((edges * edges).sum(axis=-1))
    # micrometres: the corners follow from pose and size anyway, and full doubles triple the record's size
    world, cam = np.round(world, 6).tolist(), np.round(cam, 6).tolist()
    return [{"corners_world": w, "corners_camera": c, "size": z} for w, c, z in zip(world, cam, size.tolist())]


def decompose(matrix_world: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(R, scale) with M[:3, :3] = R @ diag(scale), R a proper rotation. A mirrored object gets a negative
    x scale. Exact for any transform without shear (shear comes only from non-uniformly scaled parents)."""
    rot, scale = decompose_many([matrix_world])
    return rot[0], scale[0]


def decompose_many(matrix_world) -> tuple[np.ndarray, np.ndarray]:
    """``decompose`` of (N, 4, 4) matrices: (N, 3, 3) rotations and (N, 3) scales."""
    lin = np.asarray(matrix_world, np.float64).reshape(-1, 4, 4)[:, :3, :3]
    scale = np.sqrt((lin * lin).sum(axis=1))
    scale[:, 0] = np.where(np.linalg.det(lin) < 0, -scale[:, 0], scale[:, 0])
    rot = lin / np.where(scale == 0, 1.0, scale)[:, None, :]
    off = np.abs(rot @ rot.transpose(0, 2, 1) - np.eye(3)).max(axis=(1, 2)) > 1e-9
    for i in np.flatnonzero(off):       # shear or a zero scale: the nearest rotation
        u, _, vt = np.linalg.svd(rot[i])
        r = u @ vt
        if np.linalg.det(r) < 0:
            u[:, -1] = -u[:, -1]
            r = u @ vt
        rot[i] = r
    return rot, scale


def pose(matrix_world: np.ndarray, w2c: np.ndarray) -> dict:
    """6D pose: X_cam = R @ (diag(scale) @ X_obj) + t, R object-to-camera, t the origin in camera space."""
    return poses([matrix_world], w2c)[0]


def poses(matrix_world, w2c: np.ndarray) -> list[dict]:
    """``pose`` of N objects in one pass ((N, 4, 4) matrices)."""
    m = np.asarray(matrix_world, np.float64).reshape(-1, 4, 4)
    w2c = np.asarray(w2c, np.float64)
    rot, scale = decompose_many(m)
    R = w2c[:3, :3] @ rot
    t = [(w2c[:3, :3] @ o + w2c[:3, 3]).tolist() for o in m[:, :3, 3]]      # a matrix-vector product each, as ever
    return [{"R": r, "t": tt, "scale": s} for r, tt, s in zip(R.tolist(), t, scale.tolist())]


# -- keypoints --------------------------------------------------------------------------------------------
def keypoints(named_world: dict[str, np.ndarray], K: np.ndarray, w2c: np.ndarray, depth: np.ndarray | None,
              near: float = 1e-3, tol: float = DEPTH_TOLERANCE, rel: float = DEPTH_RELATIVE) -> list[dict]:
    """COCO keypoints sorted by name: 0 outside the image or behind the camera (uv [0, 0] then, as COCO
    writes unlabelled points), 2 visible, 1 occluded.

    Visible means the rendered z-depth (0 = no surface) at one of the (up to 4) pixels whose centres
    surround the keypoint's projection is not in front of the keypoint by more than ``tol + rel * z``:
    nothing of the scene, its own object included, hides it. A keypoint inside a solid is hidden by
    the solid's surface: put keypoints on the surface.
    """
    names = sorted(named_world)
    if not names:
        return []
    cam = transform(w2c, np.array([named_world[n] for n in names], np.float64).reshape(-1, 3))
    height, width = depth.shape if depth is not None else (0, 0)
    out = []
    for name, p in zip(names, cam):
        z = float(p[2])
        u, v = (float(c) for c in raster.project(K, p)) if z > near else (0.0, 0.0)
        flag = 0
        if z > near and 0.0 <= u < width and 0.0 <= v < height:
            flag = 2 if _unhidden(depth, u, v, z, tol + rel * z) else 1
        out.append({"name": name, "uv": [u, v], "camera": p.tolist(), "v": flag})
    return out


def _unhidden(depth: np.ndarray, u: float, v: float, z: float, tol: float) -> bool:
    h, w = depth.shape
    cols = {min(max(math.floor(u - 0.5) + d, 0), w - 1) for d in (0, 1)}
    rows = {min(max(math.floor(v - 0.5) + d, 0), h - 1) for d in (0, 1)}
    for r in rows:
        for c in cols:
            d = float(depth[r, c])
            if d <= 0.0 or d >= z - tol:
                return True
    return False

"""Geometric labels through lens distortion (issue 18): the same quantities as ``labels.geometry``, measured
in the distorted output image rather than the wider undistorted render.

- ``amodal_bbox``: the box of the object's vertices projected through the distortion (``LensWarp.project``,
  what ``cv2.projectPoints`` gives). Straight edges bow under distortion, so for a coarse mesh the true
  silhouette may reach a little past its vertices' box.
- ``visibility``: warped mask pixels over warped silhouette pixels, both in the output. The silhouette is
  rasterised on the render canvas and warped by the very nearest-pixel map the mask went through, so an
  unoccluded object measures 1 exactly.
- ``truncation``: the share of the silhouette (counted in render pixels) whose pixel centres land outside
  the output image after distortion.
- ``keypoints``: camera-space points through the distortion; flag 0 outside the output, else the
  render's occlusion flag (depth is the same surface, whatever the warp).
"""

from __future__ import annotations

import math

import numpy as np

from ..labels import geometry, raster
from .lens import LensWarp


def silhouette_labels(cam_verts: np.ndarray, tris: np.ndarray, lens: LensWarp, mask_area: int,
                      near: float = 1e-3, table: raster.EdgeTable | None = None,
                      max_cells: int = geometry.MAX_CANVAS_CELLS) -> dict:
    """amodal_bbox, amodal_bbox_clipped, truncation and visibility of one object in the distorted output,
    from its camera-space vertices and triangles; ``mask_area`` is its pixel count in the warped mask."""
    K_r = lens.render_K
    rw, rh = lens.render_size
    w, h = lens.size
    edges, extent = geometry.image_edges(cam_verts, tris, K_r, near, table)
    cam_verts = np.asarray(cam_verts, np.float64).reshape(-1, 3)
    used = table.used if table is not None and table.used is not None else np.unique(np.asarray(tris).ravel())
    pts = cam_verts[used] if len(cam_verts) else cam_verts
    pts = pts[pts[:, 2] >= near] if len(pts) else pts
    box = clipped = None
    if extent is not None and len(pts):
        uv = lens.project(pts)
        box, clipped = geometry.amodal_boxes((float(uv[:, 0].min()), float(uv[:, 1].min()),
                                              float(uv[:, 0].max()), float(uv[:, 1].max())), w, h)
    empty = {"amodal_bbox": box, "amodal_bbox_clipped": clipped, "truncation": 1.0,
             "visibility": 1.0 if mask_area > 0 else None}
    if extent is None or not len(edges):
        return empty
    x0, y0, x1, y1 = extent
    c0, c1 = math.ceil(x0 - 0.5), math.floor(x1 - 0.5)
    r0, r1 = math.ceil(y0 - 0.5), math.floor(y1 - 0.5)
    # the canvas part that can matter: the render canvas (every output pixel reads inside it)
    c0, r0, c1, r1 = max(c0, 0), max(r0, 0), min(c1, rw - 1), min(r1, rh - 1)
    if c1 < c0 or r1 < r0:
        return empty
    cw, ch = c1 - c0 + 1, r1 - r0 + 1
    if cw * ch > max_cells:        # huge and near: the undistorted measure on the render canvas
        flat = geometry.silhouette_labels(cam_verts, tris, K_r, rw, rh, mask_area, near, table, max_cells)
        return {**flat, "amodal_bbox": box, "amodal_bbox_clipped": clipped}
    cov = raster.coverage_edges(edges, cw, ch, c0, r0)
    rows, cols = np.nonzero(cov)
    _, total = geometry.silhouette_counts(edges, extent, rw, rh, max_cells)
    if not len(rows):
        return {**empty, "truncation": 1.0 if total else empty["truncation"]}
    ou, ov = lens.render_to_output(cols + c0 + 0.5, rows + r0 + 0.5)
    inside_r = int(np.count_nonzero((ou >= 0) & (ou < w) & (ov >= 0) & (ov < h)))
    truncation = min(max(1.0 - inside_r / total, 0.0), 1.0) if total else 1.0
    # the silhouette warped like the mask: output pixels whose nearest render pixel is covered
    sil = 0
    if inside_r:
        sel = (ou >= 0) & (ou < w) & (ov >= 0) & (ov < h)
        bx0, bx1 = max(int(ou[sel].min()) - 2, 0), min(int(ou[sel].max()) + 3, w)
        by0, by1 = max(int(ov[sel].min()) - 2, 0), min(int(ov[sel].max()) + 3, h)
        mu = np.floor(lens.map_u[by0:by1, bx0:bx1]).astype(np.intp) - c0
        mv = np.floor(lens.map_v[by0:by1, bx0:bx1]).astype(np.intp) - r0
        ok = (mu >= 0) & (mu < cw) & (mv >= 0) & (mv < ch)
        sil = int(np.count_nonzero(cov[mv[ok], mu[ok]]))
    return geometry.occlusion_labels(box, clipped, truncation, mask_area, sil)


def keypoints(kps: list[dict], lens: LensWarp, near: float = 1e-3) -> list[dict]:
    """Keypoints measured on the render (``geometry.keypoints`` with the render's K) moved into the output."""
    w, h = lens.size
    out = []
    for k in kps:
        p = np.asarray(k["camera"], np.float64)
        flag, uv = 0, [0.0, 0.0]
        if p[2] > near and k["v"] > 0:
            u, v = (float(c) for c in lens.project(p[None])[0])
            if 0.0 <= u < w and 0.0 <= v < h:
                flag, uv = k["v"], [u, v]
        out.append({**k, "uv": uv, "v": flag})
    return out

"""A small vectorised rasteriser for geometric labels (silhouettes without a second render).

It answers one question: which cells of a canvas have their CENTRE inside the union of a mesh's projected
triangles. Coverage depth along a row (how many triangles contain a centre) steps +1 where a triangle's
left boundary crosses the row and -1 at its right one, so it is a sum of edge crossings, accumulated in a
per-row difference array (one ``np.bincount``) and integrated with a cumulative sum; depth > 0 is the union.

Per edge, the steps of its triangles add up: an edge between two triangles lying on opposite sides of it in
the image (any smooth stretch of surface) gets +1 and -1 and drops out, so only outline, fold and border
edges are rasterised: O(sqrt T) of them for a T-triangle mesh, which makes a 4k-triangle object a fraction
of a millisecond. This is exact for any triangle set (open, non-manifold, mixed winding), because it only
regroups the sum; tests/core/test_geometry.py checks it against brute force point-in-triangle tests.

Sampling rule: row i is crossed when its centre line i + 0.5 lies in [y_low, y_high) of an edge, and a
crossing at x steps the depth from column ceil(x - 0.5) on (half open, like GPU rasterisers: pixels
on a shared edge are counted once, never lost). Cycles' Object Index pass agrees with it pixel for pixel on
the test scenes (tests/bpy/test_labels.py).

``clip_near`` cuts camera-space triangles at the plane ``z = near`` first: a triangle with corners behind
the camera has no meaningful perspective projection, and what the camera sees of it is exactly its part
in front of the near plane (Blender's camera ``clip_start`` plays the same role in the render).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def clip_near(tris: np.ndarray, near: float) -> np.ndarray:
    """Camera-space triangles (T, 3, 3) cut to ``z >= near``: whole ones kept, ones with one corner in front
    become one smaller triangle, ones with two corners in front become a quad (two triangles)."""
    tris = np.asarray(tris, dtype=np.float64).reshape(-1, 3, 3)
    front = tris[:, :, 2] >= near
    nf = front.sum(axis=1)
    keep = tris[nf == 3]
    if keep.shape[0] == len(tris):
        return keep
    out = [keep]
    one = tris[nf == 1]
    if len(one):
        k = np.argmax(front[nf == 1], axis=1)                    # the corner in front
        a, b, c = (one[np.arange(len(one)), (k + s) % 3] for s in range(3))
        out.append(np.stack([a, _cut(a, b, near), _cut(a, c, near)], axis=1))
    two = tris[nf == 2]
    if len(two):
        k = np.argmin(front[nf == 2], axis=1)                    # the corner behind
        c, a, b = (two[np.arange(len(two)), (k + s) % 3] for s in range(3))
        bc, ca = _cut(b, c, near), _cut(a, c, near)
        out.append(np.stack([a, b, bc], axis=1))
        out.append(np.stack([a, bc, ca], axis=1))
    return np.concatenate(out, axis=0)


def _cut(p: np.ndarray, q: np.ndarray, near: float) -> np.ndarray:
    """Where segments p -> q (p in front, q behind) cross z = near."""
    t = (near - p[:, 2]) / (q[:, 2] - p[:, 2])
    out = p + (q - p) * t[:, None]
    out[:, 2] = near
    return out


def project(K: np.ndarray, cam_points: np.ndarray) -> np.ndarray:
    """Pixel (u, v) of camera-space points with z > 0 (any leading shape, last axis 3)."""
    p = np.asarray(cam_points, dtype=np.float64)
    z = p[..., 2]
    u = (K[0, 0] * p[..., 0] + K[0, 1] * p[..., 1]) / z + K[0, 2]
    v = K[1, 1] * p[..., 1] / z + K[1, 2]
    return np.stack([u, v], axis=-1)


@dataclass
class Edges:
    """Directed-crossing edges: a row's coverage depth steps by ``w`` where the edge (x0, y0)-(x1, y1)
    crosses the row's centre line, going left to right."""
    x0: np.ndarray
    y0: np.ndarray
    x1: np.ndarray
    y1: np.ndarray
    w: np.ndarray

    @classmethod
    def empty(cls) -> "Edges":
        z = np.zeros(0)
        return cls(z, z, z, z, z)

    def __len__(self) -> int:
        return self.w.size

    def __add__(self, other: "Edges") -> "Edges":
        return Edges(*(np.concatenate([getattr(self, f), getattr(other, f)]) for f in ("x0", "y0", "x1", "y1", "w")))


@dataclass
class EdgeTable:
    """A mesh's triangle edges, computed once per topology: ``edges`` (E, 2) undirected (low index first),
    and for each triangle corner-edge k -> k+1 (flattened corner-major, 3T) its edge and whether it runs
    the same way (+1) or reversed (-1)."""
    edges: np.ndarray
    edge_of: np.ndarray
    direction: np.ndarray
    used: np.ndarray | None     # vertices used by triangles; None when that is all of them


def edge_table(tris: np.ndarray) -> EdgeTable:
    tris = np.asarray(tris, np.int64).reshape(-1, 3)
    a = tris.T.ravel()                                     # corner-major: all corner-0s, all corner-1s, ...
    b = tris[:, [1, 2, 0]].T.ravel()
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    keys = lo * (int(tris.max(initial=0)) + 1) + hi
    uniq, inverse = np.unique(keys, return_inverse=True)
    first = np.zeros(uniq.size, np.int64)
    first[inverse] = np.arange(keys.size)
    edges = np.stack([lo[first], hi[first]], axis=1)
    used = np.unique(tris)
    return EdgeTable(edges, inverse.ravel(), np.where(a == lo, 1.0, -1.0),
                     None if used.size and used[-1] == used.size - 1 else used)


def orientation(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Sign (+1, -1, 0) of each projected triangle's area; x, y are (3, T)."""
    return np.sign((x[1] - x[0]) * (y[2] - y[0]) - (y[1] - y[0]) * (x[2] - x[0]))


def soup_edges(x: np.ndarray, y: np.ndarray) -> Edges:
    """Crossing edges of separate triangles (x, y: (3, T)): each triangle steps +1 at its left boundary
    and -1 at its right one."""
    s = orientation(x, y)
    x1, y1 = x[[1, 2, 0]], y[[1, 2, 0]]
    w = -s[None, :] * np.sign(y1 - y)
    return Edges(x.ravel(), y.ravel(), x1.ravel(), y1.ravel(), w.ravel())


def mesh_edges(u: np.ndarray, v: np.ndarray, tris: np.ndarray, table: EdgeTable,
               include: np.ndarray | None = None) -> Edges:
    """Crossing edges of a mesh's projected triangles (vertex pixels ``u``, ``v``), ``include`` (T,) bool
    choosing which triangles count. An edge between two triangles that lie on opposite sides of it in the
    image (the inside of a surface facing one way) steps +1 for one and -1 for the other: it cancels and is
    dropped. What is left is the outline, the folds and open borders: O(sqrt T) edges instead of 3T."""
    corners = tris.T
    x, y = u[corners], v[corners]
    s = orientation(x, y)
    if include is not None:
        s = np.where(include, s, 0.0)
    net = np.bincount(table.edge_of, weights=(table.direction.reshape(3, -1) * s).ravel(), minlength=len(table.edges))
    keep = np.flatnonzero(net)
    p, q = table.edges[keep, 0], table.edges[keep, 1]
    y0, y1 = v[p], v[q]
    return Edges(u[p], y0, u[q], y1, -net[keep] * np.sign(y1 - y0))


def coverage_edges(e: Edges, width: int, height: int, ox: float = 0.0, oy: float = 0.0,
                   step: float = 1.0) -> np.ndarray:
    """Bool (height, width): cells whose centre has a positive coverage depth (sampling rule in the module
    docstring). Cell (i, j) is the pixel area [ox + j * step, ox + (j + 1) * step) x [oy + i * step, ...):
    its centre is sampled. A crossing left of the canvas still steps its whole row."""
    width, height = int(width), int(height)
    if width <= 0 or height <= 0 or not len(e):
        return np.zeros((max(height, 0), max(width, 0)), bool)
    xa, ya, xb, yb = ((c - o) / step if step != 1.0 else c - o for c, o in
                      ((e.x0, ox), (e.y0, oy), (e.x1, ox), (e.y1, oy)))
    lo_is_a = ya <= yb
    ylo, yhi = np.where(lo_is_a, ya, yb), np.where(lo_is_a, yb, ya)
    xlo, xhi = np.where(lo_is_a, xa, xb), np.where(lo_is_a, xb, xa)
    r0 = np.maximum(np.ceil(ylo - 0.5), 0.0)              # np.clip costs ~4x more on small arrays
    r1 = np.minimum(np.ceil(yhi - 0.5), height)            # one past the last row
    n = (r1 - r0).astype(np.int64)
    live = np.flatnonzero((n > 0) & (e.w != 0) & (np.minimum(xlo, xhi) < width + 0.5))
    if not live.size:
        return np.zeros((height, width), bool)
    n, r0 = n[live], r0[live].astype(np.int64)
    ylo, xlo = ylo[live], xlo[live]
    slope = (xhi[live] - xlo) / (yhi[live] - ylo)          # crossing edges are never horizontal
    edge = np.repeat(np.arange(live.size), n)
    start = np.cumsum(n) - n
    row = np.arange(edge.size) - start[edge] + r0[edge]
    x = xlo[edge] + (row + 0.5 - ylo[edge]) * slope[edge]
    col = np.minimum(np.maximum(np.ceil(x - 0.5), 0.0), width).astype(np.int64)
    stride = width + 1
    diff = np.bincount(row * stride + col, e.w[live][edge], minlength=height * stride).reshape(height, stride)
    return np.cumsum(diff[:, :width], axis=1) > 0.5


def coverage(tris: np.ndarray, width: int, height: int) -> np.ndarray:
    """Bool (height, width): which cell centres lie inside at least one of the triangles (T, 3, 2),
    given in canvas units."""
    tris = np.asarray(tris, dtype=np.float64).reshape(-1, 3, 2)
    x, y = np.ascontiguousarray(tris[:, :, 0].T), np.ascontiguousarray(tris[:, :, 1].T)
    return coverage_edges(soup_edges(x, y), width, height)

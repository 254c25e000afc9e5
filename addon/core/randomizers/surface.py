"""Surface geometry for placement (pure numpy): area-weighted points on a triangle mesh, footprint discs
that must fit inside it, resting heights of rotated boxes, and XYZ Euler angles <-> matrices.

The bridge measures a surface once per job (world-space triangles and normals); everything a frame needs
is computed here, so placement is exact, deterministic and testable without Blender.
"""

from __future__ import annotations

import math

import numpy as np

UP = np.array([0.0, 0.0, 1.0])
SMALL_SURFACE = 16          # triangles up to which ``holds_disc`` runs in plain Python


def euler_to_matrix(rx: float, ry: float, rz: float) -> np.ndarray:
    """Blender's XYZ Euler (x applied first): R = Rz @ Ry @ Rx."""
    cx, sx, cy, sy, cz, sz = math.cos(rx), math.sin(rx), math.cos(ry), math.sin(ry), math.cos(rz), math.sin(rz)
    return np.array([[cz * cy, cz * sy * sx - sz * cx, cz * sy * cx + sz * sx],
                     [sz * cy, sz * sy * sx + cz * cx, sz * sy * cx - cz * sx],
                     [-sy, cy * sx, cy * cx]])


def matrix_to_euler(m: np.ndarray) -> list[float]:
    """XYZ Euler angles (radians) of a rotation matrix; inverse of ``euler_to_matrix``."""
    cy = math.hypot(m[0, 0], m[1, 0])
    if cy > 1e-9:
        return [math.atan2(m[2, 1], m[2, 2]), math.atan2(-m[2, 0], cy), math.atan2(m[1, 0], m[0, 0])]
    return [math.atan2(-m[1, 2], m[1, 1]), math.atan2(-m[2, 0], cy), 0.0]


def align_z(n: np.ndarray) -> np.ndarray:
    """The smallest rotation that takes +Z onto the unit vector ``n`` (Rodrigues)."""
    n = np.asarray(n, dtype=float) / np.linalg.norm(n)
    c = float(n[2])
    if c > 1.0 - 1e-12:
        return np.eye(3)
    if c < -1.0 + 1e-12:
        return np.diag([1.0, -1.0, -1.0])
    v = np.cross(UP, n)
    k = np.array([[0.0, -v[2], v[1]], [v[2], 0.0, -v[0]], [-v[1], v[0], 0.0]])
    return np.eye(3) + k + k @ k / (1.0 + c)


def box_corners(lo, hi) -> np.ndarray:
    """The 8 corners of an axis-aligned box."""
    lo, hi = np.asarray(lo, float), np.asarray(hi, float)
    return np.array([[(hi if i & 1 else lo)[0], (hi if i & 2 else lo)[1], (hi if i & 4 else lo)[2]] for i in range(8)])


class Surface:
    """The upward-facing part of a triangle mesh (faces within ``max_slope`` degrees of +Z)."""

    def __init__(self, triangles, normals=None, max_slope: float = 30.0):
        tris = np.asarray(triangles, dtype=float).reshape(-1, 3, 3)
        if normals is None:
            normals = np.cross(tris[:, 1] - tris[:, 0], tris[:, 2] - tris[:, 0])
        normals = np.asarray(normals, dtype=float).reshape(-1, 3)
        length = np.linalg.norm(normals, axis=1)
        ok = length > 0
        normals = np.where(ok[:, None], normals / np.where(ok, length, 1.0)[:, None], 0.0)
        keep = ok & (normals[:, 2] >= math.cos(math.radians(max_slope)) - 1e-9)
        self.tris, self.normals = tris[keep], normals[keep]
        e1, e2 = self.tris[:, 1] - self.tris[:, 0], self.tris[:, 2] - self.tris[:, 0]
        area = 0.5 * np.linalg.norm(np.cross(e1, e2), axis=1)
        self.cdf = np.cumsum(area)
        self.area = float(self.cdf[-1]) if len(self.cdf) else 0.0
        xy = self.tris[:, :, :2]
        self._a, self._b, self._c = xy[:, 0], xy[:, 1], xy[:, 2]
        self._det = (self._b[:, 1] - self._c[:, 1]) * (self._a[:, 0] - self._c[:, 0]) + \
                    (self._c[:, 0] - self._b[:, 0]) * (self._a[:, 1] - self._c[:, 1])
        self.edges = self._boundary()
        # ``may_hold_discs``' per-surface terms, computed once (barycentric coefficients, edge vectors)
        ok = np.abs(self._det) > 1e-15
        inv = np.where(ok, 1.0 / np.where(ok, self._det, 1.0), 0.0)
        a, b, c = self._a, self._b, self._c
        self._bary = (ok, c[:, 0], c[:, 1], (b[:, 1] - c[:, 1]) * inv, (c[:, 0] - b[:, 0]) * inv,
                      (c[:, 1] - a[:, 1]) * inv, (a[:, 0] - c[:, 0]) * inv)
        ab = self.edges[:, 1] - self.edges[:, 0]
        self._edge = (self.edges[:, 0], ab, 1.0 / np.maximum((ab * ab).sum(-1), 1e-30))
        # a small surface (a floor, a table top) is tested in plain Python: there numpy's per-call overhead
        # is ~50x the arithmetic (issue 16). The same float operations in the same order: the same answers.
        self.small = len(self.tris) <= SMALL_SURFACE and len(self.edges) <= 3 * SMALL_SURFACE
        if self.small:
            self._tri_terms = [(i, *map(float, (a[0], a[1], b[0], b[1], c[0], c[1], d)))
                               for i, (a, b, c, d) in enumerate(zip(self._a, self._b, self._c, self._det))
                               if abs(d) > 1e-15]
            self._edge_terms = [(float(e[0, 0]), float(e[0, 1]), float(v[0]), float(v[1]),
                                 max(float(v[0]) * float(v[0]) + float(v[1]) * float(v[1]), 1e-30))
                                for e, v in zip(self.edges, ab)]

    @classmethod
    def rectangle(cls, xmin: float, xmax: float, ymin: float, ymax: float, z: float = 0.0) -> "Surface":
        p = [[xmin, ymin, z], [xmax, ymin, z], [xmax, ymax, z], [xmin, ymax, z]]
        return cls([[p[0], p[1], p[2]], [p[0], p[2], p[3]]])

    def clip(self, xmin: float, xmax: float, ymin: float, ymax: float) -> "Surface":
        """The part of the surface over an xy window (so a big floor can be used near its middle)."""
        out = []
        for t in self.tris:
            poly = [tuple(p) for p in t]
            for axis, bound, keep_above in ((0, xmin, True), (0, xmax, False), (1, ymin, True), (1, ymax, False)):
                poly = _clip_polygon(poly, axis, bound, keep_above)
                if not poly:
                    break
            out += [[poly[0], poly[i], poly[i + 1]] for i in range(1, len(poly) - 1)]
        return Surface(np.array(out, dtype=float).reshape(-1, 3, 3), max_slope=90.0)   # already filtered

    def _boundary(self) -> np.ndarray:
        """2D edges used by one kept triangle only: the outline that footprints must stay inside."""
        count: dict[tuple, int] = {}
        seg: dict[tuple, tuple] = {}
        for t in self.tris:
            for i in range(3):
                a, b = t[i, :2], t[(i + 1) % 3, :2]
                ka, kb = tuple(np.round(a, 6)), tuple(np.round(b, 6))
                k = (ka, kb) if ka <= kb else (kb, ka)
                count[k] = count.get(k, 0) + 1
                seg[k] = (a, b)
        return np.array([seg[k] for k, c in count.items() if c == 1]).reshape(-1, 2, 2)

    def sample(self, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """An area-weighted random point on the surface and the face normal there (3 draws)."""
        i = min(int(np.searchsorted(self.cdf, rng.random() * self.area, side="right")), len(self.cdf) - 1)
        u, v = rng.random(), rng.random()
        if u + v > 1.0:
            u, v = 1.0 - u, 1.0 - v
        t = self.tris[i]
        return t[0] + u * (t[1] - t[0]) + v * (t[2] - t[0]), self.normals[i]

    def locate(self, x: float, y: float) -> int:
        """Index of a kept triangle whose xy projection holds (x, y), or -1."""
        if self.small:
            for i, a0, a1, b0, b1, c0, c1, d in self._tri_terms:
                l1 = ((b1 - c1) * (x - c0) + (c0 - b0) * (y - c1)) / d
                l2 = ((c1 - a1) * (x - c0) + (a0 - c0) * (y - c1)) / d
                if l1 >= -1e-9 and l2 >= -1e-9 and l1 + l2 <= 1 + 1e-9:
                    return i
            return -1
        d = self._det
        safe = np.where(np.abs(d) > 1e-15, d, 1.0)
        l1 = ((self._b[:, 1] - self._c[:, 1]) * (x - self._c[:, 0]) + (self._c[:, 0] - self._b[:, 0]) * (y - self._c[:, 1])) / safe
        l2 = ((self._c[:, 1] - self._a[:, 1]) * (x - self._c[:, 0]) + (self._a[:, 0] - self._c[:, 0]) * (y - self._c[:, 1])) / safe
        inside = (np.abs(d) > 1e-15) & (l1 >= -1e-9) & (l2 >= -1e-9) & (l1 + l2 <= 1 + 1e-9)
        hits = np.flatnonzero(inside)
        return int(hits[0]) if len(hits) else -1

    def edge_distance(self, x: float, y: float) -> float:
        """Distance in xy from (x, y) to the surface's outline."""
        if not len(self.edges):
            return math.inf
        if self.small:
            return min(self._edge_distances(x, y))
        a, b = self.edges[:, 0], self.edges[:, 1]
        ab = b - a
        p = np.array([x, y])
        t = np.clip(np.einsum("ij,ij->i", p - a, ab) / np.maximum(np.einsum("ij,ij->i", ab, ab), 1e-30), 0.0, 1.0)
        return float(np.min(np.linalg.norm(a + t[:, None] * ab - p, axis=1)))

    def holds_disc(self, x: float, y: float, r: float) -> bool:
        """True when a disc of radius ``r`` around (x, y) lies inside the surface (seen from above)."""
        if self.small:          # ``edge_distance`` >= r, stopping at the first edge nearer
            return self.locate(x, y) >= 0 and all(d >= r for d in self._edge_distances(x, y))
        return self.locate(x, y) >= 0 and self.edge_distance(x, y) >= r

    def _edge_distances(self, x: float, y: float):
        """A small surface's distances from (x, y) to each outline edge, as ``edge_distance`` computes them."""
        for ax, ay, abx, aby, den in self._edge_terms:
            t = min(max(((x - ax) * abx + (y - ay) * aby) / den, 0.0), 1.0)
            dx, dy = ax + t * abx - x, ay + t * aby - y
            yield math.sqrt(dx * dx + dy * dy)

    # -- many candidates at once: placement tries a hundred spots per object; numpy per spot costs ~100 us
    def sample_points(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """The points of the next ``n`` ``sample`` calls (the same draws, in the same order), as (n, 3)."""
        return self.sample_many(rng, n)[0]

    def sample_many(self, rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
        """The points and face normals of the next ``n`` ``sample`` calls (the same draws in the same order,
        and bit-identical values: the same float operations), as (n, 3) each."""
        draws = rng.random((n, 3))
        i = np.minimum(np.searchsorted(self.cdf, draws[:, 0] * self.area, side="right"), len(self.cdf) - 1)
        u, v = draws[:, 1].copy(), draws[:, 2].copy()
        flip = u + v > 1.0
        u[flip], v[flip] = 1.0 - u[flip], 1.0 - v[flip]
        t = self.tris[i]
        return t[:, 0] + u[:, None] * (t[:, 1] - t[:, 0]) + v[:, None] * (t[:, 2] - t[:, 0]), self.normals[i]

    def may_hold_discs(self, xy: np.ndarray, r: float, slack: float = 1e-7) -> np.ndarray:
        """For (n, 2) centres: False where a disc of radius ``r`` surely does not fit (``holds_disc`` is
        False by more than ``slack``); True where it fits or is too close to tell. A prefilter: callers
        confirm with ``holds_disc``, so rounding in the vectorised maths never changes a result."""
        ok, cx, cy, p1, q1, p2, q2 = self._bary
        dx, dy = xy[:, :1] - cx, xy[:, 1:2] - cy
        l1, l2 = p1 * dx + q1 * dy, p2 * dx + q2 * dy
        e = 1e-9 + slack + 1e-9        # the reciprocal's rounding: well inside the slack
        inside = (ok & (l1 >= -e) & (l2 >= -e) & (l1 + l2 <= 1 + e)).any(axis=1)
        if not len(self.edges):
            return inside
        a, ab, inv_len2 = self._edge
        rel = xy[:, None, :] - a
        t = np.clip((rel * ab).sum(-1) * inv_len2, 0.0, 1.0)
        dist2 = ((rel - t[..., None] * ab) ** 2).sum(-1).min(axis=1)
        rs = max(r - slack, 0.0)
        return inside & (dist2 >= rs * rs)


def _clip_polygon(poly: list, axis: int, bound: float, keep_above: bool) -> list:
    """Sutherland-Hodgman: the part of a planar polygon on one side of ``x[axis] = bound``."""
    def inside(p):
        return p[axis] >= bound if keep_above else p[axis] <= bound
    out = []
    for i, cur in enumerate(poly):
        prev = poly[i - 1]
        if inside(cur) != inside(prev):
            t = (bound - prev[axis]) / (cur[axis] - prev[axis])
            out.append(tuple(a + t * (b - a) for a, b in zip(prev, cur)))
        if inside(cur):
            out.append(cur)
    return out

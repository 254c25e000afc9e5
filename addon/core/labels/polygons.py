"""Mask -> polygons, in pure numpy (exports also run inside Blender at job end, where only numpy and PyYAML
exist; OpenCV or scikit-image would be faster to call but are not there).

The polygons follow the *pixel edges* ("crack" outline): vertices sit on integer pixel corners, where
pixel column x covers [x, x + 1), the same convention as the COCO bbox. An outline therefore encloses
exactly the mask's pixels: rasterised back (pycocotools ``frPyObjects``, even-odd), it gives the mask
again, and its area equals the pixel count. Only the corners are kept (straight runs are one edge).

Connectivity: pixels touching only at a corner are separate components (4-connectivity), so every
ring is a simple closed outline. Outer rings are clockwise on screen (y down; positive shoelace area),
holes counter-clockwise.

Holes cannot be written as such in COCO or YOLO polygons, so they are *bridged*: a hole is joined to
its outer ring by a zero-width cut (there and back along one segment, between their nearest vertices).
Under the even-odd rule both tools use (pycocotools, OpenCV ``fillPoly``), the doubled segment cancels
and the hole stays empty. YOLO allows one polygon per object, so its components are joined the same
way (as Ultralytics' own COCO converter does).
"""

from __future__ import annotations

import numpy as np


# 2x2 neighbourhood code at a pixel corner: a (up-left) = 1, b (up-right) = 2, c (down-left) = 4, d = 8.
# Directions: 0 east (+x), 1 south (+y), 2 west, 3 north. A corner of a ring is a code with 1 or 3
# pixels set, or a saddle (a+d = 9, b+c = 6) where two rings touch at a point.
_OUT = np.full(16, -1, np.int8)
for _code, _dir in {1: 2, 2: 3, 4: 1, 8: 0, 7: 1, 11: 2, 13: 0, 14: 3}.items():
    _OUT[_code] = _dir
_SADDLE_AD, _SADDLE_BC = 9, 6


def rings(mask: np.ndarray, offset: tuple[int, int] = (0, 0)) -> list[np.ndarray]:
    """Every boundary ring of a binary mask as an (n, 2) int array of (x, y) pixel corners, plus ``offset``.

    Outer boundaries have positive ``ring_area``, holes negative."""
    m = np.asarray(mask).astype(bool)
    h, w = m.shape
    p = np.zeros((h + 2, w + 2), np.uint8)
    p[1:-1, 1:-1] = m
    code = p[:-1, :-1] + 2 * p[:-1, 1:] + 4 * p[1:, :-1] + 8 * p[1:, 1:]  # corner (y, x), y 0..h, x 0..w
    is_corner = (_OUT[code] >= 0) | (code == _SADDLE_AD) | (code == _SADDLE_BC)
    ys, xs = np.nonzero(is_corner)  # row-major: sorted by (y, x)
    if ys.size == 0:
        return []
    codes = code[ys, xs]
    saddle = (codes == _SADDLE_AD) | (codes == _SADDLE_BC)
    # nodes: one per corner, two per saddle (one per ring passing it)
    per_vertex = 1 + saddle.astype(np.int64)
    base = np.concatenate(([0], np.cumsum(per_vertex)[:-1]))
    node_vertex = np.repeat(np.arange(ys.size), per_vertex)
    second = np.arange(node_vertex.size) - base[node_vertex]  # 0 or 1 within a saddle
    ncodes = codes[node_vertex]
    ndir = _OUT[ncodes].astype(np.int64)
    ndir = np.where(ncodes == _SADDLE_AD, np.where(second == 0, 2, 0), ndir)   # a: west, d: east
    ndir = np.where(ncodes == _SADDLE_BC, np.where(second == 0, 1, 3), ndir)   # c: south, b: north

    # the next corner along each direction: neighbours in row-major (E/W) or column-major (S/N) order
    col_order = np.lexsort((ys, xs))
    col_pos = np.empty_like(col_order)
    col_pos[col_order] = np.arange(col_order.size)
    v = node_vertex
    n = ys.size
    target = np.select(
        [ndir == 0, ndir == 2, ndir == 1],
        [np.minimum(v + 1, n - 1), np.maximum(v - 1, 0), col_order[np.minimum(col_pos[v] + 1, n - 1)]],
        col_order[np.maximum(col_pos[v] - 1, 0)])
    tcode = codes[target]
    # at a saddle, the ring arriving keeps to its own pixel (4-connectivity)
    pick = np.where(tcode == _SADDLE_AD, (ndir == 3).astype(np.int64),      # heading north: d's ring
                    np.where(tcode == _SADDLE_BC, (ndir == 2).astype(np.int64), 0))  # heading west: b's ring
    nxt = (base[target] + pick).tolist()

    vx, vy = xs[node_vertex] + offset[0], ys[node_vertex] + offset[1]
    seen = bytearray(len(nxt))
    out = []
    for start in range(len(nxt)):
        if seen[start]:
            continue
        ring = []
        i = start
        while not seen[i]:
            seen[i] = 1
            ring.append(i)
            i = nxt[i]
        idx = np.asarray(ring)
        out.append(np.stack((vx[idx], vy[idx]), axis=1))
    return out


def ring_area(ring: np.ndarray) -> float:
    """Signed shoelace area: positive for outer rings, negative for holes."""
    x, y = ring[:, 0].astype(np.float64), ring[:, 1].astype(np.float64)
    return 0.5 * float(np.dot(x, np.roll(y, -1)) - np.dot(np.roll(x, -1), y))


def centre_ring(ring: np.ndarray) -> np.ndarray:
    """The pixel-edge ring moved half a pixel inward onto the centres of its boundary pixels (integer
    pixel indices). Raster readers that fill integer vertices inclusively (OpenCV ``fillPoly``, used by
    Ultralytics and supervision) give the mask back from this ring; from the edge ring they would add a
    column and a row. Each edge keeps the interior on its right (y down): eastward edges move down onto
    the row below them (y), westward ones up (y - 1), southward ones left (x - 1), northward ones stay (x);
    each corner takes x from its vertical edge and y from its horizontal one."""
    x, y = ring[:, 0], ring[:, 1]
    nx, ny = np.roll(x, -1), np.roll(y, -1)
    horizontal = ny == y
    line = np.where(horizontal, np.where(nx > x, y, y - 1), np.where(ny > y, x - 1, x))  # centre line per edge
    incoming = np.roll(line, 1)
    out_x = np.where(horizontal, incoming, line)      # vertex k: edge k-1 in, edge k out (one of each kind)
    out_y = np.where(horizontal, line, incoming)
    return np.stack([out_x, out_y], axis=1)


def _inside(px: float, py: float, ring: np.ndarray) -> bool:
    """Even-odd test of a point at a pixel centre (never on an edge) against an axis-aligned ring."""
    x0, y0 = ring[:, 0], ring[:, 1]
    x1, y1 = np.roll(x0, -1), np.roll(y0, -1)
    vertical = x0 == x1
    crosses = vertical & (x0 > px) & ((y0 > py) != (y1 > py))
    return bool(np.count_nonzero(crosses) % 2)


def _bridge(outer: np.ndarray, inner: np.ndarray) -> np.ndarray:
    """``outer`` with ``inner`` spliced in through a zero-width cut between their nearest vertices."""
    d = ((outer[:, None, :] - inner[None, :, :]) ** 2).sum(-1)
    i, j = np.unravel_index(int(np.argmin(d)), d.shape)
    return np.concatenate((outer[:i + 1], inner[j:], inner[:j + 1], outer[i:]))


def components(mask: np.ndarray, offset: tuple[int, int] = (0, 0), centres: bool = False) -> list[np.ndarray]:
    """One ring per connected component, its holes bridged in; largest component first. ``centres``: the
    rings through boundary pixel centres (``centre_ring``) instead of along pixel edges."""
    all_rings = rings(mask, offset)
    areas = [ring_area(r) for r in all_rings]
    outers = [(a, r) for a, r in zip(areas, all_rings) if a > 0]
    holes = [r for a, r in zip(areas, all_rings) if a < 0]
    outers.sort(key=lambda ar: -ar[0])
    result = [centre_ring(r) if centres else r for _, r in outers]
    for hole in holes:
        top = np.lexsort((hole[:, 0], hole[:, 1]))[0]
        px, py = hole[top, 0] + 0.5, hole[top, 1] + 0.5  # the hole's top-left pixel: background
        best = None
        for k, (area, ring) in enumerate(outers):
            if (best is None or area < outers[best][0]) and _inside(px, py, ring):
                best = k
        if best is not None:  # always, for a real hole; guards against a malformed mask
            result[best] = _bridge(result[best], centre_ring(hole) if centres else hole)
    return result


def single(mask: np.ndarray, offset: tuple[int, int] = (0, 0), centres: bool = False) -> np.ndarray | None:
    """All components (with their holes) in one ring, for formats allowing one polygon per object."""
    parts = components(mask, offset, centres)
    if not parts:
        return None
    ring = parts[0]
    for other in parts[1:]:
        ring = _bridge(ring, other)
    return ring


def rle_counts(counts: str | bytes | list) -> np.ndarray:
    """pycocotools' compressed RLE string -> run lengths, vectorised (``masks._string_to_counts`` is the
    readable per-character version; this one is ~10x faster on typical masks, which matters when every
    object of 10,000 frames is outlined). Chars carry 5 bits each, low group first; 0x20 = "more
    follows"; the last char's 0x10 is the sign; from index 3 on, a count is stored as the difference to
    the count two places back."""
    if isinstance(counts, list):
        return np.asarray(counts, dtype=np.int64)
    c = np.frombuffer(counts.encode("ascii") if isinstance(counts, str) else bytes(counts), np.uint8)
    c = c.astype(np.int64) - 48
    if c.size == 0:
        return np.zeros(0, np.int64)
    last = (c & 0x20) == 0
    group = np.concatenate(([0], np.cumsum(last)[:-1]))
    first = np.flatnonzero(np.concatenate(([True], last[:-1])))
    k = np.arange(c.size) - first[group]
    x = np.zeros(int(group[-1]) + 1, np.int64)
    np.add.at(x, group, (c & 0x1F) << (5 * k))
    ends = np.flatnonzero(last)
    negative = (c[ends] & 0x10) != 0
    x[negative] -= np.left_shift(1, 5 * (k[ends][negative] + 1))
    if x.size > 3:  # undo the delta: x[i] += counts[i - 2] for i > 2, per parity
        for start in (3, 4):
            x[start - 2::2][1:] = np.cumsum(x[start - 2::2])[1:]
    return x


def rle_crop(rle: dict, bbox: list[int]) -> np.ndarray:
    """The bbox region (x, y, w, h) of a COCO RLE as a bool array, in time proportional to the box, not
    the image. ``bbox`` must be the mask's tight box (the records' is): then every run lies inside the
    box's rows, except runs crossing into the next column, which only exist when the box spans the
    full height (y = 0, h = image height), where the mapping below is exact too."""
    h_img = int(rle["size"][0])
    cnt = rle_counts(rle["counts"])
    x, y, w, h = (int(v) for v in bbox)
    ends = np.cumsum(cnt)
    starts = ends - cnt
    starts, ends = starts[1::2], ends[1::2]  # runs of ones, column-major

    def crop_index(flat):
        return (flat // h_img - x) * h + np.clip(flat % h_img - y, 0, h - 1)

    lo = np.clip(crop_index(starts), 0, w * h)
    hi = np.clip(crop_index(ends - 1) + 1, 0, w * h)
    delta = np.zeros(w * h + 1, np.int32)
    np.add.at(delta, lo, 1)
    np.add.at(delta, hi, -1)
    return np.cumsum(delta[:-1]).astype(bool).reshape(w, h).T


def coco_polygons(rle: dict, bbox: list[int]) -> list[list[int]]:
    """COCO ``segmentation`` polygons (flat [x0, y0, x1, y1, ...]), one per component, holes bridged."""
    crop = rle_crop(rle, bbox)
    return [r.ravel().tolist() for r in components(crop, (int(bbox[0]), int(bbox[1])))]


def object_polygon(rle: dict, bbox: list[int], centres: bool = False) -> np.ndarray | None:
    """One (n, 2) ring holding the whole object (YOLO segmentation)."""
    return single(rle_crop(rle, bbox), (int(bbox[0]), int(bbox[1])), centres)

"""Annotation maths on an instance-id mask (uint16 H x W, 0 = background).

Everything is computed from the *runs* of the mask read column-major (COCO's order): the boundaries
of equal values are found in one vectorised pass, and each instance then only touches its own few
runs. That makes a frame cost O(pixels) once plus O(runs) per instance, instead of one full-image
scan per instance.

``rle_encode`` reproduces pycocotools' compressed RLE byte for byte (maskApi.c ``rleEncode`` and
``rleToString``), so our segmentations are interchangeable with ``pycocotools.mask.encode``.
"""

from __future__ import annotations

import numpy as np

# pycocotools packs 5 bits per char; a 32-bit count (after the delta, 33 bits signed) needs at most 7.
_MAX_CHARS = 7


def _column_runs(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Runs of equal values in the column-major flattening: (values, starts, ends), end exclusive."""
    flat = np.asarray(mask).T.ravel()
    n = flat.size
    if n == 0:
        empty = np.zeros(0, dtype=np.int64)
        return flat[:0], empty, empty
    change = np.flatnonzero(flat[1:] != flat[:-1]) + 1
    starts = np.concatenate(([0], change)).astype(np.int64)
    ends = np.concatenate((change, [n])).astype(np.int64)
    return flat[starts], starts, ends


def _group_runs(values: np.ndarray, starts: np.ndarray, ends: np.ndarray):
    """Foreground runs grouped by id, in pixel order inside each group.

    Returns (ids, group_offsets, starts, ends): runs of ``ids[k]`` are
    ``starts[group_offsets[k]:group_offsets[k + 1]]``.
    """
    fg = values != 0
    values, starts, ends = values[fg], starts[fg], ends[fg]
    order = np.argsort(values, kind="stable")  # stable: keeps pixel order inside each id
    values, starts, ends = values[order], starts[order], ends[order]
    ids, first = np.unique(values, return_index=True)
    offsets = np.append(first, values.size)
    return ids, offsets, starts, ends


def _check_mask(mask: np.ndarray) -> np.ndarray:
    m = np.asarray(mask)
    if m.ndim != 2:
        raise ValueError(f"a mask must be 2-D (H, W), got shape {m.shape}")
    if not (np.issubdtype(m.dtype, np.integer) or m.dtype == np.bool_):
        raise ValueError(f"a mask must hold integer ids, got {m.dtype}")
    return m


def instance_stats(mask: np.ndarray) -> dict[int, dict]:
    """{id: {"bbox": [x, y, w, h], "area": n}} for every id > 0 present (COCO tight box, integer pixels).

    A run in column-major order that crosses from column c0 into a later column covers row h-1 of
    c0 and row 0 of the next, so its row range is the whole height; otherwise it is start..end-1.
    """
    m = _check_mask(mask)
    h = m.shape[0]
    ids, offsets, starts, ends = _group_runs(*_column_runs(m))
    if ids.size == 0:
        return {}
    last = ends - 1
    col0, col1 = starts // h, last // h
    crosses = col1 > col0
    row0 = np.where(crosses, 0, starts % h)
    row1 = np.where(crosses, h - 1, last % h)
    seg = offsets[:-1]
    xmin = np.minimum.reduceat(col0, seg)
    xmax = np.maximum.reduceat(col1, seg)
    ymin = np.minimum.reduceat(row0, seg)
    ymax = np.maximum.reduceat(row1, seg)
    area = np.add.reduceat(ends - starts, seg)
    out: dict[int, dict] = {}
    for k, i in enumerate(ids.tolist()):
        out[int(i)] = {
            "bbox": [int(xmin[k]), int(ymin[k]), int(xmax[k] - xmin[k] + 1), int(ymax[k] - ymin[k] + 1)],
            "area": int(area[k]),
        }
    return out


def _grouped_counts(starts: np.ndarray, ends: np.ndarray, offsets: np.ndarray, n: int):
    """Uncompressed COCO counts for several binary masks at once, concatenated.

    Group k's one-runs are ``starts/ends[offsets[k]:offsets[k+1]]`` (pixel order, never adjacent:
    adjacent runs of one id would be one run). Like pycocotools, each group starts with a zero-run
    (possibly 0) and ends with a trailing zero-run only when that is non-empty; an empty group is
    ``[n]``. Returns (counts, count_offsets).
    """
    groups = offsets.size - 1
    sizes = np.diff(offsets)
    first = np.zeros(starts.size, dtype=bool)
    first[offsets[:-1][sizes > 0]] = True
    prev_end = np.empty_like(starts)
    prev_end[1:] = ends[:-1]
    prev_end[first] = 0
    inter = np.empty(2 * starts.size, dtype=np.int64)
    inter[0::2] = starts - prev_end
    inter[1::2] = ends - starts
    last_end = np.zeros(groups, dtype=np.int64)
    last_end[sizes > 0] = ends[offsets[1:][sizes > 0] - 1]
    trailing = n - last_end
    keep = (trailing > 0) | (sizes == 0)  # an empty mask is [n] even when n == 0
    counts = np.insert(inter, 2 * offsets[1:][keep], trailing[keep])
    lengths = 2 * sizes + keep
    count_offsets = np.concatenate(([0], np.cumsum(lengths)))
    return counts, count_offsets


def _counts_to_strings(counts: np.ndarray, count_offsets: np.ndarray) -> list[str]:
    """pycocotools' ``rleToString`` for each group: delta against counts[i-2] for i > 2 (local
    index), then 5 bits per char, bit 0x20 = "more follows", sign from bit 0x10 of the last char,
    chars offset by 48. Vectorised over all groups: every count is expanded to 7 candidate chars
    and the live ones are kept in order.
    """
    c = np.asarray(counts, dtype=np.int64)
    x = c.copy()
    if c.size > 2:
        local = np.arange(c.size) - np.repeat(count_offsets[:-1], np.diff(count_offsets))
        x[2:] -= np.where(local[2:] > 2, c[:-2], 0)
    chars = np.empty((x.size, _MAX_CHARS), dtype=np.uint8)
    live = np.empty((x.size, _MAX_CHARS), dtype=bool)
    active = np.ones(x.size, dtype=bool)
    for j in range(_MAX_CHARS):
        low = x & 0x1F
        x >>= 5  # arithmetic shift, like C's on a signed long
        more = np.where((low & 0x10) != 0, x != -1, x != 0)
        live[:, j] = active
        chars[:, j] = low + np.where(more, 0x20, 0) + 48
        active &= more
    text = chars[live].tobytes().decode("ascii")
    per_count = np.concatenate(([0], np.cumsum(live.sum(axis=1))))
    bounds = per_count[count_offsets].tolist()
    return [text[bounds[k]:bounds[k + 1]] for k in range(len(bounds) - 1)]


def rle_encode(binary_mask: np.ndarray) -> dict:
    """COCO compressed RLE ``{"size": [h, w], "counts": str}``, identical to
    ``pycocotools.mask.encode(np.asfortranarray(m))`` (with counts decoded to str)."""
    m = _check_mask(binary_mask)
    h, w = m.shape
    values, starts, ends = _column_runs(m != 0)
    fg = values.astype(bool)
    starts, ends = starts[fg], ends[fg]
    counts, count_offsets = _grouped_counts(starts, ends, np.array([0, starts.size]), h * w)
    return {"size": [int(h), int(w)], "counts": _counts_to_strings(counts, count_offsets)[0]}


def rle_encode_instances(mask: np.ndarray) -> dict[int, dict]:
    """``{id: rle}`` for every id > 0 in an instance mask: one flatten, one run pass and one string
    encoding for the whole frame, whatever the number of instances."""
    m = _check_mask(mask)
    h, w = m.shape
    ids, offsets, starts, ends = _group_runs(*_column_runs(m))
    if ids.size == 0:
        return {}
    counts, count_offsets = _grouped_counts(starts, ends, offsets, h * w)
    strings = _counts_to_strings(counts, count_offsets)
    return {int(i): {"size": [int(h), int(w)], "counts": s} for i, s in zip(ids.tolist(), strings)}


def _string_to_counts(s: str) -> list[int]:
    """pycocotools' ``rleFrString``: the inverse of ``_counts_to_string``."""
    data = s.encode("ascii") if isinstance(s, str) else bytes(s)
    counts: list[int] = []
    p, n = 0, len(data)
    while p < n:
        x, k, more = 0, 0, True
        while more:
            if p >= n:
                raise ValueError("truncated RLE string")
            c = data[p] - 48
            x |= (c & 0x1F) << (5 * k)
            more = bool(c & 0x20)
            p += 1
            k += 1
            if not more and (c & 0x10):
                x |= -1 << (5 * k)
        if len(counts) > 2:
            x += counts[-2]
        counts.append(x)
    return counts


def rle_decode(rle: dict) -> np.ndarray:
    """A (h, w) uint8 0/1 mask from compressed (str/bytes counts) or uncompressed (list) RLE."""
    h, w = (int(v) for v in rle["size"])
    counts = rle["counts"]
    cnt = np.asarray(counts if isinstance(counts, list) else _string_to_counts(counts), dtype=np.int64)
    if cnt.size and (cnt < 0).any():
        raise ValueError("RLE has a negative run length")
    if int(cnt.sum()) != h * w:
        raise ValueError(f"RLE runs cover {int(cnt.sum())} pixels, size {h}x{w} needs {h * w}")
    bits = (np.arange(cnt.size) % 2).astype(np.uint8)
    flat = np.repeat(bits, cnt)
    return flat.reshape(w, h).T.copy()

"""Mask maths, checked against pycocotools (the reference every COCO tool uses)."""

from __future__ import annotations

import numpy as np
import pytest
from pycocotools import mask as mask_utils

from synthkiln.addon.core.labels import masks


def coco_rle(binary: np.ndarray) -> dict:
    return mask_utils.encode(np.asfortranarray(binary.astype(np.uint8)))


def assert_same_rle(ours: dict, binary: np.ndarray) -> None:
    ref = coco_rle(binary)
    assert ours["size"] == [int(v) for v in ref["size"]]
    assert isinstance(ours["counts"], str)
    assert ours["counts"].encode("ascii") == ref["counts"]


def edge_cases() -> list[tuple[str, np.ndarray]]:
    out = []
    for h, w in [(1, 1), (5, 7), (480, 640), (50, 1), (1, 50), (300, 2)]:
        empty = np.zeros((h, w), np.uint8)
        full = np.ones((h, w), np.uint8)
        first = empty.copy()
        first[0, 0] = 1
        last = empty.copy()
        last[-1, -1] = 1
        single = empty.copy()
        single[h // 2, w // 2] = 1
        out += [(f"empty{h}x{w}", empty), (f"full{h}x{w}", full), (f"first{h}x{w}", first),
                (f"last{h}x{w}", last), (f"single{h}x{w}", single)]
    col = np.zeros((4, 5), np.uint8)
    col[:, 2] = 1  # one run that fills a whole column
    cols = np.zeros((4, 5), np.uint8)
    cols[2:, 1] = 1
    cols[:2, 2] = 1  # a run that crosses a column boundary in column-major order
    checker = (np.indices((9, 11)).sum(axis=0) % 2).astype(np.uint8)
    out += [("column", col), ("crossing", cols), ("checker", checker)]
    big = np.zeros((2000, 1500), np.uint8)
    big[1000:, 1:] = 1  # long runs: large counts and negative deltas
    out.append(("big", big))
    return out


@pytest.mark.parametrize("name,binary", edge_cases(), ids=[n for n, _ in edge_cases()])
def test_rle_encode_matches_pycocotools_edge_cases(name, binary):
    ours = masks.rle_encode(binary)
    assert_same_rle(ours, binary)
    np.testing.assert_array_equal(masks.rle_decode(ours), binary)


def test_rle_encode_matches_pycocotools_random():
    rng = np.random.default_rng(0)
    for _ in range(400):
        h, w = (int(v) for v in rng.integers(1, 60, 2))
        binary = (rng.random((h, w)) < rng.random()).astype(np.uint8)
        if rng.random() < 0.5:  # blocky masks: longer runs, bigger deltas
            small = binary[:max(1, h // 8), :max(1, w // 8)]
            binary = np.repeat(np.repeat(small, 8, 0), 8, 1)[:h, :w]
        assert_same_rle(masks.rle_encode(binary), binary)


def test_rle_encode_accepts_bool_and_nonbinary():
    m = np.zeros((6, 4), np.uint16)
    m[1:3, 1:3] = 7
    assert masks.rle_encode(m) == masks.rle_encode(m != 0) == masks.rle_encode((m != 0).astype(np.uint8))
    assert_same_rle(masks.rle_encode(m), m != 0)


def instance_mask(seed: int, h: int = 120, w: int = 160, n: int = 25) -> np.ndarray:
    """Rectangles and discs, overlapping each other (later ones on top), touching the border."""
    rng = np.random.default_rng(seed)
    m = np.zeros((h, w), np.uint16)
    yy, xx = np.mgrid[:h, :w]
    for i in range(1, n + 1):
        cx, cy, r = int(rng.integers(0, w)), int(rng.integers(0, h)), int(rng.integers(1, 25))
        if i % 2:
            m[(xx - cx) ** 2 + (yy - cy) ** 2 <= r * r] = i
        else:
            m[max(cy - r, 0):cy + r, max(cx - r, 0):cx + 2 * r] = i
    m[0, 0] = 60000  # a large id, one pixel, in the corner
    m[-1, 5:9] = 65535
    return m


@pytest.mark.parametrize("seed", range(6))
def test_rle_encode_instances_equals_per_instance_pycocotools(seed):
    m = instance_mask(seed)
    ours = masks.rle_encode_instances(m)
    ids = [int(i) for i in np.unique(m) if i != 0]
    assert sorted(ours) == ids
    for i in ids:
        assert_same_rle(ours[i], m == i)
        np.testing.assert_array_equal(masks.rle_decode(ours[i]), (m == i).astype(np.uint8))


def test_rle_encode_instances_empty_and_full():
    assert masks.rle_encode_instances(np.zeros((4, 4), np.uint16)) == {}
    full = np.full((3, 5), 9, np.uint16)
    assert masks.rle_encode_instances(full) == {9: masks.rle_encode(np.ones((3, 5), np.uint8))}


@pytest.mark.parametrize("seed", range(6))
def test_instance_stats_matches_pycocotools(seed):
    m = instance_mask(seed)
    stats = masks.instance_stats(m)
    ids = [int(i) for i in np.unique(m) if i != 0]
    assert sorted(stats) == ids
    for i in ids:
        ref = coco_rle(m == i)
        assert stats[i]["bbox"] == [int(v) for v in mask_utils.toBbox(ref)]
        assert stats[i]["area"] == int(mask_utils.area(ref))
        ys, xs = np.nonzero(m == i)  # and the plain definition
        assert stats[i]["bbox"] == [xs.min(), ys.min(), xs.max() - xs.min() + 1, ys.max() - ys.min() + 1]
        assert all(type(v) is int for v in stats[i]["bbox"]) and type(stats[i]["area"]) is int


def test_instance_stats_edge_cases():
    assert masks.instance_stats(np.zeros((3, 3), np.uint16)) == {}
    one = np.zeros((1, 1), np.uint16)
    one[0, 0] = 4
    assert masks.instance_stats(one) == {4: {"bbox": [0, 0, 1, 1], "area": 1}}
    m = np.zeros((4, 5), np.uint16)
    m[3, 1] = 2
    m[0, 2] = 2  # column-major run crossing from column 1 into column 2
    assert masks.instance_stats(m) == {2: {"bbox": [1, 0, 2, 4], "area": 2}}
    m = np.zeros((6, 6), np.uint16)
    m[1:5, 1:5] = 3
    m[2:4, 2:4] = 0  # a ring: the hole does not shrink the box
    assert masks.instance_stats(m) == {3: {"bbox": [1, 1, 4, 4], "area": 12}}


def test_rle_decode_reads_pycocotools_strings_and_uncompressed_counts():
    m = instance_mask(3) == 5
    ref = coco_rle(m)
    np.testing.assert_array_equal(masks.rle_decode(ref), m)  # bytes counts, as pycocotools returns them
    np.testing.assert_array_equal(masks.rle_decode({"size": [2, 3], "counts": [1, 2, 3]}),
                                  np.array([[0, 1, 0], [1, 0, 0]], np.uint8))
    with pytest.raises(ValueError):
        masks.rle_decode({"size": [2, 3], "counts": [1, 2]})


def test_rejects_non_2d():
    with pytest.raises(ValueError):
        masks.rle_encode(np.zeros((2, 2, 2), np.uint8))
    with pytest.raises(ValueError):
        masks.instance_stats(np.zeros(5, np.uint16))
    with pytest.raises(ValueError):
        masks.rle_encode_instances(np.zeros((2, 2), np.float32))

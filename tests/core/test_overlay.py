"""The viewport label overlay's geometry (core/labels/overlay.py): the shapes it draws are the record's boxes,
placed on the camera frame to within half a pixel."""

import numpy as np
import pytest

from synthkiln.addon.core.labels import geometry, masks
from synthkiln.addon.core.labels.overlay import (CameraFrame, instance_colour, instance_rgba, record_shapes,
                                                 region_lines)

W, H = 64, 48
K = np.array([[60.0, 0, W / 2], [0, 60.0, H / 2], [0, 0, 1]])
CUBE = np.array([[x, y, z] for x in (-0.3, 0.3) for y in (-0.3, 0.3) for z in (2.5, 3.1)], np.float64)
CUBE_TRIS = np.array([[0, 1, 3], [0, 3, 2], [4, 6, 7], [4, 7, 5], [0, 4, 5], [0, 5, 1],
                      [2, 3, 7], [2, 7, 6], [0, 2, 6], [0, 6, 4], [1, 5, 7], [1, 7, 3]])


def record() -> dict:
    """A record as the pipeline builds one: mask boxes and RLE from core.masks, amodal boxes, visibility
    and keypoints from core.geometry."""
    mask = np.zeros((H, W), np.uint16)
    mask[17:31, 25:39] = 1                      # the cube (its silhouette), partly hidden by ...
    mask[24:40, 32:50] = 2                      # ... a second object in front
    stats, rles = masks.instance_stats(mask), masks.rle_encode_instances(mask)
    cube = geometry.silhouette_labels(CUBE, CUBE_TRIS, K, W, H, stats[1]["area"])
    kps = geometry.keypoints({"top": np.array([0.0, -0.3, 2.5]), "back": np.array([0.0, 0.0, 3.1])}, K, np.eye(4),
                             np.full((H, W), 2.5, np.float32))     # the front face: the back point is hidden
    objects = [{"instance_id": 1, "name": "Cube", "category": "box", "bbox": stats[1]["bbox"],
                "area": stats[1]["area"], "rle": rles[1], "keypoints": kps, **cube},
               {"instance_id": 2, "name": "Mug", "category": "mug", "bbox": stats[2]["bbox"], "area": stats[2]["area"],
                "rle": rles[2], "amodal_bbox": None, "visibility": 1.0},
               {"instance_id": 3, "name": "Gone", "category": "mug", "bbox": None, "area": 0, "rle": None,
                "amodal_bbox": None, "hidden": True}]
    return {"frame": 0, "width": W, "height": H, "objects": objects}


def corners(box):
    x, y, w, h = box
    return np.array([[x, y], [x + w, y], [x + w, y + h], [x, y + h]])


def test_shapes_are_the_record_boxes():
    rec = record()
    shapes = record_shapes(rec, {"box": (1.0, 0.0, 0.0)})
    cube, mug = rec["objects"][:2]
    boxes = [s for s in shapes if s.kind == "box"]
    amodal = [s for s in shapes if s.kind == "amodal"]
    assert len(boxes) == 2 and len(amodal) == 1          # the hidden object draws nothing
    np.testing.assert_allclose(boxes[0].points, corners(cube["bbox"]), atol=1e-9)
    np.testing.assert_allclose(boxes[1].points, corners(mug["bbox"]), atol=1e-9)
    np.testing.assert_allclose(amodal[0].points, corners(cube["amodal_bbox"]), atol=1e-9)
    assert boxes[0].colour == (1.0, 0.0, 0.0) and boxes[1].colour == pytest.approx(instance_colour(2))
    texts = [s.text for s in shapes if s.kind == "text"]
    assert texts == [f"box {cube['visibility']:.2f}", "mug 1.00"]
    assert 0 < cube["visibility"] < 1                    # the mug hides part of it
    kinds = {s.text: s.kind for s in shapes if s.kind in ("keypoint", "occluded")}
    assert kinds == {"top": "keypoint", "back": "occluded"}
    top = next(s for s in shapes if s.text == "top")
    np.testing.assert_allclose(top.points[0], next(k["uv"] for k in cube["keypoints"] if k["name"] == "top"))


@pytest.mark.parametrize("tl, br", [((100.0, 400.0), (356.0, 208.0)),     # 4 region px per image px, y up
                                    ((12.5, 300.25), (44.5, 276.25))])    # half size, fractional origin
def test_the_camera_frame_maps_boxes_to_within_half_a_pixel(tl, br):
    frame = CameraFrame.from_view_frame([(br[0], tl[1], 5.0), br, (tl[0], br[1]), tl], W, H)   # view_frame's order
    assert frame.corners[0] == tl and frame.corners[2] == br
    s = (br[0] - tl[0]) / W
    assert frame.scale() == pytest.approx(s)
    rec = record()
    for shape in record_shapes(rec):
        if shape.kind not in ("box", "amodal"):
            continue
        reg = frame.to_region(shape.points)
        expected = np.array(tl) + np.array(shape.points) * [s, (br[1] - tl[1]) / H]
        np.testing.assert_allclose(reg, expected, atol=1e-9)
        back = frame.to_image(reg)
        assert np.abs(back - np.array(shape.points)).max() < 0.5 / 1000      # and back, far under half a pixel


def test_region_lines_stroke_every_box_side():
    frame = CameraFrame(((0.0, 480.0), (640.0, 480.0), (640.0, 0.0), (0.0, 0.0)), W, H)
    lines = region_lines(record_shapes(record()), frame)
    assert len(lines["solid"]) == 8                      # two boxes, four sides
    assert len(lines["dashed"]) > 4                      # the amodal box's sides, cut into dashes
    assert [t for _, _, t in lines["texts"]][1] == "mug 1.00"
    assert sorted(filled for _, _, filled in lines["points"]) == [False, True]
    for p, q, _ in lines["dashed"]:
        assert np.linalg.norm(np.asarray(q) - p) <= 6.0 + 1e-9


def test_instance_colours_cover_the_masks():
    rec = record()
    rgba = instance_rgba(rec)[::-1]                      # back to rows top-down
    assert rgba.shape == (H, W, 4)
    ids = np.zeros((H, W), np.uint16)
    for obj in rec["objects"]:
        if obj.get("rle"):
            ids[masks.rle_decode(obj["rle"]).astype(bool)] = obj["instance_id"]
    assert np.array_equal(rgba[..., 3] > 0, ids > 0)
    assert tuple(rgba[30, 40, :3]) == pytest.approx(instance_colour(2))
    assert tuple(rgba[18, 26, :3]) == pytest.approx(instance_colour(1))
    assert instance_rgba({"width": W, "height": H, "objects": []}) is None

"""Each export, loaded unchanged by other people's readers, agrees with the frame records and masks: counts,
classes, boxes (to 0.5 px) and masks. Skipped where the readers are not installed (the main environment);
``make test-interop`` runs it in ``.venv-interop``."""

from __future__ import annotations

import json
import os
import shutil

import numpy as np
import pytest

pytest.importorskip("datumaro", reason="the interop readers live in .venv-interop (make test-interop)")
cv2 = pytest.importorskip("cv2")
sv = pytest.importorskip("supervision")
import datumaro as dm  # noqa: E402
from pycocotools import mask as mask_utils  # noqa: E402
from pycocotools.coco import COCO  # noqa: E402
from pycocotools.cocoeval import COCOeval  # noqa: E402

SUBSETS = ("train", "val")


def record_boxes(ds, frame: int) -> list[tuple[str, list[float]]]:
    """(category, [x0, y0, x1, y1]) of every exported object, sorted."""
    return sorted((o["category"], [o["bbox"][0], o["bbox"][1], o["bbox"][0] + o["bbox"][2], o["bbox"][1] + o["bbox"][3]])
                  for o in ds.visible(frame))


def same_boxes(expected, got, tol: float = 0.5) -> None:
    assert [c for c, _ in expected] == [c for c, _ in got], (expected, got)
    if expected:
        err = np.abs(np.array([b for _, b in expected]) - np.array([b for _, b in got])).max()
        assert err <= tol, (err, expected, got)


def frame_of(path: str) -> int:
    return int(os.path.splitext(os.path.basename(path))[0])


# -- COCO ------------------------------------------------------------------------------------------------
def test_pycocotools_masks_exact_and_ap_one(datasets):
    for ds in datasets.values():
        for subset in SUBSETS:
            coco = COCO(str(ds.exports / "coco" / "annotations" / f"instances_{subset}.json"))
            for img in coco.dataset["images"]:
                frame = img["synthkiln"]["frame"]
                assert ds.subset_of(frame) == subset
                assert (ds.exports / "coco" / "images" / subset / img["file_name"]).is_file()
                ids = ds.mask(frame)
                anns = coco.loadAnns(coco.getAnnIds(imgIds=img["id"]))
                assert len(anns) == len(ds.visible(frame))
                for ann in anns:
                    np.testing.assert_array_equal(coco.annToMask(ann), ids == ann["id"] % 65536)
            dets = [{"image_id": a["image_id"], "category_id": a["category_id"], "bbox": a["bbox"], "score": 1.0}
                    for a in coco.dataset["annotations"]]
            if not dets:
                continue
            ev = COCOeval(coco, coco.loadRes(dets), "bbox")
            ev.evaluate()
            ev.accumulate()
            ev.summarize()
            assert ev.stats[0] == pytest.approx(1.0)


def test_datumaro_imports_coco_with_subsets(datasets):
    for ds in datasets.values():
        d = dm.Dataset.import_from(str(ds.exports / "coco"), "coco")
        assert {n: len(s) for n, s in d.subsets().items()} == _subset_sizes(ds)
        labels = d.categories()[dm.AnnotationType.label]
        for item in d:
            frame = frame_of(item.media.path)
            boxes = sorted((labels[a.label].name, [a.x, a.y, a.x + a.w, a.y + a.h])
                           for a in item.annotations if a.type == dm.AnnotationType.bbox)
            same_boxes(record_boxes(ds, frame), boxes)


def test_supervision_coco_masks_equal_ours(datasets):
    for ds in datasets.values():
        for subset in SUBSETS:
            d = sv.DetectionDataset.from_coco(str(ds.exports / "coco" / "images" / subset),
                                              str(ds.exports / "coco" / "annotations" / f"instances_{subset}.json"),
                                              force_masks=True)
            for path, _, det in d:
                frame = frame_of(path)
                ids = ds.mask(frame)
                got = sorted((d.classes[c], m.tobytes()) for c, m in zip(det.class_id, det.mask))
                want = sorted((o["category"], (ids == o["instance_id"]).tobytes()) for o in ds.visible(frame))
                assert got == want


def test_torchvision_coco_detection(datasets):
    datasets_tv = pytest.importorskip("torchvision.datasets", reason="torchvision is exercised outside CI")
    ds = datasets["tabletop"]
    for subset in SUBSETS:
        d = datasets_tv.CocoDetection(str(ds.exports / "coco" / "images" / subset),
                                      str(ds.exports / "coco" / "annotations" / f"instances_{subset}.json"))
        for img, target in d:
            assert img.size == (160, 120) and all("bbox" in t for t in target)


# -- YOLO ------------------------------------------------------------------------------------------------
def _subset_sizes(ds) -> dict[str, int]:
    sizes: dict[str, int] = {}
    for frame in ds.records:
        sizes[ds.subset_of(frame)] = sizes.get(ds.subset_of(frame), 0) + 1
    return sizes


def test_datumaro_and_supervision_read_yolo_boxes(datasets):
    for ds in datasets.values():
        d = dm.Dataset.import_from(str(ds.exports / "yolo"), "yolo")
        assert {n: len(s) for n, s in d.subsets().items()} == _subset_sizes(ds)
        labels = d.categories()[dm.AnnotationType.label]
        for item in d:
            frame = frame_of(item.id)
            boxes = sorted((labels[a.label].name, [a.x, a.y, a.x + a.w, a.y + a.h]) for a in item.annotations)
            same_boxes(record_boxes(ds, frame), boxes)
        for subset in SUBSETS:
            y = sv.DetectionDataset.from_yolo(str(ds.exports / "yolo" / "images" / subset),
                                              str(ds.exports / "yolo" / "labels" / subset),
                                              str(ds.exports / "yolo" / "data.yaml"))
            for path, _, det in y:
                got = sorted((y.classes[c], b) for c, b in zip(det.class_id, det.xyxy.tolist()))
                same_boxes(record_boxes(ds, frame_of(path)), got)


def test_a_moved_yolo_export_reads_its_own_images(tabletop, tmp_path):
    """data.yaml holds no absolute path: a copy elsewhere loads the copy's images."""
    copy = tmp_path / "moved" / "yolo"
    shutil.copytree(tabletop.exports / "yolo", copy)
    text = (copy / "data.yaml").read_text()
    assert str(tabletop.root) not in text and "path:" not in text
    d = dm.Dataset.import_from(str(copy), "yolo")
    assert all(str(copy) in item.media.path for item in d)
    ultralytics_utils = pytest.importorskip("ultralytics.data.utils", reason="Ultralytics is exercised outside CI")
    data = ultralytics_utils.check_det_dataset(str(copy / "data.yaml"))
    assert str(data["train"]).startswith(str(copy))


def ultralytics_fill(line: str, w: int, h: int) -> np.ndarray:
    """A YOLO-seg line as Ultralytics' polygon2mask rasterises it: denormalise, int32, cv2.fillPoly."""
    xy = np.array([float(v) for v in line.split()[1:]]).reshape(-1, 2) * [w, h]
    mask = np.zeros((h, w), np.uint8)
    cv2.fillPoly(mask, [np.asarray(xy, dtype=np.int32).reshape(-1, 1, 2)], color=1)
    return mask.astype(bool)


def test_yolo_seg_fills_back_to_our_masks(datasets):
    """OpenCV's fillPoly, as Ultralytics and supervision call it, gives our masks back: mean IoU >= 0.99,
    none under 0.9 (a single component, holes included, exactly)."""
    ious, exact = [], 0
    for ds in datasets.values():
        for frame, rec in ds.records.items():
            subset = ds.subset_of(frame)
            lines = (ds.exports / "yolo-seg" / "labels" / subset / f"{frame:06d}.txt").read_text().splitlines()
            ids = ds.mask(frame)
            objs = ds.visible(frame)
            assert len(lines) == len(objs)
            for line, obj in zip(lines, objs):
                want = ids == obj["instance_id"]
                got = ultralytics_fill(line, rec["width"], rec["height"])
                iou = (got & want).sum() / (got | want).sum()
                ious.append(iou)
                exact += bool(iou == 1.0)
    ious = np.array(ious)
    print(f"\nYOLO-seg through cv2.fillPoly: {len(ious)} instances, {exact} exact, mean IoU {ious.mean():.4f}, "
          f"min {ious.min():.4f}")
    assert ious.mean() >= 0.99 and ious.min() >= 0.9


def test_supervision_yolo_seg_masks(tabletop):
    for subset in SUBSETS:
        y = sv.DetectionDataset.from_yolo(str(tabletop.exports / "yolo-seg" / "images" / subset),
                                          str(tabletop.exports / "yolo-seg" / "labels" / subset),
                                          str(tabletop.exports / "yolo-seg" / "data.yaml"), force_masks=True)
        for path, _, det in y:
            ids = tabletop.mask(frame_of(path))
            for c, m in zip(det.class_id, det.mask):      # the best match among the objects of its class
                ious = [(m & (ids == o["instance_id"])).sum() / (m | (ids == o["instance_id"])).sum()
                        for o in tabletop.visible(frame_of(path)) if o["category"] == y.classes[c]]
                assert max(ious) >= 0.9


# -- VOC -------------------------------------------------------------------------------------------------
def test_datumaro_and_supervision_read_voc(datasets):
    for ds in datasets.values():
        d = dm.Dataset.import_from(str(ds.exports / "voc"), "voc_detection")
        assert {n: len(s) for n, s in d.subsets().items()} == _subset_sizes(ds)
        labels = d.categories()[dm.AnnotationType.label]
        for item in d:
            frame = frame_of(item.id)
            # VOC boxes are 1-based inclusive; Datumaro gives them back as x = xmin - 1 ... (pixel edges)
            boxes = sorted((labels[a.label].name, [a.x, a.y, a.x + a.w, a.y + a.h]) for a in item.annotations
                           if a.type == dm.AnnotationType.bbox)
            same_boxes(record_boxes(ds, frame), boxes, tol=1.0)
        v = sv.DetectionDataset.from_pascal_voc(str(ds.exports / "voc" / "JPEGImages"), str(ds.exports / "voc" / "Annotations"))
        assert len(v) == len(ds.records)
        for path, image, det in v:
            assert path.endswith(".jpg") and image.shape[:2] == (120, 160)
            got = sorted((v.classes[c], b) for c, b in zip(det.class_id, det.xyxy.tolist()))
            same_boxes(record_boxes(ds, frame_of(path)), got, tol=1.0)


def test_torchvision_voc_detection(tabletop, tmp_path):
    datasets_tv = pytest.importorskip("torchvision.datasets", reason="torchvision is exercised outside CI")
    root = tmp_path / "VOCdevkit" / "VOC2012"          # the devkit's folder names, which VOCDetection joins
    shutil.copytree(tabletop.exports / "voc", root)
    d = datasets_tv.VOCDetection(str(tmp_path), year="2012", image_set="train", download=False)
    for img, target in d:
        assert img.size == (160, 120) and target["annotation"]["filename"].endswith(".jpg")


# -- KITTI -----------------------------------------------------------------------------------------------
def test_datumaro_reads_kitti_training(datasets):
    for ds in datasets.values():
        d = dm.Dataset.import_from(str(ds.exports / "kitti"), "kitti_detection")
        assert {n: len(s) for n, s in d.subsets().items()} == {"training": len(ds.records)}
        labels = d.categories()[dm.AnnotationType.label]
        for item in d:
            frame = frame_of(item.id)
            want = sorted((o["category"].replace(" ", "_"),
                           o.get("amodal_bbox_clipped") or o["bbox"]) for o in ds.visible(frame))
            want = [(c, [b[0], b[1], b[0] + b[2], b[1] + b[3]]) for c, b in want]
            got = sorted((labels[a.label].name, [a.x, a.y, a.x + a.w, a.y + a.h]) for a in item.annotations)
            same_boxes(sorted(want), got, tol=0.01)
        for subset in SUBSETS:
            stems = (ds.exports / "kitti" / "ImageSets" / f"{subset}.txt").read_text().split()
            assert all(ds.subset_of(int(s)) == subset for s in stems)
            assert all((ds.exports / "kitti" / "training" / "image_2" / f"{s}.png").is_file() for s in stems)


def test_every_coco_subset_file_matches_the_all_frames_file(tabletop):
    whole = json.loads((tabletop.exports / "coco" / "annotations.json").read_text())
    parts = [json.loads((tabletop.exports / "coco" / "annotations" / f"instances_{s}.json").read_text()) for s in SUBSETS]
    assert sorted(a["id"] for p in parts for a in p["annotations"]) == sorted(a["id"] for a in whole["annotations"])
    assert sorted(i["id"] for p in parts for i in p["images"]) == sorted(i["id"] for i in whole["images"])
    rle = whole["annotations"][0]["segmentation"]
    assert mask_utils.area(rle) == whole["annotations"][0]["area"]

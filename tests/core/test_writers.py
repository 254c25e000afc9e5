"""Dataset writers (COCO, YOLO, YOLO-seg, Pascal VOC, KITTI, previews) on a synthetic dataset whose every
label is known (``tests/helpers/known_dataset.py``), read back with independent readers (pycocotools,
xml.etree, yaml, plain parsing)."""

from __future__ import annotations

import json
import math
import os
import xml.etree.ElementTree as ET

import numpy as np
import pytest
import yaml
from pycocotools import mask as mask_utils

from synthkiln.addon.core.exports import build as exports, kitti, preview, voc
from synthkiln.addon.core.exports.common import Split, split_of
from synthkiln.addon.core.dataset import layout
from synthkiln.addon.core.labels import masks, polygons
from synthkiln.addon.core.errors import DatasetError, UserError

from tests.helpers.coco import load_coco
from tests.helpers.modules import hide_module
from tests.helpers.known_dataset import SEED, SIZE, H, K, W, make_dataset, manifest, objects_for


def iou(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.logical_and(a, b).sum() / max(np.logical_or(a, b).sum(), 1))


# -- COCO ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("mode", ["rle", "polygon"])
def test_coco_masks_keypoints_and_extra_fields(tmp_path, mode):
    frame_masks = make_dataset(tmp_path, coco_segmentation=mode)
    [path] = exports.write_exports(tmp_path, ["coco"], 0)
    assert path == tmp_path / "exports" / "coco" / "annotations.json"
    coco = load_coco(path)

    cats = {c["id"]: c for c in coco.dataset["categories"]}
    assert [(c["name"], c["supercategory"]) for c in cats.values()] == \
        [("mug", "kitchen"), ("plate", "kitchen"), ("toy car", "toy")]
    assert cats[1]["keypoints"] == ["handle", "rim", "top"] and cats[1]["skeleton"] == []
    assert "keypoints" not in cats[5]

    anns = coco.dataset["annotations"]
    assert len(anns) == 6 * 6  # every visible instance; the hidden one never
    for ann in anns:
        frame, iid = ann["image_id"] - 1, ann["id"] % 65536
        assert ann["id"] == frame * 65536 + iid and ann["iscrowd"] == 0
        expected = frame_masks[frame] == iid
        got = coco.annToMask(ann)
        if mode == "rle":
            assert isinstance(ann["segmentation"], dict)
            np.testing.assert_array_equal(got, expected)
        else:
            assert isinstance(ann["segmentation"], list) and all(len(p) >= 8 for p in ann["segmentation"])
            if expected.sum() >= 20:
                assert iou(got, expected) > 0.9
            # pixel-edge outlines rasterise back exactly (hole and two components included)
            np.testing.assert_array_equal(got, expected)
        rec_obj = next(o for o in objects_for(frame, frame_masks[frame]) if o["instance_id"] == iid)
        assert ann["amodal_bbox"] == rec_obj["amodal_bbox"] and ann["visibility"] == rec_obj["visibility"]
        assert ann["bbox"] == rec_obj["bbox"] and ann["area"] == int(expected.sum())
        if ann["category_id"] == 1:
            assert len(ann["keypoints"]) == 9
        if iid == 1:
            x, y, w, h = ann["bbox"]
            assert ann["keypoints"] == [x + w - 1, y + h / 2 - 0.5, 2, x + w / 2 - 0.5, y, 1, 0, 0, 0]
            assert ann["num_keypoints"] == 2
        if iid == 5:  # a mug without keypoints
            assert ann["keypoints"] == [0] * 9 and ann["num_keypoints"] == 0
    if mode == "polygon":  # the split object is two polygons, the ring one (its hole bridged)
        split = [a for a in anns if a["id"] % 65536 == 4]
        ring = [a for a in anns if a["id"] % 65536 == 3]
        assert all(len(a["segmentation"]) == 2 for a in split)
        assert all(len(a["segmentation"]) == 1 for a in ring)


def test_filters_apply_to_every_writer(tmp_path):
    make_dataset(tmp_path, min_visibility=0.5, min_area=10, include_categories=["mug", "toy car"])
    exports.write_exports(tmp_path, ["coco", "yolo", "voc", "kitti"], 0)
    coco = json.loads((tmp_path / "exports/coco/annotations.json").read_text())
    kept = sorted({a["id"] % 65536 for a in coco["annotations"]})
    # 2 plate: category out; 4 split: visibility 0.2; 6 speck: plate and 9 px; 7 hidden
    assert kept == [1, 3, 5]
    assert [c["name"] for c in coco["categories"]] == ["mug", "toy car"]
    data = yaml.safe_load((tmp_path / "exports/yolo/data.yaml").read_text())
    assert data["names"] == {0: "mug", 1: "toy car"}
    for txt in (tmp_path / "exports/yolo/labels").rglob("*.txt"):
        assert sorted(int(ln.split()[0]) for ln in txt.read_text().splitlines()) == [0, 0, 1]
    for xml in (tmp_path / "exports/voc/Annotations").glob("*.xml"):
        assert sorted(o.findtext("name") for o in ET.parse(xml).getroot().iter("object")) == ["mug", "mug", "toy car"]
    for txt in (tmp_path / "exports/kitti/label_2").glob("*.txt"):
        assert sorted(ln.split()[0] for ln in txt.read_text().splitlines()) == ["mug", "mug", "toy_car"]


def test_coco_default_format_and_unknown_filter_category(tmp_path):
    make_dataset(tmp_path, exports=["coco", "voc"], previews=0)
    written = exports.write_exports(tmp_path)
    assert written == [tmp_path / "exports/coco/annotations.json", tmp_path / "exports/voc/Annotations"]
    (tmp_path / layout.MANIFEST).write_text(json.dumps(manifest(include_categories=["saucer"])))
    with pytest.raises(DatasetError, match="saucer"):
        exports.write_exports(tmp_path, ["coco"], 0)
    with pytest.raises(UserError, match="'tfrecord'"):
        exports.write_exports(tmp_path, ["coco", "tfrecord"], 0)


# -- YOLO ------------------------------------------------------------------------------------------------
def test_yolo_layout_labels_and_split(tmp_path):
    frames = range(12)
    make_dataset(tmp_path, frames=frames, val_fraction=0.4)
    [path] = exports.write_exports(tmp_path, ["yolo"], 0)
    out = tmp_path / "exports" / "yolo"
    assert path == out / "data.yaml"
    data = yaml.safe_load(path.read_text())
    assert data == {"train": "images/train", "val": "images/val",      # no `path`: the YAML's folder is the root
                    "names": {0: "mug", 1: "plate", 2: "toy car"}}
    cls = {"mug": 0, "plate": 1, "toy car": 2}
    splits = {}
    for i in frames:
        split = split_of(SEED, i, 0.4)
        splits[i] = split
        img = out / "images" / split / f"{i:06d}.png"
        assert os.path.samefile(img, tmp_path / layout.image_name(i))  # a hard link, not a copy
        assert not (out / "images" / ("val" if split == "train" else "train") / img.name).exists()
        lines = (out / "labels" / split / f"{i:06d}.txt").read_text().splitlines()
        rec = json.loads((tmp_path / layout.record_name(i)).read_text())
        visible = [o for o in rec["objects"] if o["area"] > 0]
        assert len(lines) == len(visible)
        for ln, obj in zip(lines, visible):
            c, cx, cy, w, h = ln.split()
            assert int(c) == cls[obj["category"]]
            cx, cy, w, h = float(cx) * W, float(cy) * H, float(w) * W, float(h) * H
            back = [cx - w / 2, cy - h / 2, w, h]
            assert np.abs(np.array(back) - obj["bbox"]).max() < 0.5
    assert set(splits.values()) == {"train", "val"}

    # the split is a property of (seed, frame): shards exported alone agree, and ~val_fraction go to val
    shard = tmp_path / "shard"
    make_dataset(shard, frames=[3, 7, 11], val_fraction=0.4)
    exports.write_exports(shard, ["yolo"], 0)
    for i in (3, 7, 11):
        assert (shard / "exports/yolo/images" / splits[i] / f"{i:06d}.png").exists()
    share = np.mean([split_of(SEED, i, 0.2) == "val" for i in range(4000)])
    assert 0.18 < share < 0.22
    assert [split_of(SEED, i, 0.2) for i in range(50)] != [split_of(SEED + 1, i, 0.2) for i in range(50)]


def test_yolo_seg_polygons_rasterise_to_the_mask(tmp_path):
    frame_masks = make_dataset(tmp_path, frames=[0, 1])
    [path] = exports.write_exports(tmp_path, ["yolo-seg"], 0)
    assert path == tmp_path / "exports" / "yolo-seg" / "data.yaml"
    for i, mask in frame_masks.items():
        split = split_of(SEED, i, 0.2)
        lines = (path.parent / "labels" / split / f"{i:06d}.txt").read_text().splitlines()
        ids = [1, 2, 3, 4, 5, 6]
        assert len(lines) == len(ids)
        for ln, iid in zip(lines, ids):
            vals = [float(v) for v in ln.split()[1:]]
            assert len(vals) % 2 == 0 and len(vals) >= 2
            xy = np.array(vals).reshape(-1, 2) * [W, H]
            # what Ultralytics and supervision do before cv2.fillPoly (truncation), and what rounding gives:
            # both are the centre ring (the fill itself is checked with OpenCV in tests/interop)
            ring = polygons.single(mask == iid, centres=True)
            np.testing.assert_array_equal(xy.astype(np.int32), ring)
            np.testing.assert_array_equal(np.round(xy).astype(np.int32), ring)


def test_polygons_exact_on_random_masks():
    """Pixel-edge outlines (saddles, holes, nested islands) rasterise back to the mask exactly."""
    rng = np.random.default_rng(3)
    for _ in range(150):
        h, w = (int(v) for v in rng.integers(1, 24, 2))
        m = rng.random((h, w)) < rng.random()
        assert sum(polygons.ring_area(r) for r in polygons.rings(m)) == m.sum()
        if not m.any():
            assert polygons.single(m) is None
            continue
        parts = [p.ravel().astype(float).tolist() for p in polygons.components(m)]
        np.testing.assert_array_equal(mask_utils.decode(mask_utils.merge(mask_utils.frPyObjects(parts, h, w))), m)
        one = polygons.single(m).ravel().astype(float).tolist()
        np.testing.assert_array_equal(mask_utils.decode(mask_utils.frPyObjects([one], h, w)[0]), m)
        rle = masks.rle_encode(m)
        ys, xs = np.nonzero(m)
        bbox = [int(xs.min()), int(ys.min()), int(xs.max() - xs.min() + 1), int(ys.max() - ys.min() + 1)]
        np.testing.assert_array_equal(polygons.rle_crop(rle, bbox),
                                      m[bbox[1]:bbox[1] + bbox[3], bbox[0]:bbox[0] + bbox[2]])


# -- VOC -------------------------------------------------------------------------------------------------
def test_voc_xml_matches_records(tmp_path):
    make_dataset(tmp_path)
    exports.write_exports(tmp_path, ["voc"], 0)
    out = tmp_path / "exports" / "voc"
    sets = {s: (out / "ImageSets/Main" / f"{s}.txt").read_text().split() for s in ("train", "val")}
    assert sorted(sets["train"] + sets["val"]) == [f"{i:06d}" for i in range(6)]
    for i in range(6):
        assert f"{i:06d}" in sets[split_of(SEED, i, 0.2)]
        root = ET.parse(out / "Annotations" / f"{i:06d}.xml").getroot()
        assert root.findtext("filename") == f"{i:06d}.jpg"
        assert (out / "JPEGImages" / f"{i:06d}.jpg").read_bytes()[:3] == b"\xff\xd8\xff"    # a real JPEG
        assert (int(root.findtext("size/width")), int(root.findtext("size/height"))) == (W, H)
        rec = json.loads((tmp_path / layout.record_name(i)).read_text())
        visible = [o for o in rec["objects"] if o["area"] > 0]
        objs = root.findall("object")
        assert len(objs) == len(visible)
        for el, obj in zip(objs, visible):
            x, y, w, h = obj["bbox"]
            box = [int(el.findtext(f"bndbox/{k}")) for k in ("xmin", "ymin", "xmax", "ymax")]
            assert box == [x + 1, y + 1, x + w, y + h]  # 1-based, inclusive
            assert el.findtext("name") == obj["category"]
            flags = {k: int(el.findtext(k)) for k in ("truncated", "occluded", "difficult")}
            expected = {"Mug": (0, 0, 0), "Plate": (0, 1, 0), "Ring": (0, 0, 0), "Split": (0, 1, 1),
                        "Edge": (1, 0, 0), "Speck": (0, 0, 1)}[obj["name"]]
            assert (flags["truncated"], flags["occluded"], flags["difficult"]) == expected, obj["name"]
    # a box touching the border is truncated even when its truncation share is small
    assert voc.flags({"bbox": [0, 5, 10, 10], "truncation": 0.0, "visibility": 1.0}, W, H) == (1, 0, 0)


# -- KITTI -----------------------------------------------------------------------------------------------
def test_kitti_labels_and_calib(tmp_path):
    make_dataset(tmp_path)
    exports.write_exports(tmp_path, ["kitti"], 0)
    out = tmp_path / "exports" / "kitti"
    for i in range(6):
        rec = json.loads((tmp_path / layout.record_name(i)).read_text())
        visible = [o for o in rec["objects"] if o["area"] > 0]
        lines = (out / "training" / "label_2" / f"{i:06d}.txt").read_text().splitlines()
        assert len(lines) == len(visible)
        for ln, obj in zip(lines, visible):
            f = ln.split()
            assert len(f) == 15
            kind, trunc, occ = f[0], float(f[1]), int(f[2])
            alpha, left, top, right, bottom, h, w, l, x, y, z, ry = (float(v) for v in f[3:])
            assert kind == obj["category"].replace(" ", "_")
            assert trunc == pytest.approx(obj["truncation"], abs=0.005)
            assert occ == kitti.occlusion_level(obj["visibility"])
            ax, ay, aw, ah = obj["amodal_bbox_clipped"]
            assert [left, top, right, bottom] == pytest.approx([ax, ay, ax + aw, ay + ah], abs=0.006)
            assert [h, w, l] == pytest.approx([SIZE[2], SIZE[1], SIZE[0]], abs=1e-4)
            assert [x, y, z] == pytest.approx(obj["pose"]["t"], abs=1e-4)  # origin = bottom centre here
            true_ry = 0.3 * obj["instance_id"] - 1.0 + 0.1 * i
            assert ry == pytest.approx(true_ry, abs=1e-4)
            assert alpha == pytest.approx(kitti._wrap(true_ry - math.atan2(x, z)), abs=1e-3)
        calib = dict(ln.split(": ", 1) for ln in (out / "training" / "calib" / f"{i:06d}.txt").read_text().splitlines())
        assert set(calib) == {"P0", "P1", "P2", "P3", "R0_rect", "Tr_velo_to_cam", "Tr_imu_to_velo"}
        P2 = np.array([float(v) for v in calib["P2"].split()]).reshape(3, 4)
        np.testing.assert_allclose(P2[:, :3], K)
        np.testing.assert_allclose(P2[:, 3], 0)
        assert (out / "training" / "image_2" / f"{i:06d}.png").exists()

    # without box3d: KITTI's own placeholders
    line = kitti.label_line({"category": "mug", "bbox": [1, 2, 3, 4], "visibility": None})
    assert line.split()[1:] == ["0.00", "3", "-10.0000", "1.00", "2.00", "4.00", "6.00", "-1.0000", "-1.0000",
                                "-1.0000", "-1000.0000", "-1000.0000", "-1000.0000", "-10.0000"]


# -- re-export, failures, previews ------------------------------------------------------------------------
def test_reexport_replaces_whole_folder_and_failure_keeps_the_old(tmp_path):
    make_dataset(tmp_path, val_fraction=0.0)
    exports.write_exports(tmp_path, ["yolo", "voc"], 0)
    assert not list((tmp_path / "exports/yolo/images/val").iterdir())
    (tmp_path / layout.MANIFEST).write_text(json.dumps(manifest(val_fraction=1.0)))
    exports.write_exports(tmp_path, ["yolo"], 0)
    assert not list((tmp_path / "exports/yolo/images/train").iterdir())  # nothing stale left behind
    assert len(list((tmp_path / "exports/yolo/labels/val").iterdir())) == 6
    before = sorted(p.relative_to(tmp_path) for p in (tmp_path / "exports").rglob("*"))

    rec = json.loads((tmp_path / layout.record_name(4)).read_text())
    rec["objects"][0]["category"] = "saucer"
    (tmp_path / layout.record_name(4)).write_text(json.dumps(rec))
    with pytest.raises(DatasetError, match="000004.json.*saucer"):
        exports.write_exports(tmp_path, ["coco", "yolo"], 0)
    assert sorted(p.relative_to(tmp_path) for p in (tmp_path / "exports").rglob("*")) == before


def test_preview_draws_amodal_box_and_keypoints(tmp_path):
    make_dataset(tmp_path, frames=[2])
    [path] = exports.write_exports(tmp_path, [], 1)
    assert path == tmp_path / "exports" / "preview" / "000002.png"
    from PIL import Image
    img = np.asarray(Image.open(path).convert("RGB")).astype(int)
    rec = json.loads((tmp_path / layout.record_name(2)).read_text())
    mug = next(o for o in rec["objects"] if o["name"] == "Mug")
    colour = np.array(preview.category_colour(1))
    handle = mug["keypoints"][0]["uv"]
    assert (img[int(handle[1]), int(handle[0])] == colour).all()       # visible keypoint: filled dot
    ax, ay, aw, ah = (round(v) for v in mug["amodal_bbox"])
    top = img[ay, ax:ax + aw]
    on = (top == colour).all(axis=1)
    assert 0.3 < on.mean() < 0.8  # dashed: some pixels of the amodal box's top edge, not all


def test_a_job_without_pillow_skips_its_previews_with_a_note(tmp_path, monkeypatch):
    """Inside a Blender without Pillow the job still completes; `synthkiln export` can draw them later. VOC
    links the PNG under its .jpg name and says so."""
    make_dataset(tmp_path, previews=3, exports=["coco", "voc"])
    hide_module(monkeypatch, "PIL")
    notes = []
    written = exports.write_exports(tmp_path, report=notes.append)
    assert not (tmp_path / "exports" / "preview").exists() and written
    assert any("previews skipped: Pillow is not available" in n for n in notes)
    assert any("VOC images are PNG files named .jpg" in n for n in notes)
    jpg = tmp_path / "exports" / "voc" / "JPEGImages" / "000000.jpg"
    assert jpg.read_bytes() == (tmp_path / "images" / "000000.png").read_bytes()
    monkeypatch.undo()
    assert len(exports.write_exports(tmp_path, previews=3)) == len(written) + 3


# -- subsets ---------------------------------------------------------------------------------------------
def test_split_spec_parses_and_the_default_is_val_fraction():
    from synthkiln.addon.core.errors import UserError
    s = Split.parse("train,val,test=8,1,1")
    assert s.names == ("train", "val", "test") and np.allclose(s.shares, (0.8, 0.1, 0.1))
    assert Split.parse("train,val=0.8,0.2") == Split.from_val_fraction(0.2)
    assert all(Split.from_val_fraction(0.3).of(SEED, i) == split_of(SEED, i, 0.3) for i in range(500))
    share = np.mean([s.of(SEED, i) == "test" for i in range(5000)])
    assert 0.09 < share < 0.11
    for bad in ("train,val", "train,train=1,1", "a,b=1", "a,b=x,1", "a,b=0,0", "a b,c=1,1", "a,b=-1,2"):
        with pytest.raises(UserError, match="--split"):
            Split.parse(bad)


def test_three_subsets_in_every_format_and_stable_as_the_job_grows(tmp_path):
    """A frame keeps its subset when frames are added (the subset is a hash of seed and frame alone)."""
    make_dataset(tmp_path, frames=range(4))
    spec = "train,val,test=0.6,0.2,0.2"
    exports.write_exports(tmp_path, ["coco", "yolo", "voc", "kitti"], 0, split=spec)
    before = {i: Split.parse(spec).of(SEED, i) for i in range(4)}
    big = tmp_path / "big"
    make_dataset(big, frames=range(40))
    exports.write_exports(big, ["coco", "yolo", "voc", "kitti"], 0, split=spec)
    for root, frames in ((tmp_path, range(4)), (big, range(40))):
        out = root / "exports"
        data = yaml.safe_load((out / "yolo" / "data.yaml").read_text())
        assert [k for k in data if k != "names"] == ["train", "val", "test"]
        for i in frames:
            subset = Split.parse(spec).of(SEED, i)
            if i < 4:
                assert subset == before[i]
            stem = f"{i:06d}"
            assert (out / "yolo" / "images" / subset / f"{stem}.png").exists()
            assert stem in (out / "voc" / "ImageSets" / "Main" / f"{subset}.txt").read_text().split()
            assert stem in (out / "kitti" / "ImageSets" / f"{subset}.txt").read_text().split()
            assert (out / "coco" / "images" / subset / f"{stem}.png").exists()
        for subset in ("train", "val", "test"):
            sub = json.loads((out / "coco" / "annotations" / f"instances_{subset}.json").read_text())
            assert all(Split.parse(spec).of(SEED, im["id"] - 1) == subset for im in sub["images"])
            assert {a["image_id"] for a in sub["annotations"]} <= {im["id"] for im in sub["images"]}
        whole = json.loads((out / "coco" / "annotations.json").read_text())
        assert len(whole["images"]) == len(frames)


def test_voc_labelmap_lists_background_then_categories():
    from synthkiln.addon.core.exports.voc import labelmap
    lines = labelmap(["mug", "toy car"]).splitlines()
    assert lines == ["# label:color_rgb:parts:actions", "background:0,0,0::", "mug:128,0,0::", "toy car:0,128,0::"]

"""COCO export from frame records, read back with pycocotools."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import numpy as np
import pytest
from pycocotools import mask as mask_utils

from synthkiln.addon.core.exports import coco as coco_mod
from synthkiln.addon.core.exports.build import write_exports
from synthkiln.addon.core.dataset import layout
from synthkiln.addon.core.labels import masks
from synthkiln.addon.core.errors import DatasetError
from synthkiln.addon.core.images.png import encode_png

from tests.helpers.coco import load_coco

H, W = 60, 80
CATEGORIES = [
    {"id": 1, "name": "mug", "supercategory": "kitchen"},
    {"id": 5, "name": "plate", "supercategory": "kitchen"},
    {"id": 9, "name": "cube", "supercategory": "toy"},
]
MANIFEST = {"generator": "SynthKiln", "version": "0.1.0", "created": "2026-11-22T10:00:00Z", "seed": 7,
            "frames": 4, "categories": CATEGORIES, "recipe": {}, "blender": "5.0.1"}


def write_coco(root: Path) -> Path:
    """Only the COCO export, no previews; its path."""
    return write_exports(root, ["coco"], 0)[0]


def frame_mask(frame: int) -> np.ndarray:
    """Rectangles, a disc, a ring, touching instances, one at the border; instance 6 never visible."""
    m = np.zeros((H, W), np.uint16)
    yy, xx = np.mgrid[:H, :W]
    m[5 + frame:20 + frame, 3:19] = 1                        # rectangle, moves per frame
    m[(xx - 50) ** 2 + (yy - 30) ** 2 <= (8 + frame) ** 2] = 2  # disc
    m[30:45, 10:25] = 3
    m[30:45, 25:31] = 4                                      # touches 3
    m[35:40, 15:20] = 0                                      # hole in 3 (a ring)
    m[H - 4:, W - 10:] = 5                                   # at the bottom-right border
    if frame % 2:
        m[0, 0] = 7                                          # a single pixel in the corner
    return m


def objects_for(mask: np.ndarray) -> list[dict]:
    stats, rles = masks.instance_stats(mask), masks.rle_encode_instances(mask)
    spec = [(1, "Mug", "mug"), (2, "Plate", "plate"), (3, "Cube", "cube"), (4, "Cube.001", "cube"),
            (5, "Mug.001", "mug"), (6, "Hidden", "plate"), (7, "Speck", "cube")]
    out = []
    for iid, name, cat in spec:
        s = stats.get(iid)
        out.append({"instance_id": iid, "name": name, "category": cat, "attributes": {"colour": f"c{iid}"},
                    "bbox": s["bbox"] if s else None, "area": s["area"] if s else 0,
                    "rle": rles.get(iid)})
    return out


def make_record(frame: int, ext: str = "png") -> tuple[dict, np.ndarray]:
    mask = frame_mask(frame)
    rec = {"synthkiln": "0.1.0", "frame": frame, "seed": 7, "width": W, "height": H,
           "files": {"image": layout.image_name(frame, ext), "mask": layout.mask_name(frame),
                     "depth": layout.depth_name(frame)},
           "camera": {"name": "Camera", "K": [[50, 0, 40], [0, 50, 30], [0, 0, 1]],
                      "world_to_camera": np.eye(4).tolist()},
           "values": {}, "objects": objects_for(mask)}
    return rec, mask


def make_dataset(root: Path, frames=range(4), manifest: dict | None = None) -> dict[int, np.ndarray]:
    layout.make_dirs(root)
    (root / layout.MANIFEST).write_text(json.dumps(manifest or MANIFEST))
    out = {}
    for i in frames:
        rec, mask = make_record(i, "jpg" if i == 3 else "png")
        (root / rec["files"]["image"]).write_bytes(b"")  # pixels do not matter to COCO
        (root / layout.mask_name(i)).write_bytes(encode_png(mask))
        (root / layout.record_name(i)).write_text(json.dumps(rec))
        out[i] = mask
    return out


def test_write_coco_reads_back_exactly_with_pycocotools(tmp_path):
    frame_masks = make_dataset(tmp_path)
    path = write_coco(tmp_path)
    assert path == tmp_path / "exports" / "coco" / "annotations.json"
    coco = load_coco(path)

    assert [c["id"] for c in coco.loadCats(coco.getCatIds())] == [1, 5, 9]
    assert coco.dataset["info"]["contributor"] == "SynthKiln"
    assert coco.dataset["info"]["date_created"] == "2026-11-22T10:00:00Z"
    assert coco.dataset["info"]["version"] == "0.1.0"
    assert coco.dataset["licenses"] == []

    images = {img["id"]: img for img in coco.dataset["images"]}
    assert sorted(images) == [1, 2, 3, 4]
    assert images[1] == {"id": 1, "file_name": "000000.png", "width": W, "height": H,
                         "synthkiln": {"frame": 0, "seed": 7}}
    assert images[4]["file_name"] == "000003.jpg"

    anns = coco.dataset["annotations"]
    assert len({a["id"] for a in anns}) == len(anns)
    checked = 0
    for ann in anns:
        frame = ann["image_id"] - 1
        iid = ann["id"] - frame * 65536
        expected = frame_masks[frame] == iid
        assert ann["id"] == frame * 65536 + iid
        assert ann["iscrowd"] == 0
        np.testing.assert_array_equal(coco.annToMask(ann), expected.astype(np.uint8))
        rle = coco.annToRLE(ann)
        assert [int(v) for v in mask_utils.toBbox(rle)] == ann["bbox"]
        assert int(mask_utils.area(rle)) == ann["area"] == int(expected.sum())
        ys, xs = np.nonzero(expected)
        assert ann["bbox"] == [xs.min(), ys.min(), xs.max() - xs.min() + 1, ys.max() - ys.min() + 1]
        assert ann["attributes"] == {"colour": f"c{iid}"}
        checked += 1
    # 6 visible instances on odd frames, 5 on even ones; instance 6 (hidden) never appears
    assert checked == 5 + 6 + 5 + 6
    assert all(a["id"] % 65536 != 6 for a in anns)
    cats = {a["id"] % 65536: a["category_id"] for a in anns}
    assert cats == {1: 1, 2: 5, 3: 9, 4: 9, 5: 1, 7: 9}


def test_ground_truth_scores_perfect_in_cocoeval(tmp_path):
    """RLE with iscrowd 0 is a normal instance to the official evaluator: GT as detections gives AP 1."""
    from pycocotools.cocoeval import COCOeval

    make_dataset(tmp_path)
    gt = load_coco(write_coco(tmp_path))
    dets = [{"image_id": a["image_id"], "category_id": a["category_id"], "segmentation": a["segmentation"],
             "score": 1.0} for a in gt.dataset["annotations"]]
    with contextlib.redirect_stdout(io.StringIO()):
        ev = COCOeval(gt, gt.loadRes(dets), "segm")
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    assert ev.stats[0] == pytest.approx(1.0)


def test_ids_stable_across_order_and_shards(tmp_path):
    records = [make_record(i)[0] for i in range(6)]
    full = coco_mod.build_coco(MANIFEST, records)
    assert coco_mod.build_coco(MANIFEST, reversed(records)) == full

    shard_a = coco_mod.build_coco(MANIFEST, records[0::2])
    shard_b = coco_mod.build_coco(MANIFEST, records[1::2])
    ids_a = {a["id"] for a in shard_a["annotations"]}
    ids_b = {a["id"] for a in shard_b["annotations"]}
    assert not ids_a & ids_b
    assert ids_a | ids_b == {a["id"] for a in full["annotations"]}
    merged = sorted(shard_a["annotations"] + shard_b["annotations"], key=lambda a: a["id"])
    assert merged == sorted(full["annotations"], key=lambda a: a["id"])
    assert sorted(i["id"] for i in shard_a["images"] + shard_b["images"]) == [1, 2, 3, 4, 5, 6]

    # records written to disk in another order (as parallel shards would) export the same file
    make_dataset(tmp_path / "a", frames=[0, 1, 2, 3])
    make_dataset(tmp_path / "b", frames=[3, 1, 2, 0])
    a = json.loads(write_coco(tmp_path / "a").read_text())
    b = json.loads(write_coco(tmp_path / "b").read_text())
    assert a == b


def test_rerun_overwrites_atomically(tmp_path):
    make_dataset(tmp_path)
    first = write_coco(tmp_path).read_bytes()
    second = write_coco(tmp_path).read_bytes()
    assert first == second
    assert sorted(p.name for p in (tmp_path / "exports" / "coco").iterdir()) == ["annotations", "annotations.json",
                                                                                "images"]


def test_unknown_category_names_record_and_object(tmp_path):
    make_dataset(tmp_path)
    path = tmp_path / layout.record_name(2)
    rec = json.loads(path.read_text())
    rec["objects"][1]["category"] = "saucer"
    path.write_text(json.dumps(rec))
    with pytest.raises(DatasetError) as err:
        write_coco(tmp_path)
    msg = str(err.value)
    assert "000002.json" in msg and "'Plate'" in msg and "'saucer'" in msg
    assert not (tmp_path / "exports" / "coco" / "annotations.json").exists()


def test_hidden_object_with_unknown_category_is_ignored():
    rec, _ = make_record(0)
    rec["objects"][5]["category"] = "not-a-category"  # area 0: not exported, so not an error
    assert len(coco_mod.build_coco(MANIFEST, [rec])["annotations"]) == 5


def test_bad_records_are_dataset_errors(tmp_path):
    rec, _ = make_record(1)
    with pytest.raises(DatasetError, match="twice"):
        coco_mod.build_coco(MANIFEST, [rec, rec])
    dup = json.loads(json.dumps(rec))
    dup["objects"][1]["instance_id"] = 1
    with pytest.raises(DatasetError, match="instance_id 1"):
        coco_mod.build_coco(MANIFEST, [dup])
    big = json.loads(json.dumps(rec))
    big["objects"][0]["instance_id"] = 65536
    with pytest.raises(DatasetError, match="instance_id"):
        coco_mod.build_coco(MANIFEST, [big])
    bad_manifest = dict(MANIFEST, categories=CATEGORIES + [{"id": 1, "name": "bowl"}])
    with pytest.raises(DatasetError, match="twice"):
        coco_mod.build_coco(bad_manifest, [rec])

    make_dataset(tmp_path, frames=[0])
    rec0 = json.loads((tmp_path / layout.record_name(0)).read_text())
    (tmp_path / layout.record_name(5)).write_text(json.dumps(rec0))  # file name says 5, record says 0
    with pytest.raises(DatasetError, match="000005.json"):
        write_coco(tmp_path)

    (tmp_path / layout.record_name(5)).write_text("{not json")
    with pytest.raises(DatasetError, match="000005.json"):
        write_coco(tmp_path)


def test_missing_manifest(tmp_path):
    layout.make_dirs(tmp_path)
    with pytest.raises(DatasetError, match="synthkiln.json"):
        write_coco(tmp_path)


def test_empty_dataset_is_valid_coco(tmp_path):
    make_dataset(tmp_path, frames=[])
    coco = load_coco(write_coco(tmp_path))
    assert coco.dataset["images"] == [] and coco.dataset["annotations"] == []
    assert len(coco.dataset["categories"]) == 3


def test_the_summary_after_the_exports_reuses_their_read(tmp_path, monkeypatch):
    """A job's end writes the exports, then prints the summary: the records are read once (issue 16), and
    the summary is what a fresh read gives; a record added since is read, not missed."""
    from synthkiln.addon.core.dataset import jobreport, records
    from synthkiln.addon.core.exports.build import write_exports
    make_dataset(tmp_path, frames=range(3))
    for i in range(3):
        (tmp_path / layout.image_name(i, "png")).write_bytes(encode_png(np.zeros((H, W, 3), np.uint8)))
    write_exports(tmp_path, ["coco"])
    reads = []
    real = records.read_record
    monkeypatch.setattr(records, "read_record", lambda root, i: reads.append(i) or real(root, i))
    fresh = jobreport.summarize(tmp_path, [real(tmp_path, i) for i in range(3)])
    assert jobreport.summarize(tmp_path) == fresh and reads == []
    make_dataset(tmp_path, frames=[3])
    assert jobreport.summarize(tmp_path)["frames_done"] == 4 and reads == [0, 1, 2, 3]

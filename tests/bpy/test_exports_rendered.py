"""Every export format from a real rendered job, read back with independent tools: pycocotools decodes every
mask equal to the instance PNG, YOLO labels convert back to the record's boxes within 0.5 px, VOC XML parses
and matches, KITTI lines and calib parse, keypoints land where the empty projects, and `check` passes."""

import json
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from PIL import Image

pytestmark = [pytest.mark.bpy, pytest.mark.render]


@pytest.fixture(scope="module")
def dataset(addon_registered, tmp_path_factory):
    import bpy
    from synthkiln.addon.core.recipe.model import recipe_from_data
    from synthkiln.addon.bridge import recipe as stored
    from tests.helpers.known_scene import RECIPE, W, H, build_known_scene

    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    build_known_scene(scene)
    kp = bpy.data.objects.new("kp.front", None)         # a keypoint on the centre of the face the camera sees
    scene.collection.objects.link(kp)
    kp.parent = bpy.data.objects["Cube"]
    kp.location = (0.0, -0.25, 0.0)
    out = tmp_path_factory.mktemp("exports")
    data = json.loads(json.dumps(RECIPE))
    data["output"].update({"directory": str(out), "frames": 2, "exports": ["coco", "yolo", "voc", "kitti"],
                           "val_fraction": 0.5, "previews": 2})
    stored.write_recipe(scene, recipe_from_data(data))
    assert bpy.ops.synthkiln.render_dataset() == {"FINISHED"}
    records = [json.loads((out / "frames" / f"{i:06d}.json").read_text()) for i in range(2)]
    return out, records, (W, H)


def test_coco_masks_and_keypoints(dataset):
    from pycocotools import mask as mask_utils
    from pycocotools.coco import COCO
    out, records, _ = dataset
    coco = COCO(str(out / "exports" / "coco" / "annotations.json"))
    assert len(coco.getAnnIds()) == sum(1 for r in records for o in r["objects"] if o["area"])
    cube_cat = [c for c in coco.loadCats(coco.getCatIds()) if c["name"] == "cube"][0]
    assert cube_cat["keypoints"] == ["front"]
    for rec in records:
        inst = np.array(Image.open(out / rec["files"]["mask"]))
        for ann in coco.loadAnns(coco.getAnnIds(imgIds=rec["frame"] + 1)):
            obj = next(o for o in rec["objects"] if ann["id"] % 65536 == o["instance_id"])
            assert np.array_equal(mask_utils.decode(ann["segmentation"]).astype(bool), inst == obj["instance_id"])
            assert ann["amodal_bbox"] == pytest.approx(obj["amodal_bbox"]) and ann["visibility"] == obj["visibility"]
            if obj["category"] == "cube":
                (kp,) = obj["keypoints"]
                assert ann["keypoints"][:2] == pytest.approx([kp["uv"][0] - 0.5, kp["uv"][1] - 0.5], abs=1e-6)
                assert ann["keypoints"][2] == kp["v"] == 2 and ann["num_keypoints"] == 1


def test_keypoint_is_where_the_empty_projects(dataset):
    out, records, (w, h) = dataset
    import bpy
    from bpy_extras.object_utils import world_to_camera_view
    scene = bpy.context.scene
    p = world_to_camera_view(scene, scene.camera, bpy.data.objects["kp.front"].matrix_world.translation)
    kp = next(o for o in records[-1]["objects"] if o["category"] == "cube")["keypoints"][0]
    assert kp["uv"] == pytest.approx([p.x * w, (1 - p.y) * h], abs=1.0)


def test_yolo_boxes_round_trip_within_half_a_pixel(dataset):
    import yaml
    out, records, (w, h) = dataset
    root = out / "exports" / "yolo"
    spec = yaml.safe_load((root / "data.yaml").read_text())
    names = spec["names"]
    for rec in records:
        labels = list(root.glob(f"labels/*/{rec['frame']:06d}.txt"))
        assert len(labels) == 1
        rows = [line.split() for line in labels[0].read_text().splitlines()]
        shown = [o for o in rec["objects"] if o["area"]]
        assert len(rows) == len(shown)
        for (cls, cx, cy, bw, bh), o in zip(rows, shown):
            x0, y0 = (float(cx) - float(bw) / 2) * w, (float(cy) - float(bh) / 2) * h
            assert names[int(cls)] == o["category"]
            assert [x0, y0, float(bw) * w, float(bh) * h] == pytest.approx(o["bbox"], abs=0.5)


def test_voc_and_kitti_parse_and_match(dataset):
    out, records, _ = dataset
    for rec in records:
        root = ET.parse(out / "exports" / "voc" / "Annotations" / f"{rec['frame']:06d}.xml").getroot()
        boxes = {o.find("name").text: [int(o.find("bndbox").find(k).text) for k in ("xmin", "ymin", "xmax", "ymax")]
                 for o in root.findall("object")}
        for o in rec["objects"]:
            x, y, bw, bh = o["bbox"]
            assert boxes[o["category"]] == [x + 1, y + 1, x + bw, y + bh]       # VOC is 1-based, inclusive
        lines = (out / "exports" / "kitti" / "training" / "label_2" / f"{rec['frame']:06d}.txt").read_text().splitlines()
        assert len(lines) == 2 and all(len(line.split()) == 15 for line in lines)
        calib = (out / "exports" / "kitti" / "training" / "calib" / f"{rec['frame']:06d}.txt").read_text()
        p2 = [float(v) for v in next(ln for ln in calib.splitlines() if ln.startswith("P2:")).split()[1:]]
        assert p2[0] == pytest.approx(rec["camera"]["K"][0][0]) and p2[2] == pytest.approx(rec["camera"]["K"][0][2])


def test_check_passes_on_a_rendered_dataset(dataset):
    from synthkiln.addon.core.dataset.check import check_dataset
    out, _, _ = dataset
    problems, summary = check_dataset(out)
    assert problems == [], problems
    assert "2" in summary

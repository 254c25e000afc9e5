"""A job with every per-pixel label asked for writes them beside each frame, named in its record, and
they agree with each other and with the record (semantic = category of the instance mask, distance >= z,
unit normals where there is a surface)."""

import json

import numpy as np
import pytest
from PIL import Image

pytestmark = [pytest.mark.bpy, pytest.mark.render]


def test_every_label_file_is_written_and_consistent(empty_scene, tmp_path):
    import bpy
    import OpenEXR
    from synthkiln.addon.core.recipe.model import recipe_from_data
    from synthkiln.addon.bridge import recipe as stored
    from tests.helpers.known_scene import RECIPE, build_known_scene

    build_known_scene(empty_scene)
    data = json.loads(json.dumps(RECIPE))
    data["output"].update({"directory": str(tmp_path), "frames": 1, "distance": True, "normals": True,
                           "flow": True, "semantic": True})
    stored.write_recipe(empty_scene, recipe_from_data(data))
    assert bpy.ops.synthkiln.render_dataset() == {"FINISHED"}
    rec = json.loads((tmp_path / "frames" / "000000.json").read_text())
    assert set(rec["files"]) == {"image", "mask", "semantic", "depth", "distance", "normals", "flow"}

    def exr(key):
        with OpenEXR.File(str(tmp_path / rec["files"][key]), separate_channels=True) as f:
            return {n: c.pixels for n, c in f.parts[0].channels.items()}

    mask = np.array(Image.open(tmp_path / rec["files"]["mask"]))
    semantic = np.array(Image.open(tmp_path / rec["files"]["semantic"]))
    cats = {c["name"]: i + 1 for i, c in enumerate(RECIPE["categories"])}
    for o in rec["objects"]:
        assert np.all(semantic[mask == o["instance_id"]] == cats[o["category"]])
    assert np.all(semantic[mask == 0] == 0)
    z, d = exr("depth")["Z"], exr("distance")["D"]
    surface = z > 0
    assert surface.any() and np.all(d[surface] >= z[surface] - 1e-5) and np.all(d[~surface] == 0)
    n = exr("normals")
    length = np.sqrt(n["X"] ** 2 + n["Y"] ** 2 + n["Z"] ** 2)
    assert np.allclose(length[surface], 1.0, atol=1e-3)
    flow = exr("flow")
    assert set(flow) == {"U", "V"} and np.abs(flow["U"]).max() < 1e-3     # nothing is animated: no motion
    for o in rec["objects"]:             # the geometric labels ride along in the same record
        x, y, w, h = o["bbox"]
        ax, ay, aw, ah = o["amodal_bbox_clipped"]
        assert abs(ax - x) <= 1 and abs(ay - y) <= 1 and abs(ax + aw - x - w) <= 1 and abs(ay + ah - y - h) <= 1
        assert 0.95 <= o["visibility"] <= 1.0 and o["truncation"] == 0.0     # nothing hides these two
        R = np.array(o["pose"]["R"])
        assert np.allclose(R @ R.T, np.eye(3), atol=1e-9) and len(o["box3d"]["corners_camera"]) == 8

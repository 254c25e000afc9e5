"""Objects randomizers in Blender: placement rests objects on the table, physics drop settles boxes on the
floor deterministically, distractors stay background, no datablock growth, the warehouse preset renders."""

import json

import pytest

pytestmark = pytest.mark.bpy

FLOOR_Z = -0.75


def lowest_z(obj):
    import bpy
    ev = obj.evaluated_get(bpy.context.evaluated_depsgraph_get())
    return min((ev.matrix_world @ v.co).z for v in obj.data.vertices)


def job_for(data, overrides=None):
    import bpy
    from synthkiln.addon.bridge.pipeline import FrameJob
    from synthkiln.addon.core.recipe.preset import BUILTIN_PRESETS, load_preset, merge_data
    from synthkiln.addon.core.recipe.model import recipe_from_data
    bpy.ops.wm.read_factory_settings(use_empty=True)
    if isinstance(data, str):
        recipe = load_preset(BUILTIN_PRESETS / data, overrides or {})
    else:
        recipe = recipe_from_data(data)
    return FrameJob(bpy.context.scene, recipe).prepare()


TABLE = {
    "categories": [{"name": "thing"}],
    "labels": [{"select": {"collection": "Targets"}, "category": "thing"}],
    "scene": {"library": "builtin:asset_library/tabletop.blend",
              "objects": [{"asset": "Table", "collection": "Stage"}, {"asset": "Mug", "count": 2},
                          {"asset": "Box"}, {"asset": "Book"}]},
    "randomizers": {"objects": [
        {"type": "object_count", "name": "count", "count": {"uniform": [2, 4]}},
        {"type": "object_pose", "name": "scatter", "mode": "surface", "surface": "Table", "margin": 0.03,
         "rotation_mode": "free", "rotation_x": {"choice": [0, 90, 180]}, "scale": {"uniform": [0.8, 1.3]},
         "scale_z": {"uniform": [0.7, 1.4]}},
        {"type": "distractors", "name": "clutter", "mode": "surface", "surface": "Table", "margin": 0.0,
         "count": {"uniform": [2, 5]}, "pool_size": 6, "rotation_mode": "upright"}]},
}


def test_objects_rest_on_the_table_and_distractors_stay_background(addon_registered):
    import bpy
    job = job_for(TABLE)
    targets = ["Book", "Box", "Mug", "Mug.001"]
    for i in range(6):
        values, _ = job.apply_frame(i)
        shown = [n for n in targets if not bpy.data.objects[n].hide_render]
        pose = values["objects/scatter"]
        assert shown == [n for n in targets if pose.get(n, {}).get("visible")]
        assert 2 <= len(shown) <= 4
        for n in shown:
            v = pose[n]
            assert tuple(bpy.data.objects[n].location) == pytest.approx(v["location"], abs=1e-6)
            assert abs(lowest_z(bpy.data.objects[n])) < 1e-3, (i, n)       # the table top is z = 0
        clutter = values["objects/clutter"]
        on = [n for n, v in clutter.items() if v["visible"]]
        assert len(clutter) == 6 and 1 <= len(on) <= 5
        for n, v in clutter.items():
            obj = bpy.data.objects[n]
            assert obj.pass_index == 0 and obj.hide_render == (not v["visible"])
            if v["visible"]:
                assert abs(lowest_z(obj)) < 1e-3
                color = obj.material_slots[0].material.node_tree.nodes["Principled BSDF"].inputs["Base Color"]
                assert color.links[0].from_node.attribute_name == "sk_drive_base_color"   # a driven socket
                assert tuple(obj["sk_drive_base_color"]) == pytest.approx(v["color"], abs=1e-6)
    mats = {bpy.data.objects[n].material_slots[0].material.name for n in clutter}
    assert len(mats) == 6        # one material per distractor: colours don't leak between them


def test_physics_drop_is_deterministic_and_settles_on_the_floor(addon_registered):
    import bpy
    job = job_for("warehouse.yaml")
    _, first = job.apply_frame(0)
    job.apply_frame(1)
    values, again = job.apply_frame(0)
    drop = again["objects/drop"]
    assert drop == first["objects/drop"]
    assert drop["settled"] and drop["poses"]
    near = 0
    for name, pose in drop["poses"].items():
        obj = bpy.data.objects[name]
        assert tuple(obj.location) == pytest.approx(pose["location"], abs=1e-5)
        assert not obj.hide_render
        low = lowest_z(obj) - FLOOR_Z
        assert low > -2e-3, (name, low)              # not inside the floor
        near += low < 2e-3
        start = values["objects/drop"][name]["location"]
        assert pose["location"][2] < start[2]        # it fell
    assert near >= len(drop["poses"]) / 2            # most lie on the floor itself, not on each other
    hidden = [n for n, v in values["objects/count"].items() if not v["visible"]]
    assert all(bpy.data.objects[n].hide_render for n in hidden)


def test_no_datablocks_over_200_applies(addon_registered):
    from tests.helpers.blender import datablock_counts
    for data, over in ((TABLE, None), ("warehouse.yaml", {"randomizers": {}})):
        job = job_for(data, over)
        if data == "warehouse.yaml":
            job.recipe.randomizers.objects[1].steps = 3      # the block count, not the settling, is tested here
        job.apply_frame(0)
        before = datablock_counts()
        for i in range(200):
            job.apply_frame(i)
        assert datablock_counts() == before


@pytest.mark.render
def test_warehouse_renders(addon_registered, tmp_path):
    import bpy
    import numpy as np
    from PIL import Image
    from synthkiln.addon.core.recipe.preset import BUILTIN_PRESETS, load_preset
    from synthkiln.addon.bridge import recipe as stored
    bpy.ops.wm.read_factory_settings(use_empty=True)
    recipe = load_preset(BUILTIN_PRESETS / "warehouse.yaml",
                         {"render": {"resolution": [64, 48], "samples": 1},
                          "output": {"directory": str(tmp_path), "frames": 2, "previews": 0}})
    stored.write_recipe(bpy.context.scene, recipe)
    assert bpy.ops.synthkiln.render_dataset() == {"FINISHED"}
    for i in range(2):
        rec = json.loads((tmp_path / f"frames/{i:06d}.json").read_text())
        assert rec["applied"]["objects/drop"]["settled"]
        mask = np.array(Image.open(tmp_path / rec["files"]["mask"]))
        ids = {o["instance_id"] for o in rec["objects"] if o["area"]}
        assert ids and set(np.unique(mask)) - {0} == ids        # boxes in the mask, distractors background

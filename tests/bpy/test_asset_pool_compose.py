"""The asset pool composes with the other randomizers exactly as scene objects do: material randomizers
colour the shown asset (its own copy of that asset's material, never the previous asset's), surface scatter
and physics_drop rest the assets on the table, an occluder hides part of a pool asset; and frames stay the
same whatever the cache held (small cache, reverse order) with all of them stacked."""

from pathlib import Path

import numpy as np
import pytest

from PIL import Image

pytestmark = pytest.mark.bpy

CATEGORIES = [{"name": n} for n in ("mug", "bottle", "bowl", "can", "book", "box")]
SCANS = {"name": "scans", "path": "builtin:asset_library/scans", "formats": ["glb", "ply", "stl", "fbx", "usdc"],
         "category_from": "folder"}
AREA = {"limit_xy": True, "x": {"uniform": [-0.4, 0.4]}, "y": {"uniform": [-0.3, 0.3]}, "margin": 0.03,
        "min_spacing": 0.03, "rotation_mode": "upright"}


def recipe_data(placement: dict, cache: int, materials: list) -> dict:
    return {
        "categories": CATEGORIES,
        "scene": {"library": "builtin:asset_library/tabletop.blend",
                  "objects": [{"asset": "Table", "collection": "Stage"}, {"asset": "Floor", "collection": "Stage"}],
                  "lights": [{"name": "Key", "type": "AREA", "size": 1.0}]},
        "assets": [SCANS],
        "randomizers": {
            "objects": [{"type": "asset_pool", "name": "pool", "count": 4, "slots": 4, "cache_assets": cache},
                        {"name": "place", "select": {"collection": "Assets"}, "mode": "surface", "surface": "Table",
                         **AREA, **placement},
                        {"type": "occluder", "name": "occ", "target": "Assets_*", "occlusion": 0.4,
                         "shapes": {"choice": ["box"]}}],
            "materials": materials,
            "camera": [{"type": "camera_shell", "name": "orbit", "look_at": [0, 0, 0.05], "distance": 1.1,
                        "elevation": 55, "azimuth": {"uniform": [0, 360]}}]},
        "render": {"resolution": [160, 120], "samples": 4},
        "output": {"frames": 3, "seed": 3},
    }


PAINT = [{"type": "material_color", "name": "paint", "select": {"collection": "Assets"},
          "saturation": {"uniform": [0.9, 1.0]}, "value": {"uniform": [0.7, 0.9]}},
         {"type": "procedural_texture", "name": "pattern", "select": {"collection": "Assets"},
          "kind": {"choice": ["checker"]}, "mix": {"uniform": [0.1, 0.2]}}]
SCATTER = {"type": "object_pose", "rotation_z": {"uniform": [0, 360]}}
DROP = {"type": "physics_drop", "z": {"uniform": [0.03, 0.15]}, "steps": 40, "shape": "CONVEX_HULL"}


def lowest_z(obj):
    import bpy
    ev = obj.evaluated_get(bpy.context.evaluated_depsgraph_get())
    return min((ev.matrix_world @ v.co).z for v in ev.data.vertices)


def render(data: dict, order, root: Path):
    """Render frames ``order`` into ``root``; returns {frame: (values, record)} and checks the scene after
    each frame (the scene still holds that frame)."""
    import bpy
    from synthkiln.addon.bridge.pipeline import FrameJob
    from synthkiln.addon.core.recipe.model import recipe_from_data
    bpy.ops.wm.read_factory_settings(use_empty=True)
    job = FrameJob(bpy.context.scene, recipe_from_data(data)).prepare()
    for d in ("frames", "images", "masks", "semantic", "depth"):
        (root / d).mkdir(parents=True, exist_ok=True)
    out = {}
    for i in order:
        record = job.render_frame(i, root)
        values = record["values"]
        shown = [n for n, v in values["objects/pool"].items() if v["visible"]]
        assert shown, i
        for name in shown:
            obj = bpy.data.objects[name]
            assert obj.data.get("sk_asset") == values["objects/pool"][name]["asset"]
            assert lowest_z(obj) > -2e-3, (i, name)           # never inside the table (top at z = 0)
        out[i] = (values, record, {n: _scene_state(bpy.data.objects[n]) for n in shown})
    job.close()
    return out


def _scene_state(obj):
    mat = obj.material_slots[0].material
    return {"low": lowest_z(obj), "material": mat.name, "source": mat.get("sk_source"),
            "asset_material": obj.data.materials[0].name, "owner": mat.get("sk_owner"),
            "base_linked": mat.node_tree.nodes["Principled BSDF"].inputs["Base Color"].is_linked,
            "pattern": any(n.name.endswith(" checker") for n in mat.node_tree.nodes)}


def _check_frames(result, root: Path, rest_tol: float):
    for i, (values, record, state) in result.items():
        with Image.open(root / record["files"]["mask"]) as im:
            mask = np.asarray(im).astype(np.int64)
        with Image.open(root / record["files"]["image"]) as im:
            rgb = np.asarray(im.convert("RGB")).astype(float)
        objs = {o["name"]: o for o in record["objects"]}
        near = 0
        for name, s in state.items():
            near += abs(s["low"]) < rest_tol
            # the slot shows its own copy of the shown asset's material, with this randomizer's nodes
            assert s["owner"] == name and s["source"] == s["asset_material"], (i, name, s)
            assert s["pattern"], (i, name)
            colour = values["materials/paint"][name]["color"]
            px = mask == objs[name]["instance_id"]
            top = sorted(colour, reverse=True)
            if px.sum() > 30 and not s["base_linked"] and top[0] - top[1] > 0.4:
                mean = rgb[px].mean(axis=0)      # the painted colour shows in the render
                assert int(np.argmax(mean)) == int(np.argmax(colour)), (i, name, mean, colour)
            assert objs[name]["category"] == values["objects/pool"][name]["category"]
        assert near >= len(state) / 2, (i, {n: s["low"] for n, s in state.items()})
        occ = record["applied"].get("objects/occ")
        if occ and occ.get("appear"):
            assert occ["target"].startswith("Assets_")
            assert objs[occ["target"]]["visibility"] < 0.9


@pytest.mark.parametrize("placement", [SCATTER, DROP], ids=["surface_scatter", "physics_drop"])
def test_pool_composes_with_placement_materials_and_occluders(empty_scene, tmp_path, placement):
    data = recipe_data(placement, cache=2, materials=PAINT)
    a = render(data, [0, 1, 2], tmp_path / "a")
    _check_frames(a, tmp_path / "a", rest_tol=2e-3)
    assert any(rec["applied"].get("objects/occ", {}).get("appear") for _, rec, _ in a.values())
    data = recipe_data(placement, cache=64, materials=PAINT)
    render(data, [2, 1, 0], tmp_path / "b")
    for i in range(3):
        for sub in ("frames/%06d.json", "masks/%06d.png", "images/%06d.png"):
            assert (tmp_path / "a" / (sub % i)).read_bytes() == (tmp_path / "b" / (sub % i)).read_bytes(), sub % i


def test_evicted_assets_take_their_slot_materials_with_them(empty_scene, tmp_path):
    import bpy
    data = recipe_data(SCATTER, cache=1, materials=PAINT[:1])
    data["output"]["frames"] = 4
    render(data, [0, 1, 2, 3], tmp_path)
    from synthkiln.addon.bridge.appliers import APPLIERS
    cache = next(iter(APPLIERS["asset_pool"].caches.values()))
    loaded = {m for got in cache.loaded.values() for m in got.materials}
    owned = {m.get("sk_source") for m in bpy.data.materials if m.get("sk_owner", "").startswith("Assets_")}
    assert owned - {"SK Material"} <= loaded     # no own copy outlives its asset (nor holds its images)

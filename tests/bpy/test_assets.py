"""Model files through Blender's own importers: every shipped format normalised (units, up axis, origin at
the base, one mesh), vertex colours and textures kept, bad files named, and a pool whose frames never
depend on what its cache held before (two shards, opposite orders, identical files)."""

import json
from pathlib import Path

import numpy as np
import pytest

from synthkiln.addon.core.recipe.assets import Asset, AssetSource
from synthkiln.addon.core.recipe.preset import BUILTIN_PRESETS, PACKAGE_ROOT, load_preset

pytestmark = pytest.mark.bpy

SCANS = PACKAGE_ROOT / "asset_library" / "scans"
# file -> (source settings, expected size x, y, z in metres: the tabletop object it was exported from)
EXPECTED = {
    "mug/mug.glb": ({}, (0.106, 0.080, 0.100)),
    "bottle/bottle.obj": ({"units": "cm", "up_axis": "Y"}, (0.070, 0.070, 0.250)),
    "bowl/bowl.ply": ({}, (0.150, 0.150, 0.060)),
    "can/can.stl": ({}, (0.066, 0.066, 0.120)),
    "book/book.fbx": ({}, (0.150, 0.220, 0.030)),
    "box/box.usdc": ({}, (0.190, 0.070, 0.270)),
}


def _asset(rel, **src):
    source = AssetSource(name="t", category="x", **src)
    return Asset(f"t/{rel}", str(SCANS / rel), rel, "x"), source


def _extent(mesh):
    co = np.empty(len(mesh.vertices) * 3)
    mesh.vertices.foreach_get("co", co)
    co = co.reshape(-1, 3)
    return co.min(axis=0), co.max(axis=0)


@pytest.mark.parametrize("rel", sorted(EXPECTED))
def test_each_format_imports_normalised(empty_scene, rel):
    import bpy
    from synthkiln.addon.bridge import assets as A
    settings, size = EXPECTED[rel]
    objects_before = len(bpy.data.objects)
    got = A.import_asset(empty_scene, *_asset(rel, **settings))
    mesh = bpy.data.meshes[got.mesh]
    lo, hi = _extent(mesh)
    assert np.allclose(hi - lo, size, atol=2e-3), (rel, hi - lo)
    assert np.allclose([(lo[0] + hi[0]) / 2, (lo[1] + hi[1]) / 2, lo[2]], 0, atol=1e-5)   # base centre
    assert len(bpy.data.objects) == objects_before           # only the mesh stays
    assert mesh.materials and all(m is not None for m in mesh.materials)
    assert got.warnings == []


def test_ply_vertex_colours_and_glb_texture_are_rendered_materials(empty_scene):
    import bpy
    from synthkiln.addon.bridge import assets as A
    ply = bpy.data.meshes[A.import_asset(empty_scene, *_asset("bowl/bowl.ply")).mesh]
    mat = ply.materials[0]
    attr = next(n for n in mat.node_tree.nodes if n.type == "ATTRIBUTE")
    assert attr.attribute_name in ply.color_attributes and attr.outputs["Color"].is_linked
    glb = bpy.data.meshes[A.import_asset(empty_scene, *_asset("mug/mug.glb")).mesh]
    tex = [n for m in glb.materials for n in m.node_tree.nodes if n.type == "TEX_IMAGE"]
    assert tex and tex[0].image.packed_file is not None and tex[0].image.size[0] == 128


def test_bad_files_are_named_with_the_reason(empty_scene, tmp_path):
    import bpy
    from synthkiln.addon.bridge import assets as A
    (tmp_path / "empty.glb").write_bytes(b"")
    (tmp_path / "junk.glb").write_bytes(b"this is not a model at all" * 10)
    (tmp_path / "junk.fbx").write_bytes(b"\x00\x01 nonsense" * 50)
    (tmp_path / "model.dwg").write_bytes(b"x")
    (tmp_path / "points.obj").write_text("v 0 0 0\nv 1 0 0\n")
    cases = {"empty.glb": "is empty", "junk.glb": "importer", "junk.fbx": "importer",
             "model.dwg": "unsupported file type", "points.obj": "holds no mesh", "missing.stl": "does not exist"}
    before = {k: len(getattr(bpy.data, k)) for k in ("objects", "meshes", "materials", "images", "collections")}
    for name, reason in cases.items():
        asset = Asset(f"t/{name}", str(tmp_path / name), name, "x")
        with pytest.raises(A.AssetError, match=reason) as e:
            A.import_asset(empty_scene, asset, AssetSource(name="t", category="x"))
        assert str(tmp_path / name) in str(e.value)
    after = {k: len(getattr(bpy.data, k)) for k in before}
    assert after == before                     # a failed import leaves nothing behind
    with pytest.raises(A.AssetError, match=r"2,208 faces, more than max_faces 1,000"):
        A.import_asset(empty_scene, *_asset("can/can.stl", max_faces=1000))


def test_missing_texture_is_reported(empty_scene, tmp_path):
    from synthkiln.addon.bridge import assets as A
    (tmp_path / "tri.obj").write_text("mtllib tri.mtl\nv 0 0 0\nv 1 0 0\nv 0 1 0\nvt 0 0\nvt 1 0\nvt 0 1\n"
                                      "usemtl skin\nf 1/1 2/2 3/3\n")
    (tmp_path / "tri.mtl").write_text("newmtl skin\nKd 1 1 1\nmap_Kd textures/skin.png\n")
    got = A.import_asset(empty_scene, Asset("t/tri.obj", str(tmp_path / "tri.obj"), "tri.obj", "x"),
                         AssetSource(name="t", category="x"))
    assert len(got.warnings) == 1 and "tri.obj: texture" in got.warnings[0] and "skin.png" in got.warnings[0]


def _render(order, root, cache, profile="balanced"):
    import bpy
    from synthkiln.addon.bridge.pipeline import FrameJob
    bpy.ops.wm.read_factory_settings(use_empty=True)
    preset = BUILTIN_PRESETS / "scans.yaml"
    recipe = load_preset(preset, {"render": {"resolution": [40, 30], "samples": 1, "profile": profile}})
    recipe.randomizers.objects[0].cache_assets = cache
    job = FrameJob(bpy.context.scene, recipe, preset.parent).prepare()
    (root / "frames").mkdir(parents=True)
    for d in ("images", "masks", "semantic", "depth"):
        (root / d).mkdir()
    for i in order:
        job.render_frame(i, root)
    job.close()
    from synthkiln.addon.bridge.appliers import APPLIERS
    return APPLIERS["asset_pool"].caches[recipe.randomizers.objects[0].key()]


@pytest.mark.parametrize("profile", ["balanced", "fast"])     # fast: the light tree kept on for the pool
def test_frames_do_not_depend_on_the_cache_or_order(empty_scene, tmp_path, profile):
    a = _render([0, 1, 2, 3, 4], tmp_path / "a", cache=1, profile=profile)
    assert len(a.loaded) <= 5 and a.imports > 6          # evicted and imported again
    b = _render([4, 3, 2, 1, 0], tmp_path / "b", cache=64, profile=profile)
    for i in range(5):
        for sub in ("frames/%06d.json", "masks/%06d.png", "images/%06d.png"):
            assert (tmp_path / "a" / (sub % i)).read_bytes() == (tmp_path / "b" / (sub % i)).read_bytes(), sub % i
    rec = json.loads((tmp_path / "a" / "frames" / "000000.json").read_text())
    shown = [o for o in rec["objects"] if not o["hidden"]]
    assert shown and all(o["attributes"]["asset"].endswith(o["attributes"]["file"]) for o in shown)
    assert all(o["category"] == Path(o["attributes"]["file"]).parts[0] for o in shown)


def test_asset_library_import_names_broken_files_and_lists(empty_scene, tmp_path):
    import shutil
    from synthkiln.addon.bridge import assets as A
    src = tmp_path / "in"
    for rel in ("mug/mug.glb", "bowl/bowl.ply"):
        (src / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(SCANS / rel, src / rel)
    (src / "mug" / "broken.glb").write_bytes(b"not a model")
    lib = tmp_path / "lib" / "library.blend"
    report = A.build_library([src], lib, AssetSource(name="library"))
    assert sorted(i["category"] for i in report["imported"]) == ["bowl", "mug"]
    assert len(report["failed"]) == 1 and "broken.glb" in report["failed"][0]
    items = A.list_library(lib)
    assert [(i["name"], i["category"]) for i in items] == [("bowl", "bowl"), ("mug", "mug")]
    cats = (lib.parent / A.CATALOGS).read_text()
    assert "SynthKiln/bowl" in cats and "SynthKiln/mug" in cats
    A.build_library([src / "bowl"], lib, AssetSource(name="library", category_from="fixed", category="dish"))
    assert [(i["name"], i["category"]) for i in A.list_library(lib)] == [("bowl", "dish"), ("mug", "mug")]


def test_a_library_blend_is_a_pool_source_with_its_stored_labels(empty_scene, tmp_path):
    import shutil
    import bpy
    from synthkiln.addon.bridge import assets as A
    from synthkiln.addon.bridge.pipeline import FrameJob
    from synthkiln.addon.core.recipe.model import recipe_from_data
    src = tmp_path / "in"
    for rel in ("mug/mug.glb", "bowl/bowl.ply", "box/box.usdc"):
        (src / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(SCANS / rel, src / rel)
    lib = tmp_path / "lib" / "library.blend"
    A.build_library([src], lib, AssetSource(name="library", attributes={"origin": "scan"}))
    bpy.ops.wm.read_factory_settings(use_empty=True)
    data = {"categories": [{"name": "mug"}, {"name": "bowl"}, {"name": "box"}],
            "scene": {"library": "builtin:asset_library/tabletop.blend",
                      "objects": [{"asset": "Table", "collection": "Stage"}]},
            "assets": [{"name": "lib", "path": str(lib), "attributes": {"shelf": 2}}],
            "randomizers": {"objects": [{"type": "asset_pool", "name": "pool", "count": 3, "slots": 3}]},
            "render": {"resolution": [40, 30], "samples": 1}, "output": {"frames": 2}}
    recipe = recipe_from_data(data)
    assets = A.resolve_sources(recipe)
    assert [(a.id, a.category, a.file, a.attributes) for a in assets] == [
        ("lib/bowl", "bowl", "bowl", {"shelf": 2, "origin": "scan"}),
        ("lib/box", "box", "box", {"shelf": 2, "origin": "scan"}),
        ("lib/mug", "mug", "mug", {"shelf": 2, "origin": "scan"})]
    assert not bpy.data.libraries and not [o for o in bpy.data.objects if o.library]   # listing left nothing
    job = FrameJob(bpy.context.scene, recipe).prepare()
    values, _ = job.apply_frame(0)
    shown = {n: v for n, v in values["objects/pool"].items() if v["visible"]}
    assert sorted(v["asset"] for v in shown.values()) == ["lib/bowl", "lib/box", "lib/mug"]
    for name, v in shown.items():
        mesh = bpy.data.objects[name].data
        lo, hi = _extent(mesh)
        rel = {"lib/mug": "mug/mug.glb", "lib/bowl": "bowl/bowl.ply", "lib/box": "box/box.usdc"}[v["asset"]]
        assert np.allclose(hi - lo, EXPECTED[rel][1], atol=2e-3), (name, hi - lo)
        assert v["attributes"]["origin"] == "scan" and v["category"] == v["asset"][4:]
    glb = next(bpy.data.objects[n].data for n, v in shown.items() if v["asset"] == "lib/mug")
    assert any(n.type == "TEX_IMAGE" and n.image for m in glb.materials for n in m.node_tree.nodes)
    assert not [lib for lib in bpy.data.libraries if Path(lib.filepath).name == "library.blend"]   # appended
    fixed = recipe_from_data({**data, "assets": [{"name": "lib", "path": str(lib), "category_from": "fixed",
                                                  "category": "box"}]})
    assert {a.category for a in A.resolve_sources(fixed)} == {"box"}
    (tmp_path / "junk.blend").write_bytes(b"not a blend file")
    with pytest.raises(A.UserError, match=r"assets\[0\]\.path: cannot read .*junk\.blend"):
        A.resolve_sources(recipe_from_data({**data, "assets": [{"name": "lib", "path": str(tmp_path / "junk.blend")}]}))

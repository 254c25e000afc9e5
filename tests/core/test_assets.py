"""Asset sources (files, folders, globs, categories, manifests) and the pool's draws, without Blender."""

import json

import numpy as np
import pytest

from synthkiln.addon.core.errors import UserError
from synthkiln.addon.core.params.schema import SchemaError, from_data
from synthkiln.addon.core.params.rng import stream
from synthkiln.addon.core.randomizers import Context, FrameState
from synthkiln.addon.core.randomizers.assets import AssetPool
from synthkiln.addon.core.randomizers.objects import ObjectPose
from synthkiln.addon.core.recipe.assets import AssetSource, is_library, library_assets, list_assets


def _tree(tmp_path):
    for rel in ("mug/a.glb", "mug/b.obj", "can/deep/c.ply", "top.stl", "notes.txt", "can/d.fbx"):
        p = tmp_path / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(b"x")
    return tmp_path


def test_folder_is_recursive_sorted_and_categorised_by_folder(tmp_path):
    src = from_data(AssetSource, {"name": "s", "path": str(tmp_path), "category": "misc"})
    got = list_assets(src, _tree(tmp_path))
    assert [(a.id, a.category) for a in got] == [("s/can/d.fbx", "can"), ("s/can/deep/c.ply", "deep"),
                                                 ("s/mug/a.glb", "mug"), ("s/mug/b.obj", "mug"),
                                                 ("s/top.stl", "misc")]


def test_glob_formats_pattern_and_fixed(tmp_path):
    _tree(tmp_path)
    src = from_data(AssetSource, {"name": "g", "category_from": "pattern", "pattern": "^([a-z])\\.", "formats": ["glb"]})
    got = list_assets(src, tmp_path / "**" / "*")
    assert [(a.file, a.category) for a in got] == [("mug/a.glb", "a")]
    src = from_data(AssetSource, {"name": "f", "category_from": "fixed", "category": "thing"})
    assert {a.category for a in list_assets(src, tmp_path)} == {"thing"}


@pytest.mark.parametrize("kind", ["csv", "json", "yaml"])
def test_manifest_gives_category_size_and_attributes(tmp_path, kind):
    _tree(tmp_path)
    rows = [{"file": "mug/a.glb", "category": "cup", "size": 0.12, "brand": "acme"}]
    m = tmp_path / f"m.{kind}"
    if kind == "csv":
        m.write_text("file,category,size,brand\nmug/a.glb,cup,0.12,acme\n")
    else:
        m.write_text(json.dumps(rows))      # JSON is YAML too
    src = from_data(AssetSource, {"name": "s", "category": "misc", "attributes": {"origin": "scan"}})
    a = {x.file: x for x in list_assets(src, tmp_path, manifest=m)}["mug/a.glb"]
    assert (a.category, a.size, a.attributes) == ("cup", 0.12, {"origin": "scan", "brand": "acme"})


def test_bad_sources_name_the_file_or_field(tmp_path):
    bad = tmp_path / "model.xyz"
    bad.write_bytes(b"x")
    with pytest.raises(UserError, match="model.xyz: unsupported file type '.xyz'"):
        list_assets(AssetSource(name="s"), bad)
    with pytest.raises(UserError, match="does not exist"):
        list_assets(AssetSource(name="s"), tmp_path / "nope")
    with pytest.raises(SchemaError, match="'dwg' is not a format"):
        from_data(AssetSource, {"formats": ["dwg"]})
    with pytest.raises(SchemaError, match="has no group"):
        from_data(AssetSource, {"category_from": "pattern", "pattern": "abc"})
    m = tmp_path / "m.csv"
    m.write_text("category\nmug\n")
    with pytest.raises(UserError, match="m.csv: row 1 has no `file`"):
        list_assets(AssetSource(name="s"), _tree(tmp_path), manifest=m)


ASSETS = [{"id": f"s/{c}/{i}.glb", "file": f"{c}/{i}.glb", "category": c, "attributes": {}}
          for c in ("mug", "can", "box") for i in range(4)]


def _ctx(measure=None, balance=None, slots=5, index=0):
    ctx = Context(data={"assets": ASSETS, "slots": [f"Assets_{i:03d}" for i in range(slots)]})
    if measure:
        ctx.data["measure"] = measure
    ctx.frame = FrameState(index=index, scene_index=index, balance=balance or {})
    return ctx


def _draw(pool, i, ctx):
    return pool.sample(stream(0, i, pool.key()), ctx)


def test_pool_shows_k_distinct_assets_and_records_them():
    pool = AssetPool(name="pool", count=from_data(AssetPool, {"count": 4}).count, slots=5)
    ctx = _ctx()
    v = _draw(pool, 0, ctx)
    shown = [x for x in v.values() if x["visible"]]
    assert len(shown) == 4 and len({x["asset"] for x in shown}) == 4
    assert all(x["attributes"]["asset"] == x["asset"] and x["attributes"]["file"] for x in shown)
    assert ctx.frame.hidden == {"Assets_004"}
    assert _draw(pool, 0, _ctx()) == v            # the frame's stream alone decides


def test_duplicates_when_asked_and_weights_zero_excludes():
    pool = from_data(AssetPool, {"count": 5, "slots": 5, "duplicates": True, "weights": {"mug": 0, "can": 0,
                                                                                        "s/box/[123].glb": 0}})
    v = _draw(pool, 1, _ctx())
    assert {x["asset"] for x in v.values()} == {"s/box/0.glb"}


def test_broken_assets_are_skipped_the_same_way_whatever_was_loaded():
    broken = {"s/mug/0.glb", "s/can/1.glb"}
    shape = np.zeros((8, 3)).tolist()

    def measure(asset_id):
        return None if asset_id in broken else shape

    pool = from_data(AssetPool, {"count": 5, "slots": 5})
    for i in range(20):
        v = _draw(pool, i, _ctx(measure))
        assert not broken & {x.get("asset") for x in v.values()}
        assert sum(x["visible"] for x in v.values()) == 5
        assert v == _draw(pool, i, _ctx(measure))


def test_pool_follows_the_category_balance():
    pool = from_data(AssetPool, {"count": 1, "slots": 1})
    cats = [next(x for x in _draw(pool, i, _ctx(balance={"category": {"mug": 0.75, "box": 0.25}},
                                                   slots=1, index=i)).values())["category"] for i in range(200)]
    assert set(cats) == {"mug", "box"} and 0.65 < cats.count("mug") / 200 < 0.85


def test_pool_shapes_feed_placement():
    """object_pose places a slot with its asset's box (this frame's shape), not the empty slot's."""
    corners = [[x, y, z] for z in (0, 0.5) for y in (-0.1, 0.1) for x in (-0.1, 0.1)]
    ctx = _ctx(lambda a: corners, slots=1)
    pool = from_data(AssetPool, {"count": 1, "slots": 1})
    _draw(pool, 0, ctx)
    pose = from_data(ObjectPose, {"x": 0, "y": 0, "z": 0, "rotation_z": 0})
    pctx = Context(targets=["Assets_000"], data={"corners": {"Assets_000": [[0, 0, 0]] * 8}}, frame=ctx.frame)
    v = pose.sample(stream(0, 0, "p"), pctx)["Assets_000"]
    assert v["visible"] and ctx.frame.placed[""][0][3] == pytest.approx(np.hypot(0.1, np.hypot(0.1, 0.25)))


def test_pose_scale_is_a_factor_of_the_objects_own():
    pose = from_data(ObjectPose, {"scale": 2.0, "scale_z": 0.5})
    ctx = Context(targets=["Mug"], data={"scales": {"Mug": (0.3, 0.3, 0.6)}})
    v = pose.sample(stream(0, 0, "p"), ctx)["Mug"]
    assert v["scale"] == pytest.approx([0.6, 0.6, 0.6])


def test_library_entries_keep_their_stored_labels_unless_fixed(tmp_path):
    lib = tmp_path / "lib.blend"
    lib.write_bytes(b"x")
    entries = [{"name": "mug", "category": "mug", "attributes": {"shelf": 1}}, {"name": "odd", "category": ""}]
    src = AssetSource(name="lib", category="other", attributes={"origin": "scan", "shelf": 0})
    got = library_assets(src, lib, entries)
    assert [(a.id, a.category, a.file, a.object, a.path, a.attributes) for a in got] == [
        ("lib/mug", "mug", "mug", "mug", str(lib), {"origin": "scan", "shelf": 1}),
        ("lib/odd", "other", "odd", "odd", str(lib), {"origin": "scan", "shelf": 0})]
    fixed = AssetSource(name="lib", category_from="fixed", category="box")
    assert {a.category for a in library_assets(fixed, lib, entries)} == {"box"}
    with pytest.raises(UserError, match=r"lib\.blend: asset 'odd' has no stored category"):
        library_assets(AssetSource(name="lib"), lib, entries)
    assert is_library(lib) and not is_library(tmp_path / "*.blend") and not is_library(tmp_path / "a.glb")
    with pytest.raises(UserError, match="is a library .blend"):
        list_assets(AssetSource(name="lib"), lib)

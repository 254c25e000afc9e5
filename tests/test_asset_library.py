"""The committed tabletop asset library (asset_library/tabletop.blend) keeps its naming contract."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

pytestmark = pytest.mark.bpy

bpy = pytest.importorskip("bpy")
import bmesh  # noqa: E402  (only importable once bpy is)
from mathutils import Vector  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
LIB = ROOT / "asset_library"
BLEND = LIB / "tabletop.blend"
CATS = LIB / "blender_assets.cats.txt"
SCRIPT = LIB / "make_assets.py"

CATALOG_OF = {
    "Mug": "Tabletop/Kitchen", "Bottle": "Tabletop/Kitchen", "Bowl": "Tabletop/Kitchen", "Can": "Tabletop/Kitchen",
    "Book": "Tabletop/Office", "Box": "Tabletop/Office",
    "Table": "Tabletop/Surfaces", "Floor": "Tabletop/Surfaces",
}
TARGETS = ("Mug", "Bottle", "Bowl", "Can", "Book", "Box")
ROUND = ("Mug", "Bottle", "Bowl", "Can")

# (min, max) per axis, metres: the sizes promised in the contract with a little slack.
DIMENSIONS = {
    "Mug": ((0.08, 0.13), (0.075, 0.085), (0.095, 0.105)),      # x includes the handle
    "Bottle": ((0.065, 0.075), (0.065, 0.075), (0.24, 0.26)),
    "Bowl": ((0.14, 0.16), (0.14, 0.16), (0.055, 0.065)),
    "Can": ((0.064, 0.068), (0.064, 0.068), (0.115, 0.125)),
    "Book": ((0.14, 0.16), (0.21, 0.23), (0.025, 0.035)),
    "Box": ((0.18, 0.20), (0.06, 0.08), (0.26, 0.28)),
    "Table": ((1.55, 1.65), (0.95, 1.05), (0.035, 0.045)),
    "Floor": ((9.99, 10.01), (9.99, 10.01), (0.0, 1e-6)),
}


def read_catalogs(path: Path) -> dict[str, tuple[str, str]]:
    """uuid -> (catalog path, simple name), checking Blender's file format on the way."""
    lines = [ln.strip() for ln in path.read_text(encoding="utf-8").splitlines()]
    lines = [ln for ln in lines if ln and not ln.startswith("#")]
    assert lines[0] == "VERSION 1"
    cats = {}
    for ln in lines[1:]:
        cat_id, cat_path, simple = ln.split(":", 2)
        uuid.UUID(cat_id)
        assert cat_id not in cats
        cats[cat_id] = (cat_path, simple)
    return cats


@pytest.fixture(scope="module")
def _opened():
    yield
    bpy.ops.wm.read_factory_settings(use_empty=True)  # leave an empty session to whoever runs next


@pytest.fixture
def library(_opened):
    """bpy.data with the committed library open (opened once, reopened if a test opened another file)."""
    if Path(bpy.data.filepath or ".").resolve() != BLEND.resolve():
        bpy.ops.wm.open_mainfile(filepath=str(BLEND), load_ui=False)
    return bpy.data


def world_bounds(obj):
    ev = obj.evaluated_get(bpy.context.evaluated_depsgraph_get())
    corners = [ev.matrix_world @ Vector(c) for c in ev.bound_box]
    lo = [min(c[i] for c in corners) for i in range(3)]
    hi = [max(c[i] for c in corners) for i in range(3)]
    return lo, hi


def local_bounds(obj):
    ev = obj.evaluated_get(bpy.context.evaluated_depsgraph_get())
    lo = [min(c[i] for c in ev.bound_box) for i in range(3)]
    hi = [max(c[i] for c in ev.bound_box) for i in range(3)]
    return lo, hi


def test_catalog_file():
    cats = read_catalogs(CATS)
    paths = {p: cid for cid, (p, _) in cats.items()}
    for needed in ("Tabletop/Kitchen", "Tabletop/Office", "Tabletop/Surfaces"):
        assert needed in paths
        assert cats[paths[needed]][1] == needed.replace("/", "-")


def test_objects_are_assets_in_their_catalogs(library):
    cats = read_catalogs(CATS)
    for name, cat_path in CATALOG_OF.items():
        obj = library.objects.get(name)
        assert obj is not None, f"missing object {name}"
        assert obj.type == 'MESH'
        assert obj.asset_data is not None, f"{name} is not marked as an asset"
        meta = obj.asset_data
        assert meta.catalog_id in cats, f"{name}: catalog {meta.catalog_id} not in {CATS.name}"
        assert cats[meta.catalog_id][0] == cat_path
        assert meta.description
        assert len(meta.tags) > 0
        if hasattr(meta, "author"):
            assert meta.author == "SynthKiln (CC0)"
        if hasattr(meta, "license"):
            assert "CC0" in meta.license


def test_collections(library):
    scene = library.scenes[0]
    for name, cat_path in CATALOG_OF.items():
        obj = library.objects[name]
        assert name in scene.collection.objects, f"{name} not in the scene collection"
        coll = library.collections[cat_path.rsplit("/", 1)[1]]
        assert name in coll.objects, f"{name} not in collection {coll.name}"


@pytest.mark.parametrize("name", TARGETS)
def test_target_origin_at_bottom_centre(library, name):
    lo, hi = local_bounds(library.objects[name])
    assert abs(lo[2]) < 1e-4, f"{name}: lowest point at z={lo[2]}"
    assert abs((lo[0] + hi[0]) / 2) < 1e-3, f"{name}: not centred in x"
    assert abs((lo[1] + hi[1]) / 2) < 1e-3, f"{name}: not centred in y"


@pytest.mark.parametrize("name", list(CATALOG_OF))
def test_geometry(library, name):
    obj = library.objects[name]
    mesh = obj.data
    assert len(obj.modifiers) == 0, f"{name}: modifiers left on the object"
    assert tuple(obj.scale) == pytest.approx((1, 1, 1)) and tuple(obj.rotation_euler) == pytest.approx((0, 0, 0))
    lo, hi = local_bounds(obj)
    for axis, (dmin, dmax) in enumerate(DIMENSIONS[name]):
        size = hi[axis] - lo[axis]
        assert dmin <= size <= dmax, f"{name}: size {size:.4f} on axis {'xyz'[axis]} not in [{dmin}, {dmax}]"
    assert len(mesh.uv_layers) >= 1, f"{name}: no UV map"
    if name in TARGETS:
        assert 100 <= len(mesh.polygons) <= 5000, f"{name}: {len(mesh.polygons)} faces"
        # Closed and facing outwards: positive signed volume.
        bm = bmesh.new()
        bm.from_mesh(mesh)
        try:
            assert bm.calc_volume(signed=True) > 0, f"{name}: normals point inwards"
        finally:
            bm.free()
    if name in ROUND:
        smooth = sum(p.use_smooth for p in mesh.polygons)
        assert smooth == len(mesh.polygons), f"{name}: not smooth-shaded"


@pytest.mark.parametrize("name", list(CATALOG_OF))
def test_material(library, name):
    obj = library.objects[name]
    mats = [slot.material for slot in obj.material_slots]
    assert len(mats) == 1 and mats[0] is not None, f"{name}: expected exactly one material"
    mat = mats[0]
    assert mat.name == f"{name}Material"
    nodes = mat.node_tree.nodes
    bsdf = nodes["Principled BSDF"]
    assert bsdf.type == 'BSDF_PRINCIPLED'
    out = next(n for n in nodes if n.type == 'OUTPUT_MATERIAL')
    assert any(link.from_node == bsdf for link in out.inputs["Surface"].links)
    assert bsdf.inputs["Transmission Weight"].default_value == 0.0  # opaque: fast renders
    assert 0.0 < bsdf.inputs["Roughness"].default_value <= 1.0
    if name == "Can":
        assert bsdf.inputs["Metallic"].default_value > 0.5
    if name == "Bottle":
        r, g, b, _ = bsdf.inputs["Base Color"].default_value
        assert g > r and g > b, "the bottle should be green"


def test_surfaces(library):
    lo, hi = world_bounds(library.objects["Table"])
    assert abs(hi[2]) < 1e-4, f"table top at z={hi[2]}"
    lo, hi = world_bounds(library.objects["Floor"])
    assert lo[2] == pytest.approx(-0.75, abs=1e-4) and hi[2] == pytest.approx(-0.75, abs=1e-4)


def test_targets_rest_on_the_table(library):
    """In the saved scene the targets stand on the table, inside its top, without overlapping each other."""
    t_lo, t_hi = world_bounds(library.objects["Table"])
    boxes = []
    for name in TARGETS:
        lo, hi = world_bounds(library.objects[name])
        assert abs(lo[2] - t_hi[2]) < 1e-4
        assert t_lo[0] < lo[0] and hi[0] < t_hi[0] and t_lo[1] < lo[1] and hi[1] < t_hi[1]
        for other, (olo, ohi) in boxes:
            overlap = all(lo[i] < ohi[i] and olo[i] < hi[i] for i in range(2))
            assert not overlap, f"{name} overlaps {other}"
        boxes.append((name, (lo, hi)))


def test_script_rebuilds_the_committed_library(_opened, tmp_path):
    """make_assets.py is deterministic and the committed files are what it makes now."""
    env = dict(os.environ, SYNTHKILN_NO_PREVIEWS="1")
    proc = subprocess.run([sys.executable, str(SCRIPT), "--out-dir", str(tmp_path)], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (tmp_path / CATS.name).read_text(encoding="utf-8") == CATS.read_text(encoding="utf-8")
    assert not list(tmp_path.glob("*.blend1"))

    def fingerprint(path: Path) -> dict:
        bpy.ops.wm.open_mainfile(filepath=str(path), load_ui=False)
        out = {}
        for obj in bpy.data.objects:
            co = [0.0] * (3 * len(obj.data.vertices))
            obj.data.vertices.foreach_get("co", co)
            mat = obj.material_slots[0].material
            bsdf = mat.node_tree.nodes["Principled BSDF"]
            out[obj.name] = (
                len(obj.data.vertices), len(obj.data.polygons), [round(c, 6) for c in co],
                tuple(round(v, 6) for v in obj.location), mat.name,
                tuple(round(v, 6) for v in bsdf.inputs["Base Color"].default_value),
                obj.asset_data.catalog_id, sorted(t.name for t in obj.asset_data.tags),
            )
        return out

    assert fingerprint(tmp_path / BLEND.name) == fingerprint(BLEND), \
        "asset_library/tabletop.blend is stale: rerun asset_library/make_assets.py"

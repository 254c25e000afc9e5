"""Build ``asset_library/tabletop.blend`` and its Asset Browser catalog file from nothing.

Run with the bpy module (Blender as a Python module) or with Blender itself::

    python asset_library/make_assets.py                  # writes next to this script
    python asset_library/make_assets.py --out-dir /tmp/x  # writes elsewhere (the tests use this)
    blender -b --python asset_library/make_assets.py [-- --out-dir DIR]

The script is fully deterministic: no random numbers, every shape is a fixed list of numbers turned into a
mesh with ``bmesh``. Every asset in the output is made here, so the library is CC0 by construction.

Naming contract (other code depends on it):

* target objects ``Mug``, ``Bottle``, ``Bowl``, ``Can``, ``Book``, ``Box``: one mesh each, origin at the
  centre of the bottom of their bounding box (lowest point z = 0, bounding box centred on x/y), one material
  ``<Name>Material`` whose node tree is the default ``Principled BSDF`` -> ``Material Output``;
* surfaces ``Table`` (top face at z = 0) and ``Floor`` (10 x 10 m plane at z = -0.75), materials
  ``TableMaterial`` and ``FloorMaterial``;
* every object is an asset in a catalog (see ``CATALOGS``) and is linked to the scene collection and to a
  collection named after the last part of its catalog path (``Kitchen``, ``Office``, ``Surfaces``).
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from pathlib import Path

import bpy  # must come first: with the bpy module, bmesh only exists once bpy is imported
import bmesh  # noqa: E402

HERE = Path(__file__).resolve().parent
BLEND_NAME = "tabletop.blend"
CATS_NAME = "blender_assets.cats.txt"  # Blender's fixed name, found next to the .blend

AUTHOR = "SynthKiln (CC0)"
LICENSE = "CC0-1.0"
COPYRIGHT = "No rights reserved (CC0 1.0 Universal)"

# Fixed catalog UUIDs: never change them, saved files and user libraries refer to assets by these.
CATALOGS = {
    "Tabletop": "5d1c2a1e-7a3f-4c51-9b6e-2f0a8d4c1b01",
    "Tabletop/Kitchen": "5d1c2a1e-7a3f-4c51-9b6e-2f0a8d4c1b02",
    "Tabletop/Office": "5d1c2a1e-7a3f-4c51-9b6e-2f0a8d4c1b03",
    "Tabletop/Surfaces": "5d1c2a1e-7a3f-4c51-9b6e-2f0a8d4c1b04",
}

ROUND_SEGMENTS = 48  # around-the-axis resolution of the turned (lathe) objects
SMOOTH_ANGLE = math.radians(35.0)  # edges sharper than this stay sharp on smooth-shaded meshes


# --------------------------------------------------------------------------------------------------------
# Geometry helpers (pure bmesh, no operators, no randomness)
# --------------------------------------------------------------------------------------------------------

def arc(cr: float, cz: float, radius: float, a0: float, a1: float, steps: int) -> list[tuple[float, float]]:
    """Points on a circular arc in the (r, z) profile plane, angles in degrees, both ends included."""
    pts = []
    for i in range(steps + 1):
        a = math.radians(a0 + (a1 - a0) * i / steps)
        pts.append((cr + radius * math.cos(a), cz + radius * math.sin(a)))
    return pts


def dedupe(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Drop consecutive duplicate profile points (arcs share their end points with the next piece)."""
    out: list[tuple[float, float]] = []
    for p in points:
        if not out or abs(out[-1][0] - p[0]) > 1e-7 or abs(out[-1][1] - p[1]) > 1e-7:
            out.append((max(p[0], 0.0), p[1]))
    return out


def add_lathe(bm: bmesh.types.BMesh, uv, profile: list[tuple[float, float]], segments: int) -> None:
    """Turn a profile of (radius, z) points around the z axis into a closed surface.

    The profile must run counter-clockwise in the (r, z) half plane (out along the bottom, up the outside,
    back in and down the inside): that gives outward-facing normals. Points with r == 0 become a single
    vertex on the axis (triangle fans). UVs: u goes around (0..1), v follows the profile's arc length.
    """
    lengths = [0.0]
    for (r0, z0), (r1, z1) in zip(profile, profile[1:]):
        lengths.append(lengths[-1] + math.hypot(r1 - r0, z1 - z0))
    total = lengths[-1] or 1.0

    rings = []
    for r, z in profile:
        if r < 1e-9:
            rings.append([bm.verts.new((0.0, 0.0, z))] * segments)
        else:
            rings.append([
                bm.verts.new((r * math.cos(2 * math.pi * j / segments), r * math.sin(2 * math.pi * j / segments), z))
                for j in range(segments)
            ])

    for i in range(len(profile) - 1):
        lo, hi = rings[i], rings[i + 1]
        lo_axis, hi_axis = profile[i][0] < 1e-9, profile[i + 1][0] < 1e-9
        if lo_axis and hi_axis:
            continue
        v0, v1 = lengths[i] / total, lengths[i + 1] / total
        for j in range(segments):
            k = (j + 1) % segments
            u0, u1, um = j / segments, (j + 1) / segments, (j + 0.5) / segments
            if lo_axis:
                verts, uvs = (lo[j], hi[k], hi[j]), ((um, v0), (u1, v1), (u0, v1))
            elif hi_axis:
                verts, uvs = (lo[j], lo[k], hi[j]), ((u0, v0), (u1, v0), (um, v1))
            else:
                verts, uvs = (lo[j], lo[k], hi[k], hi[j]), ((u0, v0), (u1, v0), (u1, v1), (u0, v1))
            face = bm.faces.new(verts)
            for loop, co in zip(face.loops, uvs):
                loop[uv].uv = co


def add_tube(bm: bmesh.types.BMesh, uv, path: list[tuple[float, float, float]], normals, width: float,
             thickness: float, sides: int) -> None:
    """Sweep an elliptical cross-section along a path lying in the x/z plane; both ends capped.

    ``normals`` gives, per path point, the in-plane direction the ``thickness`` half-axis points along;
    the ``width`` half-axis is along y.
    """
    rings = []
    for (px, py, pz), (nx, nz) in zip(path, normals):
        ring = []
        for s in range(sides):
            a = 2 * math.pi * s / sides
            c, d = math.cos(a) * thickness, math.sin(a) * width
            ring.append(bm.verts.new((px + c * nx, py + d, pz + c * nz)))
        rings.append(ring)
    n = len(rings)
    for i in range(n - 1):
        for s in range(sides):
            t = (s + 1) % sides
            face = bm.faces.new((rings[i][s], rings[i][t], rings[i + 1][t], rings[i + 1][s]))
            for loop, co in zip(face.loops, ((s / sides, i / (n - 1)), ((s + 1) / sides, i / (n - 1)),
                                             ((s + 1) / sides, (i + 1) / (n - 1)), (s / sides, (i + 1) / (n - 1)))):
                loop[uv].uv = co
    for ring in (rings[0], rings[-1]):
        face = bm.faces.new(ring)
        for loop, s in zip(face.loops, range(sides)):
            a = 2 * math.pi * s / sides
            loop[uv].uv = (0.5 + 0.5 * math.cos(a), 0.5 + 0.5 * math.sin(a))


def add_box(bm: bmesh.types.BMesh, size: tuple[float, float, float], centre=(0.0, 0.0, 0.0), cuts: int = 0):
    """An axis-aligned box with the cube primitive's UVs; optionally subdivided. Returns its verts."""
    before = set(bm.verts)
    res = bmesh.ops.create_cube(bm, size=1.0, calc_uvs=True)
    verts = res["verts"]
    for v in verts:
        v.co.x = v.co.x * size[0] + centre[0]
        v.co.y = v.co.y * size[1] + centre[1]
        v.co.z = v.co.z * size[2] + centre[2]
    if cuts:
        edges = list({e for v in verts for e in v.link_edges})
        bmesh.ops.subdivide_edges(bm, edges=edges, cuts=cuts, use_grid_fill=True)
    return [v for v in bm.verts if v not in before]


def box_outer_edges(verts, size, centre) -> list:
    """Edges of a box shell lying on two of its bounding planes at once (the 12 box edges)."""
    eps = 1e-6
    half = [s / 2 for s in size]

    def on_planes(co):
        return {axis for axis in range(3) if abs(abs(co[axis] - centre[axis]) - half[axis]) < eps}

    edges = set()
    for v in verts:
        for e in v.link_edges:
            a, b = on_planes(e.verts[0].co), on_planes(e.verts[1].co)
            if len(a & b) >= 2:
                edges.add(e)
    return sorted(edges, key=lambda e: e.index)


def bevel_edges(bm: bmesh.types.BMesh, edges, offset: float, segments: int) -> None:
    bm.edges.index_update()
    bmesh.ops.bevel(bm, geom=list(edges), offset=offset, offset_type='OFFSET', profile_type='SUPERELLIPSE',
                    segments=segments, profile=0.5, affect='EDGES', clamp_overlap=True)


# --------------------------------------------------------------------------------------------------------
# The shapes (all sizes in metres, z up, built standing on z = 0)
# --------------------------------------------------------------------------------------------------------

def build_mug(bm, uv):
    # Body: 80 mm diameter, 100 mm tall, 4 mm wall, 8 mm bottom; rounded rim and foot.
    profile = dedupe(
        [(0.0, 0.0)]
        + arc(0.037, 0.003, 0.003, -90, 0, 4)             # rounded outer foot
        + arc(0.038, 0.098, 0.002, 0, 180, 6)             # rounded rim, over the top
        + arc(0.033, 0.011, 0.003, 0, -90, 4)             # inside bottom corner
        + [(0.0, 0.008)]
    )
    add_lathe(bm, uv, profile, ROUND_SEGMENTS)
    # Handle: a C-shaped tube on the +x side whose ends are buried in the wall.
    cx, cz, radius = 0.0355, 0.052, 0.026
    path, normals = [], []
    steps = 24
    for i in range(steps + 1):
        a = math.radians(-88 + 176 * i / steps)
        path.append((cx + radius * math.cos(a), 0.0, cz + radius * math.sin(a)))
        normals.append((math.cos(a), math.sin(a)))
    add_tube(bm, uv, path, normals, width=0.0070, thickness=0.0045, sides=16)


def build_bottle(bm, uv):
    # Wine/beer-style bottle: 70 mm diameter, 250 mm tall, slight punt, curved shoulder, neck with a lip.
    shoulder = []
    for i in range(13):
        t = i / 12
        shoulder.append((0.0135 + (0.035 - 0.0135) * (1 + math.cos(math.pi * t)) / 2, 0.150 + 0.058 * t))
    profile = dedupe(
        [(0.0, 0.005), (0.012, 0.0045), (0.022, 0.0025)]
        + arc(0.031, 0.004, 0.004, -90, 0, 4)             # rounded heel
        + [(0.035, 0.050), (0.035, 0.100)]
        + shoulder
        + [(0.0135, 0.228)]
        + arc(0.0135, 0.2315, 0.0035, -90, 90, 6)          # bead ring below the lip (bulges out)
        + [(0.0138, 0.2484)]
        + arc(0.0122, 0.2484, 0.0016, 0, 180, 4)           # rounded mouth
        + [(0.0106, 0.2300), (0.0104, 0.2150), (0.0, 0.2150)]
    )
    add_lathe(bm, uv, profile, ROUND_SEGMENTS)


def build_bowl(bm, uv):
    # Bowl: 150 mm across, 60 mm tall, ~5 mm wall, with a foot ring.
    a_out, b_out, zc = 0.075, 0.056, 0.058
    a_in, b_in = 0.071, 0.050
    outer = []
    t0 = math.asin(0.0345 / a_out)
    for i in range(17):
        t = t0 + (math.pi / 2 - t0) * i / 16
        outer.append((a_out * math.sin(t), zc - b_out * math.cos(t)))
    inner = []
    for i in range(17):
        t = math.pi / 2 * (1 - i / 16)
        inner.append((a_in * math.sin(t), zc - b_in * math.cos(t)))
    profile = dedupe(
        [(0.0, 0.0)]
        + arc(0.0315, 0.0025, 0.0025, -90, 0, 3)           # rounded foot ring
        + [(0.034, 0.0050)]
        + outer[:-1]
        + arc(0.073, zc, 0.002, 0, 180, 6)                 # rounded rim
        + inner[1:]
    )
    add_lathe(bm, uv, profile, ROUND_SEGMENTS)


def build_can(bm, uv):
    # Standard 330 ml drink can: 66 mm diameter, 120 mm tall, domed bottom, necked top, recessed lid.
    profile = dedupe([
        (0.0, 0.0080), (0.0120, 0.0072), (0.0205, 0.0045), (0.0235, 0.0012), (0.0250, 0.0),
        (0.0265, 0.0003), (0.0275, 0.0015), (0.0300, 0.0050), (0.0320, 0.0085), (0.0330, 0.0115),
        (0.0330, 0.0400), (0.0330, 0.0700), (0.0330, 0.1040), (0.0322, 0.1080), (0.0302, 0.1125),
        (0.0287, 0.1160), (0.0284, 0.1178), (0.0289, 0.1188), (0.0288, 0.1198), (0.0280, 0.1200),
        (0.0272, 0.1196), (0.0268, 0.1186), (0.0266, 0.1160), (0.0258, 0.1148), (0.0, 0.1148),
    ])
    add_lathe(bm, uv, profile, ROUND_SEGMENTS)


def build_book(bm, uv):
    # Closed hardback lying flat: 150 x 220 x 30 mm; spine on -x, page block recessed on the other 3 sides.
    size, centre = (0.150, 0.220, 0.030), (0.0, 0.0, 0.015)
    verts = add_box(bm, size, centre, cuts=3)
    bm.normal_update()
    eps = 1e-6
    page_faces = [f for f in bm.faces if all(v in verts for v in f.verts) and (
        abs(f.normal.x - 1) < eps or abs(abs(f.normal.y) - 1) < eps)]
    # Only the inner part of those three sides becomes pages: inset the side as one region.
    res = bmesh.ops.inset_region(bm, faces=page_faces, thickness=0.0030, depth=-0.0035, use_even_offset=True,
                                 use_boundary=True)
    del res
    bevel_edges(bm, box_outer_edges(verts, size, centre), offset=0.0015, segments=2)


def build_box(bm, uv):
    # Cereal box: 190 wide x 70 deep x 270 tall, very slightly rounded edges.
    size, centre = (0.190, 0.070, 0.270), (0.0, 0.0, 0.135)
    verts = add_box(bm, size, centre, cuts=4)
    bevel_edges(bm, box_outer_edges(verts, size, centre), offset=0.0015, segments=3)


def build_table(bm, uv):
    # Table top slab: 1.6 x 1.0 m, 40 mm thick, top face at z = 0.
    size, centre = (1.6, 1.0, 0.04), (0.0, 0.0, -0.02)
    verts = add_box(bm, size, centre, cuts=0)
    bevel_edges(bm, box_outer_edges(verts, size, centre), offset=0.004, segments=3)


def build_floor(bm, uv):
    # 10 x 10 m ground plane (object location puts it at z = -0.75).
    bmesh.ops.create_grid(bm, x_segments=10, y_segments=10, size=5.0, calc_uvs=True)


# --------------------------------------------------------------------------------------------------------
# Materials, assets, scene
# --------------------------------------------------------------------------------------------------------

# name -> (builder, catalog path, smooth, location in the saved scene, material settings, description, tags)
ASSETS = {
    "Mug": dict(
        build=build_mug, catalog="Tabletop/Kitchen", smooth=True,
        material=dict(color=(0.85, 0.84, 0.80), roughness=0.18, coat=0.3),
        description="Glazed ceramic coffee mug, 80 mm diameter x 100 mm tall, hollow, with a handle on +x.",
        tags=["mug", "cup", "ceramic", "kitchen", "target"]),
    "Bottle": dict(
        build=build_bottle, catalog="Tabletop/Kitchen", smooth=True,
        material=dict(color=(0.03, 0.20, 0.06), roughness=0.06, coat=0.8),
        description="Green glass bottle (opaque shader for fast renders), 70 mm diameter x 250 mm tall.",
        tags=["bottle", "glass", "kitchen", "target"]),
    "Bowl": dict(
        build=build_bowl, catalog="Tabletop/Kitchen", smooth=True,
        material=dict(color=(0.12, 0.25, 0.55), roughness=0.3, coat=0.2),
        description="Hollow ceramic bowl with a foot ring, 150 mm diameter x 60 mm tall.",
        tags=["bowl", "ceramic", "kitchen", "target"]),
    "Can": dict(
        build=build_can, catalog="Tabletop/Kitchen", smooth=True,
        material=dict(color=(0.70, 0.04, 0.04), roughness=0.28, metallic=1.0),
        description="Aluminium drink can (330 ml), 66 mm diameter x 120 mm tall.",
        tags=["can", "drink", "metal", "kitchen", "target"]),
    "Book": dict(
        build=build_book, catalog="Tabletop/Office", smooth=True,
        material=dict(color=(0.08, 0.14, 0.42), roughness=0.65),
        description="Closed hardback book lying flat, 150 x 220 x 30 mm, spine on -x.",
        tags=["book", "office", "target"]),
    "Box": dict(
        build=build_box, catalog="Tabletop/Office", smooth=True,
        material=dict(color=(0.95, 0.55, 0.04), roughness=0.5),
        description="Cereal-box-like carton, 190 x 70 x 270 mm.",
        tags=["box", "carton", "cereal", "office", "target"]),
    "Table": dict(
        build=build_table, catalog="Tabletop/Surfaces", smooth=True,
        material=dict(color=(0.30, 0.16, 0.07), roughness=0.45),
        description="Wooden table top slab, 1.6 x 1.0 m, 40 mm thick; its top face is at z = 0.",
        tags=["table", "surface", "wood"]),
    "Floor": dict(
        build=build_floor, catalog="Tabletop/Surfaces", smooth=False,
        material=dict(color=(0.42, 0.42, 0.42), roughness=0.8),
        description="Grey floor plane, 10 x 10 m, at z = -0.75 (object location).",
        tags=["floor", "ground", "surface"]),
}

TARGETS = ("Mug", "Bottle", "Bowl", "Can", "Book", "Box")

# Where the objects stand in the saved scene (a row on the table, so opening the file shows the set).
# Code that places assets sets the location itself; the mesh origin contract does not depend on these.
LOCATIONS = {
    "Mug": (-0.60, 0.0, 0.0), "Bottle": (-0.38, 0.0, 0.0), "Bowl": (-0.15, 0.0, 0.0),
    "Can": (0.08, 0.0, 0.0), "Book": (0.28, 0.0, 0.0), "Box": (0.52, 0.0, 0.0),
    "Table": (0.0, 0.0, 0.0), "Floor": (0.0, 0.0, -0.75),
}


def make_material(name: str, color, roughness: float, metallic: float = 0.0, coat: float = 0.0):
    mat = bpy.data.materials.new(name)
    if mat.node_tree is None:  # Blender < 5.0 creates materials without nodes
        mat.use_nodes = True
    bsdf = mat.node_tree.nodes["Principled BSDF"]
    bsdf.inputs["Base Color"].default_value = (*color, 1.0)
    bsdf.inputs["Roughness"].default_value = roughness
    bsdf.inputs["Metallic"].default_value = metallic
    coat_input = bsdf.inputs.get("Coat Weight") or bsdf.inputs.get("Coat")
    if coat_input is not None:
        coat_input.default_value = coat
    # Solid/Workbench viewport colours match the render.
    mat.diffuse_color = (*color, 1.0)
    mat.roughness = roughness
    mat.metallic = metallic
    return mat


def recentre(bm: bmesh.types.BMesh, keep_z_top: bool = False) -> None:
    """Move the vertices so the bounding box is centred on x/y and its bottom (or top) is at z = 0."""
    xs = [v.co.x for v in bm.verts]
    ys = [v.co.y for v in bm.verts]
    zs = [v.co.z for v in bm.verts]
    dx, dy = (min(xs) + max(xs)) / 2, (min(ys) + max(ys)) / 2
    dz = max(zs) if keep_z_top else min(zs)
    for v in bm.verts:
        v.co.x -= dx
        v.co.y -= dy
        v.co.z -= dz


def build_object(name: str, spec: dict) -> bpy.types.Object:
    mesh = bpy.data.meshes.new(name)
    bm = bmesh.new()
    uv = bm.loops.layers.uv.new("UVMap")
    spec["build"](bm, uv)
    bmesh.ops.remove_doubles(bm, verts=bm.verts, dist=1e-7)
    recentre(bm, keep_z_top=(name == "Table"))
    volume = bm.calc_volume(signed=True)
    if name != "Floor" and volume <= 0:
        raise RuntimeError(f"{name}: mesh normals point inwards (signed volume {volume})")
    for f in bm.faces:
        f.smooth = spec["smooth"]
    bm.to_mesh(mesh)
    bm.free()
    if spec["smooth"]:
        mesh.set_sharp_from_angle(angle=SMOOTH_ANGLE)
    mesh.materials.append(make_material(f"{name}Material", **spec["material"]))
    mesh.validate()
    obj = bpy.data.objects.new(name, mesh)
    obj.location = LOCATIONS[name]
    return obj


def write_catalogs(path: Path) -> None:
    lines = [
        "# This is an Asset Catalog Definition file for Blender.",
        "#",
        "# Empty lines and lines starting with `#` will be ignored.",
        "# The first non-ignored line should be the version indicator.",
        '# Other lines are of the format "UUID:catalog/path/for/assets:simple catalog name"',
        "#",
        "# Written by asset_library/make_assets.py (SynthKiln); the UUIDs are fixed, do not edit by hand.",
        "",
        "VERSION 1",
        "",
    ]
    for cat_path, uuid in CATALOGS.items():
        lines.append(f"{uuid}:{cat_path}:{cat_path.replace('/', '-')}")
    data = "\n".join(lines) + "\n"
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(data, encoding="utf-8", newline="\n")
    os.replace(tmp, path)


def mark_asset(obj: bpy.types.Object, spec: dict) -> None:
    obj.asset_mark()
    meta = obj.asset_data
    meta.catalog_id = CATALOGS[spec["catalog"]]
    meta.description = spec["description"]
    for tag in spec["tags"]:
        meta.tags.new(tag, skip_if_exists=True)
    for attr, value in (("author", AUTHOR), ("license", LICENSE), ("copyright", COPYRIGHT)):
        if hasattr(meta, attr):
            setattr(meta, attr, value)


def try_generate_preview(obj: bpy.types.Object) -> bool:
    """Render the Asset Browser thumbnail; returns False (and carries on) where it cannot be made.

    With the bpy module this renders synchronously through a software EGL context (checked with bpy 5.0.1
    on a machine without a GPU; Blender prints a few harmless "EGL Error" lines). Set
    SYNTHKILN_NO_PREVIEWS=1 to skip it, e.g. on a machine whose GL set-up misbehaves.
    """
    if os.environ.get("SYNTHKILN_NO_PREVIEWS"):
        return False
    try:
        obj.asset_generate_preview()
    except Exception:  # noqa: BLE001 - previews are optional
        return False
    preview = obj.preview
    return bool(preview and preview.image_size[0] > 0)


def parse_args(argv: list[str]) -> argparse.Namespace:
    if "--" in argv:  # blender -b --python make_assets.py -- --out-dir DIR
        argv = argv[argv.index("--") + 1:]
    elif getattr(bpy.app, "module", True):  # python make_assets.py --out-dir DIR
        argv = argv[1:]
    else:  # inside Blender without "--": the arguments are Blender's own
        argv = []
    parser = argparse.ArgumentParser(description="Build the SynthKiln tabletop asset library.")
    parser.add_argument("--out-dir", type=Path, default=HERE,
                        help="folder for tabletop.blend and blender_assets.cats.txt (default: next to this script)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(sys.argv if argv is None else argv)
    out_dir = args.out_dir.resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    blend_path, cats_path = out_dir / BLEND_NAME, out_dir / CATS_NAME

    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    scene.unit_settings.system = 'METRIC'
    scene.unit_settings.scale_length = 1.0

    collections = {}
    for cat_path in CATALOGS:
        if cat_path.count("/") == 1:
            coll = bpy.data.collections.new(cat_path.rsplit("/", 1)[1])
            scene.collection.children.link(coll)
            collections[cat_path] = coll

    for name, spec in ASSETS.items():
        obj = build_object(name, spec)
        scene.collection.objects.link(obj)
        collections[spec["catalog"]].objects.link(obj)
        mark_asset(obj, spec)

    previews = [name for name in ASSETS if try_generate_preview(bpy.data.objects[name])]

    write_catalogs(cats_path)

    # No "name.blend1" backups; write over any previous output.
    bpy.context.preferences.filepaths.save_version = 0
    if blend_path.exists():
        blend_path.unlink()
    bpy.ops.wm.save_as_mainfile(filepath=str(blend_path), compress=True)
    backup = blend_path.with_name(blend_path.name + "1")
    if backup.exists():
        backup.unlink()

    for name in ASSETS:
        obj = bpy.data.objects[name]
        dims = tuple(round(d, 4) for d in obj.dimensions)
        print(f"{name:7s} dims={dims} faces={len(obj.data.polygons)}")
    print(f"previews: {', '.join(previews) or 'none'}")
    print(f"wrote {blend_path} ({blend_path.stat().st_size} bytes) and {cats_path}")


if __name__ == "__main__":
    main()

"""Build the small model files in ``asset_library/scans/`` with Blender's own exporters, from the objects of
``tabletop.blend`` (CC0 by construction), one format per category, as people bring them:

| file                     | format and quirk                                                       |
|--------------------------|------------------------------------------------------------------------|
| ``mug/mug.glb``          | glTF binary with an embedded image texture (dots.png on the base colour)|
| ``bottle/bottle.obj``    | OBJ + MTL, in centimetres, Y up (the source says ``units: cm``)       |
| ``bowl/bowl.ply``        | PLY with vertex colours and no material (a scan as scanners write it)  |
| ``can/can.stl``          | STL: geometry only                                                     |
| ``book/book.fbx``        | FBX                                                                    |
| ``box/box.usdc``         | USD (binary crate)                                                     |

Run from the repository root (the ``bpy`` module, e.g. ``.venv``)::

    .venv/bin/python -m asset_library.scans.make_scans            # rewrites asset_library/scans/*/
    .venv/bin/python -m asset_library.scans.make_scans --out-dir /tmp/scans
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import bpy

HERE = Path(__file__).resolve().parent
LIBRARY = HERE.parent / "tabletop.blend"
TEXTURE = HERE.parent / "textures" / "dots.png"


def _only(obj) -> None:
    for o in bpy.context.view_layer.objects:
        o.select_set(o == obj)
    bpy.context.view_layer.objects.active = obj


def _texture(obj) -> None:
    """The mug's base colour from an image (packed, so the GLB embeds it)."""
    mat = obj.data.materials[0]
    nodes, links = mat.node_tree.nodes, mat.node_tree.links
    img = bpy.data.images.load(str(TEXTURE))
    img.pack()
    tex = nodes.new("ShaderNodeTexImage")
    tex.image = img
    links.new(tex.outputs["Color"], nodes["Principled BSDF"].inputs["Base Color"])


def _vertex_colours(obj) -> None:
    """Colours by height and angle (a scan's baked colours), on the points; materials removed."""
    mesh = obj.data
    attr = mesh.color_attributes.new("Col", "BYTE_COLOR", "POINT")
    zs = [v.co.z for v in mesh.vertices]
    lo, hi = min(zs), max(zs)
    for v, c in zip(mesh.vertices, attr.data):
        t = (v.co.z - lo) / ((hi - lo) or 1.0)
        a = (math.atan2(v.co.y, v.co.x) / (2 * math.pi)) % 1.0
        c.color = (0.9 * (1 - t) + 0.1 * t, 0.2 + 0.6 * a, 0.1 + 0.8 * t, 1.0)
    mesh.materials.clear()


def build(out_dir: Path = HERE) -> list[Path]:
    bpy.ops.wm.open_mainfile(filepath=str(LIBRARY), load_ui=False)
    objs = bpy.data.objects
    out = []

    def path(cat: str, ext: str) -> Path:
        p = out_dir / cat / f"{cat}.{ext}"
        p.parent.mkdir(parents=True, exist_ok=True)
        out.append(p)
        return p

    _texture(objs["Mug"])
    _only(objs["Mug"])
    bpy.ops.export_scene.gltf(filepath=str(path("mug", "glb")), export_format="GLB", use_selection=True,
                              export_image_format="AUTO", export_animations=False)
    _only(objs["Bottle"])
    bpy.ops.wm.obj_export(filepath=str(path("bottle", "obj")), export_selected_objects=True, global_scale=100.0,
                          up_axis="Y", forward_axis="NEGATIVE_Z", export_materials=True, path_mode="STRIP")
    out.append(out[-1].with_suffix(".mtl"))
    _vertex_colours(objs["Bowl"])
    _only(objs["Bowl"])
    bpy.ops.wm.ply_export(filepath=str(path("bowl", "ply")), export_selected_objects=True, export_colors="SRGB",
                          ascii_format=False, export_normals=False, export_uv=False)
    _only(objs["Can"])
    bpy.ops.wm.stl_export(filepath=str(path("can", "stl")), export_selected_objects=True, ascii_format=False)
    _only(objs["Book"])
    bpy.ops.export_scene.fbx(filepath=str(path("book", "fbx")), use_selection=True, bake_anim=False,
                             add_leaf_bones=False)
    _only(objs["Box"])
    bpy.ops.wm.usd_export(filepath=str(path("box", "usdc")), selected_objects_only=True, export_animation=False)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out-dir", type=Path, default=HERE)
    for p in build(ap.parse_args().out_dir):
        print(f"{p}  {p.stat().st_size} bytes")


if __name__ == "__main__":
    main()

"""Materials randomizers, Blender half: each type really changes the material, per-object copies,
box projection on a mesh without UVs, no datablock growth, and a tiny render with a texture."""

import math

import numpy as np
import pytest

pytestmark = pytest.mark.bpy


def build_scene():
    """Two UV-mapped cubes sharing one material, and a sphere with neither UVs nor a material."""
    import bpy
    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    from synthkiln.addon.bridge import compat
    shared = bpy.data.materials.new("Shared")
    compat.enable_nodes(shared)              # node-based from 5.0; 4.x needs use_nodes
    shared.node_tree.nodes["Principled BSDF"].inputs["Base Color"].default_value = (0.5, 0.4, 0.3, 1.0)
    for name, x in (("CubeA", -0.6), ("CubeB", 0.6)):
        bpy.ops.mesh.primitive_cube_add(size=0.5, location=(x, 0.0, 0.25))
        obj = bpy.context.object
        obj.name = name
        obj.data.materials.append(shared)
    bpy.ops.mesh.primitive_ico_sphere_add(radius=0.3, location=(0.0, 0.6, 0.3), calc_uvs=False)
    bpy.context.object.name = "Blob"
    assert not bpy.context.object.data.uv_layers
    cam = bpy.data.objects.new("Camera", bpy.data.cameras.new("Camera"))
    scene.collection.objects.link(cam)
    cam.location, cam.rotation_euler = (0.0, -3.0, 0.6), (math.radians(82), 0.0, 0.0)
    cam.data.lens = 35.0
    sun = bpy.data.objects.new("Sun", bpy.data.lights.new("Sun", "SUN"))
    sun.data.energy = 3.0
    sun.rotation_euler = (math.radians(50), 0.0, math.radians(-20))    # lights the faces the camera sees
    scene.collection.objects.link(sun)
    scene.camera = cam
    return scene


def job_with(materials, **extra):
    import bpy
    from synthkiln.addon.bridge.pipeline import FrameJob
    from synthkiln.addon.core.recipe.model import recipe_from_data
    scene = build_scene()
    data = {"categories": [{"name": "thing"}],
            "labels": [{"select": {"names": ["Cube*", "Blob"]}, "category": "thing"}],
            "randomizers": {"materials": materials},
            "render": {"resolution": [64, 48], "samples": 2, "denoise": False, "view_transform": "Standard"},
            "output": {"frames": 1, "seed": 5, "previews": 0}}
    data.update(extra)
    return FrameJob(scene, recipe_from_data(data)).prepare()


def mat(name):
    import bpy
    return bpy.data.objects[name].material_slots[0].material


def bsdf(name):
    return mat(name).node_tree.nodes["Principled BSDF"]


def sock(sockets, identifier):
    return next(s for s in sockets if s.identifier == identifier)


DRIVEN = {"base_color": None, "roughness": "Roughness", "metallic": "Metallic", "specular": "Specular IOR Level"}


def driven(name, key="base_color"):
    """What a driven socket of the object's current material shows: the object property that the socket's
    Attribute node reads (the link and the node are checked on the way)."""
    import bpy
    from synthkiln.addon.bridge.appliers.materials import color_socket
    m = mat(name)
    node = m.node_tree.nodes[f"SK {key}"]
    assert (node.attribute_type, node.attribute_name) == ("OBJECT", f"sk_drive_{key}")
    target = color_socket(m) if key == "base_color" else bsdf(name).inputs[DRIVEN[key]]
    assert target.links[0].from_node == node
    value = bpy.data.objects[name][f"sk_drive_{key}"]
    return list(value) if key == "base_color" else float(value)


def test_material_color_gives_each_object_its_own_material(addon_registered):
    from synthkiln.addon.core.randomizers.materials import colour_rgb
    job = job_with([{"type": "material_color", "name": "c", "mode": "palette"}])
    assert {mat(n).name for n in ("CubeA", "CubeB", "Blob")} == {"Shared.sk.CubeA", "Shared.sk.CubeB",
                                                                "SK Material.sk.Blob"}
    job.prepare()                                   # idempotent: nothing more is copied
    values, _ = job.apply_frame(0)
    for name, v in values["materials/c"].items():
        assert np.allclose(driven(name), colour_rgb(v["name"]), atol=1e-6)
        assert driven(name, "roughness") == pytest.approx(v["roughness"], abs=1e-6)
    colours = {tuple(driven(n)) for n in ("CubeA", "CubeB", "Blob")}
    assert len(colours) > 1                          # per object: not one shared colour


def test_shared_draw_and_shift_mode(addon_registered):
    import colorsys
    job = job_with([{"type": "material_color", "name": "c", "mode": "shift", "per_object": False,
                     "hue": {"constant": 0.5}, "saturation": {"constant": 1.0}, "value": {"constant": 1.0}}])
    job.apply_frame(3)
    a, b = (driven(n) for n in ("CubeA", "CubeB"))
    assert np.allclose(a, b)
    h0, s0, v0 = colorsys.rgb_to_hsv(0.5, 0.4, 0.3)
    assert np.allclose(a, colorsys.hsv_to_rgb((h0 + 0.5) % 1, s0, v0), atol=1e-5)
    job.apply_frame(4)                               # shift is from the original colour, not cumulative
    assert np.allclose(driven("CubeA"), a, atol=1e-6)


def test_material_pbr_sets_principled_values(addon_registered):
    job = job_with([{"type": "material_pbr", "name": "p", "metallic": {"uniform": [0.2, 0.8]}}])
    values, _ = job.apply_frame(1)
    for name, v in values["materials/p"].items():
        for key in ("roughness", "metallic", "specular"):
            assert driven(name, key) == pytest.approx(v[key], abs=1e-6)


def test_procedural_texture_links_the_chosen_pattern_and_colour_still_works(addon_registered):
    job = job_with([{"type": "procedural_texture", "name": "t"},
                    {"type": "material_color", "name": "c", "mode": "palette"}])
    kinds = set()
    for i in range(12):
        values, _ = job.apply_frame(i)
        for name, v in values["materials/t"].items():
            nodes = mat(name).node_tree.nodes
            tex, amount, bump = nodes[f"SK t {v['kind']}"], nodes["SK t amount"], nodes["SK t bump"]
            assert amount.inputs[0].links[0].from_node == tex
            assert bump.inputs["Height"].links[0].from_node == tex
            assert tex.inputs["Scale"].default_value == pytest.approx(v["scale"], rel=1e-6)
            assert bump.inputs["Strength"].default_value == pytest.approx(v["bump"], abs=1e-6)
            mix = nodes["SK t mix"]
            assert list(sock(mix.inputs, "B_Color").default_value)[:3] == pytest.approx(v["color"], abs=1e-6)
            # the base colour feeds the mix, and material_color drives its first colour
            assert bsdf(name).inputs["Base Color"].links[0].from_node == mix
            c = values["materials/c"][name]["color"]
            assert sock(mix.inputs, "A_Color").links[0].from_node == mat(name).node_tree.nodes["SK base_color"]
            assert driven(name) == pytest.approx(c, abs=1e-6)
            kinds.add(v["kind"])
    assert len(kinds) >= 4


def test_image_texture_uses_uvs_or_box_projection(addon_registered):
    import bpy
    from synthkiln.addon.core.recipe.preset import PACKAGE_ROOT
    folder = PACKAGE_ROOT / "asset_library" / "textures"
    files = sorted(p.name for p in folder.glob("*.png"))
    images_before = len(bpy.data.images)
    job = job_with([{"type": "image_texture", "name": "i", "max_images": 3}])
    assert len(bpy.data.images) == images_before + 3          # capped, each loaded once
    for name in ("CubeA", "Blob"):
        nodes = mat(name).node_tree.nodes
        tex = nodes["SK i image"]
        coords = nodes["SK i mapping"].inputs["Vector"].links[0].from_socket
        if name == "Blob":                                     # no UVs: object space, box projection
            assert tex.projection == "BOX" and coords.name == "Object" and tex.projection_blend > 0
        else:
            assert tex.projection == "FLAT" and coords.name == "UV"
    seen = set()
    for i in range(10):
        values, _ = job.apply_frame(i)
        for name, v in values["materials/i"].items():
            nodes = mat(name).node_tree.nodes
            assert nodes["SK i image"].image.filepath.endswith(v["image"])
            assert sock(nodes["SK i mix"].inputs, "Factor_Float").default_value == pytest.approx(v["mix"], abs=1e-6)
            assert nodes["SK i mapping"].inputs["Rotation"].default_value[2] == pytest.approx(v["rotation"], abs=1e-6)
            seen.add(v["image"])
    assert seen == set(files[:3])


def test_image_folder_errors_name_the_field(addon_registered, tmp_path):
    from synthkiln.addon.core.errors import UserError
    with pytest.raises(UserError, match=r"randomizers\.materials\[0\]\.folder: .* is not a folder"):
        job_with([{"type": "image_texture", "folder": str(tmp_path / "missing")}])
    with pytest.raises(UserError, match=r"randomizers\.materials\[0\]\.folder: .* holds no images"):
        job_with([{"type": "image_texture", "folder": str(tmp_path)}])


def test_material_swap_appends_once_and_assigns_own_copies(addon_registered):
    import bpy
    from synthkiln.addon.core.errors import UserError
    swap = {"type": "material_swap", "name": "s", "materials": {"choice": ["Shared", "CanMaterial", "BookMaterial"]}}
    job = job_with([swap, {"type": "material_color", "name": "c"}])
    assert "CanMaterial" in bpy.data.materials and "BookMaterial" in bpy.data.materials
    count = len(bpy.data.materials)
    job.prepare()
    assert len(bpy.data.materials) == count
    picked = set()
    for i in range(10):
        values, _ = job.apply_frame(i)
        for name, v in values["materials/s"].items():
            assert mat(name).name == f"{v['material']}.sk.{name}"
            assert bpy.data.objects[name].material_slots[0].link == "OBJECT"
            c = values["materials/c"][name]["color"]          # colour shows on the swapped-in copy too
            assert driven(name) == pytest.approx(c, abs=1e-6)
            picked.add(v["material"])
    assert picked == {"Shared", "CanMaterial", "BookMaterial"}
    with pytest.raises(UserError, match=r"materials\[0\]\.materials\.choice\[1\]: material 'Nope' not found in tabletop.blend: expected one of"):
        job_with([{"type": "material_swap", "materials": {"choice": ["Shared", "Nope"]}}])


def test_no_datablocks_over_200_applies(addon_registered):
    from tests.helpers.blender import datablock_counts
    job = job_with([{"type": "material_swap", "name": "s", "select": {"names": ["CubeA"]},
                     "materials": {"choice": ["Shared", "CanMaterial"]}},
                    {"type": "material_color", "name": "c", "mode": "palette"},
                    {"type": "material_pbr", "name": "p"},
                    {"type": "procedural_texture", "name": "t"},
                    {"type": "image_texture", "name": "i"}])
    job.apply_frame(0)
    before = datablock_counts()
    links = {n: len(mat(n).node_tree.links) for n in ("CubeB", "Blob")}
    for i in range(200):
        job.apply_frame(i)
    assert datablock_counts() == before
    assert {n: len(mat(n).node_tree.links) for n in ("CubeB", "Blob")} == links   # relinks replace, never add


@pytest.mark.render
def test_driven_sockets_render_exactly_as_their_values(addon_registered, tmp_path):
    """Driven sockets (colour, roughness, metallic, specular) reach the render: with nothing moving, two frames
    render their own colours, and frame 1 renders bit-identically once its values sit in the sockets instead."""
    import bpy
    from PIL import Image
    from synthkiln.addon.bridge.appliers.materials import color_socket
    from synthkiln.addon.core.dataset import layout
    job = job_with([{"type": "material_color", "name": "c", "mode": "palette"}, {"type": "material_pbr", "name": "p"}])

    def render(i, label):
        root = tmp_path / label
        root.mkdir()
        layout.make_dirs(root, (layout.SEMANTIC,))
        rec = job.render_frame(i, root)
        return np.asarray(Image.open(root / rec["files"]["image"]), dtype=int)

    first, second = render(0, "0"), render(1, "1")
    # the colours changed though no object moved (~7.7 levels; the two frames' noise alone: < 1)
    assert np.abs(first - second).mean() > 4.0
    for name in ("CubeA", "CubeB", "Blob"):
        obj, m = bpy.data.objects[name], mat(name)
        for key, socket_name in DRIVEN.items():
            target = color_socket(m) if key == "base_color" else bsdf(name).inputs[socket_name]
            value = obj[f"sk_drive_{key}"]
            m.node_tree.links.remove(target.links[0])
            target.default_value = (*value, 1.0) if key == "base_color" else value
    assert np.array_equal(render(1, "values"), second)
    job.close()


@pytest.mark.render
def test_a_texture_shows_in_the_render(addon_registered, tmp_path):
    """Coloured stripes on grey cubes: their pixels gain colour (chroma) that a plain grey lacks."""
    import shutil
    from PIL import Image
    from synthkiln.addon.core.dataset import layout
    from synthkiln.addon.core.recipe.preset import PACKAGE_ROOT
    folder = tmp_path / "images"
    folder.mkdir()
    shutil.copy(PACKAGE_ROOT / "asset_library" / "textures" / "stripes.png", folder)
    chroma = {}
    for label, extra in (("plain", []), ("textured", [{"type": "image_texture", "name": "i", "folder": str(folder),
                                                       "mix": 1.0, "scale": 2.0, "rotation": 0.0}])):
        job = job_with([{"type": "material_color", "name": "c", "mode": "palette", "per_object": False,
                         "palette": {"choice": ["grey"]}}] + extra)
        root = tmp_path / label
        root.mkdir()
        layout.make_dirs(root, (layout.SEMANTIC,))        # what open_dataset makes for this output
        rec = job.render_frame(0, root)
        job.close()
        rgb = np.asarray(Image.open(root / rec["files"]["image"]), dtype=float)
        mask = np.asarray(Image.open(root / rec["files"]["mask"]))
        cube = [o["instance_id"] for o in rec["objects"] if o["name"] == "CubeA"][0]
        pixels = rgb[mask == cube]
        assert len(pixels) > 30
        chroma[label] = float((pixels.max(axis=1) - pixels.min(axis=1)).mean())
        Image.fromarray(rgb.astype(np.uint8)).save(tmp_path / f"{label}.png")
    assert chroma["plain"] < 8 and chroma["textured"] > 3 * chroma["plain"] + 10, chroma

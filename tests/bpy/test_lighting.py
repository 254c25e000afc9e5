"""Lighting and photo backgrounds in real Blender: each apply changes the scene, nothing is created per
frame, the photo is seen by camera rays only and the shadow catcher lays shadows onto it."""

import json
import math
import shutil

import numpy as np
import pytest
from PIL import Image

pytestmark = pytest.mark.bpy

WHERE = ("randomizers", "lighting", 0)


def prepared(scene, t, data, objs=()):
    """A randomizer of type ``t`` set up on ``scene`` as a job would: (randomizer, applier, context)."""
    from synthkiln.addon.bridge.appliers import APPLIERS
    from synthkiln.addon.core.randomizers import Randomizer
    from synthkiln.addon.core.params.schema import from_data
    r = from_data(Randomizer.REGISTRY[t], data)
    a = APPLIERS[t]
    a.setup(scene, r, list(objs), WHERE)
    return r, a, a.context(scene, r, list(objs))


def frames(scene, r, a, ctx, n, seed=0):
    """Sample and apply ``n`` frames; yields each frame's values after it is applied."""
    from synthkiln.addon.core.params.rng import stream
    for i in range(n):
        v = r.sample(stream(seed, i, r.key()), ctx)
        a.apply(scene, r, v)
        yield v


def flat_over(scene, r, a, ctx, n=200):
    from tests.helpers.blender import datablock_counts
    list(frames(scene, r, a, ctx, 3))
    before = datablock_counts()
    list(frames(scene, r, a, ctx, n, seed=1))
    assert datablock_counts() == before


def add_light(scene, name, kind):
    import bpy
    obj = bpy.data.objects.new(name, bpy.data.lights.new(name, kind))
    scene.collection.objects.link(obj)
    return obj


def test_light_pool_type_energy_colour_visibility(empty_scene):
    import bpy
    from mathutils import Vector
    data = {"name": "fill", "light_type": {"choice": ["POINT", "SUN", "SPOT", "AREA"]}, "count": {"uniform": [1, 3]},
            "target": "Target", "distance": {"uniform": [2, 3]}}
    target = bpy.data.objects.new("Target", None)
    empty_scene.collection.objects.link(target)
    target.location = (1.0, 2.0, 0.5)
    bpy.context.view_layer.update()
    r, a, ctx = prepared(empty_scene, "light", data)
    prepared(empty_scene, "light", data)                       # setup is idempotent
    pool = bpy.data.collections["SK Lights"]
    assert sorted(o.name for o in pool.objects) == ctx.targets == ["SK fill 1", "SK fill 2", "SK fill 3"]
    kinds, counts = set(), set()
    for v in frames(empty_scene, r, a, ctx, 40):
        counts.add(sum(x["visible"] for x in v.values()))
        for name, x in v.items():
            obj = bpy.data.objects[name]
            assert obj.hide_render == (not x["visible"])
            if x["visible"]:
                kinds.add(obj.data.type)
                assert obj.data.type == x["type"] and obj.data.energy == pytest.approx(x["energy"], rel=1e-6)
                assert tuple(obj.data.color) == pytest.approx(x["color"], abs=1e-6)
                assert (obj.location - target.location).length == pytest.approx(x["distance"], abs=1e-5)
                bpy.context.view_layer.update()
                axis = obj.matrix_world.to_3x3() @ Vector((0, 0, -1))
                assert axis.normalized().dot((target.location - obj.location).normalized()) > 0.999   # aimed
    assert kinds == {"POINT", "SUN", "SPOT", "AREA"} and counts == {1, 2, 3}
    flat_over(empty_scene, r, a, ctx)


def test_light_keeps_selected_lights_and_their_types(empty_scene):
    import bpy
    key = add_light(empty_scene, "Key", "SPOT")
    r, a, ctx = prepared(empty_scene, "light", {"select": {"names": ["Key"]}}, [key])
    assert ctx.targets == ["Key"] and "SK Lights" not in bpy.data.collections
    energies = {round(v["Key"]["energy"], 3) for v in frames(empty_scene, r, a, ctx, 10)}
    assert key.data.type == "SPOT" and len(energies) == 10 and not key.hide_render


def bundled_hdri(name):
    from synthkiln.addon.bridge import compat
    return compat.bundled_hdri_dir() / f"{name}.exr"


def test_world_hdri_names_and_folder(empty_scene, tmp_path):
    import bpy
    from synthkiln.addon.bridge import world
    shutil.copy(bundled_hdri("night"), tmp_path / "mine.exr")
    shutil.copy(bundled_hdri("studio"), tmp_path / "other.hdr.exr")
    r, a, ctx = prepared(empty_scene, "world_hdri", {"hdri": {"choice": ["forest", "city"]}, "folder": str(tmp_path),
                                                     "folder_share": 0.5})
    assert ctx.data["hdri_files"] == ["mine.exr", "other.hdr.exr"]
    nodes = empty_scene.world.node_tree.nodes
    assert nodes[world.BACKGROUND].inputs["Color"].links[0].from_node == nodes[world.ENV]
    seen = set()
    for v in frames(empty_scene, r, a, ctx, 30):
        img = nodes[world.ENV].image
        seen.add(v["hdri"])
        assert bpy.path.basename(img.filepath) == (v["hdri"] if "." in v["hdri"] else v["hdri"] + ".exr")
        assert nodes[world.MAPPING].inputs["Rotation"].default_value[2] == pytest.approx(v["rotation"], abs=1e-6)
        assert nodes[world.BACKGROUND].inputs["Strength"].default_value == pytest.approx(v["strength"], abs=1e-6)
    assert seen == {"forest", "city", "mine.exr", "other.hdr.exr"}
    assert empty_scene.world.cycles.sample_map_resolution == world.IMPORTANCE_MAP
    flat_over(empty_scene, r, a, ctx)


def test_world_hdri_missing_folder_names_the_field(empty_scene, tmp_path):
    from synthkiln.addon.core.errors import UserError
    with pytest.raises(UserError, match=r"randomizers\.lighting\[0\]\.folder: .* holds no HDRIs"):
        prepared(empty_scene, "world_hdri", {"folder": str(tmp_path)})


def test_sky_sun_angle_and_aligned_lamp(empty_scene):
    import bpy
    from mathutils import Vector
    from synthkiln.addon.bridge import world
    sun = add_light(empty_scene, "Sun", "SUN")
    r, a, ctx = prepared(empty_scene, "sky", {"sun": "Sun", "elevation": {"uniform": [5, 80]}})
    nodes = empty_scene.world.node_tree.nodes
    sky = nodes[world.SKY]
    assert nodes[world.BACKGROUND].inputs["Color"].links[0].from_node == sky
    for v in frames(empty_scene, r, a, ctx, 20):
        assert sky.sun_elevation == pytest.approx(v["elevation"], abs=1e-6)
        assert sky.sun_rotation == pytest.approx(world.sky_rotation(v["azimuth"]), abs=1e-5)
        assert not sky.sun_disc
        bpy.context.view_layer.update()
        shines = sun.matrix_world.to_3x3() @ Vector((0, 0, -1))
        assert shines.dot(-Vector(v["direction"])) > 0.9999           # the lamp shines from the sun
        assert sun.data.energy == pytest.approx(v["sun_energy"], rel=1e-6)
    flat_over(empty_scene, r, a, ctx)


def test_sky_sun_must_be_a_sun_lamp(empty_scene):
    from synthkiln.addon.core.errors import UserError
    add_light(empty_scene, "Bulb", "POINT")
    with pytest.raises(UserError, match=r"randomizers\.lighting\[0\]\.sun: 'Bulb' is not a sun lamp"):
        prepared(empty_scene, "sky", {"sun": "Bulb"})


QUADRANTS = {"tl": (220, 40, 40), "tr": (40, 200, 40), "bl": (200, 120, 40), "br": (220, 200, 40)}


def quadrant_photo(path, size=(64, 48)):
    """Four flat colours, none of them blue, so a bluish object cannot have been lit by the photo."""
    w, h = size
    px = np.zeros((h, w, 3), np.uint8)
    px[: h // 2, : w // 2], px[: h // 2, w // 2:] = QUADRANTS["tl"], QUADRANTS["tr"]
    px[h // 2:, : w // 2], px[h // 2:, w // 2:] = QUADRANTS["bl"], QUADRANTS["br"]
    Image.fromarray(px).save(path)


def test_background_photo_apply(empty_scene, tmp_path):
    import bpy
    from synthkiln.addon.bridge import world
    from synthkiln.addon.core.randomizers.backdrop import cover_fit
    quadrant_photo(tmp_path / "a.png", (64, 48))
    quadrant_photo(tmp_path / "b.png", (30, 60))
    (tmp_path / "notes.txt").write_text("not a photo")
    bpy.ops.mesh.primitive_plane_add(size=4)
    bpy.context.object.name = "Ground"
    empty_scene.render.resolution_x, empty_scene.render.resolution_y = 64, 48
    r, a, ctx = prepared(empty_scene, "background_photo", {"folder": str(tmp_path), "probability": 0.5,
                                                           "zoom": {"uniform": [1, 2]}, "shadow_catcher": "Ground"})
    assert bpy.data.objects["Ground"].is_shadow_catcher and ctx.data["photos"] == ["a.png", "b.png"]
    nodes = empty_scene.world.node_tree.nodes
    gates = set()
    for v in frames(empty_scene, r, a, ctx, 30):
        gate = nodes[world.GATE].inputs[1].default_value
        gates.add(gate)
        assert gate == (1.0 if v["photo"] else 0.0)
        if v["photo"]:
            img = nodes[world.PHOTO].image
            assert bpy.path.basename(img.filepath) == v["photo"]
            scale, loc = cover_fit(tuple(img.size), (64, 48), v["zoom"], v["offset"])
            m = nodes[world.PHOTO_MAPPING].inputs
            assert tuple(m["Scale"].default_value) == pytest.approx(scale, abs=1e-6)
            assert tuple(m["Location"].default_value) == pytest.approx(loc, abs=1e-6)
    assert gates == {0.0, 1.0}
    flat_over(empty_scene, r, a, ctx)


@pytest.mark.render
def test_photo_seen_by_camera_rays_only_with_shadows(empty_scene, tmp_path):
    """Camera rays see the photo (quadrants in place, unchanged); a white cube is lit by the blue world
    behind it, not by the photo; its shadow darkens the photo on the shadow-catcher ground."""
    import bpy
    from bpy_extras.object_utils import world_to_camera_view
    from mathutils import Vector
    from synthkiln.addon.bridge import world
    from synthkiln.addon.bridge.appliers.base import aim
    sc = empty_scene
    photos = tmp_path / "photos"
    photos.mkdir()
    quadrant_photo(photos / "q.png")
    bpy.ops.mesh.primitive_plane_add(size=10)
    bpy.context.object.name = "Ground"
    bpy.ops.mesh.primitive_cube_add(size=0.5, location=(0, 0, 0.25))
    cube = bpy.context.object
    cam = bpy.data.objects.new("Cam", bpy.data.cameras.new("Cam"))
    sc.collection.objects.link(cam)
    cam.location = (0, -3.5, 1.2)
    aim(cam, Vector((0, 0, 0.2)))
    sc.camera = cam
    sun = add_light(sc, "Sun", "SUN")
    sun.rotation_euler = (0, math.radians(45), 0)          # light from +x, 45 degrees up: shadow towards -x
    sun.data.energy = 3.0
    sun.data.angle = 0.01
    sc.render.engine, sc.cycles.samples, sc.cycles.use_denoising = "CYCLES", 4, False
    sc.render.resolution_x, sc.render.resolution_y, sc.render.resolution_percentage = 64, 48, 100
    sc.view_settings.view_transform = "Standard"
    r, a, ctx = prepared(sc, "background_photo", {"folder": str(photos), "shadow_catcher": "Ground"})
    a.apply(sc, r, r.sample(np.random.default_rng(0), ctx))
    nodes = world.use_source(sc, None)
    nodes[world.BACKGROUND].inputs["Color"].default_value = (0.05, 0.15, 1.0, 1.0)   # the lighting world: blue
    sc.render.filepath = str(tmp_path / "out.png")
    sc.render.image_settings.file_format = "PNG"
    bpy.context.view_layer.update()
    bpy.ops.render.render(write_still=True)
    px = np.asarray(Image.open(tmp_path / "out.png").convert("RGB"), dtype=float)

    def at(p, k=1):
        c = world_to_camera_view(sc, cam, Vector(p))
        x, y = int(c.x * 64), int((1 - c.y) * 48)
        return px[y - k:y + k + 1, x - k:x + k + 1].reshape(-1, 3).mean(0)

    for q, (x, y) in {"tl": (2, 2), "tr": (61, 2), "bl": (2, 45), "br": (61, 45)}.items():
        assert np.abs(px[y, x] - QUADRANTS[q]).max() < 8, (q, px[y, x])          # the photo, unchanged, in place
    front = at((0, -0.25, 0.25))
    assert front[2] > front[0] + 30 and front[2] > front[1], front         # lit by the blue world, not the photo
    shadow, lit = at((-0.55, 0.0, 0.0)), at((0.7, 0.0, 0.0))
    assert shadow.sum() < 0.6 * np.array(QUADRANTS["bl"]).sum(), shadow     # the shadow darkens the photo
    assert np.abs(lit - QUADRANTS["br"]).max() < 25, lit                     # outside it the photo is unchanged
    assert cube.pass_index == 0


@pytest.mark.render
def test_photo_backdrop_preset_renders_with_exact_masks(empty_scene, tmp_path):
    import bpy
    from synthkiln.addon.bridge import world
    from synthkiln.addon.core.recipe.preset import BUILTIN_PRESETS
    assert bpy.ops.synthkiln.import_preset(filepath=str(BUILTIN_PRESETS / "photo_backdrop.yaml")) == {"FINISHED"}
    overrides = {"render": {"resolution": [64, 48], "samples": 1},
                 "output": {"frames": 2, "directory": str(tmp_path), "previews": 0, "exports": []}}
    assert bpy.ops.synthkiln.render_dataset(overrides=json.dumps(overrides)) == {"FINISHED"}
    floor = bpy.data.objects["Floor"]
    assert floor.is_shadow_catcher and floor.pass_index == 0
    nodes = empty_scene.world.node_tree.nodes
    assert nodes[world.GATE].inputs[1].default_value == 1.0
    for i in range(2):
        rec = json.loads((tmp_path / "frames" / f"{i:06d}.json").read_text())
        photo = rec["values"]["environment/photo"]["photo"]
        assert photo.endswith(".jpg")
        mask = np.array(Image.open(tmp_path / rec["files"]["mask"]))
        ids = {o["instance_id"] for o in rec["objects"]}
        assert set(np.unique(mask)) <= ids | {0} and (mask == 0).mean() > 0.5   # ground and photo are background
        img = np.asarray(Image.open(tmp_path / rec["files"]["image"]).convert("RGB"), dtype=float)
        assert img[mask == 0].std() > 10                     # the photo's texture, not a flat world colour
    assert bpy.path.basename(nodes[world.PHOTO].image.filepath) == photo

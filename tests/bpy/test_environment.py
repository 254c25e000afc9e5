"""Environment appliers (fog, rain, wet, night) in Blender: each changes the scene and is undone on a
frame without it, night never compounds, masks stay exact under fog and rain, and no datablocks
are made per frame."""

import math

import numpy as np
import pytest

pytestmark = pytest.mark.bpy


def build(scene):
    """Two targets on a ground plane, a camera on -y looking along +y, a sun, a lamp, a grey world."""
    import bpy
    from synthkiln.addon.bridge import compat
    bpy.ops.mesh.primitive_cube_add(size=0.5, location=(-0.35, 0.0, 0.25))
    bpy.context.object.name = "Cube"
    bpy.ops.mesh.primitive_uv_sphere_add(radius=0.3, location=(0.45, 0.5, 0.3))
    bpy.context.object.name = "Sphere"
    bpy.ops.mesh.primitive_plane_add(size=20)
    bpy.context.object.name = "Ground"
    for name in ("Cube", "Ground"):
        mat = bpy.data.materials.new(f"{name}Mat")
        compat.enable_nodes(mat)
        bpy.data.objects[name].data.materials.append(mat)
    cam = bpy.data.objects.new("Camera", bpy.data.cameras.new("Camera"))
    scene.collection.objects.link(cam)
    cam.location, cam.rotation_euler = (0.0, -3.0, 0.25), (math.pi / 2, 0.0, 0.0)
    scene.camera = cam
    for name, kind in (("Sun", "SUN"), ("Lamp.1", "POINT")):
        obj = bpy.data.objects.new(name, bpy.data.lights.new(name, kind))
        obj.data.energy = 3.0 if kind == "SUN" else 200.0
        obj.location = (0.0, -1.0, 2.0)
        scene.collection.objects.link(obj)
    scene.world = bpy.data.worlds.new("World")
    compat.enable_nodes(scene.world)
    scene.world.node_tree.nodes["Background"].inputs["Strength"].default_value = 1.0


def recipe(env, size=(64, 48), samples=2):
    from synthkiln.addon.core.recipe.model import recipe_from_data
    return recipe_from_data({
        "categories": [{"name": "cube"}, {"name": "sphere"}],
        "labels": [{"select": {"names": ["Cube"]}, "category": "cube"},
                   {"select": {"names": ["Sphere"]}, "category": "sphere"}],
        "randomizers": {"environment": env},
        "render": {"resolution": list(size), "samples": samples, "view_transform": "Standard"}})


@pytest.fixture
def scene(empty_scene):
    build(empty_scene)
    return empty_scene


def prepared(scene, env):
    """A prepared job and its environment randomizers by type."""
    from synthkiln.addon.bridge.pipeline import FrameJob
    r = recipe(env)
    job = FrameJob(scene, r).prepare()
    return job, {x.TYPE: x for x in r.randomizers.environment}


def apply(scene, r, values):
    from synthkiln.addon.bridge import appliers
    return appliers.applier(r).apply(scene, r, values)


def test_fog_shows_sets_density_and_hides(scene):
    import bpy
    _, rs = prepared(scene, [{"type": "fog", "size": 30, "center": [0, 0, 1]}])
    fog = bpy.data.objects["SK Fog"]
    assert tuple(fog.scale) == (30, 30, 30) and tuple(fog.location) == (0, 0, 1) and fog.pass_index == 0
    apply(scene, rs["fog"], {"on": True, "density": 0.2, "brightness": 1.0})
    nodes = fog.data.materials[0].node_tree.nodes
    assert not fog.hide_render
    assert nodes["SK Absorption"].inputs["Density"].default_value == pytest.approx(0.2)
    # glow = density x brightness x ambient (grey world 0.05 at strength 1, sun 3 W/m2 / 4 pi)
    glow = nodes["SK Glow"].inputs["Strength"].default_value
    assert glow == pytest.approx(0.2 * (0.0508 + 3.0 / (4 * math.pi)), rel=0.05)
    apply(scene, rs["fog"], {"on": False, "density": 0.05, "brightness": 1.0})
    assert fog.hide_render and fog.hide_viewport


def test_rain_sheets_fill_the_view_in_front_of_the_camera(scene):
    import bpy
    from mathutils import Vector
    _, rs = prepared(scene, [{"type": "rain", "layers": 3, "near": 0.5, "far": 8.0}])
    v = {"on": True, "intensity": 0.07, "brightness": 0.8, "angle": math.radians(10), "length": 0.1,
         "offset": [12.5, 40.0]}
    apply(scene, rs["rain"], v)
    bpy.context.view_layer.update()
    cam = scene.camera
    to_cam = cam.matrix_world.inverted()
    depths = []
    for k in range(3):
        sheet = bpy.data.objects[f"SK Rain {k}"]
        assert not sheet.hide_render and not sheet.visible_shadow and not sheet.visible_glossy
        corners = [to_cam @ (sheet.matrix_world @ Vector(c)) for c in sheet.bound_box]
        depths.append(-corners[0].z)
        frame = cam.data.view_frame(scene=scene)
        s = depths[-1] / -frame[0].z
        assert min(c.x for c in corners) < min(f.x for f in frame) * s           # covers the whole view
        assert max(c.y for c in corners) > max(f.y for f in frame) * s
    assert depths == pytest.approx([0.5, 2.0, 8.0])
    nodes = bpy.data.materials["SK Rain"].node_tree.nodes
    assert nodes["SK Tilt"].inputs["Rotation"].default_value[2] == pytest.approx(math.radians(10))
    assert nodes["SK Cells"].inputs["Scale"].default_value[1] == pytest.approx(10.0)
    assert nodes["SK Lit"].inputs[1].default_value == pytest.approx(0.07)
    assert tuple(nodes["SK Place"].inputs["Location"].default_value)[:2] == pytest.approx((12.5, 40.0))
    apply(scene, rs["rain"], {**v, "on": False})
    assert all(bpy.data.objects[f"SK Rain {k}"].hide_render for k in range(3))


def test_wet_coat_and_dry_restores_the_materials_own_coat(scene):
    import bpy
    _, rs = prepared(scene, [{"type": "wet", "darken": 0.5, "select": {"names": ["Cube", "Ground"]}}])
    node = bpy.data.materials["GroundMat"].node_tree.nodes["Principled BSDF"]
    node.inputs["Coat Weight"].default_value = 0.1        # the material's own coat, to be kept
    before = [node.inputs[n].default_value for n in ("Coat Weight", "Coat Roughness", "Coat IOR")]
    for _ in range(3):                                    # absolute: repeated wet frames do not compound
        apply(scene, rs["wet"], {n: {"wetness": 0.8, "coat_roughness": 0.05} for n in ("Cube", "Ground")})
    i = node.inputs
    assert i["Coat Weight"].default_value == pytest.approx(0.8)
    assert i["Coat Roughness"].default_value == pytest.approx(0.05)
    assert i["Coat IOR"].default_value == pytest.approx(1.33)
    assert tuple(i["Coat Tint"].default_value)[:3] == pytest.approx((0.6, 0.6, 0.6))
    apply(scene, rs["wet"], {n: {"wetness": 0.0, "coat_roughness": 0.05} for n in ("Cube", "Ground")})
    assert [i[n].default_value for n in ("Coat Weight", "Coat Roughness", "Coat IOR")] == before
    assert tuple(i["Coat Tint"].default_value) == (1.0, 1.0, 1.0, 1.0)


def test_wet_skips_environment_objects(scene):
    _, rs = prepared(scene, [{"type": "fog"}, {"type": "rain"}, {"type": "wet"}])
    from synthkiln.addon.bridge import appliers
    import bpy
    objs = list(scene.objects)
    targets = appliers.applier(rs["wet"]).context(scene, rs["wet"], objs).targets
    assert "Cube" in targets and not any(n.startswith("SK ") for n in targets)


def test_night_dims_world_and_sun_lights_lamps_and_never_compounds(scene):
    import bpy
    _, rs = prepared(scene, [{"type": "night", "lamps": ["Lamp*"]}])
    night = rs["night"]
    strength = scene.world.node_tree.nodes["Background"].inputs["Strength"]
    sun, lamp = bpy.data.objects["Sun"], bpy.data.objects["Lamp.1"]
    on = {"on": True, "ambient": 0.1, "sun_energy": 0.05}
    off = {"on": False, "ambient": 0.1, "sun_energy": 0.05}
    apply(scene, night, off)
    assert lamp.hide_render and strength.default_value == 1.0 and sun.data.energy == 3.0
    for _ in range(3):                                     # night after night: never 0.1 x 0.1 x ...
        apply(scene, night, on)
        assert strength.default_value == pytest.approx(0.1)
        assert sun.data.energy == pytest.approx(0.05) and not lamp.hide_render
    apply(scene, night, off)
    assert strength.default_value == 1.0 and sun.data.energy == 3.0 and lamp.hide_render
    # another randomizer sets the world and the sun between frames: night works from the new values
    apply(scene, night, on)
    strength.default_value = 2.0
    apply(scene, night, on)
    assert strength.default_value == pytest.approx(0.2)
    sun.data.energy = 4.0                                  # set after night wrote: a day frame leaves it
    apply(scene, night, off)
    assert sun.data.energy == 4.0 and strength.default_value == pytest.approx(2.0)


def test_world_strength_inputs_follow_links_to_the_output(scene):
    from synthkiln.addon.bridge.world import strength_inputs
    nt = scene.world.node_tree
    bg2, mix = nt.nodes.new("ShaderNodeBackground"), nt.nodes.new("ShaderNodeMixShader")
    nt.nodes.new("ShaderNodeBackground")                   # not linked: not a source of light
    nt.links.new(nt.nodes["Background"].outputs[0], mix.inputs[1])
    nt.links.new(bg2.outputs[0], mix.inputs[2])
    nt.links.new(mix.outputs[0], nt.nodes["World Output"].inputs["Surface"])
    assert [s.node.name for s in strength_inputs(scene.world)] == ["Background", bg2.name]
    assert [s.node.name for s in strength_inputs(scene.world, lighting_only=True)] == ["Background", bg2.name]


def test_photo_backdrop_darkens_at_night_but_lights_no_fog(scene):
    """The SK graph's camera-only photo: night dims it with the world (a dark backdrop behind a dark
    scene); fog's ambient estimate leaves it out, shown or not, since it lights nothing."""
    from synthkiln.addon.bridge import world
    from synthkiln.addon.bridge.appliers.environment import ambient_light
    _, rs = prepared(scene, [{"type": "night", "probability": 1.0}])
    for obj in [o for o in scene.objects if o.type == "LIGHT"]:
        obj.hide_render = True
    nodes = world.use_source(scene, None)
    nodes[world.BACKGROUND].inputs["Color"].default_value = (0.5, 0.5, 0.5, 1.0)
    nodes[world.BACKGROUND].inputs["Strength"].default_value = 2.0
    nodes[world.PHOTO_BG].inputs["Strength"].default_value = 1.0
    assert [s.node.name for s in world.strength_inputs(scene.world)] == [world.BACKGROUND, world.PHOTO_BG]
    assert [s.node.name for s in world.strength_inputs(scene.world, lighting_only=True)] == [world.BACKGROUND]
    assert ambient_light(scene) == pytest.approx(1.0, rel=1e-5)      # 2 x grey 0.5; the gated-off photo adds nothing
    apply(scene, rs["night"], {"on": True, "ambient": 0.1, "sun_energy": 0.0})
    assert nodes[world.BACKGROUND].inputs["Strength"].default_value == pytest.approx(0.2)
    assert nodes[world.PHOTO_BG].inputs["Strength"].default_value == pytest.approx(0.1)
    assert ambient_light(scene) == pytest.approx(0.1, rel=1e-5)


ALL = [{"type": "night", "probability": 0.5, "lamps": ["Lamp*"]}, {"type": "wet", "probability": 0.5},
       {"type": "rain", "probability": 0.5}, {"type": "fog", "probability": 0.5}]


def test_no_datablocks_per_frame_and_prepare_is_idempotent(scene):
    import bpy
    from synthkiln.addon.bridge.pipeline import FrameJob
    job, _ = prepared(scene, ALL)
    job.apply_frame(0)
    counts = {k: len(getattr(bpy.data, k)) for k in ("objects", "meshes", "materials", "images", "lights",
                                                       "worlds", "node_groups", "textures", "collections")}
    seen = {t: set() for t in ("night", "rain", "fog")}
    for i in range(200):
        values, _ = job.apply_frame(i)
        for t in seen:
            seen[t].add(values[f"environment/{t}"]["on"])
    FrameJob(scene, job.recipe).prepare()                  # a second prepare finds everything by name
    job.apply_frame(3)
    assert {k: len(getattr(bpy.data, k)) for k in counts} == counts
    assert all(s == {True, False} for s in seen.values())


@pytest.mark.render
def test_masks_and_depth_exact_under_fog_and_rain(scene, tmp_path):
    """Fog and rain change the picture, never the Object Index or depth passes."""
    from synthkiln.addon.bridge import render
    from synthkiln.addon.bridge.pipeline import FrameJob
    from synthkiln.addon.core.recipe.model import OutputSettings
    out = {}
    for tag, p in (("clear", 0.0), ("storm", 1.0)):
        env = [{"type": "fog", "probability": p, "density": 0.3}, {"type": "rain", "probability": p,
                                                                    "intensity": 0.3, "brightness": 3.0}]
        job = FrameJob(scene, recipe(env)).prepare()
        job.apply_frame(0)
        out[tag] = render.render(scene, tmp_path / f"{tag}.exr", tmp_path / f"{tag}.png", OutputSettings())
        out[tag]["rgb"] = np.asarray(__import__("PIL.Image", fromlist=["Image"]).open(tmp_path / f"{tag}.png"))
    assert set(np.unique(out["clear"]["instance"])) == {0, 1, 2}
    assert np.array_equal(out["clear"]["instance"], out["storm"]["instance"])
    assert np.array_equal(out["clear"]["depth"], out["storm"]["depth"])
    assert np.abs(out["clear"]["rgb"].astype(int) - out["storm"]["rgb"]).mean() > 5     # it does look different


@pytest.mark.render
def test_street_preset_renders(empty_scene, tmp_path):
    """The bundled street preset builds, applies every weather and renders through the operator."""
    import json
    from synthkiln.addon.core.recipe.preset import BUILTIN_PRESETS, load_preset
    from synthkiln.addon.bridge import recipe as stored
    import bpy
    recipe = load_preset(BUILTIN_PRESETS / "street.yaml", {
        "render": {"resolution": [64, 48], "samples": 1},
        "output": {"frames": 2, "previews": 0, "directory": str(tmp_path)}})
    for r in recipe.randomizers.environment:
        r.probability = 1.0                                # the whole storm at night, on every frame
    stored.write_recipe(empty_scene, recipe)
    assert bpy.ops.synthkiln.render_dataset() == {"FINISHED"}
    rec = json.loads((tmp_path / "frames/000001.json").read_text())
    assert all(rec["values"][f"environment/{t}"]["on"] for t in ("night", "rain", "fog"))
    assert any(o["area"] > 0 for o in rec["objects"])      # targets are seen through the weather
    assert (tmp_path / "exports/coco/annotations.json").is_file()
    assert not bpy.data.objects["Lamp.L"].hide_render and bpy.data.objects["SK Fog"].visible_get()

"""Per-pixel labels from one real Cycles render of known geometry: depth and distance against ray-plane
intersections, camera-space normals of a facing and a tilted plane, optical flow of a keyframed cube
against its projected motion, and the semantic mask."""

import math

import numpy as np
import pytest

pytestmark = [pytest.mark.bpy, pytest.mark.render]

W, H = 96, 72
BACK_Y = 1.0                     # backdrop plane y = 1: z-depth 4 from the camera at y = -3
CUBE_FRONT_Z = 2.75              # cube of size 0.5 at the origin: front face y = -0.25
MOVE = (0.2, 0.0, 0.1)           # cube moves +x (right) and +z (up) from scene frame 1 to 2
TILT = (math.radians(55), 0.0, math.radians(20))


def build(scene):
    """A backdrop facing the camera, a tilted plane, and a cube keyframed to move between frames 1 and 2."""
    import bpy
    bpy.ops.mesh.primitive_plane_add(size=12, location=(0, BACK_Y, 0), rotation=(math.pi / 2, 0, 0))
    back = bpy.context.object
    bpy.ops.mesh.primitive_plane_add(size=0.7, location=(0.85, 0.4, -0.1), rotation=TILT)
    tilted = bpy.context.object
    bpy.ops.mesh.primitive_cube_add(size=0.5, location=(0, 0, 0))
    cube = bpy.context.object
    cube.keyframe_insert("location", frame=1)
    cube.location = MOVE
    cube.keyframe_insert("location", frame=2)
    cube.keyframe_insert("location", frame=3)          # still from frame 2 on
    for i, o in enumerate((cube, tilted, back), start=1):
        o.pass_index = i
    cam = bpy.data.objects.new("Camera", bpy.data.cameras.new("Camera"))
    scene.collection.objects.link(cam)
    cam.location = (0.0, -3.0, 0.0)
    cam.rotation_euler = (math.pi / 2, 0.0, 0.0)       # looks along +y, up is +z
    cam.data.lens = 30.0
    scene.camera = cam
    sun = bpy.data.objects.new("Sun", bpy.data.lights.new("Sun", "SUN"))
    scene.collection.objects.link(sun)
    sun.rotation_euler = (math.radians(60), 0.0, math.radians(20))   # from behind the camera, above
    sun.data.energy = 0.3
    return cube, tilted, back


def settings(**labels):
    from synthkiln.addon.core.recipe.model import OutputSettings, RenderSettings
    out = OutputSettings()
    for k, v in labels.items():
        setattr(out, k, v)
    return RenderSettings(resolution=(W, H), samples=2, view_transform="Standard"), out


@pytest.fixture(scope="module")
def rendered(addon_registered, tmp_path_factory):
    import bpy
    from synthkiln.addon.bridge import camera, render
    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    objs = build(scene)
    scene.render.use_motion_blur = True                 # must be switched off for the Vector pass
    rs, out = settings(normals=True, flow=True, distance=True)
    render.configure(scene, rs, out)
    tmp = tmp_path_factory.mktemp("passes")
    frames = {}
    for f in (1, 2):                                    # persistent data must not keep frame 1's motion
        scene.frame_set(f)
        frames[f] = render.render(scene, tmp / "p.exr", tmp / f"rgb{f}.png", out)
    K, w2c = camera.intrinsics(scene, scene.camera), camera.world_to_camera(scene.camera)
    return scene, objs, frames, K, w2c


def inner(mask, inst, margin=1):
    """Pixels of an instance at least ``margin`` pixels from any other instance (no anti-aliased edges)."""
    m = mask == inst
    for dy in range(-margin, margin + 1):
        for dx in range(-margin, margin + 1):
            m = m & np.roll(np.roll(mask == inst, dy, 0), dx, 1)
    return m


def pixel_ray_hits(K, w2c, rows, cols, plane_point, plane_normal):
    """Camera-frame points where pixel-centre rays meet a world plane (independent of core/passes)."""
    R, t = w2c[:3, :3], w2c[:3, 3]
    p0, n = R @ np.asarray(plane_point, float) + t, R @ np.asarray(plane_normal, float)
    rays = np.stack([cols + 0.5, rows + 0.5, np.ones_like(cols, float)], -1) @ np.linalg.inv(K).T
    s = (p0 @ n) / (rays @ n)
    return rays * s[:, None]


def test_labels_present_with_expected_shapes(rendered):
    _, _, frames, _, _ = rendered
    lab = frames[1]
    assert set(lab) == {"instance", "depth", "distance", "normals", "flow", "flow_backward"}
    assert lab["distance"].shape == (H, W) and lab["normals"].shape == (H, W, 3) and lab["flow"].shape == (H, W, 2)
    assert lab["flow_backward"].shape == (H, W, 2)
    assert all(lab[k].dtype == np.float32 for k in ("depth", "distance", "normals", "flow", "flow_backward"))
    assert set(np.unique(lab["instance"])) == {1, 2, 3}


def test_depth_and_distance_on_the_backdrop_within_a_millimetre(rendered):
    _, _, frames, K, w2c = rendered
    lab = frames[1]
    rows, cols = np.nonzero(inner(lab["instance"], 3))
    assert rows.size > 2000
    hits = pixel_ray_hits(K, w2c, rows, cols, (0, BACK_Y, 0), (0, -1, 0))
    assert np.allclose(hits[:, 2], 4.0)
    assert np.abs(lab["depth"][rows, cols] - hits[:, 2]).max() < 1e-3
    assert np.abs(lab["distance"][rows, cols] - np.linalg.norm(hits, axis=1)).max() < 1e-3
    # corners of the image lie well off-axis: distance is clearly more than depth there
    assert lab["distance"][0, 0] - lab["depth"][0, 0] > 0.3


def test_normals_of_facing_and_tilted_planes(rendered):
    import bpy
    from mathutils import Vector
    _, (cube, tilted, back), frames, _, w2c = rendered
    n = frames[1]["normals"]
    for obj, inst in ((back, 3), (cube, 1)):
        px = n[inner(frames[1]["instance"], inst)]
        assert np.abs(px - [0, 0, -1]).max() < 1e-3, obj.name
    world = np.array(tilted.matrix_world.to_3x3() @ Vector((0, 0, 1)))
    expected = w2c[:3, :3] @ (world / np.linalg.norm(world))
    assert expected[2] < 0                              # it faces the camera
    px = n[inner(frames[1]["instance"], 2)]
    assert len(px) > 30
    angles = np.degrees(np.arccos(np.clip(px @ expected, -1, 1)))
    assert angles.max() < 1.0, angles.max()
    assert np.allclose(np.linalg.norm(n[frames[1]["instance"] > 0], axis=-1), 1.0, atol=1e-5)
    assert bpy.context.scene.view_layers[0].use_pass_normal


def test_flow_of_a_moving_cube_matches_its_projected_motion(rendered):
    scene, _, frames, K, _ = rendered
    assert not scene.render.use_motion_blur             # configure turned it off for the Vector pass
    lab = frames[1]
    flow, mask = lab["flow"], lab["instance"]
    cube = inner(mask, 1)
    assert cube.sum() > 100
    du, dv = K[0, 0] * MOVE[0] / CUBE_FRONT_Z, -K[1, 1] * MOVE[2] / CUBE_FRONT_Z   # z up is v down
    assert du > 4 and dv < -2
    assert np.abs(flow[cube] - [du, dv]).max() < 0.5
    assert np.abs(flow[cube] - [du, dv]).mean() < 0.05
    static = inner(mask, 3, margin=2) | inner(mask, 2, margin=2)
    assert np.abs(flow[static]).max() < 1e-3
    # at frame 2 the cube rests (same key at frame 3): no stale motion from frame 1
    assert np.abs(frames[2]["flow"][inner(frames[2]["instance"], 1)]).max() < 1e-3


def test_semantic_mask_from_rendered_instances(rendered):
    from synthkiln.addon.core.labels.passes import semantic_from_instance
    _, _, frames, _, _ = rendered
    mask = frames[1]["instance"]
    categories = {1: 5, 2: 7}                           # the backdrop is not a labelled target
    sem = semantic_from_instance(mask, categories)
    assert sem.dtype == np.uint16
    assert np.array_equal(sem == 5, mask == 1) and np.array_equal(sem == 7, mask == 2)
    assert np.array_equal(sem == 0, mask == 3)


def test_passes_stay_off_unless_asked(empty_scene):
    from synthkiln.addon.bridge import render
    empty_scene.render.use_motion_blur = True
    render.configure(empty_scene, *settings())
    vl = empty_scene.view_layers[0]
    assert not vl.use_pass_normal and not vl.use_pass_vector
    assert empty_scene.render.use_motion_blur            # left alone when no flow is asked for
    render.configure(empty_scene, *settings(normals=True))
    assert vl.use_pass_normal and not vl.use_pass_vector


def test_flow_of_a_moving_camera(empty_scene, tmp_path):
    """A camera keyframed 0.1 m to the right: the static backdrop (z = 4 m) flows 0.1·fx/4 px to the left
    towards the next frame, and not at all towards the previous one."""
    from synthkiln.addon.bridge import camera, render
    scene = empty_scene
    build(scene)
    cam = scene.camera
    cam.keyframe_insert("location", frame=1)
    cam.location.x += 0.1
    cam.keyframe_insert("location", frame=2)
    scene.frame_set(1)
    rs, out = settings(flow=True)
    render.configure(scene, rs, out)
    lab = render.render(scene, tmp_path / "p.exr", tmp_path / "rgb.png", out)
    K = camera.intrinsics(scene, cam)
    back = lab["flow"][inner(lab["instance"], 3, margin=2)]
    assert np.abs(back - [-0.1 * K[0, 0] / 4.0, 0.0]).max() < 0.05
    # the camera held still before frame 1 (constant extrapolation): nothing flows towards the previous frame
    assert np.abs(lab["flow_backward"][inner(lab["instance"], 3, margin=2)]).max() < 0.05
    assert set(lab) == {"instance", "depth", "flow", "flow_backward"}


def test_passes_read_from_the_render_result_equal_the_exr(empty_scene, tmp_path):
    """The passes are read from Cycles' render result as the frame finishes (bridge/render.py ``_Passes``),
    not from a saved multilayer EXR: every channel the EXR holds (but the image), bit for bit, and no scratch
    file written."""
    import bpy
    from synthkiln.addon.bridge import compat, render
    from synthkiln.addon.core.images import exr
    scene = empty_scene
    build(scene)
    render.configure(scene, *settings(normals=True, flow=True))
    scene.frame_set(2)
    scratch = tmp_path / "scratch.exr"
    channels = render._render_passes(scene, scratch)
    assert not scratch.exists()
    ims = scene.render.image_settings
    compat.set_image_format(ims, "OPEN_EXR_MULTILAYER", color_depth="32")
    saved = tmp_path / "saved.exr"
    render._render_result().save_render(str(saved), scene=scene)
    expected = {k: v for k, v in exr.read_channels(saved).items() if ".Combined." not in k}
    assert sorted(channels) == sorted(expected) and len(expected) >= 1 + 1 + 3 + 4    # depth, index, normal, vector
    for name, px in expected.items():
        assert channels[name].dtype == np.float32 and np.array_equal(channels[name], px), name
    render._Passes.wanted = True         # a render that did not ask (F12, the viewport) is only passed through
    render._Passes.wanted = False
    bpy.ops.render.render()
    assert render._Passes.channels is None

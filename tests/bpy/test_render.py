"""Real Cycles renders of known geometry: masks, boxes, depth, camera matrices, COCO via pycocotools,
provenance, determinism and no datablock growth."""

import json

import numpy as np
import pytest
from PIL import Image

from tests.helpers.blender import datablock_counts
from tests.helpers.known_scene import H, RECIPE, W, build_known_scene

pytestmark = [pytest.mark.bpy, pytest.mark.render]


@pytest.fixture(scope="module")
def rendered(addon_registered, tmp_path_factory):
    import bpy
    from synthkiln.addon.core.recipe.model import recipe_from_data
    from synthkiln.addon.bridge import recipe as stored
    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    build_known_scene(scene)
    recipe = recipe_from_data(RECIPE)
    out = tmp_path_factory.mktemp("known")
    recipe.output.directory = str(out)
    stored.write_recipe(scene, recipe)
    assert bpy.ops.synthkiln.render_dataset() == {"FINISHED"}
    return scene, out


def silhouette_box(obj, scene):
    """Pixel box of an object's evaluated vertices, projected by Blender's own camera code."""
    from bpy_extras.object_utils import world_to_camera_view
    import bpy
    dg = bpy.context.evaluated_depsgraph_get()
    ev = obj.evaluated_get(dg)
    pts = [world_to_camera_view(scene, scene.camera, ev.matrix_world @ v.co) for v in ev.data.vertices]
    xs = [p.x * W for p in pts]
    ys = [(1.0 - p.y) * H for p in pts]
    return min(xs), min(ys), max(xs), max(ys)


def load(out, name):
    return json.loads((out / name).read_text())


def test_files_and_records(rendered):
    _, out = rendered
    for i in range(2):
        rec = load(out, f"frames/{i:06d}.json")
        assert rec["frame"] == i and rec["seed"] == 3 and (rec["width"], rec["height"]) == (W, H)
        for key in ("image", "mask", "depth"):
            assert (out / rec["files"][key]).is_file()
        assert [o["name"] for o in rec["objects"]] == ["Cube", "Sphere"]
        assert rec["objects"][0]["attributes"] == {"faces": 6}
    assert not list(out.rglob("*.sk-tmp"))


def test_boxes_match_projected_geometry_within_a_pixel(rendered):
    import bpy
    scene, out = rendered
    rec = load(out, "frames/000000.json")
    mask = np.array(Image.open(out / rec["files"]["mask"]))
    for o in rec["objects"]:
        x0, y0, x1, y1 = silhouette_box(bpy.data.objects[o["name"]], scene)
        x, y, w, h = o["bbox"]
        # mask box covers pixels [x, x+w); geometry edges land within a pixel of those borders
        assert abs(x - x0) <= 1 and abs(y - y0) <= 1 and abs(x + w - x1) <= 1 and abs(y + h - y1) <= 1, (o, (x0, y0, x1, y1))
        assert o["area"] == int((mask == o["instance_id"]).sum())
    assert set(np.unique(mask)) == {0, 1, 2}


def test_camera_matrices_agree_with_blender(rendered):
    import bpy
    from bpy_extras.object_utils import world_to_camera_view
    from mathutils import Vector
    scene, out = rendered
    rec = load(out, "frames/000000.json")
    K, w2c = np.array(rec["camera"]["K"]), np.array(rec["camera"]["world_to_camera"])
    for p in [(0.3, 1.0, 0.5), (-0.7, 2.0, 0.1), (0.0, 0.0, 0.25)]:
        c = w2c @ np.array([*p, 1.0])
        assert c[2] > 0, "OpenCV convention: points in front of the camera have z > 0"
        u, v = (K @ c[:3])[:2] / c[2]
        ref = world_to_camera_view(scene, scene.camera, Vector(p))
        assert abs(u - ref.x * W) < 1e-4 and abs(v - (1 - ref.y) * H) < 1e-4   # mathutils is float32
    assert np.allclose(w2c[:3, :3] @ w2c[:3, :3].T, np.eye(3), atol=1e-9)


def test_depth_in_metres_at_known_points(rendered):
    import OpenEXR
    _, out = rendered
    rec = load(out, "frames/000000.json")
    with OpenEXR.File(str(out / rec["files"]["depth"]), separate_channels=True) as f:
        depth = f.parts[0].channels["Z"].pixels
    assert depth.dtype == np.float32 and depth.shape == (H, W)
    K, w2c = np.array(rec["camera"]["K"]), np.array(rec["camera"]["world_to_camera"])
    # the cube's front face is the plane y = -0.25: its z-depth from a camera at y = -3 is 2.75 m
    c = w2c @ np.array([-0.35, -0.25, 0.25, 1.0])
    u, v = (K @ c[:3])[:2] / c[2]
    assert abs(depth[int(v), int(u)] - 2.75) < 1e-3
    # the ground plane z = 0 seen along a known ray
    mask = np.array(Image.open(out / rec["files"]["mask"]))
    row = H - 3
    col = int(np.flatnonzero(mask[row] == 0)[0])
    ray = np.linalg.inv(K) @ np.array([col + 0.5, row + 0.5, 1.0])
    R, t = w2c[:3, :3], w2c[:3, 3]
    origin, direction = -R.T @ t, R.T @ ray           # camera centre, ray with camera z = 1
    s = -origin[2] / direction[2]                       # where the ray meets z = 0
    assert abs(depth[row, col] - s) < 2e-3


def test_coco_decodes_to_our_masks(rendered):
    from pycocotools import mask as mask_utils
    from pycocotools.coco import COCO
    _, out = rendered
    coco = COCO(str(out / "exports/coco/annotations.json"))
    assert sorted(c["name"] for c in coco.loadCats(coco.getCatIds())) == ["cube", "sphere"]
    assert len(coco.getImgIds()) == 2
    for img in coco.loadImgs(coco.getImgIds()):
        frame = img["id"] - 1
        mask = np.array(Image.open(out / f"masks/{frame:06d}.png"))
        anns = coco.loadAnns(coco.getAnnIds(imgIds=[img["id"]]))
        assert len(anns) == 2
        for ann in anns:
            inst = ann["id"] - frame * 65536
            assert np.array_equal(coco.annToMask(ann), (mask == inst).astype(np.uint8))
            assert list(mask_utils.toBbox(ann["segmentation"])) == ann["bbox"]
            assert ann["iscrowd"] == 0 and ann["area"] == int((mask == inst).sum())


def test_images_carry_provenance(rendered):
    _, out = rendered
    img = Image.open(out / "images/000001.png")
    assert img.size == (W, H) and img.mode == "RGB"
    assert img.text["synthkiln:frame"] == "1" and img.text["synthkiln:seed"] == "3"
    assert img.text["Software"].startswith("SynthKiln")
    assert (out / "exports/preview/000000.png").is_file()


def test_same_recipe_and_seed_give_identical_records(rendered, tmp_path):
    import bpy
    scene, out = rendered
    again = tmp_path / "again"
    assert bpy.ops.synthkiln.render_dataset(overrides=json.dumps({"output": {"directory": str(again)}})) == {"FINISHED"}
    for i in range(2):
        name = f"frames/{i:06d}.json"
        assert (again / name).read_bytes() == (out / name).read_bytes()
        assert (again / f"masks/{i:06d}.png").read_bytes() == (out / f"masks/{i:06d}.png").read_bytes()


def test_tabletop_frames_create_no_datablocks(addon_registered, tmp_path):
    """200 applies and a few renders of the demo preset leave every bpy.data count unchanged."""
    import bpy
    from synthkiln.addon.bridge.pipeline import DatasetRun, FrameJob
    from synthkiln.addon.core.recipe.preset import BUILTIN_PRESETS, load_preset
    bpy.ops.wm.read_factory_settings(use_empty=True)
    recipe = load_preset(BUILTIN_PRESETS / "tabletop.yaml", {"render": {"resolution": [48, 36], "samples": 1},
                                                             "output": {"frames": 3, "previews": 0}})
    job = FrameJob(bpy.context.scene, recipe).prepare()
    run = DatasetRun(job, tmp_path)
    assert run.step()                # the first render creates Blender's own "Render Result" image
    before = datablock_counts()
    seen = set()
    for i in range(200):
        values, _ = job.apply_frame(i)
        seen.add(values["lighting/sky"]["hdri"])
    while run.step():
        pass
    run.finish()
    assert run.rendered == 3
    assert datablock_counts() == before
    assert len(seen) == 7            # every HDRI was used, none loaded twice
    cam = bpy.context.scene.camera
    assert cam.data.lens != 50.0     # the camera randomizer really changed the scene


def test_light_tree_only_where_it_pays(empty_scene):
    """A profile's light tree stays off with a few lights (it only costs time there, issue 16) and comes on
    with many lights or an emissive mesh."""
    import bpy
    from synthkiln.addon.bridge import render
    from synthkiln.addon.core.recipe.model import OutputSettings, RenderSettings
    scene = empty_scene

    def light(name):
        obj = bpy.data.objects.new(name, bpy.data.lights.new(name, "AREA"))
        scene.collection.objects.link(obj)

    def configured(profile="balanced", swaps=False):
        render.configure(scene, RenderSettings(profile=profile, device="CPU"), OutputSettings(), swaps)
        return scene.cycles.use_light_tree

    light("key")
    assert not configured() and not configured("final")
    assert configured(swaps=True) and configured("fast", swaps=True)     # an asset pool: frames stay exact
    for k in range(3):
        light(f"fill{k}")
    assert configured() and configured("final") and not configured("fast")    # fast never uses it
    for o in [o for o in scene.objects if o.name.startswith("fill")]:
        bpy.data.objects.remove(o)
    bpy.ops.mesh.primitive_plane_add()
    mat = bpy.data.materials.new("glow")
    mat.use_nodes = True
    mat.node_tree.nodes["Principled BSDF"].inputs["Emission Strength"].default_value = 5.0
    bpy.context.object.data.materials.append(mat)
    assert configured()
    mat.node_tree.nodes["Principled BSDF"].inputs["Emission Strength"].default_value = 0.0
    assert not configured()

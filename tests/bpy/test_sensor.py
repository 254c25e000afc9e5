"""The sensor group on real Cycles renders (issue 18): a distorted known scene's keypoints, boxes and masks
against OpenCV (``cv2.projectPoints``, ``cv2.undistortPointsIter``) with the record's K and coefficients;
the full effect stack writes deterministic files; a muted sensor stack leaves every file byte-identical."""

import copy

import numpy as np
import pytest
from PIL import Image

from tests.helpers.known_scene import H, RECIPE, W
from tests.helpers.sensor_jobs import EFFECTS, LENS, record, render_job

cv2 = pytest.importorskip("cv2")
pytestmark = [pytest.mark.bpy, pytest.mark.render]


def _add_corner_keypoints():
    import bpy
    cube = bpy.data.objects["Cube"]
    for i, c in enumerate(np.array(np.meshgrid([-1, 1], [-1, 1], [-1, 1])).T.reshape(-1, 3) * 0.25):
        kp = bpy.data.objects.new(f"kp.c{i}", None)
        bpy.context.scene.collection.objects.link(kp)
        kp.parent = cube
        kp.location = tuple(c)


def _render(tmp_path_factory, name, recipe_data):
    return render_job(tmp_path_factory, name, recipe_data, setup=lambda scene: _add_corner_keypoints())


@pytest.fixture(scope="module")
def distorted(addon_registered, tmp_path_factory):
    data = copy.deepcopy(RECIPE)
    data["randomizers"] = {"sensor": [LENS]}
    data["output"]["frames"] = 1
    return _render(tmp_path_factory, "distorted", data)


def _cv(rec):
    K = np.array(rec["camera"]["K"])
    dist = np.array(rec["camera"]["distortion"]["coefficients"])
    w2c = np.array(rec["camera"]["world_to_camera"])
    return K, dist, w2c


def _project(points_world, K, dist, w2c):
    rvec, _ = cv2.Rodrigues(w2c[:3, :3])
    uv, _ = cv2.projectPoints(np.asarray(points_world, np.float64).reshape(-1, 1, 3), rvec, w2c[:3, 3], K, dist)
    return uv.reshape(-1, 2)


def test_record_holds_distortion_next_to_k(distorted):
    _, _, out = distorted
    rec = record(out)
    assert (rec["width"], rec["height"]) == (W, H)
    assert rec["camera"]["distortion"] == {"model": "brown_conrady", "coefficients": [-0.3, 0.08, 0.002, -0.001, 0.0]}
    applied = next(v for k, v in rec["applied"].items() if k.startswith("sensor/"))
    rw, rh = applied["render_size"]
    assert rw > W and rh > H                                   # barrel distortion: a wider render was made
    assert Image.open(out / rec["files"]["image"]).size == (W, H)
    assert Image.open(out / rec["files"]["mask"]).size == (W, H)


def test_keypoints_match_cv2_project_points(distorted):
    import bpy
    _, _, out = distorted
    rec = record(out)
    K, dist, w2c = _cv(rec)
    cube = next(o for o in rec["objects"] if o["name"] == "Cube")
    names = [k["name"] for k in cube["keypoints"]]
    world = [np.array(bpy.data.objects[f"kp.{n}"].matrix_world.translation) for n in names]
    ref = _project(world, K, dist, w2c)
    for k, r in zip(cube["keypoints"], ref):
        if k["v"]:
            assert np.abs(np.array(k["uv"]) - r).max() <= 0.5, (k, r)
    assert sum(k["v"] > 0 for k in cube["keypoints"]) >= 4
    # and back: cv2.undistortPoints with the record's K and coefficients gives the pinhole projection
    seen = [(k, w) for k, w in zip(cube["keypoints"], world) if k["v"]]
    und = cv2.undistortPoints(np.array([k["uv"] for k, _ in seen]).reshape(-1, 1, 2), K, dist, P=K).reshape(-1, 2)
    pin = _project([w for _, w in seen], K, np.zeros(5), w2c)
    assert np.abs(und - pin).max() <= 0.5


def test_amodal_boxes_match_cv2(distorted):
    import bpy
    _, _, out = distorted
    rec = record(out)
    K, dist, w2c = _cv(rec)
    dg = bpy.context.evaluated_depsgraph_get()
    for o in rec["objects"]:
        ev = bpy.data.objects[o["name"]].evaluated_get(dg)
        m = np.array(ev.matrix_world)
        verts = np.array([m[:3, :3] @ np.array(v.co) + m[:3, 3] for v in ev.data.vertices])
        uv = _project(verts, K, dist, w2c)
        x, y, w, h = o["amodal_bbox"]
        ref = (uv[:, 0].min(), uv[:, 1].min(), uv[:, 0].max(), uv[:, 1].max())
        assert np.abs(np.array([x, y, x + w, y + h]) - ref).max() <= 0.5, (o["name"], o["amodal_bbox"], ref)


def test_mask_and_boxes_match_a_cv2_warp_of_the_wide_render(distorted, tmp_path):
    """The reference: the same frame rendered wide without the warp, then looked up at the undistorted
    position OpenCV gives for every output pixel centre."""
    from synthkiln.addon.bridge import camera, render
    from synthkiln.addon.bridge.pipeline import FrameJob
    scene, recipe, out = distorted
    rec = record(out)
    K, dist, _ = _cv(rec)
    mx, my = next(v for k, v in rec["applied"].items() if k.startswith("sensor/"))["margins"]
    job = FrameJob(scene, recipe).prepare()
    job.apply_frame(0)
    with camera.overscan(scene, scene.camera, (mx, my)) as K_r:
        wide = render.render(scene, tmp_path / "p.exr", tmp_path / "rgb.png", recipe.output)["instance"]
    assert np.allclose(K_r, K + [[0, 0, mx], [0, 0, my], [0, 0, 0]], atol=1e-3)
    u, v = np.meshgrid(np.arange(W) + 0.5, np.arange(H) + 0.5)
    pts = np.stack([u.ravel(), v.ravel()], -1).reshape(-1, 1, 2)
    crit = (cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, 100, 1e-12)
    und = cv2.undistortPointsIter(pts, K, dist, None, K, crit).reshape(H, W, 2)
    ref = wide[np.floor(und[..., 1] + my).astype(int), np.floor(und[..., 0] + mx).astype(int)]
    mask = np.array(Image.open(out / rec["files"]["mask"]))
    differ = mask != ref
    assert differ.mean() <= 0.002, differ.sum()
    for o in rec["objects"]:
        ys, xs = np.nonzero(ref == o["instance_id"])
        x, y, w, h = o["bbox"]
        assert max(abs(x - xs.min()), abs(y - ys.min()), abs(x + w - xs.max() - 1), abs(y + h - ys.max() - 1)) <= 1
        assert o["visibility"] == pytest.approx(1.0, abs=0.02) if o["name"] == "Cube" else True
        assert o["truncation"] == 0.0


def test_full_stack_is_deterministic_and_muted_stack_changes_nothing(addon_registered, tmp_path_factory):
    base = copy.deepcopy(RECIPE)
    base["output"]["frames"] = 1
    full = copy.deepcopy(base)
    full["randomizers"] = {"sensor": [LENS, *EFFECTS]}
    _, _, a = _render(tmp_path_factory, "full_a", full)
    _, _, b = _render(tmp_path_factory, "full_b", full)
    rec = record(a)
    assert set(rec["values"]) >= {f"sensor/{e['type']}" for e in EFFECTS}
    for f in rec["files"].values():
        assert (a / f).read_bytes() == (b / f).read_bytes(), f
    assert record(a) == record(b)

    muted = copy.deepcopy(base)
    muted["randomizers"] = {"sensor": [{**LENS, "enabled": False}, {"type": "sensor_noise", "enabled": False}]}
    _, _, plain = _render(tmp_path_factory, "plain", base)
    _, _, off = _render(tmp_path_factory, "muted", muted)
    rec = record(plain)
    for f in [*rec["files"].values(), "frames/000000.json"]:
        assert (plain / f).read_bytes() == (off / f).read_bytes(), f
    assert "clean" not in rec["files"] and not (plain / "clean").exists()

    # the full stack's frame kept a clean thumbnail: the render before the stack, here the plain render
    clean = np.asarray(Image.open(a / record(a)["files"]["clean"]).convert("RGB"), np.float64)
    plain_img = np.asarray(Image.open(plain / rec["files"]["image"]).convert("RGB"), np.float64)
    stored = np.asarray(Image.open(a / record(a)["files"]["image"]).convert("RGB"), np.float64)
    assert clean.shape == plain_img.shape and stored.shape == plain_img.shape       # 160 x 120: not shrunk
    diff = np.abs(clean - plain_img)              # the same view; 1 sample: the noisy cube's pixels differ
    assert np.median(diff) <= 1 and diff.mean() < np.abs(stored - plain_img).mean() / 2

"""The viewport label overlay on real scenes: the record it draws for a previewed frame is the record the dataset
writes for that frame (same boxes to 0.5 px, same visibility and keypoints), computing it leaves the scene as
the preview left it, and the camera frame it draws on agrees with the record's K."""

import json
import time

import numpy as np
import pytest

bpy = pytest.importorskip("bpy")

from synthkiln.addon.bridge import background  # noqa: E402
from synthkiln.addon.bridge.overlay import label_record  # noqa: E402
from synthkiln.addon.core.errors import UserError  # noqa: E402
from synthkiln.addon.core.labels.overlay import CameraFrame, record_shapes  # noqa: E402
from tests.helpers.tiny_scene import tiny_tabletop  # noqa: E402

pytestmark = [pytest.mark.bpy, pytest.mark.render]
ops = bpy.ops.synthkiln


@pytest.fixture
def tabletop(addon_registered, tmp_path):
    """The tiny tabletop (64x48) rendered at 4 samples, previewed at frame 1, with a keypoint on a mug."""
    state = tiny_tabletop(tmp_path, 2).synthkiln
    state.recipe.output.directory = str(tmp_path / "ds")
    state.recipe.render.samples = 4
    state.preview_frame = 0
    state.preview_frame = 1                 # previewed with these settings
    kp = bpy.data.objects.new("kp.rim", None)
    bpy.context.scene.collection.objects.link(kp)
    kp.parent = bpy.data.objects["Mug"]
    kp.location = (0.0, 0.0, 0.1)
    bpy.context.view_layer.update()
    return bpy.context.scene


def _objects(record):
    return {o["name"]: o for o in record["objects"]}


def test_the_overlay_draws_the_datasets_record(tabletop, tmp_path):
    scene = tabletop
    before = {o.name: np.array(o.matrix_world) for o in scene.objects}
    samples = scene.cycles.samples
    preview = label_record(scene, 1)
    assert scene.cycles.samples == samples == 4                   # the label render's settings are undone
    for o in scene.objects:                                       # and the scene is the previewed frame still
        np.testing.assert_allclose(np.array(o.matrix_world), before[o.name], atol=1e-6)

    assert ops.render_dataset() == {"FINISHED"}
    record = json.loads((tmp_path / "ds" / "frames" / "000001.json").read_text())
    assert (preview["width"], preview["height"]) == (record["width"], record["height"])
    np.testing.assert_allclose(preview["camera"]["K"], record["camera"]["K"])
    got, want = _objects(preview), _objects(record)
    assert set(got) == set(want) and any(o["area"] for o in want.values())
    for name, w in want.items():
        g = got[name]
        assert g["bbox"] == w["bbox"] and g["area"] == w["area"], name      # the mask: pixel for pixel
        for key in ("amodal_bbox", "amodal_bbox_clipped"):
            if w[key] is None:
                assert g[key] is None
            else:
                assert np.abs(np.array(g[key]) - w[key]).max() < 0.5, (name, key)
        assert g["visibility"] == pytest.approx(w["visibility"], abs=1e-6) if w["visibility"] is not None \
            else g["visibility"] is None
    kps = [(k["name"], k["v"], k["uv"]) for k in want["Mug"]["keypoints"]]
    assert [(k["name"], k["v"]) for k in got["Mug"]["keypoints"]] == [(n, v) for n, v, _ in kps]
    np.testing.assert_allclose(got["Mug"]["keypoints"][0]["uv"], kps[0][2], atol=1e-6)
    # what is drawn: the same shapes from either record
    assert [(s.kind, s.points, s.text) for s in record_shapes(preview)] == \
        [(s.kind, s.points, s.text) for s in record_shapes(record)]


def test_the_camera_frame_agrees_with_the_records_camera(tabletop):
    """The overlay places image pixels on Camera.view_frame's rectangle: a point projected with the
    record's K lands, through that rectangle, on the point's own line of sight."""
    scene = tabletop
    record = label_record(scene, 1)
    cam = scene.camera
    corners = [tuple(c) for c in cam.data.view_frame(scene=scene)]       # camera space, on the plane z = -d
    d = -corners[0][2]
    frame = CameraFrame.from_view_frame([c[:2] for c in corners], record["width"], record["height"])
    K = np.array(record["camera"]["K"])
    w2c = cam.matrix_world.inverted()
    for o in record["objects"]:
        if not o["bbox"]:
            continue
        p = np.array(w2c @ bpy.data.objects[o["name"]].matrix_world.translation)   # Blender camera: -z forward
        uv = K @ np.array([p[0], -p[1], -p[2]])
        on_frame = frame.to_region([uv[:2] / uv[2]])[0]
        np.testing.assert_allclose(on_frame, p[:2] * d / -p[2], atol=1e-6)


def _wait(job, timeout=300.0):
    end = time.monotonic() + timeout
    while (record := job.result()) is None:
        assert time.monotonic() < end, "the label worker took too long"
        time.sleep(0.1)
    return record


def test_a_label_worker_computes_the_same_record_without_touching_the_scene(tabletop, tmp_path):
    """The overlay's label job: the record of ``label_record`` from a worker on a copy of the file."""
    scene = tabletop
    before = {o.name: np.array(o.matrix_world) for o in scene.objects}
    job = background.start_labels(1, "synthkiln.addon", tmp_path)
    try:
        got = _wait(job)
    finally:
        job.close()
    assert not job.folder.exists() and not job.copy.exists()
    for o in scene.objects:
        np.testing.assert_allclose(np.array(o.matrix_world), before[o.name], atol=1e-7)
    want = label_record(scene, 1)
    assert [(o["name"], o["bbox"], o["area"], o["visibility"]) for o in got["objects"]] == \
        [(o["name"], o["bbox"], o["area"], o["visibility"]) for o in want["objects"]]
    for g, w in zip(got["objects"], want["objects"]):
        if w["amodal_bbox"] is not None:
            assert np.abs(np.array(g["amodal_bbox"]) - w["amodal_bbox"]).max() < 1e-3


def test_a_failing_label_worker_says_why(tabletop, tmp_path):
    pose = tabletop.synthkiln.recipe.randomizers.objects[0].object_pose
    pose.scale.kind, pose.scale.min, pose.scale.max = "uniform", 2.0, 1.0     # invalid: min > max
    job = background.start_labels(1, "synthkiln.addon", tmp_path)
    try:
        with pytest.raises(UserError, match="labels of frame 1: .*min 2.0 is greater"):
            _wait(job)
    finally:
        job.close()


def _settle(overlay, timeout=300.0):
    """Run the overlay's timer as Blender would, until it stops rescheduling itself."""
    end = time.monotonic() + timeout
    while (delay := overlay._tick()) is not None:
        assert time.monotonic() < end, "the overlay's label job took too long"
        time.sleep(delay)


def test_the_overlay_follows_the_previewed_frame_and_the_recipe(tabletop):
    """The UI's timer (``_tick``, driven by hand here: the bpy module has no event loop): a record per
    previewed frame, a new one when the recipe changes, none once switched off."""
    from synthkiln.addon.ui import overlay
    scene, wm = tabletop, bpy.context.window_manager
    wm.synthkiln_label_overlay = True
    try:
        _settle(overlay)
        assert overlay._State.error == "" and overlay._State.record["frame"] == 1
        boxes = [o["bbox"] for o in overlay._State.record["objects"]]
        assert boxes == [o["bbox"] for o in label_record(scene, 1)["objects"]]

        scene.synthkiln.preview_frame = 0
        _settle(overlay)
        assert overlay._State.record["frame"] == 0

        key = overlay._State.key
        scene.synthkiln.recipe.categories[0].name = "cup"          # the mugs' category, renamed: labels follow
        _settle(overlay)
        assert overlay._State.key != key
        assert "cup" in {o["category"] for o in overlay._State.record["objects"]}
    finally:
        wm.synthkiln_label_overlay = False
    assert overlay._tick() is None and overlay._State.job is None

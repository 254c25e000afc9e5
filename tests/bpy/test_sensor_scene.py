"""Sensor types seen from the scene side, on real Cycles renders (issue 18), without OpenCV (so they run on
Blender 4.2 too): Render Preview shows the stored image byte for byte; ``defocus`` sets Cycles' depth of
field on a target and blurs the render."""

import copy

import numpy as np
import pytest
from PIL import Image

from tests.helpers.known_scene import H, RECIPE, W
from tests.helpers.sensor_jobs import EFFECTS, LENS, record, render_job

pytestmark = [pytest.mark.bpy, pytest.mark.render]


def test_render_preview_is_the_stored_image(addon_registered, tmp_path_factory):
    """Render Preview shows the frame as a dataset run stores it: the same bytes, sensor stack included."""
    import bpy
    from synthkiln.addon.bridge.preview import render_preview
    data = copy.deepcopy(RECIPE)
    data["output"]["frames"] = 1
    data["randomizers"] = {"sensor": [LENS, *EFFECTS]}
    scene, _, out = render_job(tmp_path_factory, "preview", data)
    root, rec = render_preview(scene, 0)
    stored = record(out)
    assert (root / rec["files"]["image"]).read_bytes() == (out / stored["files"]["image"]).read_bytes()
    assert rec["objects"] == stored["objects"] and rec["camera"] == stored["camera"]
    assert bpy.ops.synthkiln.render_preview() == {"FINISHED"}
    assert not root.exists()                   # the next preview replaced the last one's folder
    image = bpy.data.images["SynthKiln Last Frame"]
    assert tuple(image.size) == (W, H)


def test_defocus_focuses_on_a_target_and_blurs_the_render(addon_registered, tmp_path_factory):
    """defocus sets Cycles' depth of field before the render: focused on a labelled target (the record says
    which, at its depth along the view axis), and far out of focus the image loses its edges. It has no
    after-render part: the frame takes the plain path (no clean thumbnail)."""
    base = copy.deepcopy(RECIPE)
    base["output"]["frames"] = 1
    base["render"]["samples"] = 16
    focused = copy.deepcopy(base)
    focused["randomizers"] = {"sensor": [{"type": "defocus", "fstop": 1.0, "focus_error": 0.0}]}
    _, _, a = render_job(tmp_path_factory, "focused", focused)
    rec = record(a)
    applied = rec["applied"]["sensor/defocus"]
    depth = {"Cube": 3.0, "Sphere": 3.5}[applied["on"]]          # centres' depths along the view axis
    assert applied["focus_distance"] == pytest.approx(depth, abs=1e-4)
    assert "clean" not in rec["files"] and "distortion" not in rec["camera"]

    blurred = copy.deepcopy(base)
    blurred["randomizers"] = {"sensor": [{"type": "defocus", "focus": "distance", "distance": 1.0,
                                          "fstop": 0.5, "focus_error": 0.0}]}
    _, _, b = render_job(tmp_path_factory, "blurred", blurred)
    _, _, plain = render_job(tmp_path_factory, "sharp", base)

    def edges(out):      # gradient energy: blur spreads an edge's step over more pixels, lowering it
        img = np.asarray(Image.open(out / "images/000000.png").convert("L"), np.float64)
        small = img.reshape(H // 2, 2, W // 2, 2).mean(axis=(1, 3))       # averages sampling noise down
        return (np.diff(small, axis=0) ** 2).sum() + (np.diff(small, axis=1) ** 2).sum()

    assert edges(b) < 0.7 * edges(plain) and edges(a) > 0.85 * edges(plain)     # measured: 0.50 and 1.00
    assert record(b)["applied"]["sensor/defocus"] == {"focus_distance": pytest.approx(1.0), "on": None}
    assert (plain / "masks/000000.png").read_bytes() != b"" and record(b)["objects"][0]["bbox"] is not None

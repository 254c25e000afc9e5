"""The viewport label overlay's Blender half: the record of the previewed frame, and where the camera frame lies
in a 3D view.

The record is the dataset's own: ``FrameJob.render_frame`` renders the frame into a scratch folder, with every
label computed by the same code as a dataset run. Only what cannot change a label is cheaper: one sample, no
denoising and no extra passes (labels come from the scene's geometry and the render's Object Index and Z
passes, which Cycles writes from the first sample). The scene's render settings are put back afterwards, so
the overlay leaves the scene as the preview left it.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

from bpy_extras import view3d_utils

from ..core.dataset import layout
from ..core.dataset.job import swaps_meshes
from ..core.labels.overlay import CameraFrame
from .files import base_dir
from .pipeline import FrameJob
from .recipe import scene_recipe
from . import render

# What the label render changes in the recipe: nothing a label depends on.
LABEL_RENDER = {"render": {"samples": 1, "denoise": False},
                "output": {"distance": False, "normals": False, "flow": False, "semantic": False}}


def label_record(scene, frame: int) -> dict:
    """The record frame ``frame`` of the scene's recipe gets in a dataset (the frame is applied to the scene,
    as Preview Frame does)."""
    job = FrameJob(scene, scene_recipe(scene, json.dumps(LABEL_RENDER)), base_dir()).prepare()
    root = Path(tempfile.mkdtemp(prefix="synthkiln-overlay-"))
    try:
        layout.make_dirs(root)
        return job.render_frame(frame, root)
    finally:
        job.close()
        shutil.rmtree(root, ignore_errors=True)
        recipe = scene_recipe(scene)
        render.configure(scene, recipe.render, recipe.output, swaps_meshes(recipe))   # the artist's settings again


def camera_frame(scene, region, rv3d, width: int, height: int) -> CameraFrame | None:
    """Where the scene camera's image lies in a 3D view region looking through that camera; None in any
    other view (the labels belong to the camera's image)."""
    cam = scene.camera
    if cam is None or cam.type != "CAMERA" or rv3d is None or rv3d.view_perspective != "CAMERA":
        return None
    points = []
    for corner in cam.data.view_frame(scene=scene):
        p = view3d_utils.location_3d_to_region_2d(region, rv3d, cam.matrix_world @ corner)
        if p is None:
            return None
        points.append(p)
    return CameraFrame.from_view_frame(points, width, height)

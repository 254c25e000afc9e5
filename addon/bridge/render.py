"""Render settings, and one render per frame: the RGB image plus every pass in one multilayer EXR,
decoded to numpy (DESIGN §3.4–5). Never a second render for labels."""

from __future__ import annotations

from pathlib import Path

import bpy
import numpy as np

from ..core import exr
from ..core.recipe import OutputSettings, RenderSettings
from . import compat

BACKGROUND_DEPTH = 1e9     # Cycles writes 1e10 where a ray hits nothing


def configure(scene, rs: RenderSettings, out: OutputSettings) -> None:
    """Apply the recipe's render settings and enable the passes the labels need."""
    r = scene.render
    r.engine = "CYCLES"
    r.resolution_x, r.resolution_y = rs.resolution
    r.resolution_percentage = 100
    r.use_persistent_data = True       # keep BVH and textures between frames
    r.film_transparent = False
    r.use_compositing = False
    r.use_sequencer = False
    r.threads_mode = "FIXED" if rs.threads else "AUTO"
    if rs.threads:
        r.threads = rs.threads
    for attr in dir(r):                # no date/time/render-time stamps: identical runs give identical files
        if attr.startswith("use_stamp") and isinstance(getattr(r, attr), bool):
            setattr(r, attr, False)
    c = scene.cycles
    c.samples = rs.samples
    c.use_denoising = rs.denoise
    c.device = rs.device
    c.max_bounces = rs.max_bounces
    c.use_adaptive_sampling = False    # fixed cost per frame, predictable farm budgets
    scene.view_settings.view_transform = rs.view_transform
    scene.view_settings.look = "None"
    vl = scene.view_layers[0]
    vl.use_pass_z = True
    vl.use_pass_object_index = True


def _render_result():
    return next(im for im in bpy.data.images if im.type == "RENDER_RESULT")


def render(scene, scratch_exr: Path, image_path: Path, out: OutputSettings) -> dict[str, np.ndarray]:
    """Render once; save the RGB image (view transform applied) and the multilayer EXR; decode passes."""
    bpy.ops.render.render()
    result = _render_result()
    ims = scene.render.image_settings
    compat.set_image_format(ims, "OPEN_EXR_MULTILAYER", color_depth="32")
    ims.exr_codec = "NONE"             # scratch file read back at once: no time spent compressing
    result.save_render(str(scratch_exr), scene=scene)
    if out.image_format == "JPEG":
        compat.set_image_format(ims, "JPEG", color_mode="RGB")
        ims.quality = out.jpeg_quality
    else:
        compat.set_image_format(ims, "PNG", color_mode="RGB", color_depth="8")
        ims.compression = 15
    result.save_render(str(image_path), scene=scene)
    channels = exr.read_channels(scratch_exr)
    index = exr.find_channel(channels, compat.INDEX_PASS_NAMES)
    depth = exr.find_channel(channels, compat.DEPTH_PASS_NAMES)
    scale = scene.unit_settings.scale_length or 1.0
    depth = np.where(depth >= BACKGROUND_DEPTH, 0.0, depth * scale).astype(np.float32)
    return {"instance": np.rint(index).astype(np.uint16), "depth": depth}

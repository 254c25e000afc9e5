"""The sensor group in the frame pipeline (issue 18): render (wider, when a lens asks for it), then hand the
display image and the passes to ``core.sensor`` and get back what the files and labels are made from.

Only what needs Blender lives here: the overscan render and the 16-bit display image Blender writes. A
frame with no enabled sensor randomizer never comes here (``SensorFrame.active`` is False), so its files
are exactly those of a plain render.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..core import sensor
from ..core.dataset import layout
from ..core.dataset.job import application_order
from ..core.errors import UserError
from ..core.fsio import atomic_write_bytes
from ..core.images import tiff
from ..core.sensor.lens import LensError
from . import camera, render


class SensorFrame:
    """One frame's sensor stack: its plan, and after ``render`` the output image and the warped passes."""

    def __init__(self, scene, recipe, values: dict):
        self.recipe = recipe
        stack = [(r.TYPE, values[r.key()]) for r in application_order(recipe)
                 if r.GROUP == "sensor" and r.TYPE not in sensor.SCENE_SIDE]     # defocus acted before the render
        self.active = bool(stack)
        self.lens_key = next((r.key() for r in application_order(recipe) if r.TYPE == sensor.LENS), None)
        self.plan: sensor.SensorPlan | None = None
        self.image: np.ndarray | None = None
        self.clean: np.ndarray | None = None       # the render's display image, before the stack
        if not self.active:
            return
        w, h = scene.render.resolution_x, scene.render.resolution_y
        self.K = camera.intrinsics(scene, scene.camera)
        where = next(r.where() for r in application_order(recipe) if r.GROUP == "sensor")
        try:
            self.plan = sensor.plan(stack, self.K, (w, h))
        except (LensError, ValueError) as e:
            raise UserError(f"{where}: {e}") from None

    @property
    def lens(self):
        return self.plan.lens if self.plan is not None else None

    def applied(self) -> dict:
        """What the record keeps under ``applied`` about the render (the overscan canvas)."""
        if self.lens is None:
            return {}
        return {self.lens_key: {"render_size": list(self.lens.render_size), "margins": list(self.lens.margins)}}

    def render(self, scene, scratch: Path, out) -> dict[str, np.ndarray]:
        """Render once (overscanned with a lens), process the image, warp every pass to the output size.
        Returns the decoded passes at the output size, and ``render_depth`` at the render's."""
        rgb_path = scratch / "rgb.tif"
        if self.lens is not None:
            try:
                with camera.overscan(scene, scene.camera, self.lens.margins):
                    decoded = render.render(scene, scratch / "passes.exr", rgb_path, out, display_tiff=True)
            except ValueError as e:
                raise UserError(str(e)) from None
        else:
            decoded = render.render(scene, scratch / "passes.exr", rgb_path, out, display_tiff=True)
        rgb = self.clean = tiff.read_rgb(rgb_path)
        final_jpeg = out.image_format == "JPEG"
        self.image = sensor.process(self.plan, rgb, self.K, final_jpeg=final_jpeg)
        if self.lens is None:
            return {**decoded, "render_depth": decoded["depth"]}
        warped = {"render_depth": decoded["depth"]}
        for key, value in decoded.items():
            warped[key] = self.lens.flow(value) if key in ("flow", "flow_backward") else self.lens.nearest(value)
        return warped

    def write_clean(self, root: Path, index: int) -> dict[str, str]:
        """For the report's clean-vs-sensor sheet, some frames (``keeps_clean``) keep a small thumbnail of the
        render before the sensor stack; returns the record's ``files`` entry for it ({} for other frames)."""
        if self.clean is None or not sensor.keeps_clean(index, self.recipe.output.frames):
            return {}
        data, ext = sensor.clean_thumbnail(self.plan, self.clean)
        rel = layout.clean_name(index, ext)
        (Path(root) / layout.CLEAN).mkdir(exist_ok=True)
        atomic_write_bytes(Path(root) / rel, data)
        return {"clean": rel}

    def image_bytes(self, out, stamp: dict[str, str]) -> bytes:
        return sensor.encode_image(self.plan, self.image, out.image_format, out.jpeg_quality, stamp)

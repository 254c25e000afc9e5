"""One frame's sensor stack: from the recorded draws of the enabled sensor randomizers (in stack order) to
the lens warp the render needs and the processed image.

Order: lens distortion first, whatever its place in the stack (it is geometry: the render and every label
go through it); then the linear-light effects, then the display effects, each in stack order
(``effects`` says which is which). A frame whose stack is empty never comes here: its files are the
render's own, byte for byte.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field

import numpy as np

from ..images import png
from ..images.pillow import import_pillow, pillow_available
from . import effects
from .lens import LensWarp, from_values

LENS = "lens_distortion"
SCENE_SIDE = frozenset({"defocus"})     # sensor types set on the camera before the render, not applied after it
CLEAN_SIZE = 320        # longest side of a clean thumbnail (px), the report's thumbnail size
CLEAN_FRAMES = 48       # at most this many frames of a job keep one


@dataclass
class SensorPlan:
    lens: LensWarp | None = None
    steps: list[tuple[str, dict]] = field(default_factory=list)    # image effects, (type, values), in order

    @property
    def distortion(self) -> dict | None:
        """The record's ``camera.distortion`` (None without a lens)."""
        return self.lens.distortion.record() if self.lens else None


def plan(stack: list[tuple[str, dict]], K: np.ndarray, size: tuple[int, int]) -> SensorPlan:
    """The plan of a frame from ``[(type, values), ...]`` of its enabled sensor randomizers in stack order, the
    output's K and (width, height). At most one lens: a second would have no agreed meaning for the labels."""
    stack = [(t, v) for t, v in stack if t not in SCENE_SIDE]
    lenses = [v for t, v in stack if t == LENS]
    if len(lenses) > 1:
        raise ValueError("only one lens_distortion can be enabled in the sensor stack")
    warp = None
    if lenses and any(lenses[0]["coefficients"]):
        warp = LensWarp.plan(from_values(lenses[0]), K, size, float(lenses[0].get("max_overscan", 2.0)))
    unknown = [t for t, _ in stack if t != LENS and t not in effects.EFFECTS]
    if unknown:
        raise ValueError(f"sensor type {unknown[0]!r} has no image effect")
    return SensorPlan(warp, [(t, v) for t, v in stack if t != LENS])


def process(p: SensorPlan, rgb: np.ndarray, K: np.ndarray, final_jpeg: bool = False) -> np.ndarray:
    """The output image (float32 display values in [0, 1], output size) from the render's display image
    (H x W x 3, [0, 1]; render size). ``final_jpeg``: the file will be a JPEG written by ``encode_image``
    at the last jpeg step's quality, so that step is not applied twice."""
    img = np.asarray(rgb, np.float32)
    linear = [(t, v) for t, v in p.steps if effects.EFFECTS[t][0] == effects.LINEAR]
    display = [(t, v) for t, v in p.steps if effects.EFFECTS[t][0] == effects.DISPLAY]
    if linear or p.lens is not None:
        img = effects.to_linear(img)
        if p.lens is not None:
            img = p.lens.bilinear(img)       # resampling in linear light, as the lens does
        for t, v in linear:
            img = effects.EFFECTS[t][1](img, v, K)
        img = effects.to_display(img)
    last_jpeg = max((i for i, (t, _) in enumerate(display) if t == "jpeg"), default=None)
    for i, (t, v) in enumerate(display):
        if final_jpeg and i == last_jpeg:
            continue
        img = effects.EFFECTS[t][1](img, v, K)
    return np.clip(img, 0.0, 1.0)


def jpeg_quality(p: SensorPlan, default: int) -> int:
    """The quality the stored JPEG is written at: the last jpeg step's draw, else the output's setting."""
    q = [v["quality"] for t, v in p.steps if t == "jpeg"]
    return int(q[-1]) if q else int(default)


def encode_image(p: SensorPlan, image: np.ndarray, fmt: str, default_quality: int, text: dict[str, str]) -> bytes:
    """The stored image file: an 8-bit PNG with the provenance text chunks, or a JPEG (Pillow) carrying the
    same provenance as its comment."""
    pixels = effects.quantize(image)
    if fmt == "PNG":
        return png.encode_png(pixels, text)
    Image = import_pillow("JPEG images with sensor effects")[0]
    buf = io.BytesIO()
    comment = "; ".join(f"{k}={v}" for k, v in text.items()).encode("latin-1", "replace")
    Image.fromarray(pixels).save(buf, "JPEG", quality=jpeg_quality(p, default_quality), comment=comment)
    return buf.getvalue()


def keeps_clean(index: int, frames: int) -> bool:
    """Whether frame ``index`` of a ``frames``-frame job keeps a clean thumbnail: every frame of a small job,
    at most ``CLEAN_FRAMES`` spread over a large one (a few KB each, for the report's clean-vs-sensor sheet)."""
    return index % max(1, -(-int(frames) // CLEAN_FRAMES)) == 0


def clean_thumbnail(p: SensorPlan, rgb: np.ndarray, size: int = CLEAN_SIZE) -> tuple[bytes, str]:
    """The render before the sensor stack, small: the display image (with a lens, the pinhole view through
    the output's own K, i.e. the wide canvas less its margins) averaged over whole-pixel blocks down to at
    most ``size`` px on its longer side. A JPEG where Pillow is installed, else a PNG; returns (bytes, ext)."""
    img = np.asarray(rgb, np.float32)
    if p.lens is not None:
        (mx, my), (w, h) = p.lens.margins, p.lens.size
        img = img[my:my + h, mx:mx + w]
    h, w = img.shape[:2]
    f = max(1, -(-max(w, h) // size))
    h2, w2 = h // f * f, w // f * f
    small = img[:h2, :w2].reshape(h2 // f, f, w2 // f, f, -1).mean(axis=(1, 3))
    pixels = effects.quantize(small[..., :3])
    if not pillow_available():
        return png.encode_png(pixels, {}), "png"
    Image = import_pillow("clean thumbnails")[0]
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, "JPEG", quality=85)
    return buf.getvalue(), "jpg"

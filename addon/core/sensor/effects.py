"""The image effects of the sensor group (issue 18), pure numpy on float32 H x W x 3 images.

Two stages, each in stack order: optics and sensor on LINEAR light (the display image linearised with the
sRGB curve: blur, vignetting, chromatic aberration, exposure, noise, white balance), then the camera's
processing on the DISPLAY image (tone, resize, JPEG). Every function takes the randomizer's recorded
values, so a frame's image can be rebuilt from its record; the noise draws from a generator seeded by the
value it recorded.
"""

from __future__ import annotations

import io
import math

import numpy as np

from ..images.pillow import import_pillow


# -- colour spaces ------------------------------------------------------------------------------------------
def to_linear(x: np.ndarray) -> np.ndarray:
    """sRGB-encoded [0, 1] -> linear light (the IEC 61966-2-1 curve)."""
    x = np.clip(x, 0.0, 1.0)
    return np.where(x <= 0.04045, x / 12.92, ((x + 0.055) / 1.055) ** 2.4).astype(np.float32)


def to_display(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return np.where(x <= 0.0031308, x * 12.92, 1.055 * np.power(x, 1 / 2.4) - 0.055).astype(np.float32)


# -- helpers ------------------------------------------------------------------------------------------------
def _gaussian_1d(image: np.ndarray, sigma: float, axis: int) -> np.ndarray:
    """Separable Gaussian along one axis as a sum of shifted copies (edges replicated): no SciPy needed."""
    r = max(1, int(math.ceil(3 * sigma)))
    k = np.exp(-0.5 * (np.arange(-r, r + 1) / sigma) ** 2)
    k = (k / k.sum()).astype(np.float32)
    pad = [(0, 0)] * image.ndim
    pad[axis] = (r, r)
    p = np.pad(image, pad, mode="edge")
    n = image.shape[axis]
    out = np.zeros_like(image, dtype=np.float32)
    for i, wgt in enumerate(k):
        out += wgt * np.take(p, np.arange(i, i + n), axis=axis)
    return out


def gaussian(image: np.ndarray, sigma: float) -> np.ndarray:
    if sigma <= 0.05:
        return image
    return _gaussian_1d(_gaussian_1d(image, sigma, 0), sigma, 1)


def _resample(image: np.ndarray, w: int, h: int) -> np.ndarray:
    """Bilinear resampling to w x h by pixel centres (edges clamped)."""
    sh, sw = image.shape[:2]
    u = (np.arange(w, dtype=np.float32) + 0.5) * (sw / w) - 0.5
    v = (np.arange(h, dtype=np.float32) + 0.5) * (sh / h) - 0.5
    x0 = np.clip(np.floor(u).astype(np.intp), 0, sw - 1)
    y0 = np.clip(np.floor(v).astype(np.intp), 0, sh - 1)
    fx = np.clip(u - np.floor(u), 0, 1)[None, :, None]
    fy = np.clip(v - np.floor(v), 0, 1)[:, None, None]
    x1, y1 = np.minimum(x0 + 1, sw - 1), np.minimum(y0 + 1, sh - 1)
    top = image[y0][:, x0] * (1 - fx) + image[y0][:, x1] * fx
    bottom = image[y1][:, x0] * (1 - fx) + image[y1][:, x1] * fx
    return (top * (1 - fy) + bottom * fy).astype(np.float32)


def _radius(shape, centre) -> np.ndarray:
    """Distance of each pixel centre from ``centre`` (cx, cy), over the distance to the farthest corner."""
    h, w = shape[:2]
    cx, cy = centre
    u = np.arange(w, dtype=np.float32) + 0.5 - cx
    v = np.arange(h, dtype=np.float32) + 0.5 - cy
    corner = max(math.hypot(a, b) for a in (cx, w - cx) for b in (cy, h - cy))
    return np.sqrt(u[None, :] ** 2 + v[:, None] ** 2) / corner


# -- white balance -----------------------------------------------------------------------------------------
_XYZ_TO_SRGB = np.array([[3.2406, -1.5372, -0.4986], [-0.9689, 1.8758, 0.0415], [0.0557, -0.2040, 1.0570]])


def planckian_rgb(kelvin: float) -> np.ndarray:
    """Linear sRGB of a black body at ``kelvin`` (Kim et al.'s cubic fit of the Planckian locus, 1667-25000 K),
    green = 1."""
    t = float(np.clip(kelvin, 1667.0, 25000.0))
    if t <= 4000:
        x = -0.2661239e9 / t**3 - 0.2343589e6 / t**2 + 0.8776956e3 / t + 0.179910
    else:
        x = -3.0258469e9 / t**3 + 2.1070379e6 / t**2 + 0.2226347e3 / t + 0.240390
    if t <= 2222:
        y = -1.1063814 * x**3 - 1.34811020 * x**2 + 2.18555832 * x - 0.20219683
    elif t <= 4000:
        y = -0.9549476 * x**3 - 1.37418593 * x**2 + 2.09137015 * x - 0.16748867
    else:
        y = 3.0817580 * x**3 - 5.87338670 * x**2 + 3.75112997 * x - 0.37001483
    rgb = _XYZ_TO_SRGB @ np.array([x / y, 1.0, (1 - x - y) / y])
    return rgb / rgb[1]


def wb_gains(temperature: float, tint: float) -> np.ndarray:
    """Per-channel gains of a colour cast: light of ``temperature`` seen by a camera balanced for 6504 K
    (lower is warmer), and ``tint`` (> 0 greener, < 0 more magenta)."""
    g = planckian_rgb(temperature) / planckian_rgb(6504.0)
    g[1] *= 1.0 + tint
    return (g / g.mean()).astype(np.float32)         # a cast, not a brightness change


# -- the effects ---------------------------------------------------------------------------------------------
def blur(img, v, K):
    return gaussian(img, float(v["sigma"]))


def vignetting(img, v, K):
    gain = 1.0 - float(v["strength"]) * _radius(img.shape, (K[0][2], K[1][2])) ** 2
    return img * gain[..., None].astype(np.float32)


def chromatic_aberration(img, v, K):
    """Lateral chromatic aberration: red magnified and blue shrunk about the principal point, by ``shift``
    pixels at the farthest corner (green stays: it carries the labels' geometry)."""
    h, w = img.shape[:2]
    cx, cy = K[0][2], K[1][2]
    corner = max(math.hypot(a, b) for a in (cx, w - cx) for b in (cy, h - cy))
    a = float(v["shift"]) / corner
    out = img.copy()
    u = np.arange(w, dtype=np.float32) + 0.5 - cx
    vv = np.arange(h, dtype=np.float32) + 0.5 - cy
    for c, s in ((0, 1.0 + a), (2, 1.0 - a)):
        uu = np.broadcast_to(u[None, :] / s + cx, (h, w))
        yy = np.broadcast_to(vv[:, None] / s + cy, (h, w))
        x, y = uu - 0.5, yy - 0.5
        x0, y0 = np.floor(x), np.floor(y)
        fx, fy = x - x0, y - y0
        x0 = np.clip(x0.astype(np.intp), 0, w - 1)
        y0 = np.clip(y0.astype(np.intp), 0, h - 1)
        x1, y1 = np.minimum(x0 + 1, w - 1), np.minimum(y0 + 1, h - 1)
        ch = img[..., c]
        out[..., c] = (ch[y0, x0] * (1 - fx) + ch[y0, x1] * fx) * (1 - fy) + (ch[y1, x0] * (1 - fx) + ch[y1, x1] * fx) * fy
    return out


def exposure(img, v, K):
    return img * np.float32(2.0 ** float(v["ev"]))


def noise_model(v) -> tuple[np.ndarray, np.ndarray]:
    """(electrons per unit of linear signal, read noise in signal units) per channel for recorded values:
    signal x holds x * full_well * sensitivity / gain electrons, gain = iso / 100. So the noisy signal has
    mean x and variance x / e + read^2 (Poisson-Gaussian)."""
    gain = float(v["iso"]) / 100.0
    e = float(v["full_well"]) * np.asarray(v["sensitivity"], np.float64) / gain
    return e, float(v["read_noise"]) / e


def sensor_noise(img, v, K):
    """Shot noise (Poisson in electrons), read noise (Gaussian), per channel; then salt and pepper: a
    share ``salt_pepper`` of pixels stuck at black or white (dead and hot pixels)."""
    rng = np.random.Generator(np.random.PCG64(int(v["seed"])))
    e, read = noise_model(v)
    x = np.clip(img, 0.0, None).astype(np.float64)
    out = rng.poisson(x * e) / e + rng.standard_normal(x.shape) * read
    p = float(v["salt_pepper"])
    if p > 0.0:
        hit = rng.random(x.shape[:2]) < p
        out[hit] = (rng.random(int(hit.sum())) < 0.5)[:, None].astype(np.float64)
    return out.astype(np.float32)


def white_balance(img, v, K):
    return img * wb_gains(float(v["temperature"]), float(v["tint"]))


def tone(img, v, K):
    """Gamma, then contrast about mid grey, on the display image."""
    y = np.power(np.clip(img, 0.0, 1.0), float(v["gamma"]))
    return np.clip((y - 0.5) * float(v["contrast"]) + 0.5, 0.0, 1.0).astype(np.float32)


def resize(img, v, K):
    """Down to ``factor`` of the size (Gaussian prefilter against aliasing), then back up: lost detail."""
    f = float(v["factor"])
    if f >= 0.999:
        return img
    h, w = img.shape[:2]
    small = _resample(gaussian(img, 0.5 * (1.0 / f - 1.0)), max(1, round(w * f)), max(1, round(h * f)))
    return _resample(small, w, h)


def jpeg_roundtrip(img, quality: int) -> np.ndarray:
    """The image as a JPEG of ``quality`` decodes (its blocks and ringing baked in)."""
    Image = import_pillow("the jpeg sensor effect")[0]
    buf = io.BytesIO()
    Image.fromarray(quantize(img)).save(buf, "JPEG", quality=int(quality))
    return np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("RGB"), np.float32) / 255.0


def jpeg(img, v, K):
    return jpeg_roundtrip(img, int(v["quality"]))


def quantize(img: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(np.asarray(img, np.float32) * 255.0), 0, 255).astype(np.uint8)


# type -> (stage, function); lens_distortion is geometric and handled by ``lens`` before these
LINEAR, DISPLAY = "linear", "display"
EFFECTS = {
    "blur": (LINEAR, blur), "vignetting": (LINEAR, vignetting), "chromatic_aberration": (LINEAR, chromatic_aberration),
    "exposure": (LINEAR, exposure), "sensor_noise": (LINEAR, sensor_noise), "white_balance": (LINEAR, white_balance),
    "tone": (DISPLAY, tone), "resize": (DISPLAY, resize), "jpeg": (DISPLAY, jpeg),
}

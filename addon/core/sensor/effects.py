"""The image effects of the sensor group (issue 18), pure numpy on float32 H x W x 3 images.

Two stages, each in stack order: optics and sensor on LINEAR light (the display image linearised with the
sRGB curve: blur, vignetting, chromatic aberration, exposure, noise, white balance), then the camera's
processing on the DISPLAY image (tone, resize, JPEG). Every function takes the randomizer's recorded
values, so a frame's image can be rebuilt from its record; the noise draws from a generator seeded by the
value it recorded.
"""

from __future__ import annotations

import functools
import io
import math

import numpy as np

from ..images.pillow import import_pillow


# -- colour spaces ------------------------------------------------------------------------------------------
def _srgb_to_linear(x):
    return np.where(x <= 0.04045, x / 12.92, ((x + 0.055) / 1.055) ** 2.4)


def _linear_to_srgb(x):
    return np.where(x <= 0.0031308, x * 12.92, 1.055 * np.power(x, 1 / 2.4) - 0.055)


LUT_SIZE = 65536      # table steps over [0, 1]: interpolated, within 1e-6 of either curve in float32


@functools.lru_cache(maxsize=8)
def _lut(fn) -> tuple[np.ndarray, np.ndarray]:
    """(values, steps) of ``fn`` tabulated over [0, 1] in float64, stored float32."""
    t = fn(np.linspace(0.0, 1.0, LUT_SIZE + 1))
    return t.astype(np.float32), np.diff(t).astype(np.float32)


def curve(x: np.ndarray, fn) -> np.ndarray:
    """``fn`` (smooth on [0, 1]) of ``x`` clipped to [0, 1], through a linearly interpolated table: a gather
    and a blend instead of a power per value (a third of the time)."""
    values, steps = _lut(fn)
    t = np.fmin(np.fmax(x, np.float32(0.0)), np.float32(1.0)).astype(np.float32, copy=False)    # NaN -> 0
    t *= np.float32(LUT_SIZE)
    i = t.astype(np.int32)
    np.minimum(i, LUT_SIZE - 1, out=i)
    t -= i
    t *= steps[i]
    t += values[i]
    return t


def to_linear(x: np.ndarray) -> np.ndarray:
    """sRGB-encoded [0, 1] -> linear light (the IEC 61966-2-1 curve)."""
    return curve(x, _srgb_to_linear)


def to_display(x: np.ndarray) -> np.ndarray:
    return curve(x, _linear_to_srgb)


# -- helpers ------------------------------------------------------------------------------------------------
def _gaussian_1d(image: np.ndarray, sigma: float, axis: int) -> np.ndarray:
    """Separable Gaussian along one axis as a sum of shifted views (edges replicated): no SciPy needed."""
    r = max(1, int(math.ceil(3 * sigma)))
    k = np.exp(-0.5 * (np.arange(-r, r + 1) / sigma) ** 2)
    k = (k / k.sum()).astype(np.float32)
    pad = [(0, 0)] * image.ndim
    pad[axis] = (r, r)
    p = np.pad(np.asarray(image, np.float32), pad, mode="edge")
    n = image.shape[axis]
    lead = (slice(None),) * axis
    out = p[lead + (slice(0, n),)] * k[0]
    for i in range(1, len(k)):
        out += p[lead + (slice(i, i + n),)] * k[i]
    return out


def gaussian(image: np.ndarray, sigma: float) -> np.ndarray:
    if sigma <= 0.05:
        return image
    return _gaussian_1d(_gaussian_1d(image, sigma, 0), sigma, 1)


def _axis_weights(coords: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(left index, right index, right weight) of bilinear sampling at pixel coordinates ``coords`` (centres
    at +0.5) along an axis of ``n`` pixels; past either end, the end pixel's value."""
    x = np.asarray(coords, np.float64) - 0.5
    i0 = np.clip(np.floor(x), 0, max(n - 2, 0)).astype(np.intp)
    f = np.clip(x - i0, 0.0, 1.0).astype(np.float32)
    return i0, np.minimum(i0 + 1, n - 1), f


def separable_bilinear(image: np.ndarray, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Bilinear samples of ``image`` (H x W [x C]) on the grid of columns at ``u`` and rows at ``v`` (pixel
    coordinates): along the rows, then the columns, which is the 2D blend when the grid is separable."""
    sh, sw = image.shape[:2]
    c0, c1, fx = _axis_weights(u, sw)
    r0, r1, fy = _axis_weights(v, sh)
    fx = fx.reshape((1, -1) + (1,) * (image.ndim - 2))
    fy = fy.reshape((-1,) + (1,) * (image.ndim - 1))
    left = image[:, c0]
    across = image[:, c1] - left
    across *= fx
    across += left
    top = across[r0]
    out = across[r1] - top
    out *= fy
    out += top
    return out.astype(np.float32, copy=False)


def _resample(image: np.ndarray, w: int, h: int) -> np.ndarray:
    """Bilinear resampling to w x h by pixel centres (edges clamped)."""
    sh, sw = image.shape[:2]
    return separable_bilinear(np.asarray(image, np.float32), (np.arange(w) + 0.5) * (sw / w),
                              (np.arange(h) + 0.5) * (sh / h))


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
    u = np.arange(w, dtype=np.float64) + 0.5 - cx
    vv = np.arange(h, dtype=np.float64) + 0.5 - cy
    for c, s in ((0, 1.0 + a), (2, 1.0 - a)):       # a scale about a point is separable: rows, then columns
        out[..., c] = separable_bilinear(img[..., c], u / s + cx, vv / s + cy)
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


GAUSSIAN_SKEW = 0.2      # where the shot + read noise is less skewed than this, one Gaussian draw stands for it


def sensor_noise(img, v, K):
    """Shot noise (Poisson in electrons) plus read noise (Gaussian), per channel; then salt and pepper: a
    share ``salt_pepper`` of pixels stuck at black or white (dead and hot pixels).

    A pixel expecting lam electrons, with read noise r electrons, gets noise of mean 0, variance lam + r^2
    and skewness lam / (lam + r^2)^1.5. Where that skewness is under ``GAUSSIAN_SKEW`` the noise is drawn
    as one Gaussian of the same mean and variance (exact Poisson draws cost most of the stack's time);
    elsewhere (very dark pixels with little read noise) the Poisson count is drawn exactly."""
    rng = np.random.Generator(np.random.PCG64(int(v["seed"])))
    e, read = noise_model(v)
    x = np.clip(img, 0.0, None).astype(np.float32)
    z = rng.standard_normal(x.shape, dtype=np.float32)
    e32, read32 = e.astype(np.float32), np.asarray(read, np.float32)
    out = np.sqrt(x / e32 + read32 * read32) * z
    out += x
    r = float(v["read_noise"])
    # the skewness peaks at lam = 2 r^2, at 2 / (3^1.5 r): with enough read noise no pixel needs Poisson draws
    if r > 0 and 2 / (3 ** 1.5 * r) < GAUSSIAN_SKEW:
        return _salt_and_pepper(out, v, rng)
    lam = x * e32
    t = lam + np.float32(r * r)
    t *= t * t
    t *= np.float32(GAUSSIAN_SKEW ** 2)
    skewed = lam * lam >= t                          # skewness^2 >= limit^2
    skewed &= lam > 0
    if skewed.any():
        per_pixel = lambda a: np.broadcast_to(a, x.shape)[skewed]     # noqa: E731
        out[skewed] = (rng.poisson(lam[skewed]).astype(np.float32) / per_pixel(e32)
                       + z[skewed] * per_pixel(read32))
    return _salt_and_pepper(out, v, rng)


def _salt_and_pepper(out: np.ndarray, v, rng) -> np.ndarray:
    p = float(v["salt_pepper"])
    if p > 0.0:
        hit = rng.random(out.shape[:2]) < p
        out[hit] = (rng.random(int(hit.sum())) < 0.5)[:, None].astype(np.float32)
    return out


def white_balance(img, v, K):
    return img * wb_gains(float(v["temperature"]), float(v["tint"]))


def tone(img, v, K):
    """Gamma, then contrast about mid grey, on the display image."""
    g, c = float(v["gamma"]), float(v["contrast"])
    if g >= 0.8:             # the table's first step is then within 2e-5 of x^g (steeper curves: computed)
        return curve(img, _tone_curve(g, c))
    return _tone_curve(g, c)(np.clip(img, 0.0, 1.0)).astype(np.float32)


@functools.lru_cache(maxsize=8)
def _tone_curve(gamma: float, contrast: float):
    return lambda x: np.clip((np.power(x, gamma) - 0.5) * contrast + 0.5, 0.0, 1.0)


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

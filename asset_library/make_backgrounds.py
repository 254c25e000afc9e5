"""Make the bundled background photos: perspective views cut out of Blender's own CC0 HDRIs.

Blender ships eight 1K HDRIs (photos of real places by Greg Zaal, Poly Haven, CC0; see ``license.txt``
next to them). Each view here looks slightly down from the photographer's standpoint at ground level, so
objects can stand in it on a shadow-catcher ground. Deterministic: same HDRIs, same JPEG bytes.

    .venv/bin/python asset_library/make_backgrounds.py                  # rewrites asset_library/backgrounds/
    .venv/bin/python asset_library/make_backgrounds.py --out-dir /tmp/x
"""

from __future__ import annotations

import argparse
import io
import math
from pathlib import Path

import numpy as np
import OpenEXR
from PIL import Image

SIZE = (480, 360)
FOV = 72.0          # horizontal field of view (degrees): a 35 mm-ish lens, and not too soft from a 1K panorama
QUALITY = 85
MAX_BYTES = 60_000

# name: (HDRI, centre column of the view in the panorama (0..1), pitch in degrees (negative: down))
VIEWS = {
    "city_pad": ("city", 0.30, -6.0),
    "courtyard": ("courtyard", 0.36, -10.0),
    "forest_path": ("forest", 0.30, -10.0),
    "hotel_room": ("interior", 0.36, -12.0),
    "meadow_sunrise": ("sunrise", 0.47, -8.0),
    "promenade_sunset": ("sunset", 0.43, -12.0),
}


def hdri_dir() -> Path:
    """Blender's bundled studio-light HDRIs, found through Blender itself when it is importable."""
    import bpy
    return Path(bpy.utils.system_resource("DATAFILES", path="studiolights/world"))


def read_exr(path: Path) -> np.ndarray:
    with OpenEXR.File(str(path), separate_channels=False) as f:
        channels = f.parts[0].channels
        rgb = channels["RGB"].pixels if "RGB" in channels else np.dstack([channels[c].pixels for c in "RGB"])
    return np.asarray(rgb, dtype=np.float64)[..., :3]


def perspective(pano: np.ndarray, u_centre: float, pitch_deg: float) -> np.ndarray:
    """A pinhole view of an equirectangular panorama (Blender's mapping: column u looks along
    azimuth (0.5 - u) * 2 pi from +x, rows run from the zenith down), sampled bilinearly."""
    w, h = SIZE
    ph, pw, _ = pano.shape
    yaw, pitch = (0.5 - u_centre) * 2 * math.pi, math.radians(pitch_deg)
    f = 0.5 * w / math.tan(math.radians(FOV) / 2)
    xs, ys = np.meshgrid(np.arange(w) + 0.5 - w / 2, h / 2 - (np.arange(h) + 0.5))
    # camera frame: forward along +x, left +y, up +z; pitch about y, then yaw about z
    d = np.stack([np.full_like(xs, f), -xs, ys], axis=-1)
    cp, sp, cy, sy = math.cos(pitch), math.sin(pitch), math.cos(yaw), math.sin(yaw)
    rot_pitch = np.array([[cp, 0, -sp], [0, 1, 0], [sp, 0, cp]])
    rot_yaw = np.array([[cy, -sy, 0], [sy, cy, 0], [0, 0, 1]])
    d = d @ (rot_yaw @ rot_pitch).T
    d /= np.linalg.norm(d, axis=-1, keepdims=True)
    u = (0.5 - np.arctan2(d[..., 1], d[..., 0]) / (2 * math.pi)) % 1.0
    v = np.arccos(np.clip(d[..., 2], -1, 1)) / math.pi           # 0 at the zenith (top row)
    x, y = u * pw - 0.5, np.clip(v * ph - 0.5, 0, ph - 1)
    x0, y0 = np.floor(x).astype(int), np.floor(y).astype(int)
    fx, fy = (x - x0)[..., None], (y - y0)[..., None]
    x0, x1 = x0 % pw, (x0 + 1) % pw
    y1 = np.minimum(y0 + 1, ph - 1)
    top = pano[y0, x0] * (1 - fx) + pano[y0, x1] * fx
    bottom = pano[y1, x0] * (1 - fx) + pano[y1, x1] * fx
    return top * (1 - fy) + bottom * fy


def tone_map(linear: np.ndarray) -> np.ndarray:
    """Scene-referred to display sRGB: expose the log-average to mid grey, roll highlights off
    (extended Reinhard, white at the 99.5th percentile), then the sRGB curve."""
    lum = linear @ np.array([0.2126, 0.7152, 0.0722])
    x = linear * (0.18 / math.exp(np.log(lum + 1e-4).mean()))
    white = max(float(np.percentile(x @ np.array([0.2126, 0.7152, 0.0722]), 99.5)), 1.0)
    x = x * (1 + x / white ** 2) / (1 + x)
    x = np.clip(x, 0.0, 1.0)
    srgb = np.where(x <= 0.0031308, 12.92 * x, 1.055 * x ** (1 / 2.4) - 0.055)
    return np.round(srgb * 255).astype(np.uint8)


def jpeg_bytes(pixels: np.ndarray) -> bytes:
    for quality in range(QUALITY, 40, -5):
        buf = io.BytesIO()
        Image.fromarray(pixels).save(buf, "JPEG", quality=quality, optimize=True)
        if buf.tell() <= MAX_BYTES:
            return buf.getvalue()
    raise RuntimeError("cannot fit the view under the size limit")


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out-dir", type=Path, default=Path(__file__).resolve().parent / "backgrounds")
    args = ap.parse_args(argv)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    src = hdri_dir()
    for name, (hdri, u, pitch) in VIEWS.items():
        data = jpeg_bytes(tone_map(perspective(read_exr(src / f"{hdri}.exr"), u, pitch)))
        (args.out_dir / f"{name}.jpg").write_bytes(data)
        print(f"{name}.jpg  {len(data) // 1000} KB  from {hdri}.exr")


if __name__ == "__main__":
    main()

"""Build the small image textures in ``asset_library/textures/`` from numbers (CC0 by construction).

Run from the repository root::

    python -m asset_library.make_textures                # rewrites asset_library/textures/*.png
    python -m asset_library.make_textures --out-dir /tmp/x

Every texture is 128 x 128 RGB, tiles seamlessly (every period divides 128) and is made with numpy from
fixed numbers and a fixed-seed generator, then written with SynthKiln's own PNG encoder, so the bytes are
the same on every run (a test rebuilds them and compares). They feed the ``image_texture`` randomizer
(``folder: builtin:asset_library/textures``).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from synthkiln.addon.core.images.png import encode_png

HERE = Path(__file__).resolve().parent
OUT_DIR = HERE / "textures"
SIZE = 128


def _grid() -> tuple[np.ndarray, np.ndarray]:
    y, x = np.mgrid[0:SIZE, 0:SIZE].astype(np.float64)
    return x, y


def _mix(a, b, t) -> np.ndarray:
    t = np.asarray(t)[..., None]
    return np.asarray(a, float) * (1.0 - t) + np.asarray(b, float) * t


def _to_u8(rgb: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(rgb), 0, 255).astype(np.uint8)


def bricks(rng: np.random.Generator) -> np.ndarray:
    """Running-bond red bricks (32 x 16 px) in grey mortar, each brick a slightly different shade."""
    x, y = _grid()
    row = (y // 16).astype(int)
    xs = (x + (row % 2) * 16) % SIZE
    col = (xs // 32).astype(int)
    shade = rng.uniform(0.8, 1.15, size=(SIZE // 16, SIZE // 32))[row, col]
    mortar = ((y % 16) < 2) | ((xs % 32) < 2)
    brick = np.array([150.0, 58.0, 38.0]) * shade[..., None]
    brick = brick * (1.0 + 0.08 * np.sin(x * 0.9 + y * 1.7)[..., None])   # a little surface grain
    return _to_u8(np.where(mortar[..., None], [175.0, 170.0, 160.0], brick))


def planks(rng: np.random.Generator) -> np.ndarray:
    """Vertical wooden planks (16 px wide) with wavy grain and dark seams."""
    x, y = _grid()
    plank = (x // 16).astype(int)
    phase = rng.uniform(0, 2 * np.pi, size=SIZE // 16)[plank]
    tone = rng.uniform(0.85, 1.1, size=SIZE // 16)[plank]
    grain = 0.5 + 0.5 * np.sin(x * 0.8 + 3.0 * np.sin(y * 2 * np.pi / 64 + phase))
    wood = _mix([176.0, 120.0, 70.0], [120.0, 72.0, 36.0], grain) * tone[..., None]
    seam = (x % 16) < 1
    return _to_u8(np.where(seam[..., None], [60.0, 36.0, 20.0], wood))


def stripes(rng: np.random.Generator) -> np.ndarray:
    """Diagonal stripes in four colours (period 32 px along each axis, so the image tiles)."""
    x, y = _grid()
    colours = np.array([[220.0, 60.0, 50.0], [240.0, 200.0, 60.0], [40.0, 110.0, 190.0], [240.0, 240.0, 235.0]])
    band = (((x + y) % 32) // 8).astype(int)
    return _to_u8(colours[band])


def tiles(rng: np.random.Generator) -> np.ndarray:
    """A two-colour chequer of 32 px tiles with white grout and faint per-tile variation."""
    x, y = _grid()
    tx, ty = (x // 32).astype(int), (y // 32).astype(int)
    base = np.where(((tx + ty) % 2 == 0)[..., None], [30.0, 95.0, 120.0], [215.0, 210.0, 195.0])
    base = base * rng.uniform(0.92, 1.08, size=(SIZE // 32, SIZE // 32))[ty, tx][..., None]
    grout = ((x % 32) < 2) | ((y % 32) < 2)
    return _to_u8(np.where(grout[..., None], [235.0, 235.0, 230.0], base))


def dots(rng: np.random.Generator) -> np.ndarray:
    """Polka dots (radius 6 px on a 32 px grid, every other row shifted) on a pale ground."""
    x, y = _grid()
    row = (y // 16).astype(int)
    cx = (x + (row % 2) * 16) % 32 - 16
    cy = y % 16 - 8
    inside = np.hypot(cx, cy) < 6
    return _to_u8(np.where(inside[..., None], [190.0, 40.0, 90.0], [245.0, 235.0, 215.0]))


TEXTURES = {"bricks": bricks, "planks": planks, "stripes": stripes, "tiles": tiles, "dots": dots}


def build() -> dict[str, bytes]:
    """File name -> PNG bytes of every texture (deterministic)."""
    out = {}
    for k, (name, make) in enumerate(TEXTURES.items()):
        img = make(np.random.default_rng(k))
        assert img.shape == (SIZE, SIZE, 3)
        out[f"{name}.png"] = encode_png(img, {"Copyright": "CC0-1.0 (SynthKiln, generated)"}, level=9)
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out-dir", type=Path, default=OUT_DIR)
    args = ap.parse_args(argv)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    for name, data in build().items():
        (args.out_dir / name).write_bytes(data)
        print(f"{args.out_dir / name}: {len(data)} bytes")


if __name__ == "__main__":
    main()

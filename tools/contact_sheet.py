#!/usr/bin/env python3
"""Render a few frames of each preset and tile them into one contact sheet, to look at what presets make.

    .venv/bin/python tools/contact_sheet.py                       # every bundled preset, 6 frames each
    .venv/bin/python tools/contact_sheet.py presets/street.yaml --frames 8 --resolution 320x240 --samples 16
    .venv/bin/python tools/contact_sheet.py --out sheet.png --boxes   # draw each frame's boxes

Each preset renders through the real CLI (``python -m synthkiln render``) into a scratch folder, so the
sheet shows exactly what a job makes. Rows are presets, columns frames.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from PIL import Image, ImageDraw

ROOT = Path(__file__).resolve().parent.parent


def render(preset: Path, out: Path, frames: int, resolution: str, samples: int, seed: int) -> None:
    cmd = [sys.executable, "-m", "synthkiln", "render", str(preset), "--out", str(out), "--frames", str(frames),
           "--resolution", resolution, "--samples", str(samples), "--seed", str(seed)]
    p = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    if p.returncode:
        raise SystemExit(f"{preset.name}: render failed:\n{p.stderr[-2000:]}")
    print(p.stderr.strip().splitlines()[-1] if p.stderr.strip() else preset.name, file=sys.stderr)


def tile(rows: list[tuple[str, list[Path]]], boxes: bool, path: Path) -> None:
    first = Image.open(rows[0][1][0])
    w, h = first.size
    label_w = 130
    cols = max(len(frames) for _, frames in rows)
    sheet = Image.new("RGB", (label_w + cols * (w + 4), len(rows) * (h + 4)), (30, 30, 30))
    draw = ImageDraw.Draw(sheet)
    for r, (name, frames) in enumerate(rows):
        y = r * (h + 4)
        draw.text((6, y + h // 2 - 6), name, fill=(230, 230, 230))
        for c, image_path in enumerate(frames):
            im = Image.open(image_path).convert("RGB")
            if boxes:
                rec = json.loads((image_path.parent.parent / "frames" / f"{image_path.stem}.json").read_text())
                d = ImageDraw.Draw(im)
                for o in rec["objects"]:
                    if o.get("bbox"):
                        x0, y0, bw, bh = o["bbox"]
                        d.rectangle([x0, y0, x0 + bw - 1, y0 + bh - 1], outline=(255, 220, 0))
            sheet.paste(im, (label_w + c * (w + 4), y))
    sheet.save(path)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("presets", nargs="*", type=Path, help="presets to render (default: presets/*.yaml)")
    ap.add_argument("--frames", type=int, default=6)
    ap.add_argument("--resolution", default="192x144")
    ap.add_argument("--samples", type=int, default=8)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--boxes", action="store_true", help="draw the frames' boxes")
    ap.add_argument("--out", type=Path, default=ROOT / "contact_sheet.png")
    args = ap.parse_args()
    presets = args.presets or sorted((ROOT / "presets").glob("*.yaml"))
    rows = []
    with tempfile.TemporaryDirectory(prefix="synthkiln-sheet-") as tmp:
        for preset in presets:
            out = Path(tmp) / preset.stem
            render(preset.resolve(), out, args.frames, args.resolution, args.samples, args.seed)
            rows.append((preset.stem, sorted((out / "images").glob("*.*"))))
        tile(rows, args.boxes, args.out)
    print(args.out)


if __name__ == "__main__":
    main()

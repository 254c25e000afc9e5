#!/usr/bin/env python3
"""How long ``synthkiln report`` takes on a large dataset, and how that compares with rendering it.

Renders a small real job (tabletop, through the CLI), then tiles it into a dataset of ``--frames`` frames
(records renumbered, images and masks hard-linked), and times the report's parts in one run: reading the
records into statistics, image brightness (at most 2,000 images), the plots, the thumbnails and the page.
Prints the report time per frame against the measured render time per frame, and the peak memory.

    .venv/bin/python benchmarks/bench_report.py --frames 10000
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from synthkiln.addon.core.dataset import layout  # noqa: E402
from synthkiln.addon.core.report import build, page  # noqa: E402
from synthkiln.addon.core.dataset.status import read_frame_times  # noqa: E402


def render(out: Path, frames: int, resolution: str, samples: int) -> None:
    cmd = [sys.executable, "-m", "synthkiln", "render", str(ROOT / "presets" / "tabletop.yaml"), "--out", str(out),
           "--frames", str(frames), "--resolution", resolution, "--samples", str(samples)]
    subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True)


def tile(src: Path, dst: Path, frames: int) -> None:
    """A ``frames``-frame dataset made of ``src``'s frames over and over (records renumbered, files linked)."""
    manifest = json.loads((src / layout.MANIFEST).read_text())
    manifest["frames"] = frames
    layout.make_dirs(dst)
    (dst / layout.MANIFEST).write_text(json.dumps(manifest))
    recs = [json.loads((src / layout.record_name(i)).read_text()) for i in layout.record_indices(src)]
    for i in range(frames):
        rec = dict(recs[i % len(recs)])
        files = {}
        for key, rel in rec["files"].items():
            new = f"{Path(rel).parent}/{layout.stem(i)}{Path(rel).suffix}"
            (dst / new).parent.mkdir(exist_ok=True)
            os.link(src / rel, dst / new)
            files[key] = new
        rec.update(frame=i, files=files)
        (dst / layout.record_name(i)).write_text(json.dumps(rec))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--frames", type=int, default=10000, help="frames in the tiled dataset")
    ap.add_argument("--rendered", type=int, default=12, help="frames actually rendered (then tiled)")
    ap.add_argument("--resolution", default="320x240")
    ap.add_argument("--samples", type=int, default=4)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="synthkiln-bench-report-") as tmp:
        src, big = Path(tmp) / "rendered", Path(tmp) / "big"
        t0 = time.perf_counter()
        render(src, args.rendered, args.resolution, args.samples)
        times = read_frame_times(src)
        per_frame = sorted(times.values())[len(times) // 2]
        print(f"rendered {args.rendered} frames at {args.resolution} / {args.samples} spp in "
              f"{time.perf_counter() - t0:.1f} s (median {per_frame:.3f} s per frame)")
        t0 = time.perf_counter()
        tile(src, big, args.frames)
        print(f"tiled into {args.frames} frames in {time.perf_counter() - t0:.1f} s")

        t0 = time.perf_counter()
        data = build.collect(big)
        t_collect = time.perf_counter() - t0
        out = Path(tmp) / "report"
        out.mkdir()
        t0 = time.perf_counter()
        page.render_report(data, out)
        t_draw = time.perf_counter() - t0
        t0 = time.perf_counter()
        build.build_report(big, Path(tmp) / "again")
        t_total = time.perf_counter() - t0
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"statistics (records + brightness of {data.synthetic.numeric['brightness'].size} images): "
              f"{t_collect:.1f} s")
        print(f"plots, thumbnails and page: {t_draw:.1f} s")
        print(f"build_report end to end: {t_total:.1f} s = {1000 * t_total / args.frames:.2f} ms per frame, "
              f"{100 * t_total / args.frames / per_frame:.2f}% of the render time per frame")
        print(f"peak memory (max RSS of this process): {peak:.0f} MiB")


if __name__ == "__main__":
    main()

"""Annotated frame vs bare render of the same scene, interleaved in one run.

(a) bare: plain bpy, RGB only: ``render.render()`` + save the PNG, no extra passes;
(b) SynthKiln: a full annotated frame (sample, apply, one render with passes, EXR decode, mask, depth,
    RLE, boxes, record), exactly what ``synthkiln render`` does per frame.
Both see the same scene: before each bare render the frame's sample is applied (untimed), so the bare
side is, if anything, favoured. Prints medians and the ratio.

    .venv/bin/python benchmarks/bench_overhead.py --resolution 320x240 --samples 4
    .venv/bin/python benchmarks/bench_overhead.py --resolution 640x480 --samples 16
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import bpy

from synthkiln import addon
from synthkiln.addon.bridge import pipeline
from synthkiln.addon.bridge.pipeline import DatasetRun, FrameJob
from synthkiln.addon.core.recipe.preset import BUILTIN_PRESETS, load_preset


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--resolution", default="320x240")
    ap.add_argument("--samples", type=int, default=4)
    ap.add_argument("--denoise", action="store_true")
    ap.add_argument("--frames", type=int, default=12, help="frames of each kind (after one warm-up each)")
    args = ap.parse_args()
    w, h = (int(x) for x in args.resolution.split("x"))

    addon.register()
    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    overrides = {"render": {"resolution": [w, h], "samples": args.samples, "denoise": args.denoise},
                 "output": {"frames": args.frames + 1, "exports": [], "previews": 0}}
    recipe = load_preset(BUILTIN_PRESETS / "tabletop.yaml", overrides)
    job = FrameJob(scene, recipe).prepare()
    out = Path(tempfile.mkdtemp(prefix="sk-bench-"))
    run = DatasetRun(job, out)
    vl = scene.view_layers[0]
    bare_png = out / "bare.png"

    def bare(i: int) -> float:
        job.apply_frame(i)
        vl.use_pass_z = vl.use_pass_object_index = False
        t0 = time.perf_counter()
        bpy.ops.render.render()
        img = next(im for im in bpy.data.images if im.type == "RENDER_RESULT")
        scene.render.image_settings.file_format = "PNG"
        img.save_render(str(bare_png), scene=scene)
        return time.perf_counter() - t0

    in_render = []
    real_render = pipeline.render.render

    def timed_render(*a, **k):             # the render call inside the frame: render, save, EXR decode
        t0 = time.perf_counter()
        try:
            return real_render(*a, **k)
        finally:
            in_render.append(time.perf_counter() - t0)

    pipeline.render.render = timed_render

    def annotated() -> float:
        vl.use_pass_z = vl.use_pass_object_index = True   # as configured by the pipeline
        t0 = time.perf_counter()
        run.step()
        return time.perf_counter() - t0

    bare(0), annotated()   # warm-up: kernels, BVH, persistent data
    tb, ta = [], []
    for i in range(1, args.frames + 1):
        tb.append(bare(i))
        ta.append(annotated())
    job.close()
    mb, ma = statistics.median(tb), statistics.median(ta)
    print(f"{w}x{h}, {args.samples} samples, denoise {'on' if args.denoise else 'off'}, {args.frames} frames each")
    print(f"  bare render + PNG : median {mb * 1000:7.1f} ms  (mean {statistics.mean(tb) * 1000:.1f})")
    print(f"  SynthKiln frame   : median {ma * 1000:7.1f} ms  (mean {statistics.mean(ta) * 1000:.1f})")
    print(f"  ratio annotated / bare: {ma / mb:.3f}  (target <= 1.05)")
    labels = [a - r for a, r in zip(ta, in_render[1:])]
    ml = statistics.median(labels)
    print(f"  labels + writing  : median {ml * 1000:7.1f} ms = {ml / ma:.1%} of the annotated frame (target < 5%):"
          " sample, apply, masks, RLE, semantic, geometric labels, files, record")


if __name__ == "__main__":
    main()

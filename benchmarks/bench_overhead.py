"""Annotated frame vs bare render of the same scene, interleaved in one run.

(a) bare: plain bpy, RGB only: ``render.render()`` + save the PNG, no extra passes;
(b) SynthKiln: a full annotated frame (sample, apply, one render with passes read from the result, mask,
    depth, RLE, boxes, record), exactly what ``synthkiln render`` does per frame.
Both see the same scene and render settings: before each bare render the frame's sample is applied
(untimed), so the bare side is, if anything, favoured. Prints medians and the ratio.

By default the process renders as one worker of ``--workers auto`` does here: its threads (1 on 2 cores up to
~390x390) and pinned to that many cores. ``--scene anchor`` is the shared anchor scene
(``../shared/bench/anchor``, cached under ``.bench/`` by ``bench_anchor.py``); ``tabletop`` the demo preset.

    .venv/bin/python benchmarks/bench_overhead.py --scene anchor --resolution 160x120 --samples 1
    .venv/bin/python benchmarks/bench_overhead.py --scene tabletop --resolution 320x240 --samples 4
    .venv/bin/python benchmarks/bench_overhead.py --resolution 160x120 --samples 1 --frames 100 --steps
"""

from __future__ import annotations

import argparse
import collections
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--resolution", default="320x240")
    ap.add_argument("--samples", type=int, default=4)
    ap.add_argument("--denoise", action="store_true")
    ap.add_argument("--frames", type=int, default=12, help="frames of each kind (after one warm-up each)")
    ap.add_argument("--scene", choices=("anchor", "tabletop"), default="anchor")
    ap.add_argument("--threads", type=int, default=None, help="[default: a --workers auto process's]")
    ap.add_argument("--steps", action="store_true", help="also the annotated frame's mean time per step")
    args = ap.parse_args()
    w, h = (int(x) for x in args.resolution.split("x"))
    from synthkiln.addon.core import devices
    threads = args.threads or devices.plan_workers(devices.available_cpus(), (w, h), 1000,
                                                   devices.Choice("CPU"))[0].threads
    cores = (devices.allowed_cpus() or [])[:threads]
    if cores and len(cores) == threads:
        os.sched_setaffinity(0, cores)        # before Blender starts its thread pools, as the pool's launcher does

    import bpy
    from synthkiln import addon
    from synthkiln.addon.bridge import pipeline
    from synthkiln.addon.bridge.pipeline import DatasetRun, FrameJob
    from synthkiln.addon.core.recipe.preset import BUILTIN_PRESETS, load_preset

    addon.register()
    overrides = {"render": {"resolution": [w, h], "samples": args.samples, "denoise": args.denoise,
                            "threads": threads},
                 "output": {"frames": args.frames + 1, "exports": [], "previews": 0}}
    if args.scene == "anchor":
        from bench_anchor import setup_scene
        cache = ROOT / ".bench"
        setup_scene(cache)
        bpy.ops.wm.open_mainfile(filepath=str(cache / "bench.blend"))
        recipe = load_preset(cache / "bench.yaml", overrides)
    else:
        bpy.ops.wm.read_factory_settings(use_empty=True)
        recipe = load_preset(BUILTIN_PRESETS / "tabletop.yaml", overrides)
    scene = bpy.context.scene
    print(f"{args.scene}: {threads} thread(s), pinned to cores {cores or 'any'}")
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

    steps = timed_steps(pipeline) if args.steps else None

    def annotated() -> float:
        vl.use_pass_z = vl.use_pass_object_index = True   # as configured by the pipeline
        if steps is not None:
            steps.on = True
        t0 = time.perf_counter()
        run.step()
        took = time.perf_counter() - t0
        if steps is not None:
            steps.on = False
        return took

    bare(0), annotated()   # warm-up: kernels, BVH, persistent data
    if steps is not None:
        steps.total.clear()
    tb, ta = [], []
    for i in range(1, args.frames + 1):
        tb.append(bare(i))
        ta.append(annotated())
    job.close()
    mb, ma = statistics.median(tb), statistics.median(ta)
    print(f"{w}x{h}, {args.samples} samples, denoise {'on' if args.denoise else 'off'}, {args.frames} frames each")
    print(f"  bare render + PNG : median {mb * 1000:7.1f} ms  (mean {statistics.mean(tb) * 1000:.1f})")
    print(f"  SynthKiln frame   : median {ma * 1000:7.1f} ms  (mean {statistics.mean(ta) * 1000:.1f})")
    target = 1.5 if w * h <= 160 * 120 else 1.05      # issue 16, P2: 160x120 / 1 spp and 320x240 / 4 spp
    print(f"  ratio annotated / bare: {ma / mb:.3f}  (target <= {target})")
    labels = [a - r for a, r in zip(ta, in_render[1:])]
    ml = statistics.median(labels)
    print(f"  labels + writing  : median {ml * 1000:7.1f} ms = {ml / ma:.1%} of the annotated frame:"
          " sample, apply, masks, RLE, semantic, geometric labels, files, record")
    if steps is not None:
        n = args.frames
        t = {k: v / n * 1000 for k, v in steps.total.items()}
        t["apply (without sample)"] = t.pop("apply", 0.0) - t.get("sample", 0.0)
        render_ms = sum(in_render[-n:]) / n * 1000        # timed_render above: the annotated frames' render calls
        t["render: save image, pass arrays"] = render_ms - t.get("render: Cycles + passes", 0.0)
        print("  annotated frame, mean ms per step:")
        for k, v in sorted(t.items(), key=lambda kv: -kv[1]):
            print(f"    {k:34s} {v:6.2f}")


class _Steps:
    on = False

    def __init__(self):
        self.total = collections.defaultdict(float)


def timed_steps(pipeline) -> _Steps:
    """Wrap the pipeline's steps to add up their time while ``on`` (the annotated frames only)."""
    from synthkiln.addon.bridge import render
    steps = _Steps()

    def wrap(owner, name: str, label: str) -> None:
        real = getattr(owner, name)

        def timed(*a, **k):
            if not steps.on:
                return real(*a, **k)
            t0 = time.perf_counter()
            try:
                return real(*a, **k)
            finally:
                steps.total[label] += time.perf_counter() - t0
        setattr(owner, name, timed)

    for owner, name, label in ((pipeline.FrameJob, "apply_frame", "apply"), (pipeline, "sample_frame", "sample"),
                               (render, "_render_passes", "render: Cycles + passes"),
                               (pipeline.labels, "object_labels", "geometric labels"),
                               (pipeline.exr, "write_channels", "EXR maps"),
                               (pipeline, "atomic_write_json", "record JSON"),
                               (pipeline, "atomic_write_bytes", "image, mask files"),
                               (pipeline.masks, "rle_encode_instances", "RLE"),
                               (pipeline.png, "encode_png", "mask PNG encode")):
        wrap(owner, name, label)
    return steps


if __name__ == "__main__":
    main()

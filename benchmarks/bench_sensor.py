"""The sensor stack's cost (issue 18: target <= 5% of a 640x480 / 16 spp frame).

Times, per frame, everything the sensor group adds after the render: the lens plan (inverse distortion per
output pixel), the RGB warp and effects of presets/dashcam.yaml's draws, the nearest warps of the mask and
depth, and the encode. The render itself is timed with ``--render`` (the street preset, plain, through the
same FrameJob as ``synthkiln render``); without it only the stack is measured (no Blender needed).
A lens also makes the render itself larger (overscan): that share is printed from the plan, since it is
render time, not sensor time.

    .venv/bin/python benchmarks/bench_sensor.py                  # the stack alone, 640x480
    .venv/bin/python benchmarks/bench_sensor.py --render --frames 3
    .venv/bin/python benchmarks/bench_sensor.py --cpu-time       # on a busy machine: the stack's CPU time

The stack is single-threaded numpy, so its CPU time is its wall time on an idle core: ``--cpu-time`` gives a
figure other processes cannot inflate (the render, multi-threaded, is still timed by the clock).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from synthkiln.addon.core import sensor
from synthkiln.addon.core.dataset.job import application_order, sample_frame
from synthkiln.addon.core.recipe.preset import BUILTIN_PRESETS, load_preset


def stack_times(w: int, h: int, frames: int, clock=time.perf_counter) -> tuple[list[float], list[float]]:
    """(seconds per frame of the whole stack, render pixels over output pixels) for dashcam draws."""
    recipe = load_preset(BUILTIN_PRESETS / "dashcam.yaml")
    fx = 26 / 36 * w
    K = np.array([[fx, 0, w / 2], [0, fx, h / 2], [0, 0, 1.0]])
    rng = np.random.Generator(np.random.PCG64(0))
    times, area = [], []
    for i in range(frames + 1):
        values = sample_frame(recipe, 0, i, {})
        stack = [(r.TYPE, values[r.key()]) for r in application_order(recipe) if r.GROUP == "sensor"]
        t0 = clock()
        p = sensor.plan(stack, K, (w, h))   # draws change per frame: solved each time (a fixed lens is cached)
        t_plan = clock() - t0
        rw, rh = p.lens.render_size if p.lens else (w, h)
        rgb = rng.random((rh, rw, 3), np.float32)
        mask = rng.integers(0, 20, (rh, rw)).astype(np.uint16)
        depth = rng.random((rh, rw), np.float32)
        t0 = clock() - t_plan   # the arrays above stand in for the decoded render: not timed
        img = sensor.process(p, rgb, K, final_jpeg=True)
        if p.lens:
            p.lens.nearest(mask)
            p.lens.nearest(depth)
        sensor.encode_image(p, img, "JPEG", 90, {"synthkiln:frame": str(i)})
        if i:                               # the first is warm-up
            times.append(clock() - t0)
            area.append(rw * rh / (w * h))
    return times, area


def render_times(w: int, h: int, samples: int, frames: int) -> list[float]:
    import bpy
    from synthkiln import addon
    from synthkiln.addon.bridge.pipeline import FrameJob
    addon.register()
    bpy.ops.wm.read_factory_settings(use_empty=True)
    recipe = load_preset(BUILTIN_PRESETS / "street.yaml")
    recipe.render.resolution, recipe.render.samples = (w, h), samples
    job = FrameJob(bpy.context.scene, recipe, BUILTIN_PRESETS).prepare()
    from synthkiln.addon.core.dataset import layout
    out = Path(tempfile.mkdtemp())
    layout.make_dirs(out, (layout.SEMANTIC,))
    times = []
    for i in range(frames + 1):
        t0 = time.perf_counter()
        job.render_frame(i, out)
        if i:
            times.append(time.perf_counter() - t0)
    job.close()
    return times


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--resolution", default="640x480")
    ap.add_argument("--samples", type=int, default=16)
    ap.add_argument("--frames", type=int, default=8)
    ap.add_argument("--render", action="store_true", help="also time a plain frame of the street preset")
    ap.add_argument("--cpu-time", action="store_true", help="time the stack by this process's CPU time")
    args = ap.parse_args()
    w, h = (int(x) for x in args.resolution.split("x"))
    st, area = stack_times(w, h, args.frames, time.process_time if args.cpu_time else time.perf_counter)
    med = statistics.median(st)
    clock = " (CPU time)" if args.cpu_time else ""
    print(f"sensor stack (dashcam draws) at {w}x{h}{clock}: median {med * 1000:.0f} ms, max {max(st) * 1000:.0f} ms; "
          f"render canvas {min(area):.2f}x..{max(area):.2f}x the output's pixels (overscan)")
    if args.render:
        rt = statistics.median(render_times(w, h, args.samples, max(1, args.frames // 4)))
        print(f"plain frame {w}x{h}/{args.samples} spp: median {rt:.2f} s; sensor stack = {100 * med / rt:.1f}%")


if __name__ == "__main__":
    main()

"""What randomizing costs per frame, for every bundled preset: sample + apply (median over frames, what
Preview and every job frame pay), against the preset's full annotated frame at the given size, in one
run; plus the ``bpy.data`` block count before and after, which must not grow.

    .venv/bin/python benchmarks/bench_randomizers.py --resolution 320x240 --samples 4
    .venv/bin/python benchmarks/bench_randomizers.py presets/street.yaml --frames 20
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import bpy

from synthkiln import addon
from synthkiln.addon.bridge.pipeline import DatasetRun, FrameJob
from synthkiln.addon.core.recipe.preset import BUILTIN_PRESETS, load_preset


def blocks() -> int:
    return sum(len(getattr(bpy.data, a)) for a in dir(bpy.data)
               if isinstance(getattr(bpy.data, a, None), bpy.types.bpy_prop_collection))


def bench(preset: Path, w: int, h: int, samples: int, frames: int) -> tuple[float, float, int, int]:
    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    overrides = {"render": {"resolution": [w, h], "samples": samples, "denoise": False},
                 "output": {"frames": frames, "exports": [], "previews": 0}}
    recipe = load_preset(preset, overrides)
    job = FrameJob(scene, recipe, preset.parent).prepare()
    run = DatasetRun(job, Path(tempfile.mkdtemp(prefix="sk-bench-")))
    run.step()                                    # warm-up: first render builds caches
    before = blocks()
    applies = []
    for i in range(frames):
        t0 = time.perf_counter()
        job.apply_frame(i)
        applies.append(time.perf_counter() - t0)
    renders = []
    while True:
        t0 = time.perf_counter()
        if not run.step():
            break
        renders.append(time.perf_counter() - t0)
    run.finish()
    return statistics.median(applies), statistics.median(renders), before, blocks()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("presets", nargs="*", type=Path)
    ap.add_argument("--resolution", default="320x240")
    ap.add_argument("--samples", type=int, default=4)
    ap.add_argument("--frames", type=int, default=10)
    args = ap.parse_args()
    w, h = (int(x) for x in args.resolution.split("x"))
    addon.register()
    print(f"{'preset':<16} {'sample+apply':>13} {'annotated frame':>16} {'share':>6}  bpy.data blocks")
    for preset in args.presets or sorted(BUILTIN_PRESETS.glob("*.yaml")):
        a, r, b0, b1 = bench(preset.resolve(), w, h, args.samples, args.frames)
        print(f"{preset.stem:<16} {a * 1000:10.1f} ms {r * 1000:13.0f} ms {a / r:6.1%}  {b0} -> {b1}")


if __name__ == "__main__":
    main()

"""What a clip frame costs against a still frame of the same scene (issue 19: target <= 1.1x).

Renders presets/traffic_clip.yaml through the same FrameJob as ``synthkiln render``: the frames of clip 0
(motion keyed around each frame, the scene moved to its frame, forward and backward flow written), and
still frame 0 of the same recipe (``clips: 0``) as often: the same scene (clip 0's start state and still
frame 0 come from the same random streams) with nothing moving. Both write flow, so the passes are the
same; the first frame of each run is a warm-up and not counted; the runs alternate, so a busy machine
slows both alike.

    .venv/bin/python benchmarks/bench_clips.py --frames 6 --resolution 320x240 --samples 8 --rounds 2
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path


def frame_times(clips: int, frames: int, w: int, h: int, samples: int) -> list[tuple[float, float]]:
    """(wall, CPU) seconds per frame (after a warm-up frame) of frames 0.. of clip 0 (``clips`` = 1), or of the still
    frame 0 rendered ``frames`` times (``clips`` = 0): clip 0's start state is drawn from the same streams
    as still frame 0, so both render the same scene and differ only by the motion."""
    import bpy
    from synthkiln.addon.bridge.pipeline import FrameJob
    from synthkiln.addon.core.dataset import layout
    from synthkiln.addon.core.recipe.preset import BUILTIN_PRESETS, load_preset
    bpy.ops.wm.read_factory_settings(use_empty=True)
    out = {"clips": clips, "clip_length": frames} if clips else {"clips": 0, "frames": 1}
    recipe = load_preset(BUILTIN_PRESETS / "traffic_clip.yaml",
                         {"render": {"resolution": [w, h], "samples": samples},
                          "output": {**out, "previews": 0, "exports": ["coco"]}})
    times = []
    with tempfile.TemporaryDirectory() as d:
        layout.make_dirs(Path(d), (layout.SEMANTIC, layout.FLOW))
        job = FrameJob(bpy.context.scene, recipe).prepare()
        for i in range(frames + 1):
            t0, c0 = time.perf_counter(), time.process_time()      # CPU time: all of Cycles' threads
            job.render_frame(min(i, frames - 1) if clips else 0, Path(d))
            times.append((time.perf_counter() - t0, time.process_time() - c0))
        job.close()
    return times[1:]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=6)
    ap.add_argument("--resolution", default="320x240")
    ap.add_argument("--samples", type=int, default=8)
    ap.add_argument("--rounds", type=int, default=2, help="still and clip jobs rendered alternately, this often")
    a = ap.parse_args()
    w, h = (int(x) for x in a.resolution.split("x"))
    from synthkiln import addon
    addon.register()
    still, clip = [], []
    for _ in range(a.rounds):       # alternated, so a busy machine slows both alike
        still += frame_times(0, a.frames, w, h, a.samples)
        clip += frame_times(1, a.frames, w, h, a.samples)
    print(f"{w}x{h}, {a.samples} spp, {len(clip)} frames each ({a.rounds} rounds, each after a warm-up frame)")
    for k, what in ((0, "wall"), (1, "CPU")):     # CPU time is the steadier figure on a shared machine
        s, c = statistics.median(t[k] for t in still), statistics.median(t[k] for t in clip)
        print(f"{what:4s} still frame: median {s:.3f} s  ({', '.join(f'{t[k]:.2f}' for t in still)})")
        print(f"{what:4s} clip frame:  median {c:.3f} s  ({', '.join(f'{t[k]:.2f}' for t in clip)})")
        print(f"{what:4s} clip / still: {c / s:.2f}x (target <= 1.10x)")


if __name__ == "__main__":
    main()

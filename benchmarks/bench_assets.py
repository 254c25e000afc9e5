"""The asset pool at library scale (issue 14): a pool of N imported files, 10 shown per frame, against the same
10 objects fixed in the scene; and peak memory as the pool grows (50 -> 1000 files).

The pool's files are copies of the six shipped scans (``asset_library/scans/``) under distinct names, written once
under ``--cache``; the fixed side shows ten of those files, imported once into a copy of the tabletop library
(``synthkiln assets import``), as scene objects: the same meshes, never swapped; each side is a whole ``synthkiln render`` process (start-up, every frame, COCO), alternated
(A B A B) so drift on a shared machine hits both alike. Figures: frames per second after the first load
(the mean: total time minus the first frame's; and the median frame), the ratio pool / fixed (target: at most
1.10), and the process's peak RSS per pool size. A pool that fits ``cache_assets`` is imported before frame 0.

    .venv/bin/python benchmarks/bench_assets.py                       # pool 200 vs fixed, memory 50..1000
    .venv/bin/python benchmarks/bench_assets.py --frames 20 --sizes 50,200 --reps 1

Run with nothing else busy: the machine has 2 cores.
"""

from __future__ import annotations

import argparse
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCANS = ROOT / "asset_library" / "scans"
CLI = [str(Path(sys.executable).parent / "synthkiln")]

def make_pool(folder: Path, n: int) -> Path:
    """``n`` files, cycling over the six scans (the OBJ left out: it is in cm), under distinct names."""
    files = sorted(p for p in SCANS.rglob("*") if p.suffix in (".glb", ".ply", ".stl", ".fbx", ".usdc"))
    out = folder / f"pool{n}"
    if out.exists():
        return out
    for i in range(n):
        src = files[i % len(files)]
        dst = out / src.parent.name / f"{src.stem}_{i:04d}{src.suffix}"
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, dst)
    return out


def pool_preset(pool: Path, args) -> str:
    return (f"""version: 1
categories: [{{name: mug}}, {{name: bottle}}, {{name: bowl}}, {{name: can}}, {{name: book}}, {{name: box}}]
scene:
  library: builtin:asset_library/tabletop.blend
  objects: [{{asset: Table, collection: Stage}}, {{asset: Floor, collection: Stage}}]
  lights: [{{name: Key, type: AREA, size: 1.0}}]
assets: [{{name: pool, path: {pool}, category_from: folder}}]
randomizers:
  objects:
    - {{type: asset_pool, name: pool, count: 10, slots: 10, cache_assets: {args.cache_assets}}}
    - {{type: object_pose, name: scatter, select: {{collection: Assets}}, mode: surface, surface: Table,
        rotation_mode: upright, min_spacing: 0.0, max_tries: 200}}
  camera: [{{type: camera_shell, name: orbit, look_at: [0, 0, 0], distance: 1.6, elevation: 50}}]
render: {{resolution: [{args.width}, {args.height}], samples: {args.samples}}}
output: {{frames: {args.frames}, seed: 0, exports: [coco], previews: 0}}
""")


def fixed_library(folder: Path, pool: Path) -> tuple[Path, list[str]]:
    """The tabletop library plus ten of the pool's files imported as assets (``synthkiln assets import``): the
    same imported meshes the pool shows, fixed in the scene. Returns the library and the ten asset names."""
    lib = folder / "fixed10.blend"
    files = sorted((f for f in pool.rglob("*.*") if int(f.stem[-4:]) < 10), key=lambda f: f.stem[-4:])
    if not lib.exists():
        src, tmp = folder / "fixed10", folder / "fixed10.tmp.blend"
        shutil.rmtree(src, ignore_errors=True)
        for f in files:             # a folder of category folders: the import takes categories from them
            (src / f.parent.name).mkdir(parents=True, exist_ok=True)
            shutil.copyfile(f, src / f.parent.name / f.name)
        shutil.copyfile(ROOT / "asset_library" / "tabletop.blend", tmp)
        subprocess.run(CLI + ["assets", "import", str(src), "--library", str(tmp)], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        tmp.replace(lib)
    return lib, [f.stem for f in files]


def fixed_preset(args, library: Path, names: list[str]) -> str:
    """The same ten imported objects every frame, as scene objects, with the pool job's table and floor."""
    objects = ", ".join(f"{{asset: {n}}}" for n in names)
    return (f"""version: 1
categories: [{{name: mug}}, {{name: bottle}}, {{name: bowl}}, {{name: can}}, {{name: book}}, {{name: box}}]
labels: [{{select: {{collection: Targets}}, category: mug}}]
scene:
  library: {library}
  objects: [{{asset: Table, collection: Stage}}, {{asset: Floor, collection: Stage}}, {objects}]
  lights: [{{name: Key, type: AREA, size: 1.0}}]
randomizers:
  objects:
    - {{type: object_pose, name: scatter, select: {{collection: Targets}}, mode: surface, surface: Table,
        rotation_mode: upright, min_spacing: 0.0, max_tries: 200}}
  camera: [{{type: camera_shell, name: orbit, look_at: [0, 0, 0], distance: 1.6, elevation: 50}}]
render: {{resolution: [{args.width}, {args.height}], samples: {args.samples}}}
output: {{frames: {args.frames}, seed: 0, exports: [coco], previews: 0}}
""")


def run(preset_text: str, work: Path, name: str) -> dict[str, float]:
    """One render process: ``total`` seconds of its frames, the ``first`` frame's, the ``median`` of the others
    (it resists the bursts of other processes on a shared machine; the mean does not), ``cpu`` seconds of the
    whole process (user + system) and ``peak`` RSS in MB."""
    preset = work / f"{name}.yaml"
    preset.write_text(preset_text)
    out = work / f"out-{name}"
    shutil.rmtree(out, ignore_errors=True)
    cmd = ["/usr/bin/time", "-v", *CLI, "render", str(preset), "--out", str(out)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode:
        sys.exit(f"{name} failed:\n{proc.stderr[-2000:]}")

    def field(label: str) -> float:
        return float(re.search(re.escape(label) + r": ([\d.]+)", proc.stderr).group(1))
    times = sorted((out / "shards").glob("times-*.tsv"))
    rows = [ln.split("\t") for t in times for ln in t.read_text().splitlines() if ln and ln[0].isdigit()]
    per_frame = {int(r[0]): float(r[1]) for r in rows}
    rest = [t for i, t in per_frame.items() if i != 0] or [0.0]
    return {"total": sum(per_frame.values()), "first": per_frame.get(0, 0.0), "median": statistics.median(rest),
            "cpu": field("User time (seconds)") + field("System time (seconds)"),
            "peak": field("Maximum resident set size (kbytes)") / 1024}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=50)
    ap.add_argument("--width", type=int, default=160)
    ap.add_argument("--height", type=int, default=120)
    ap.add_argument("--samples", type=int, default=4)
    ap.add_argument("--pool", type=int, default=200)
    ap.add_argument("--sizes", default="50,200,500,1000")
    ap.add_argument("--cache-assets", type=int, default=256)
    ap.add_argument("--reps", type=int, default=2)
    ap.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "synthkiln-bench-assets")
    args = ap.parse_args()
    args.cache.mkdir(parents=True, exist_ok=True)
    short = argparse.Namespace(**{**vars(args), "frames": max(args.frames // 3, 2)})

    pool = make_pool(args.cache, args.pool)
    got: dict[str, list[dict]] = {"pool": [], "fixed": []}
    library, names = fixed_library(args.cache, pool)
    for rep in range(args.reps):
        for side, make in (("pool", lambda a: pool_preset(pool, a)), ("fixed", lambda a: fixed_preset(a, library, names))):
            r = run(make(args), args.cache, f"{side}{rep}")
            r["cpu_short"] = run(make(short), args.cache, f"{side}{rep}s")["cpu"]
            # CPU seconds of the frames only the long run renders: start-up and the first load cancel out
            r["cpu_frame"] = (r["cpu"] - r["cpu_short"]) / (args.frames - short.frames)
            r["mean"] = (r["total"] - r["first"]) / max(args.frames - 1, 1)
            got[side].append(r)
            print(f"{side:<6} rep {rep}: {r['total']:.1f} s frames, first {r['first']:.2f} s, median frame "
                  f"{r['median'] * 1000:.0f} ms, CPU per frame {r['cpu_frame'] * 1000:.0f} ms, peak {r['peak']:.0f} MB",
                  flush=True)
    for key, what in (("mean", "wall, mean frame"), ("median", "wall, median frame"), ("cpu_frame", "CPU per frame")):
        p = statistics.median(r[key] for r in got["pool"])
        f = statistics.median(r[key] for r in got["fixed"])
        print(f"after the first load ({what}, median of {args.reps} runs): pool {p * 1000:.0f} ms, "
              f"fixed {f * 1000:.0f} ms, ratio {p / f:.3f} (target <= 1.10)")
    print(f"pool size  peak RSS (MB)  (cache_assets {args.cache_assets})")
    for n in (int(x) for x in args.sizes.split(",")):
        peak = run(pool_preset(make_pool(args.cache, n), args), args.cache, f"mem{n}")["peak"]
        print(f"{n:9d}  {peak:12.0f}", flush=True)


if __name__ == "__main__":
    main()

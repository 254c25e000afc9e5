"""SynthKiln against BlenderProc 2.8 and a bare ``bpy`` render on the shared anchor scene (issue 16).

Runs the sides of ``../shared/bench/anchor`` in turn, alternating (A B C A B C ...) so drift on a shared
machine hits every side alike, and prints frames per minute (median over ``--reps``), peak memory of the
process, and the ratios the targets are stated in. Every figure is a whole process: start-up, every frame,
and COCO at the end.

    .venv/bin/python benchmarks/bench_anchor.py                        # both jobs, every side, 2 reps
    .venv/bin/python benchmarks/bench_anchor.py --jobs tiny --sides synthkiln,bare --reps 1

The BlenderProc side needs its own venv (``requirements-lock.txt``: bpy 4.2.23 + BlenderProc 2.8), made once
under ``--cache`` (about a minute). Run with nothing else busy: the machine has 2 cores.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ANCHOR = ROOT.parent / "shared" / "bench" / "anchor"
PY = Path(sys.executable)
# job name -> (frames, width, height, samples)
JOBS = {"anchor": (200, 320, 240, 4), "tiny": (1000, 160, 120, 1)}
# synthkiln: the default (--workers auto: on 2 cores, 2 processes x 1 thread, each pinned to a core, at both sizes);
# -w1 / -w2: --workers 1 / 2. The bare floor in 1 and 2 processes.
SIDES = ("synthkiln", "synthkiln-w1", "blenderproc", "bare", "bare-x2")
ALL_SIDES = SIDES + ("synthkiln-w2",)
POOL_SIDES = ("synthkiln", "synthkiln-w2", "bare-x2")      # compared with the two-process floor


def run(cmd: list[str], cwd: Path, env: dict | None = None) -> tuple[float, int]:
    """Wall seconds and peak RSS (MiB) of one process: the largest of it and its children (wait4)."""
    with tempfile.TemporaryFile() as log:     # not a pipe: a long job's progress lines would fill it and block
        t0 = time.perf_counter()
        p = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=log)
        _, status, usage = os.wait4(p.pid, 0)
        seconds = time.perf_counter() - t0
        p.returncode = os.waitstatus_to_exitcode(status)
        log.seek(0)
        err = log.read().decode(errors="replace")
    if p.returncode:
        raise SystemExit(f"{' '.join(map(str, cmd))} failed ({p.returncode}):\n{err[-2000:]}")
    return seconds, usage.ru_maxrss // 1024


def run_pair(cmds: list[list[str]], cwd: Path) -> tuple[float, int]:
    """Two processes at once (the two-process bare floor): wall time until both end."""
    t0 = time.perf_counter()
    procs = [subprocess.Popen(c, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for c in cmds]
    peaks = [os.wait4(p.pid, 0)[2].ru_maxrss // 1024 for p in procs]
    return time.perf_counter() - t0, max(peaks)


def compile_package() -> None:
    """Bytecode for SynthKiln, as an installed wheel has: an editable checkout run with
    PYTHONDONTWRITEBYTECODE (as here) compiles 130 modules from source in every process, ~0.25 s each."""
    subprocess.run([str(PY), "-m", "compileall", "-q", str(ROOT / "__init__.py"), str(ROOT / "__main__.py"),
                    str(ROOT / "addon"), str(ROOT / "headless")], check=True, stdout=subprocess.DEVNULL)


def setup(cache: Path) -> Path:
    """The BlenderProc venv (once) and the anchor scene as a .blend for SynthKiln; returns the bproc python."""
    cache.mkdir(parents=True, exist_ok=True)
    bproc = cache / "bproc"
    if not (bproc / ".installed").exists():
        subprocess.run([shutil.which("python3.11") or "python3", "-m", "venv", str(bproc)], check=True)
        subprocess.run([str(bproc / "bin" / "pip"), "install", "-q", "-r", str(ANCHOR / "requirements-lock.txt")],
                       check=True)
        (bproc / ".installed").touch()
    setup_scene(cache)
    return bproc / "bin" / "python"


def setup_scene(cache: Path) -> None:
    """The anchor scene as a .blend (made once by the shared make_scene.py) and its recipe, under ``cache``."""
    cache.mkdir(parents=True, exist_ok=True)
    if not (cache / "bench.blend").exists():
        subprocess.run([str(PY), str(ANCHOR / "make_scene.py"), str(cache / "bench.blend")], check=True,
                       stdout=subprocess.DEVNULL)
    shutil.copy(ANCHOR / "bench.yaml", cache / "bench.yaml")


def side_command(side: str, job: str, work: Path, cache: Path, bproc_py: Path, rep: int) -> list[list[str]]:
    frames, w, h, spp = JOBS[job]
    out = work / f"{job}-{side}-{rep}"
    shutil.rmtree(out, ignore_errors=True)
    if side.startswith("synthkiln"):
        cmd = [str(PY), "-m", "synthkiln", "render", str(cache / "bench.blend"), "--preset", str(cache / "bench.yaml"),
               "--frames", str(frames), "--resolution", f"{w}x{h}", "--samples", str(spp), "--out", str(out)]
        return [cmd + (["--workers", side[-1]] if side[-3:-1] == "-w" else [])]
    if side == "blenderproc":
        return [[str(bproc_py), "bench_blenderproc.py", "--frames", str(frames), "--width", str(w), "--height", str(h),
                 "--samples", str(spp), "--no-denoise", "--no-hdf5", "--out", str(out)]]
    bare = [str(PY), "bench_bare.py", "--width", str(w), "--height", str(h), "--samples", str(spp), "--no-denoise"]
    if side == "bare":
        return [bare + ["--frames", str(frames), "--out", str(out)]]
    half = frames // 2                  # two processes, each half the frames (different seeds: same work)
    return [bare + ["--frames", str(half), "--seed", str(k), "--out", f"{out}-{k}"] for k in (0, 1)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--jobs", default="anchor,tiny", help=f"some of {', '.join(JOBS)}")
    ap.add_argument("--sides", default=",".join(SIDES), help=f"some of {', '.join(ALL_SIDES)}")
    ap.add_argument("--reps", type=int, default=2)
    ap.add_argument("--cache", type=Path, default=ROOT / ".bench")
    ap.add_argument("--quick", action="store_true", help="a twentieth of the frames: checks the harness, not speed")
    args = ap.parse_args()
    if args.quick:
        for job, (frames, *rest) in JOBS.items():
            JOBS[job] = (max(frames // 20, 2), *rest)
    jobs, sides = args.jobs.split(","), args.sides.split(",")
    compile_package()
    bproc_py = setup(args.cache) if "blenderproc" in sides else Path("/nonexistent")
    if "blenderproc" not in sides:
        setup_scene(args.cache)
    work = args.cache / "runs"
    results: dict[tuple[str, str], list[tuple[float, int]]] = {}
    for job in jobs:
        for rep in range(args.reps):
            for side in sides:              # A B C ... A B C: alternating, in one run
                cmds = side_command(side, job, work, args.cache, bproc_py, rep)
                cwd = ANCHOR if not side.startswith("synthkiln") else args.cache
                sec, peak = run(cmds[0], cwd) if len(cmds) == 1 else run_pair(cmds, cwd)
                results.setdefault((job, side), []).append((sec, peak))
                print(f"  {job} {side} rep {rep}: {sec:.1f} s, peak {peak} MiB", file=sys.stderr, flush=True)
    print(f"\n| job | side | frames/min (median of {args.reps}) | peak MiB | vs BlenderProc | vs bare, same processes |")
    print("|---|---|---|---|---|---|")
    for job in jobs:
        frames = JOBS[job][0]
        fpm = {s: frames / statistics.median(t for t, _ in results[(job, s)]) * 60 for s in sides}
        for s in sides:
            bp = f"{fpm[s] / fpm['blenderproc']:.2f}x" if "blenderproc" in fpm else "-"
            floor = fpm.get("bare-x2" if s in POOL_SIDES else "bare")
            vs = f"{fpm[s] / floor:.2f}" if floor else "-"
            peak = max(p for _, p in results[(job, s)])
            print(f"| {job} {JOBS[job][0]} fr {JOBS[job][1]}x{JOBS[job][2]} {JOBS[job][3]} spp | {s} | {fpm[s]:.0f} "
                  f"| {peak} | {bp} | {vs} |")


if __name__ == "__main__":
    main()

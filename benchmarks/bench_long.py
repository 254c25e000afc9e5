"""A long job through the worker pool: start-up, drift, memory and the cost of recycling (issue 16, P3).

Renders one job (by default the anchor scene's tiny job, 5,000 frames at 160x120 / 1 spp) with the default
``--workers auto`` and ``--recycle``, watching it from outside: every 0.5 s it samples the RSS of the pool's
parent and of each child process from /proc; afterwards it reads each child's frame times
(``shards/times-HOST-PID.tsv``) and the records' modification times. It prints:

- start-up: seconds from the command to the first record;
- frames/min over the whole process (start-up, every frame, COCO);
- drift: median frame time of the last 500 frames finished over the first 500 (target <= 1.02);
- recycling: per restart, the gap between a worker's last record of one process and the first record of the
  next, less a median frame; their sum over the workers' time (target <= 2% of the job);
- memory: the parent's peak RSS (it never imports bpy) and, per child, its RSS after a tenth of its frames,
  at its end, and its peak (flat: the end within a few MiB of the early figure, and the same for every child).

    .venv/bin/python benchmarks/bench_long.py                          # 5,000 frames, the defaults
    .venv/bin/python benchmarks/bench_long.py --frames 1000 --recycle 200 -- --workers 2
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_anchor import ANCHOR, PY  # noqa: E402  (the shared anchor scene and this interpreter)

from synthkiln.addon.core.dataset.job import Shard  # noqa: E402

TAIL = 500      # frames compared at each end of the job


def rss_kib(pid: int, field: str = "VmRSS") -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except (OSError, ValueError):
        return None
    return None


def children(pid: int) -> list[int]:
    """The render processes below ``pid`` (a child's launcher execs into the render, same pid)."""
    out = []
    for p in Path("/proc").iterdir():
        if not p.name.isdigit():
            continue
        try:
            if int((p / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                out.append(int(p.name))
        except (OSError, IndexError, ValueError):
            pass
    return out


def scene(cache: Path) -> list[str]:
    """The anchor scene as a .blend plus its preset (made once under ``cache``)."""
    cache.mkdir(parents=True, exist_ok=True)
    if not (cache / "bench.blend").exists():
        subprocess.run([str(PY), str(ANCHOR / "make_scene.py"), str(cache / "bench.blend")], check=True,
                       stdout=subprocess.DEVNULL)
    shutil.copy(ANCHOR / "bench.yaml", cache / "bench.yaml")
    return [str(cache / "bench.blend"), "--preset", str(cache / "bench.yaml")]


def run(cmd: list[str], out: Path) -> dict:
    """Run the render, sampling memory; returns what was watched."""
    log = out.parent / f"{out.name}.log"    # a file, not a pipe: one progress line a frame would fill a pipe
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=log.open("wb"))
    first = None
    samples: dict[int, list[tuple[float, int]]] = {}      # child pid -> (wall clock, RSS KiB)
    peaks: dict[int, int] = {}
    parent_peak = 0
    while proc.poll() is None:
        now = time.perf_counter() - t0
        if first is None and (out / "frames").is_dir() and any(e.name.endswith(".json")
                                                                for e in os.scandir(out / "frames")):
            first = now
        parent_peak = max(parent_peak, rss_kib(proc.pid, "VmHWM") or 0)
        for pid in (proc.pid, *children(proc.pid)):      # the parent too: it renders when there is no pool
            rss = rss_kib(pid)
            if rss is not None:
                samples.setdefault(pid, []).append((time.time(), rss))
                peaks[pid] = max(peaks.get(pid, 0), rss_kib(pid, "VmHWM") or 0)
        time.sleep(0.5 if first is not None else 0.01)
    wall = time.perf_counter() - t0
    err = log.read_text(errors="replace")
    if proc.returncode:
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{err[-2000:]}")
    return {"wall": wall, "first": first, "samples": samples, "peaks": peaks, "parent_peak": parent_peak,
            "stderr": err}


def analyse(out: Path, watched: dict) -> dict:
    total = json.loads((out / "synthkiln.json").read_text())["frames"]
    done = {int(p.stem): p.stat().st_mtime for p in (out / "frames").glob("*.json")}
    procs = {}      # pid -> [(frame, seconds)] in render order
    for tsv in (out / "shards").glob("times-*.tsv"):
        rows = [line.split("\t") for line in tsv.read_text().splitlines() if line.strip()]
        procs[int(tsv.stem.rsplit("-", 1)[1])] = [(int(f), float(s)) for f, s in rows]
    times = {f: s for rows in procs.values() for f, s in rows}
    order = sorted(done, key=done.get)
    median = statistics.median(times.values())
    n = min(TAIL, len(order) // 2)
    head = statistics.median(times[f] for f in order[:n])
    tail = statistics.median(times[f] for f in order[-n:])
    # the pool's workers: their shares, from the heartbeats (shards/K-of-N.json)
    shares = []
    for hb in (out / "shards").glob("*-of-*.json"):
        k, n_shares = hb.stem.split("-of-")
        shares.append(Shard(int(k), int(n_shares)).frames(total))
    gaps, restarts = 0.0, 0
    for share in shares:
        mine = sorted((min(f for f, _ in rows), pid) for pid, rows in procs.items() if rows[0][0] in share)
        for (_, a), (_, b) in zip(mine, mine[1:]):
            last_a = max(done[f] for f, _ in procs[a])
            first_b = min(done[f] for f, _ in procs[b])
            gaps += max(0.0, first_b - last_a - median)
            restarts += 1
    worker_time = watched["wall"] * max(1, len(shares))
    memory = []     # per child: RSS once a tenth of its frames are done (warm), at its end, and its peak
    for pid, rows in sorted(procs.items(), key=lambda kv: kv[1][0][0]):
        warm_at = sorted(done[f] for f, _ in rows)[len(rows) // 10]
        s = [rss for t, rss in watched["samples"].get(pid, []) if t >= warm_at]
        if len(s) >= 2:
            memory.append((pid, len(rows), s[0] // 1024, s[-1] // 1024, watched["peaks"].get(pid, 0) // 1024))
    return {"frames": len(done), "wall": watched["wall"], "first": watched["first"], "median_ms": median * 1000,
            "head_ms": head * 1000, "tail_ms": tail * 1000, "drift": tail / head, "n": n,
            "processes": len(procs), "workers": len(shares), "restarts": restarts, "gap_s": gaps,
            "recycle_share": gaps / worker_time, "parent_mib": watched["parent_peak"] // 1024, "memory": memory}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--frames", type=int, default=5000)
    ap.add_argument("--resolution", default="160x120")
    ap.add_argument("--samples", type=int, default=1)
    ap.add_argument("--recycle", type=int, help="--recycle for the render [default: the render's own]")
    ap.add_argument("--cache", type=Path, default=ROOT / ".bench")
    ap.add_argument("--keep", action="store_true", help="keep the dataset (under --cache/long)")
    ap.add_argument("extra", nargs="*", help="more render options, after --")
    args = ap.parse_args()
    out = args.cache / "long"
    shutil.rmtree(out, ignore_errors=True)
    cmd = [str(PY), "-m", "synthkiln", "render", *scene(args.cache), "--frames", str(args.frames),
           "--resolution", args.resolution, "--samples", str(args.samples), "--out", str(out), *args.extra]
    if args.recycle:
        cmd += ["--recycle", str(args.recycle)]
    print(" ".join(cmd[1:]), file=sys.stderr)
    r = analyse(out, run(cmd, out))
    print(f"frames {r['frames']} in {r['wall']:.1f} s = {r['frames'] / r['wall'] * 60:.0f} frames/min; "
          f"first record after {r['first']:.2f} s")
    print(f"workers {r['workers']}, processes {r['processes']}, restarts {r['restarts']}: "
          f"recycling {r['gap_s']:.1f} s = {r['recycle_share'] * 100:.2f}% of the workers' time")
    print(f"frame time median {r['median_ms']:.1f} ms; first {r['n']} {r['head_ms']:.1f} ms, last {r['n']} "
          f"{r['tail_ms']:.1f} ms: drift {r['drift']:.3f}")
    print(f"parent peak RSS {r['parent_mib']} MiB")
    print("| child pid | frames | RSS after 1/10 of its frames, MiB | RSS at its end, MiB | peak MiB |")
    print("|---|---|---|---|---|")
    for pid, frames, early, end, peak in r["memory"]:
        print(f"| {pid} | {frames} | {early} | {end} | {peak} |")
    if not args.keep:
        shutil.rmtree(out, ignore_errors=True)


if __name__ == "__main__":
    main()

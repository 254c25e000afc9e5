"""Local workers, process recycling, status, merge and crash-proof resume, on real renders.

Every job is the same 10-frame tiny render (64x48, 1 sample, no world HDRI: see tests/test_cli.py), so
each result can be compared file by file with one uninterrupted single-process run (``baseline``). To
hit a process mid-job at these speeds (~40 ms a frame), tests stop it (SIGSTOP) as soon as its first
record appears, check that frames are still missing, then do the damage (SIGKILL, deleting the folder).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.helpers import cli
from tests.helpers.cli import ok
from synthkiln.addon.core import devices
from tests.tiny import MAKE_BLEND, TINY_PRESET

pytestmark = [pytest.mark.bpy, pytest.mark.render]

ROOT = Path(__file__).resolve().parents[1]
FRAMES = 10
BASE = TINY_PRESET + f"output: {{frames: {FRAMES}}}\n"
COMPARED = ("frames", "images", "masks", "semantic", "depth")


def _env(tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("SLURM_ARRAY_TASK_ID", "JOB_COMPLETION_INDEX", "SK_SHARD") and not k.startswith("SYNTHKILN_")}
    env["TMPDIR"] = str(tmp)        # where the pool makes its children's scratch folders: checked empty after
    return env


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("workers")
    (d / "base.yaml").write_text(BASE)
    (d / "tmp").mkdir()
    return d


def sk(work: Path, *args, timeout: float = 120) -> subprocess.CompletedProcess:
    """The CLI in ``work``, with the pool's scratch folders under ``work/tmp``; never a traceback."""
    return cli.sk(*args, cwd=work, env=_env(work / "tmp"), timeout=timeout)


def start(work: Path, *args, sigint_ignored: bool = False) -> subprocess.Popen:
    """The CLI, running; ``sigint_ignored``: started as a shell's background job is (``cmd &``, nohup)."""
    ignore = (lambda: signal.signal(signal.SIGINT, signal.SIG_IGN)) if sigint_ignored else None
    return subprocess.Popen([sys.executable, "-m", "synthkiln", *map(str, args)], cwd=work, env=_env(work / "tmp"),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=ignore)


def finish(p: subprocess.Popen, timeout: float = 120) -> subprocess.CompletedProcess:
    out, err = p.communicate(timeout=timeout)
    assert "Traceback" not in out + err, f"traceback:\n{out}\n{err}"
    return subprocess.CompletedProcess(p.args, p.returncode, out, err)


def records(root: Path, frames=range(FRAMES)) -> list[int]:
    d = root / "frames"
    return [i for i in frames if (d / f"{i:06d}.json").exists()] if d.is_dir() else []


def wait_records(root: Path, proc: subprocess.Popen, frames=range(FRAMES), n: int = 1, timeout: float = 60) -> None:
    t0 = time.monotonic()
    while len(records(root, frames)) < n:
        assert proc.poll() is None, f"exited early ({proc.returncode}): {proc.communicate()}"
        assert time.monotonic() - t0 < timeout, "no record appeared"
        time.sleep(0.005)


def children(pid: int) -> dict[int, list[str]]:
    """Direct child processes of ``pid``: {pid: argv}."""
    out = {}
    for p in Path("/proc").iterdir():
        if not p.name.isdigit():
            continue
        try:
            stat = (p / "stat").read_text()
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                out[int(p.name)] = (p / "cmdline").read_bytes().decode().split("\0")
        except (OSError, IndexError, ValueError):
            pass
    return out


def shard_child(parent: int, shard: str, timeout: float = 30) -> int:
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        for pid, argv in children(parent).items():
            if shard in argv:
                return pid
        time.sleep(0.01)
    raise AssertionError(f"no child rendering shard {shard}")


def gone(pid: int, timeout: float = 10) -> bool:
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        try:
            os.kill(pid, 0)
            if Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z":
                return True     # a zombie: dead, waiting to be reaped by its (test) parent
        except (ProcessLookupError, FileNotFoundError):
            return True
        time.sleep(0.02)
    return False


def temp_files(root: Path) -> list[str]:
    return [str(p) for p in root.rglob("*.sk-tmp")]


def coco(root: Path) -> dict:
    data = json.loads((root / "exports" / "coco" / "annotations.json").read_text())
    data["info"].pop("date_created", None)
    return data


def same_dataset(a: Path, b: Path, frames=range(FRAMES), exports: bool = True) -> None:
    """Byte-identical frame files (records, images, masks, semantic, depth) and the same COCO export."""
    for sub in COMPARED:
        names = sorted(p.name for p in (a / sub).iterdir() if p.stem.isdigit() and int(p.stem) in frames)
        assert sorted(p.name for p in (b / sub).iterdir() if not p.name.startswith(".")) == names, sub
        for n in names:
            assert (a / sub / n).read_bytes() == (b / sub / n).read_bytes(), f"{sub}/{n} differs"
    if exports:
        assert coco(a) == coco(b)


def status(work: Path, root: Path) -> dict:
    return json.loads(ok(sk(work, "status", root, "--json")).stdout)


def heartbeats(root: Path) -> dict[str, dict]:
    return {p.name: json.loads(p.read_text()) for p in sorted((root / "shards").glob("*.json"))}


@pytest.fixture(scope="module")
def baseline(work) -> Path:
    """One uninterrupted run in this process alone (``--workers 1``: the default is a pool)."""
    ok(sk(work, "render", "base.yaml", "--out", "baseline", "--workers", 1))
    return work / "baseline"


def test_the_default_is_a_pool_with_the_same_files(work, baseline):
    """No --workers: auto, which on several cores renders these small frames in one process per core,
    one thread each; the files are those of a single process, and it says what it rendered."""
    out = work / "default"
    p = ok(sk(work, "render", "base.yaml", "--out", out))
    same_dataset(baseline, out)
    n = min(devices.available_cpus(), FRAMES)
    if n > 1:
        assert f"workers: {n} x CPU (1 thread)" in p.stderr
        assert len(heartbeats(out)) == n
    assert f"{FRAMES} frames rendered, 0 already done" in p.stdout
    assert p.stderr.count("device: CPU") == 1


def test_workers_and_recycling_equal_a_single_run(work, baseline):
    """2 workers, Blender restarted every 3 frames (2 processes per worker): the same dataset, one
    aggregated progress, exports written once by the pool, scratch folders removed."""
    out = work / "pool"
    p = ok(sk(work, "render", "base.yaml", "--out", out, "--workers", 2, "--recycle", 3))
    same_dataset(baseline, out)
    assert f"frames {FRAMES}/{FRAMES}" in p.stderr
    beats = heartbeats(out)
    assert list(beats) == ["0-of-2.json", "1-of-2.json"]
    assert [(b["state"], b["done"], b["processes"]) for b in beats.values()] == [("finished", 5, 2)] * 2
    s = status(work, out)
    assert (s["done"], s["planned"], s["failed"], s["temp_files"]) == (FRAMES, FRAMES, [], 0)
    assert [(r["first"], r["end"], r["state"]) for r in s["shards"]] == [(0, 5, "finished"), (5, 10, "finished")]
    assert not list((work / "tmp").glob("synthkiln-worker-*"))
    assert not temp_files(out)
    text = ok(sk(work, "status", out)).stdout
    assert f"{FRAMES}/{FRAMES} frames (100%), 2 shards: 2 finished" in text and "frames/min" in text


def test_kill9_worker_child_mid_job_is_retried(work, baseline):
    out = work / "kill-child"
    proc = start(work, "render", "base.yaml", "--out", out, "--workers", 2)
    child = shard_child(proc.pid, "1/2")
    wait_records(out, proc, range(5, 10))
    os.kill(child, signal.SIGSTOP)
    assert len(records(out, range(5, 10))) < 5, "the child finished before it could be killed"
    stem = f"{records(out, range(5, 10))[-1] + 1:06d}"
    (out / "images" / f".{stem}.png.{child}.sk-tmp").write_bytes(b"half a png")   # what a kill mid-write leaves
    os.kill(child, signal.SIGKILL)
    ok(finish(proc))
    same_dataset(baseline, out)
    assert not temp_files(out)
    beat = heartbeats(out)["1-of-2.json"]
    assert beat["state"] == "finished" and beat["processes"] == 2
    assert any("killed by SIGKILL; retrying frames 5-9" in line for line in beat["log"])


def test_kill9_render_then_rerun_resumes(work, baseline):
    """A single render process killed mid-job: status shows it dead, a rerun completes the identical
    dataset and leaves no temp file."""
    out = work / "kill-render"
    proc = start(work, "render", "base.yaml", "--out", out, "--workers", 1)
    wait_records(out, proc, n=2)        # the heartbeat is written just after a record: the first one's is there
    proc.send_signal(signal.SIGSTOP)
    done = records(out)
    assert len(done) < FRAMES
    (out / "masks" / f".{done[-1] + 1:06d}.png.{proc.pid}.sk-tmp").write_bytes(b"half a mask")
    proc.kill()
    finish(proc)
    s = status(work, out)
    assert s["shards"][0]["state"] == "dead" and s["failed"] == [0] and s["temp_files"] >= 1
    assert s["done"] < FRAMES
    p = ok(sk(work, "render", "base.yaml", "--out", out, "--workers", 1))
    assert "already done" in p.stdout
    same_dataset(baseline, out)
    assert not temp_files(out)
    assert status(work, out)["shards"][0]["state"] == "finished"


def test_kill9_pool_takes_its_children_along(work, baseline):
    out = work / "kill-parent"
    proc = start(work, "render", "base.yaml", "--out", out, "--workers", 2)
    kids = [shard_child(proc.pid, "0/2"), shard_child(proc.pid, "1/2")]
    wait_records(out, proc)
    proc.kill()
    finish(proc)
    assert all(gone(k) for k in kids), "a child outlived its killed parent"
    assert list((work / "tmp").glob(f"synthkiln-worker-{proc.pid}-*"))     # its scratch, left behind...
    ok(sk(work, "render", "base.yaml", "--out", out, "--workers", 2))
    same_dataset(baseline, out)
    assert not temp_files(out)
    assert not list((work / "tmp").glob("synthkiln-worker-*"))              # ...is cleaned by the next pool


@pytest.mark.parametrize("sigint_ignored", [False, True])    # True: a CI run under `nohup ... &` hung here
def test_ctrl_c_stops_every_child(work, sigint_ignored):
    out = work / f"ctrl-c-{sigint_ignored}"
    proc = start(work, "render", "base.yaml", "--out", out, "--workers", 2, sigint_ignored=sigint_ignored)
    kids = [shard_child(proc.pid, "0/2"), shard_child(proc.pid, "1/2")]
    wait_records(out, proc)
    if devices.allowed_cpus() and len(devices.allowed_cpus()) >= 2:     # each child on cores of its own
        with contextlib.suppress(ProcessLookupError):
            a, b = (os.sched_getaffinity(k) for k in kids)
            assert a and b and not a & b
    for k in kids:
        with contextlib.suppress(ProcessLookupError):   # one may have finished its shard already
            os.kill(k, signal.SIGSTOP)  # keep them mid-job until the parent stops them
    proc.send_signal(signal.SIGINT)
    p = finish(proc, timeout=30)
    assert p.returncode == 130
    assert "interrupted:" in p.stderr.splitlines()[-1] and "render again to resume" in p.stderr
    assert all(gone(k) for k in kids)
    assert not temp_files(out) and not list((work / "tmp").glob("synthkiln-worker-*"))
    assert {b["state"] for b in heartbeats(out).values()} <= {"interrupted", "finished"}


def test_one_shard_rendered_twice_at_once(work, baseline):
    """Two processes given the same shard (a farm retry while the first still runs): both succeed and
    the files are those of one run."""
    out = work / "twice"
    a, b = (start(work, "render", "base.yaml", "--out", out, "--shard", "1/2") for _ in range(2))
    ok(finish(a))
    ok(finish(b))
    same_dataset(baseline, out, range(5, 10), exports=False)
    assert not temp_files(out)


def _rmtree(path: Path) -> None:
    for _ in range(50):
        try:
            shutil.rmtree(path)
            return
        except FileNotFoundError:
            return
        except OSError:
            time.sleep(0.01)


def test_vanished_output_folder(work, baseline):
    """The folder deleted mid-job: one clear error line, non-zero exit, nothing re-creates the folder
    behind the user's back; rendering again starts over and completes."""
    out = work / "vanish"
    proc = start(work, "render", "base.yaml", "--out", out, "--workers", 1)
    wait_records(out, proc)
    proc.send_signal(signal.SIGSTOP)
    assert len(records(out)) < FRAMES
    _rmtree(out)
    proc.send_signal(signal.SIGCONT)
    p = finish(proc)
    assert p.returncode == 1
    last = p.stderr.strip().splitlines()[-1]
    assert last.startswith("Error: cannot write frame") and str(out) in last and "No such file or directory" in last
    assert not out.exists()
    ok(sk(work, "render", "base.yaml", "--out", out))
    same_dataset(baseline, out)


def test_unwritable_output_folder_with_workers(work, baseline):
    """frames/ turned into a file mid-job (as root, a chmod cannot make a folder unwritable): the pool
    ends with one line naming the worker, its frames and the cause; after the fix a rerun resumes."""
    out = work / "unwritable"
    proc = start(work, "render", "base.yaml", "--out", out, "--workers", 2)
    kids = [shard_child(proc.pid, "0/2"), shard_child(proc.pid, "1/2")]
    for k, frames in zip(kids, (range(0, 5), range(5, 10))):
        wait_records(out, proc, frames)
        os.kill(k, signal.SIGSTOP)      # each as soon as it has a frame: left running, a worker may finish
    assert len(records(out)) < FRAMES   # its shard (and exit) while the other one starts
    kept = len(records(out))
    os.rename(out / "frames", out / "frames.aside")
    (out / "frames").write_text("not a folder")
    for k in kids:
        os.kill(k, signal.SIGCONT)
    p = finish(proc)
    assert p.returncode == 1
    last = p.stderr.strip().splitlines()[-1]
    assert last.startswith("Error: worker ") and "failed" in last and "Not a directory" in last, last
    assert "render again to resume" in last
    (out / "frames").unlink()
    os.rename(out / "frames.aside", out / "frames")
    p = ok(sk(work, "render", "base.yaml", "--out", out, "--workers", 2))
    assert heartbeats(out)["0-of-2.json"]["state"] == "finished"
    same_dataset(baseline, out)
    assert len(records(out)) == FRAMES and kept >= 2
    assert not temp_files(out)


def test_merge_shards_rendered_apart(work, baseline):
    for k in (0, 1):
        ok(sk(work, "render", "base.yaml", "--out", f"part{k}", "--shard", f"{k}/2"))
    assert not (work / "part0" / "exports").exists()        # incomplete on its own: no exports
    p = ok(sk(work, "merge", "part0", "part1", "--out", "merged"))
    assert "merged 10 frames" in p.stderr
    assert "annotations.json" in p.stdout
    same_dataset(baseline, work / "merged")
    assert status(work, work / "merged")["done"] == FRAMES
    other = work / "other-seed"
    shutil.copytree(work / "part1", other)
    manifest = json.loads((other / "synthkiln.json").read_text())
    (other / "synthkiln.json").write_text(json.dumps({**manifest, "seed": 99}))
    p = sk(work, "merge", "part0", other, "--out", "merged2")
    assert p.returncode == 1
    assert p.stderr.strip().splitlines() == [f"Error: cannot merge {other} with part0: they were made with another "
                                             "seed (seed 99 vs 0)"]


@pytest.mark.parametrize("sig, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_signal_stops_a_single_process_render_between_frames(work, baseline, sig, code):
    """Ctrl-C (which Blender's own handler used to swallow) and SIGTERM (a farm's first word) stop a
    single-process render after the frame in hand: exit 128+signal, heartbeat "interrupted", no scratch or
    temp file left, and a rerun completes the identical dataset."""
    out = work / f"signal-{sig.name}"
    proc = start(work, "render", "base.yaml", "--out", out, "--workers", 1)
    wait_records(out, proc)
    proc.send_signal(signal.SIGSTOP)
    assert len(records(out)) < FRAMES, "the render finished before it could be stopped"
    proc.send_signal(sig)
    proc.send_signal(signal.SIGCONT)
    p = finish(proc, timeout=60)
    assert p.returncode == code, p.stderr
    last = p.stderr.strip().splitlines()[-1]
    assert f"interrupted by {sig.name}" in last and "render again to resume" in last
    assert len(records(out)) < FRAMES
    assert heartbeats(out)["0-of-1.json"]["state"] == "interrupted"
    assert not temp_files(out) and not list((work / "tmp").glob("synthkiln-*"))
    ok(sk(work, "render", "base.yaml", "--out", out, "--workers", 1))
    same_dataset(baseline, out)


def test_damaged_frames_are_found_removed_and_rerendered(work, baseline):
    """Issue 13 item 4: a truncated image (which opens but does not decode), a truncated mask, depth and
    record are each reported by check; check --repair removes those frames and a render re-renders exactly
    them, identical to an uninterrupted run."""
    out = work / "damaged"
    shutil.copytree(baseline, out)
    for rel in ("images/000002.png", "masks/000003.png", "depth/000005.exr", "frames/000007.json"):
        data = (out / rel).read_bytes()
        (out / rel).write_bytes(data[: len(data) // 2])
    p = sk(work, "check", out)
    assert p.returncode == 1
    for rel in ("images/000002.png", "masks/000003.png", "depth/000005.exr", "frames/000007.json"):
        assert rel in p.stdout, (rel, p.stdout)
    p = ok(sk(work, "check", out, "--repair"))
    assert "removed 4 damaged frames (2, 3, 5, 7)" in p.stderr
    assert records(out) == [0, 1, 4, 6, 8, 9]
    p = ok(sk(work, "render", "base.yaml", "--out", out))
    assert "4 frames rendered, 6 already done" in p.stdout + p.stderr
    same_dataset(baseline, out)
    ok(sk(work, "check", out))


@pytest.mark.parametrize("workers", [1, 2])
def test_kill9_at_random_moments_then_resume_is_identical(work, baseline, workers):
    """The reliability tier's core promise: whenever a job dies (start-up, mid-frame, mid-export, a pool
    mid-dispatch), a rerun completes the dataset an uninterrupted run makes, with nothing left over. The
    moments come from a seeded generator, so a failure reproduces."""
    import numpy as np
    rng = np.random.default_rng(1300 + workers)
    t0 = time.monotonic()
    ok(sk(work, "render", "base.yaml", "--out", work / f"timed-{workers}", "--workers", workers))
    whole = time.monotonic() - t0           # the kills fall anywhere in a job of this length
    out = work / f"random-kill-{workers}"
    for _ in range(6):
        proc = start(work, "render", "base.yaml", "--out", out, "--workers", workers)
        time.sleep(float(rng.uniform(0.05, 0.95)) * whole)
        proc.kill()
        finish(proc)
    ok(sk(work, "render", "base.yaml", "--out", out, "--workers", workers))
    same_dataset(baseline, out)
    assert not temp_files(out)
    assert not [p for p in (out / "exports").iterdir() if p.name.startswith(".")]
    assert not list((work / "tmp").glob("synthkiln-*"))


# -- render devices on a machine without a GPU (issue 20) --------------------------------------------------

def _no_gpu(work: Path) -> None:
    found = json.loads(ok(sk(work, "devices", "--json")).stdout)
    if any(found["gpus"].values()):
        pytest.skip("this machine has a GPU: benchmarks/gpu_check.sh covers it")


def test_device_gpu_without_one_is_one_message_and_nothing_written(work):
    _no_gpu(work)
    out = work / "gpu-none"
    p = sk(work, "render", "base.yaml", "--out", out, "--device", "GPU")
    cli.one_error(p, "render.device GPU: no usable GPU here", "Blender sees no GPU", "render.device: auto")
    assert not (out / "frames").exists() and not records(out)
    p = sk(work, "render", "base.yaml", "--out", out, "--device", "GPU", "--workers", "auto")   # fails before a child
    cli.one_error(p, "render.device GPU: no usable GPU here")
    assert not (out / "frames").exists()
    p = sk(work, "render", "base.yaml", "--workers", "many")     # click's own usage error, as for any bad option
    assert p.returncode == 2 and "Invalid value for '--workers': expected a number of processes" in p.stderr


def test_device_auto_is_the_cpu_with_one_warning_and_identical_files(work, baseline):
    """auto on a CPU machine: one warning line, and every frame file byte-identical to a CPU run (labels and
    pixels: two CPU runs); the manifest, the job report and the heartbeat say what it rendered on."""
    _no_gpu(work)
    out = work / "auto"
    p = ok(sk(work, "render", "base.yaml", "--out", out, "--device", "auto"))      # through the pool (auto)
    warnings = [ln for ln in p.stderr.splitlines() if "Warning" in ln or "WARNING" in ln or "CUEW" in ln]
    assert len(warnings) == 1 and "render.device auto: no usable GPU" in warnings[0], p.stderr
    assert "device: CPU: " in p.stderr and "rendered on CPU: " in p.stderr
    same_dataset(baseline, out)
    manifest = json.loads((out / "synthkiln.json").read_text())
    assert [d["device"] for d in manifest["devices"]] == ["CPU"]
    base_manifest = json.loads((baseline / "synthkiln.json").read_text())
    assert manifest["recipe_hash"] == base_manifest["recipe_hash"]     # the device does not change the job
    assert all(shard["device"].startswith("CPU: ") for shard in status(work, out)["shards"])


def test_workers_auto_on_the_cpu(work, baseline):
    """--workers auto plans processes x threads from the cores and frame size; through the pool (recycling
    every 4 frames) each worker's heartbeat names its device. Same files as one process."""
    out = work / "workers-auto"
    p = ok(sk(work, "render", "base.yaml", "--out", out, "--workers", "auto", "--recycle", 4))
    assert "workers: " in p.stderr and "CPU (" in p.stderr
    same_dataset(baseline, out)
    beats = heartbeats(out)
    assert beats and all(hb["device"].startswith("CPU") for hb in beats.values())
    text = ok(sk(work, "status", out)).stdout
    assert " on CPU" in text


# -- long jobs (issue 16, P3) --------------------------------------------------------------------------------


@pytest.mark.parametrize("source", ["base.yaml", "scene.blend"])
def test_the_pool_parent_never_loads_blender(work, baseline, source):
    """The supervising process of a pool holds no Blender (no ``bpy`` mapped, a small RSS), also for a
    .blend, whose recipe a child reads; its children are recycled (every 3 frames) and the files are those
    of a single process."""
    if source.endswith(".blend") and not (work / source).exists():
        subprocess.run([sys.executable, "-c", MAKE_BLEND, str(work / "base.yaml"), str(work / source)], check=True,
                       capture_output=True, timeout=120)
    out = work / f"parent-{source}"
    proc = start(work, "render", source, "--out", out, "--workers", 2, "--recycle", 3)
    wait_records(out, proc)
    maps = Path(f"/proc/{proc.pid}/maps").read_text()
    rss = int(next(ln for ln in Path(f"/proc/{proc.pid}/status").read_text().splitlines()
                   if ln.startswith("VmHWM:")).split()[1]) // 1024
    p = ok(finish(proc))
    assert "/bpy/" not in maps and "libcycles" not in maps, "the pool's parent imported bpy"
    assert rss < 150, f"the pool's parent peaked at {rss} MiB"
    assert f"{FRAMES} frames rendered" in p.stdout
    same_dataset(baseline, out)

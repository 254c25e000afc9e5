"""Local worker pool and process recycling for ``synthkiln render`` (DESIGN §5).

``--workers N`` splits the process's frames (the whole job, or its ``--shard``) into N contiguous
shares, one per worker; each worker renders its share as successive ``python -m synthkiln render --shard
I/M`` child processes of at most ``--recycle K`` frames, so no Blender process lives long enough to grow
in memory. Contiguous shards compose exactly (shard k of n is the union of shards k*c..k*c+c-1 of n*c),
so children need nothing but the ordinary shard contract, and the frames, files and ids are those of a
single-process run. The parent imports nothing heavy per frame: it watches the records (the truth),
aggregates progress, writes each worker's heartbeat (``shards/K-of-N.json``), retries a child that a
signal killed (a crash, the OOM killer), and writes the exports once at the end. Ctrl-C or SIGTERM stop
every child; a SIGKILLed parent takes its children with it (PR_SET_PDEATHSIG). Both the CLI (``--workers``)
and the Python API (``synthkiln.render``, always) render through here.

``--workers auto`` (the default) sizes the pool from the cores and memory this process may use (affinity,
a container's CPU quota) and the frame size (``devices.plan_workers``), counting only the frames left to
render. The parent never imports ``bpy``: it stays small (~50 MiB) however long the job."""

from __future__ import annotations

import collections
import json
import os
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import click

from ..addon.bridge.envvars import DEFER_EXPORTS  # children leave the exports to the parent
from ..addon.bridge.envvars import GPU as GPU_ENV, THREADS as THREADS_ENV
from ..addon.core import devices
from ..addon.core.devices import allowed_cpus, available_cpus
from ..addon.core.dataset import layout
from ..addon.core.dataset import status as core
from ..addon.core.errors import Interrupted, UserError
from ..addon.core.exports.build import write_exports
from ..addon.core.fsio import clean_scratch, clean_temp_files, writer_tag
from ..addon.core.dataset.job import Shard, claim_job
from ..addon.core.recipe.model import Recipe

# Frames per Blender process. A tiny job's process grows ~17 KiB a frame (1,500 frames at 64x48: 296 -> 319
# MiB) and a restart costs its worker a few seconds (4.4 s on a busy 2-core machine, where 2 restarts in 1,500
# frames at 160x120 were 1.98% of the workers' time): every 1,000 frames keeps memory within ~20 MiB of a
# fresh process and restarts near 1% of a long job (benchmarks/bench_long.py).
DEFAULT_RECYCLE = 1000
CHILD = "SYNTHKILN_WORKER_CHILD"  # set in children: they never start a pool themselves
POLL_S = 0.25
SCRATCH = "synthkiln-worker-"     # + the pool's writer tag (pid-host): a child's TMPDIR
STOP_GRACE_S = 5.0
DEVICE_LINE = "device: "          # a child's first line: what it renders on (bridge/pipeline.py)

# Runs first in every child: die with the parent (Linux), then become the render command.
_LAUNCH = ("import ctypes, os, sys\n"
           "try:\n"
           "    ctypes.CDLL(None).prctl(1, 9)  # PR_SET_PDEATHSIG = SIGKILL\n"
           "except (OSError, AttributeError):\n"
           "    pass\n"
           "if os.getppid() != int(sys.argv[1]):\n"
           "    sys.exit(137)\n"
           "os.execv(sys.executable, [sys.executable, '-m', 'synthkiln', *sys.argv[2:]])\n")


def options(f):
    """The pool's options, for the ``render`` command."""
    f = click.option("--recycle", type=click.IntRange(min=1), default=DEFAULT_RECYCLE, show_default=True,
                     help="Restart Blender after this many frames (bounded memory on long jobs).")(f)
    f = click.option("--workers", default="auto", show_default=True, callback=_workers_option, metavar="N|auto",
                     help="Local render processes, each with cores/N threads. auto: one per GPU, or on the CPU "
                          "as many as the cores, memory and frame size allow (1 thread each, pinned to its core, "
                          "up to ~390x390; 4 up to ~630x630); "
                          "1: this process alone.")(f)
    return f


def _workers_option(ctx, param, value):
    try:
        return devices.parse_workers(value)
    except UserError as e:
        raise click.BadParameter(str(e).split(": ", 1)[-1]) from None


def list_devices(python: str = sys.executable) -> dict[str, list[devices.Device]]:
    """The GPUs Blender sees here, per backend, read by a child process (``synthkiln devices --json``): the
    pool's parent never imports bpy."""
    p = subprocess.run([python, "-m", "synthkiln", "devices", "--json"], capture_output=True, text=True,
                       stdin=subprocess.DEVNULL, env={**os.environ, CHILD: "1"})
    if p.returncode:
        tail = (p.stderr or p.stdout).strip().splitlines()
        raise UserError(f"cannot list the render devices: {tail[-1] if tail else f'exit status {p.returncode}'}")
    data = json.loads(p.stdout.strip().splitlines()[-1])
    return {b: [devices.Device(b, d["name"], d["id"]) for d in found] for b, found in data["gpus"].items()}


def available_memory() -> int | None:
    """Bytes this process could still use: the kernel's MemAvailable, less under a container's limit
    (cgroup v2 ``memory.max``); None where neither can be read."""
    found = []
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                found.append(int(line.split()[1]) * 1024)
    except (OSError, ValueError, IndexError):
        pass
    try:
        cg = Path("/sys/fs/cgroup")
        limit = (cg / "memory.max").read_text().strip()
        if limit != "max":
            found.append(int(limit) - int((cg / "memory.current").read_text()))
    except (OSError, ValueError):
        pass
    return min(found) if found else None


def auto_slots(recipe: Recipe, frames: int, python: str = sys.executable,
               cpus: int | None = None) -> tuple[list[devices.WorkerSlot], devices.Choice]:
    """``--workers auto``: the device the recipe asks for on this machine, and one slot per worker
    (``devices.plan_workers``) for ``frames`` left to render. A GPU asked for where none is usable fails
    here, before any child starts."""
    rs = recipe.render
    available = list_devices(python) if rs.device != "CPU" else {}
    choice = devices.choose(rs.device, rs.gpu_backend, available)
    return devices.plan_workers(cpus or available_cpus(), tuple(rs.resolution), frames, choice,
                                available_memory()), choice


def slot_env(slot: devices.WorkerSlot) -> dict[str, str]:
    """A child's share of the machine: its CPU threads and its one GPU (by Cycles id)."""
    env = {THREADS_ENV: str(slot.threads)}
    if slot.gpu is not None:
        env[GPU_ENV] = slot.gpu.id
    return env


def wanted(workers: int, recycle: int, left: int) -> bool:
    """Whether this render goes through the pool: several workers, or more frames left than one Blender
    process should render. Never inside a pool child."""
    if os.environ.get(CHILD) == "1":
        return False
    return workers > 1 or left > recycle


def may_pool(workers: int | str, recycle: int, shard: Shard, frames: int | None) -> bool:
    """False where no recipe could make this render use the pool: inside a pool child, or one process
    (``--workers 1``, or ``auto`` for a single frame) for a known frame count within ``recycle``."""
    if os.environ.get(CHILD) == "1":
        return False
    if frames is None or len(shard.frames(frames)) > recycle:
        return True
    return workers != 1 and len(shard.frames(frames)) > 1


def frames_left(root: Path, shard: Shard, total: int) -> int:
    """Frames of ``shard`` that have no record yet in ``root``."""
    done = _done(Path(root))
    return sum(1 for i in shard.frames(total) if i not in done)


def dispatch(args: list[str], root: Path, recipe: Recipe, shard: Shard, workers: int | str, recycle: int,
             progress: Callable[[int, int, int], None] | None = None) -> bool:
    """Render through the pool if ``wanted`` (for ``auto``: if the plan has several workers, or more frames
    are left than ``recycle``), and say what was rendered; False: the caller renders in-process."""
    if os.environ.get(CHILD) == "1":
        return False
    shard = shard.of(recipe)        # a clip job: chunks of whole clips, as the children's DatasetRun splits them
    total = recipe.output.frames
    left = frames_left(root, shard, total)
    slots = None
    if workers == "auto":
        slots, choice = auto_slots(recipe, left)
        workers = len(slots)
        if not wanted(workers, recycle, left):
            return False
        if choice.warning:
            click.echo(f"Warning: {choice.warning}", err=True)
        click.echo(f"workers: {workers} x " + ", ".join(sorted({s.label() for s in slots})), err=True)
    if not wanted(workers, recycle, left):
        return False
    scope = len(shard.frames(total))
    rendered = run_workers(args, root, total, shard=shard, workers=workers, recycle=recycle, progress=progress,
                           recipe=recipe, slots=slots, log=lambda line: click.echo(line, err=True))
    click.echo(f"{rendered} frames rendered, {scope - left} already done")    # as the operator says in-process
    return True


def plan(shard: Shard, workers: int, total: int, recycle: int) -> list[tuple[Shard, list[Shard]]]:
    """Per worker: its share of ``shard`` (as a shard of the whole job) and that share's chunks of at
    most ``recycle`` frames, each again a shard of the whole job, in frame order."""
    out = []
    for w in range(workers):
        share = Shard(shard.index * workers + w, shard.count * workers, shard.unit)
        c = max(1, -(-len(share.frames(total)) // recycle))
        out.append((share, [Shard(share.index * c + j, share.count * c, shard.unit) for j in range(c)]))
    return out


@dataclass
class _Worker:
    index: int
    share: Shard
    chunks: collections.deque
    beat: core.Heartbeat
    proc: subprocess.Popen | None = None
    chunk: Shard | None = None
    tmp: str | None = None
    tries: int = 0
    cursor: int = 0             # the first frame of its chunk whose record the parent has not seen yet
    buf: bytes = b""
    lines: collections.deque = field(default_factory=lambda: collections.deque(maxlen=core.LOG_LINES))
    error: str | None = None
    env: dict = field(default_factory=dict)     # --workers auto: the child's threads and GPU
    cores: tuple[int, ...] | None = None        # where its children are pinned (devices.cpu_sets)
    said: set = field(default_factory=set)      # the pool's device lines already logged (shared)
    log: Callable[[str], None] | None = None


class _Stop(Exception):
    """SIGTERM in the parent: stop like Ctrl-C (but exit 143)."""


def _new_records(pool: list[_Worker], root: Path, total: int, done: set[int], scan: bool) -> list[int]:
    """Frames whose record appeared since the parent last looked, in frame order. A child writes its chunk's
    records in frame order, so each running child is followed from its cursor, a file test per new record;
    a listing of the folder grows with the job (5 ms at 5,000 records, four times a second: the parent's
    share of the cores grew through a long job). ``scan`` (a child has ended) lists the folder instead, which
    also finds records written in another order."""
    if scan:
        return sorted(_done(root) - done)
    new = []
    for wk in pool:
        if wk.proc is None or wk.chunk is None:
            continue
        stop = wk.chunk.frames(total).stop
        while wk.cursor < stop:
            i = wk.cursor
            if i not in done:
                if not os.path.exists(os.path.join(root, layout.record_name(i))):
                    break
                new.append(i)
            wk.cursor += 1
    return sorted(new)


def _done(root: Path) -> set[int]:
    try:
        return {int(e.name[:-5]) for e in os.scandir(root / layout.FRAMES)
                if e.name.endswith(".json") and e.name[:-5].isdigit()}
    except OSError:
        return set()


def run_workers(args: list[str], root: Path, total: int, *, shard: Shard = Shard(), workers: int = 1,
                recycle: int = DEFAULT_RECYCLE, retries: int = 2, python: str = sys.executable,
                progress: Callable[[int, int, int], None] | None = None, recipe: Recipe | None = None,
                slots: list[devices.WorkerSlot] | None = None, log: Callable[[str], None] | None = None) -> int:
    """Render ``shard`` of the job (``total`` frames) into ``root`` with a pool; ``args`` are the render
    command's arguments without ``--shard``/``--workers``/``--recycle``. Returns frames rendered.
    ``progress(frame, done, total)`` is called as each frame's record appears (done and total count the
    frames of ``shard``).

    A child that fails with an error message (a user error, a vanished folder) stops its worker and the
    job ends with that message once the other workers are done; one killed by a signal is retried up to
    ``retries`` times. Either way the finished frames stay and a rerun resumes. Ctrl-C or SIGTERM (caught
    only when called on the main thread) stop every child and raise ``Interrupted``; so does any other
    exception (one raised by ``progress`` too), after stopping every child. With ``recipe``, a folder
    holding another job is refused before any child starts (even a complete one, where none would).
    ``slots`` (one per worker, from ``auto_slots``) pin each worker's children to a GPU and a thread count;
    without them, several workers split the cores this process may use.
    ``log`` gets each render device the children name, once (what a single process prints)."""
    root = Path(root)
    if slots is None and workers > 1:       # --workers N: the cores split between them, as auto does
        slots = [devices.WorkerSlot(max(1, available_cpus() // workers))] * workers
    if recipe is not None:
        claim_job(root, recipe)
    scope = shard.frames(total)
    done = _done(root)
    start_done = counted = sum(1 for i in scope if i in done)
    pool = []
    said: set[str] = set()      # device lines already passed to ``log``
    allowed = allowed_cpus()
    pins = devices.cpu_sets(allowed, slots) if slots and allowed else None
    for w, (share, chunks) in enumerate(plan(shard, workers, total, recycle)):
        beat = core.Heartbeat(root, share, total)
        beat.data["done"] = sum(1 for i in share.frames(total) if i in done)
        wk = _Worker(w, share, collections.deque(chunks), beat, said=said, log=log)
        if slots is not None:
            wk.env, wk.cores = slot_env(slots[w]), pins[w] if pins else None
            beat.data["device"] = slots[w].label()      # until the child says what it chose
        pool.append(wk)
    clean_scratch(Path(tempfile.gettempdir()), SCRATCH)     # pools that died without cleaning up
    sel = selectors.DefaultSelector()
    main_thread = threading.current_thread() is threading.main_thread()    # signal handlers live there only
    old_term = signal.signal(signal.SIGTERM, _raise_stop) if main_thread else None
    # Ctrl-C even where this process was started with SIGINT ignored (a shell's background job, nohup)
    old_int = signal.signal(signal.SIGINT, signal.default_int_handler) if main_thread else None
    interrupted = 0
    try:
        for wk in pool:
            _next_chunk(wk, args, root, total, python, sel, done)
        scanned = 0.0
        while any(wk.proc for wk in pool):
            for key, _ in sel.select(POLL_S):
                if not _read(key.data, key.fileobj):
                    sel.unregister(key.fileobj)     # EOF: the child is ending, poll() sees it next
            ended = [wk for wk in pool if wk.proc is not None and wk.proc.poll() is not None]
            if ended or time.monotonic() - scanned >= POLL_S:   # not per child line: the parent shares the cores
                scanned = time.monotonic()
                beats = set()
                for index in _new_records(pool, root, total, done, scan=bool(ended)):
                    done.add(index)     # one at a time: records that appear together still count 1, 2, 3 ...
                    if index not in scope:
                        continue
                    counted += 1
                    for wk in pool:
                        if index in wk.share.frames(total):
                            wk.beat.frame(index, wk.beat.data["done"] + 1, write=False)
                            beats.add(wk.index)
                    if progress is not None:
                        progress(index, counted, len(scope))
                for w in sorted(beats):
                    pool[w].beat.write()
            for wk in ended:
                _finished(wk, args, root, total, python, sel, done, retries)
    except (KeyboardInterrupt, _Stop) as e:
        interrupted = signal.SIGTERM if isinstance(e, _Stop) else signal.SIGINT
        _stop(pool, root, total, sel)
    except BaseException:
        _stop(pool, root, total, sel)
        raise
    finally:
        if main_thread:
            signal.signal(signal.SIGTERM, old_term)
            signal.signal(signal.SIGINT, old_int)
        sel.close()
    done = _done(root)
    finished = sum(1 for i in scope if i in done)
    if interrupted:
        raise Interrupted(f"interrupted: {finished}/{len(scope)} frames done; render again to resume", interrupted)
    failed = [wk for wk in pool if wk.error]
    if failed:
        wk = failed[0]
        f = wk.share.frames(total)
        others = f" (and {len(failed) - 1} more workers)" if len(failed) > 1 else ""
        raise UserError(f"worker {wk.index} (frames {f.start}-{f.stop - 1}) failed{others}: {wk.error}; "
                        f"{finished}/{len(scope)} frames done, render again to resume")
    if finished < len(scope):       # every child ended well, yet frames are missing: never end silently
        raise UserError(f"{len(scope) - finished} of {len(scope)} frames have no record after the workers ended; "
                        "render again to resume")
    if len(done & set(range(total))) >= total and total:
        write_exports(root)
    return finished - start_done


def _raise_stop(signum, frame):
    raise _Stop()


def _next_chunk(wk: _Worker, args, root: Path, total: int, python: str, sel, done: set[int]) -> None:
    """Start the worker's next chunk that still has frames to render; none left: the worker finishes."""
    while wk.chunks:
        chunk = wk.chunks[0]
        if all(i in done for i in chunk.frames(total)):
            wk.chunks.popleft()
            continue
        wk.chunk, wk.tmp = chunk, tempfile.mkdtemp(prefix=f"{SCRATCH}{writer_tag()}-")
        wk.cursor = chunk.frames(total).start
        env = {**os.environ, CHILD: "1", DEFER_EXPORTS: "1", "SYNTHKILN_HEARTBEAT": "0",
               "TMPDIR": wk.tmp, **wk.env}   # Blender's and the pipeline's scratch: removed when the child ends
        cmd = [python, "-S", "-c", _LAUNCH, str(os.getpid()), "render", *args,   # -S: no site, a faster launcher
               "--shard", f"{chunk.index}/{chunk.count}"]
        cmd = devices.pinned(cmd, wk.cores, python)
        wk.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, env=env, start_new_session=True)
        os.set_blocking(wk.proc.stdout.fileno(), False)
        sel.register(wk.proc.stdout, selectors.EVENT_READ, wk)
        wk.beat.data["state"] = core.RUNNING
        wk.beat.data["processes"] = wk.beat.data.get("processes", 0) + 1
        wk.beat.write()
        return
    wk.proc = wk.chunk = None
    wk.beat.end(core.FINISHED)


def _read(wk: _Worker, f) -> bool:
    """Take what the child wrote; False at end of file."""
    try:
        data = os.read(f.fileno(), 65536)
    except (BlockingIOError, InterruptedError):
        return True
    except OSError:
        return False
    if not data:
        return False
    _feed(wk, data)
    return True


def _feed(wk: _Worker, data: bytes) -> None:
    wk.buf += data
    *lines, wk.buf = wk.buf.split(b"\n")
    for line in lines:
        text = line.decode("utf-8", "replace").rstrip()
        if text:
            wk.lines.append(text)
            wk.beat.log(text)
            if text.startswith(DEVICE_LINE):      # what the child renders on (the pipeline's device line)
                wk.beat.data["device"] = text[len(DEVICE_LINE):]
                wk.beat.write()
                if wk.log is not None and text not in wk.said:
                    wk.said.add(text)
                    wk.log(text)


def _drain(wk: _Worker, sel) -> None:
    f = wk.proc.stdout
    try:
        sel.unregister(f)
    except (KeyError, ValueError):
        pass
    while True:                     # the child has ended: what it wrote is in the pipe
        try:
            data = os.read(f.fileno(), 65536)
        except OSError:             # BlockingIOError: a grandchild still holds the pipe; don't wait for it
            break
        if not data:
            break
        _feed(wk, data)
    if wk.buf:
        wk.lines.append(wk.buf.decode("utf-8", "replace").rstrip())
        wk.buf = b""
    f.close()


def _cleanup(wk: _Worker, root: Path, total: int) -> None:
    """What a child that did not end cleanly leaves: its temp files in the dataset, its scratch folder."""
    if wk.chunk is not None:
        clean_temp_files(root, {layout.stem(i) for i in wk.chunk.frames(total)})
    if wk.tmp:
        shutil.rmtree(wk.tmp, ignore_errors=True)
        wk.tmp = None


def _finished(wk: _Worker, args, root, total, python, sel, done, retries) -> None:
    rc = wk.proc.returncode
    _drain(wk, sel)
    _cleanup(wk, root, total)
    wk.proc = None
    if rc == 0:
        wk.chunks.popleft()
        wk.tries = 0
        _next_chunk(wk, args, root, total, python, sel, done)
        return
    if rc < 0 and wk.tries < retries:
        wk.tries += 1
        wk.beat.log(f"child killed by {_signame(-rc)}; retrying frames {_span(wk.chunk, total)}")
        _next_chunk(wk, args, root, total, python, sel, done)
        return
    wk.error = _reason(rc, list(wk.lines))
    wk.beat.end(core.FAILED, wk.error)
    wk.chunk = None


def _stop(pool: list[_Worker], root: Path, total: int, sel) -> None:
    """Stop every child (each its whole process group): SIGTERM (and SIGCONT, should one be stopped),
    SIGKILL after a grace period; then clean what they leave."""
    running = [wk for wk in pool if wk.proc is not None]
    for sig in (signal.SIGTERM, signal.SIGCONT):
        for wk in running:
            _killpg(wk.proc.pid, sig)
    deadline = time.monotonic() + STOP_GRACE_S
    for wk in running:
        try:
            wk.proc.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            _killpg(wk.proc.pid, signal.SIGKILL)
            wk.proc.wait()
        _drain(wk, sel)
        wk.proc = None
    for wk in pool:
        _cleanup(wk, root, total)
        if wk.beat.data["state"] == core.RUNNING:
            wk.beat.end(core.INTERRUPTED, "interrupted")


def _killpg(pid: int, sig: int) -> None:
    try:
        os.killpg(pid, sig)
    except ProcessLookupError:
        pass


def _reason(rc: int, lines: list[str]) -> str:
    """The child's own error line (the CLI prints one), else how it ended."""
    for line in reversed(lines):
        if line.startswith("Error:"):
            return line.removeprefix("Error:").strip()
    if rc < 0:
        return f"killed by {_signame(-rc)}"
    return lines[-1] if lines else f"exit status {rc}"


def _signame(sig: int) -> str:
    try:
        return signal.Signals(sig).name
    except ValueError:
        return f"signal {sig}"


def _span(chunk: Shard | None, total: int) -> str:
    if chunk is None:
        return "?"
    f = chunk.frames(total)
    return f"{f.start}-{f.stop - 1}"

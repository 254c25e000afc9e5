"""Render Dataset in the background: Blender worker processes render shards of the job from a saved copy of the
.blend, so the artist's Blender stays responsive and its scene untouched.

Each worker is Blender itself in background mode (``bpy.app.binary_path -b <copy> --python-expr ...``) running
the very operator the headless runner drives, ``bpy.ops.synthkiln.render_dataset(shard=K/N)``, which renders
in-process; in the ``bpy`` module (no Blender binary) a worker is this Python opening the copy and registering
the add-on, as the runner does. Worker w of N renders shard ``k*N + w`` of ``n*N`` (the job's ``k/n``):
contiguous shards compose, so the frames, files and ids are a one-process run's. The pool only watches the
records (written last: the truth), like the headless pool (``headless/workers.py``), and writes the exports
once every frame has one. Stopping: SIGTERM lets a worker finish the frame it renders (``StopRequest``);
one still busy after ``STOP_GRACE_S`` is killed, and the temp files it leaves are removed, so a rerun
resumes with no half-written frame.

The viewport's label overlay computes its record the same way (``start_labels``): a worker runs
``bridge/overlay.label_record`` on a copy of the file, so even a slow label render never freezes the UI.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import bpy

from ..core import devices
from ..core.dataset import layout
from ..core.dataset.job import Shard, claim_job
from ..core.dataset.progress import eta_seconds
from ..core.errors import UserError
from ..core.exports.build import write_exports
from ..core.fsio import clean_temp_files, temp_path, writer_tag
from .envvars import DEFER_EXPORTS, THREADS

STOP_GRACE_S = 5.0
KILL = getattr(signal, "SIGKILL", signal.SIGTERM)     # Windows has no SIGKILL (terminate() is one already)
SCRATCH = "synthkiln-bg-"        # + writer tag: the pool's folder (the copy of an unsaved file, logs, TMPDIRs)
LOG_TAIL = 4000                  # bytes of a failed worker's log read back for its error line

# Every worker script starts so: die with the artist's Blender (Linux), and never outlive it.
_PRELUDE = """\
import ctypes, importlib, os, signal, sys
try:
    ctypes.CDLL(None).prctl(1, 9)   # PR_SET_PDEATHSIG = SIGKILL
except (OSError, AttributeError, TypeError):   # not Linux
    pass
if os.getppid() != {parent}:
    sys.exit(137)
import bpy
def fail(e):
    print("Error:", str(e).strip().splitlines()[-1] if str(e).strip() else type(e).__name__, flush=True)
    sys.exit(1)
"""

# A render worker: stop between frames on SIGTERM, render a shard.
_RENDER = _PRELUDE + """\
StopRequest = importlib.import_module({package!r} + ".bridge.pipeline").StopRequest
signal.signal(signal.SIGTERM, lambda signum, frame: StopRequest.request(signum))
try:
    result = bpy.ops.synthkiln.render_dataset(shard={shard!r}, overrides={overrides!r})
except Exception as e:
    fail(e)
sys.exit(0 if result == {{'FINISHED'}} or StopRequest.signum else 1)
"""

# A label worker: the record of one frame (the viewport overlay's), written atomically to ``out``.
_LABELS = _PRELUDE + """\
from pathlib import Path
try:
    record = importlib.import_module({package!r} + ".bridge.overlay").label_record(bpy.context.scene, {frame})
except Exception as e:
    fail(e)
importlib.import_module({package!r} + ".core.fsio").atomic_write_json(Path({out!r}), record)
"""

# In the bpy module: open the copy and register the add-on (as the headless runner does), then the script;
# end with os._exit (bpy 4.2 as a module crashes while the interpreter shuts down: tests/bpy/conftest.py).
_MODULE_BOOT = """\
import importlib, os, sys, bpy
bpy.ops.wm.open_mainfile(filepath=sys.argv[1])
importlib.import_module(sys.argv[2]).register()
try:
    exec(sys.argv[3])
    code = 0
except SystemExit as e:
    code = e.code if isinstance(e.code, int) else 1
sys.stdout.flush()
sys.stderr.flush()
os._exit(code)
"""


def worker_shards(shard: Shard, workers: int) -> list[Shard]:
    """Worker w's shard of the whole job: shard ``k*N + w`` of ``n*N`` for the job's ``k/n``."""
    return [Shard(shard.index * workers + w, shard.count * workers, shard.unit) for w in range(workers)]


@dataclass
class _Worker:
    shard: Shard
    proc: subprocess.Popen
    log: Path
    tmp: Path
    error: str = ""


@dataclass
class Pool:
    """Worker processes rendering ``scope`` (frame indices) of the job in ``root``; ``poll`` as often as
    convenient (a modal timer): it never blocks."""
    root: Path
    total: int
    scope: range
    workers: list[_Worker] = field(default_factory=list)
    folder: Path | None = None            # the pool's scratch: logs, TMPDIRs (and the copy of an unsaved file)
    copy: Path | None = None              # the copy of the .blend the workers opened
    done: set = field(default_factory=set)
    start_done: int = 0
    t0: float = 0.0
    stopping_since: float | None = None
    last_frame: int | None = None

    def finished_in_scope(self) -> int:
        return sum(1 for i in self.scope if i in self.done)

    def poll(self) -> list[int]:
        """The frames whose records appeared since the last poll, in order."""
        new = sorted(set(layout.record_indices(self.root)) - self.done)
        self.done.update(new)
        new = [i for i in new if i in self.scope]
        if new:
            self.last_frame = new[-1]
        return new

    def running(self) -> bool:
        return any(w.proc.poll() is None for w in self.workers)

    def eta(self) -> float:
        rendered = self.finished_in_scope() - self.start_done
        return eta_seconds(time.perf_counter() - self.t0, rendered, len(self.scope) - self.finished_in_scope())

    def errors(self) -> list[str]:
        """One line per worker that failed (exit status not 0), with its own error line when it printed one."""
        out = []
        for w in self.workers:
            rc = w.proc.poll()
            if rc not in (None, 0) and self.stopping_since is None:
                f = w.shard.frames(self.total)
                out.append(f"worker for frames {f.start}-{f.stop - 1} failed: {_reason(rc, w.log)}")
        return out

    def stop(self) -> None:
        """Ask every worker to stop after its current frame (SIGTERM); ``reap`` kills the late ones."""
        if self.stopping_since is None:
            self.stopping_since = time.monotonic()
            for w in self.workers:
                _signal(w.proc, signal.SIGTERM)

    def reap(self, force: bool = False) -> bool:
        """While stopping: kill workers past the grace period (all, with ``force``); True once none runs."""
        late = force or (self.stopping_since is not None and time.monotonic() - self.stopping_since > STOP_GRACE_S)
        if late:
            for w in self.workers:
                if w.proc.poll() is None:
                    _signal(w.proc, KILL)
                    w.proc.wait()
        return not self.running()

    def close(self, kill: bool = False) -> list[Path]:
        """After the workers ended (or killing them, with ``kill``): remove what they left, then write the
        exports when every frame of the job has its record. Returns the export files written."""
        for w in self.workers:
            if w.proc.poll() is None:
                _signal(w.proc, KILL)
                w.proc.wait()
        clean_temp_files(self.root, {layout.stem(i) for i in self.scope})
        if self.copy is not None:
            self.copy.unlink(missing_ok=True)
            self.copy = None
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)
            self.folder = None
        self.poll()
        if not kill and self.stopping_since is None and len(self.done & set(range(self.total))) >= self.total > 0:
            return write_exports(self.root)
        return []


def _signal(proc: subprocess.Popen, sig: int) -> None:
    """``sig`` to a worker's whole process group (its own session); where there are no process groups
    (Windows) to the worker, where both signals end it at once."""
    try:
        if hasattr(os, "killpg"):
            os.killpg(proc.pid, sig)
        elif proc.poll() is None:
            proc.terminate()
    except (ProcessLookupError, PermissionError):
        pass


def _reason(rc: int, log: Path) -> str:
    try:
        with open(log, "rb") as f:
            f.seek(max(0, os.path.getsize(log) - LOG_TAIL))
            lines = f.read().decode("utf-8", "replace").splitlines()
    except OSError:
        lines = []
    for line in reversed(lines):
        if line.startswith("Error:"):
            return line.removeprefix("Error:").strip()
    if rc < 0:
        return f"killed by signal {-rc}"
    return next((line for line in reversed(lines) if line.strip()), f"exit status {rc}")


def _save_copy(folder: Path, what: str) -> Path:
    """The open file as it is now, saved as a copy next to the .blend (its relative paths stay valid), or in
    the pool's folder when it was never saved; the open file and its name are not touched."""
    if bpy.data.filepath:
        copy = temp_path(Path(bpy.data.filepath).with_suffix(f".synthkiln-{what}.blend"))
    else:
        copy = folder / "unsaved.blend"
    try:
        bpy.ops.wm.save_as_mainfile(filepath=str(copy), copy=True, check_existing=False)
    except RuntimeError as e:
        raise UserError(f"cannot save a copy of the file for the workers at {copy}: {e}") from None
    return copy


def _command(blend: Path, script: str, addon_package: str) -> list[str]:
    """Blender in background mode on ``blend`` running ``script``; this Python in the ``bpy`` module."""
    binary = bpy.app.binary_path        # "" in the bpy module
    if binary and os.access(binary, os.X_OK):
        return [binary, "-b", str(blend), "--python-exit-code", "1", "--python-expr", script]
    return [sys.executable, "-c", _MODULE_BOOT, str(blend), addon_package, script]


def _launcher() -> str:
    """The Python that launches a worker pinned and niced (``devices.pinned``): Blender's own; none where this
    is not a Python (an embedding that cannot run ``-c``), and the workers start as they are."""
    return sys.executable if Path(sys.executable).name.startswith("python") else ""


def start(root: Path, total: int, shard: Shard, workers: int, overrides: str, addon_package: str,
          recipe, cwd: Path) -> Pool:
    """Start ``workers`` background workers on ``shard`` of the job (``total`` frames) into ``root``.
    ``addon_package``: the add-on's package (``...synthkiln.addon``), whose bridge the workers import."""
    claim_job(root, recipe)           # a folder holding another job is refused before anything starts
    shard = shard.of(recipe)                  # whole clips per worker
    scope = shard.frames(total)
    workers = max(1, min(workers, len(scope) or 1))
    folder = Path(tempfile.mkdtemp(prefix=f"{SCRATCH}{writer_tag()}-"))
    pool = Pool(Path(root), total, scope, folder=folder, t0=time.perf_counter())
    pool.poll()
    pool.start_done = pool.finished_in_scope()
    try:
        copy = pool.copy = _save_copy(folder, "workers")
        threads = max(1, (os.cpu_count() or 1) // workers) if workers > 1 else 0
        allowed = devices.allowed_cpus()
        cores = devices.cpu_sets(allowed, [devices.WorkerSlot(threads)] * workers) if threads and allowed else None
        for w, sh in enumerate(worker_shards(shard, workers)):
            if all(i in pool.done for i in sh.frames(total)):
                continue
            script = _RENDER.format(parent=os.getpid(), package=addon_package, shard=f"{sh.index}/{sh.count}",
                                    overrides=overrides)
            tmp = folder / f"tmp-{w}"
            tmp.mkdir()
            env = {**os.environ, DEFER_EXPORTS: "1", "TMPDIR": str(tmp)}
            if threads:
                env[THREADS] = str(threads)
            log = folder / f"worker-{w}.log"
            with open(log, "wb") as out:
                cmd = devices.pinned(_command(copy, script, addon_package), cores[w] if cores else None,
                                     _launcher(), devices.BACKGROUND_NICE)
                proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, env=env,
                                        cwd=str(cwd), start_new_session=True)
            pool.workers.append(_Worker(sh, proc, log, tmp))
    except BaseException:
        pool.close(kill=True)
        raise
    return pool


@dataclass
class LabelJob:
    """One frame's record computed by a worker (``bridge/overlay.label_record`` on a copy of the file), so the
    label render never freezes the UI; ``result`` as often as convenient, ``close`` when done or replaced."""
    frame: int
    proc: subprocess.Popen
    folder: Path
    copy: Path

    @property
    def out(self) -> Path:
        return self.folder / "record.json"

    def result(self) -> dict | None:
        """None while the worker runs, then the record; a failed worker is a UserError saying why."""
        rc = self.proc.poll()
        if rc is None:
            return None
        if rc == 0 and self.out.is_file():
            return json.loads(self.out.read_text())
        raise UserError(f"labels of frame {self.frame}: {_reason(rc, self.folder / 'worker.log')}")

    def close(self) -> None:
        if self.proc.poll() is None:
            _signal(self.proc, KILL)
            self.proc.wait()
        self.copy.unlink(missing_ok=True)
        shutil.rmtree(self.folder, ignore_errors=True)


def start_labels(frame: int, addon_package: str, cwd: Path) -> LabelJob:
    """Start a worker computing the record of frame ``frame`` of the open scene's recipe."""
    folder = Path(tempfile.mkdtemp(prefix=f"{SCRATCH}{writer_tag()}-"))
    copy = None
    try:
        copy = _save_copy(folder, "labels")
        script = _LABELS.format(parent=os.getpid(), package=addon_package, frame=int(frame),
                                out=str(folder / "record.json"))
        with open(folder / "worker.log", "wb") as out:
            cmd = devices.pinned(_command(copy, script, addon_package), None, _launcher(), devices.BACKGROUND_NICE)
            proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out,
                                    stderr=subprocess.STDOUT, env={**os.environ, "TMPDIR": str(folder)},
                                    cwd=str(cwd), start_new_session=True)
    except BaseException:
        if copy is not None:
            copy.unlink(missing_ok=True)
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return LabelJob(frame, proc, folder, copy)

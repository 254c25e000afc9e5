"""Render devices and local worker plans, decided without Blender (issue 20).

The bridge asks Blender which Cycles devices it sees and hands the list here; ``choose`` decides what a
process renders on, and ``plan_workers`` how ``--workers auto`` splits a machine. Both are pure, so every
case (no GPU, the wrong backend, four cards) is unit-tested without Blender or a GPU. The cores a process may
use (``available_cpus``, ``allowed_cpus``) are read here too, for the headless pool and the sidebar's workers.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from .errors import UserError

# auto's order of preference: OptiX (RT cores) before plain CUDA on the same NVIDIA card, then AMD, Intel, Apple.
BACKENDS = ("OPTIX", "CUDA", "HIP", "ONEAPI", "METAL")
DEVICE_SETTINGS = ("CPU", "GPU", "auto")
BACKEND_SETTINGS = ("auto",) + BACKENDS


@dataclass(frozen=True)
class Device:
    """One GPU as Cycles lists it: ``id`` is Cycles' persistent id (it carries the PCI address)."""
    backend: str
    name: str
    id: str


@dataclass(frozen=True)
class Choice:
    """What a process renders on: the CPU, or these GPUs of one backend."""
    device: str                       # "CPU" or "GPU"
    backend: str | None = None
    devices: tuple[Device, ...] = ()
    warning: str | None = None        # auto fell back to the CPU: say so once

    def label(self) -> str:
        """One short line for logs, heartbeats and the job report."""
        names = ", ".join(d.name for d in self.devices)
        if self.device == "CPU":
            return f"CPU: {names}" if names else "CPU"
        return f"{self.backend}: {names}"

    def to_data(self) -> dict:
        """The manifest's form (ids left out: they name one machine's PCI slots)."""
        return {"device": self.device, "backend": self.backend, "names": [d.name for d in self.devices]}


def _seen(available: dict[str, list[Device]]) -> str:
    found = [f"{b} ({', '.join(d.name for d in available[b])})" for b in BACKENDS if available.get(b)]
    return "Blender sees " + ("; ".join(found) if found else "no GPU (no CUDA, OptiX, HIP, oneAPI or Metal device)")


def choose(device: str, backend: str, available: dict[str, list[Device]], wanted: list[str] | None = None) -> Choice:
    """Pick the render device from ``render.device``/``render.gpu_backend`` and what Blender reports.

    ``available``: GPUs per backend. ``wanted``: Cycles ids a worker-pool child was given (one GPU
    each); an id no longer listed is an error unless exactly one GPU of the backend is visible (a farm
    that already hid the others, e.g. through CUDA_VISIBLE_DEVICES). ``GPU`` where none fits raises one
    clear ``UserError``; ``auto`` falls back to the CPU with a warning."""
    if device not in DEVICE_SETTINGS:
        raise UserError(f"render.device: {device!r} is not allowed: expected one of {', '.join(DEVICE_SETTINGS)}")
    if backend not in BACKEND_SETTINGS:
        raise UserError(f"render.gpu_backend: {backend!r} is not allowed: expected one of "
                        f"{', '.join(BACKEND_SETTINGS)}")
    if device == "CPU":
        return Choice("CPU")
    order = BACKENDS if backend == "auto" else (backend,)
    picked = next((b for b in order if available.get(b)), None)
    if picked is None:
        what = "a GPU" if backend == "auto" else f"a {backend} GPU"
        if device == "auto":
            return Choice("CPU", warning=f"render.device auto: no usable {what[2:]}; {_seen(available)}; "
                                         "rendering on the CPU")
        raise UserError(f"render.device GPU: no usable {what[2:]} here; {_seen(available)}. Set render.device: "
                        "auto to fall back to the CPU, or CPU")
    gpus = list(available[picked])
    if wanted:
        chosen = [d for d in gpus if d.id in wanted]
        if len(chosen) < len(set(wanted)):
            if len(gpus) == 1 and len(set(wanted)) == 1:
                chosen = gpus           # the farm already hid every other card
            else:
                missing = sorted(set(wanted) - {d.id for d in gpus})
                raise UserError(f"GPU {', '.join(missing)} (given to this worker) is not among the {picked} devices "
                                f"Blender sees: {', '.join(d.id for d in gpus)}")
        gpus = chosen
    return Choice("GPU", picked, tuple(gpus))


# -- --workers auto -----------------------------------------------------------------------------------------

# Threads per process on the CPU, by frame size (pixels). Cycles spreads one frame's pixels over every thread,
# but the per-frame rest (scene sync, saving, decoding passes, labels, files) runs on one: small frames leave
# threads idle between renders, so they run as several processes, each pinned to its own cores (cpu_sets);
# large frames keep all threads busy in one. Measured on 2 cores (issue 16, anchor scene, one run of
# benchmarks/bench_anchor.py each): pinned, 2 processes x 1 thread beat 1 x 2 at 160x120 / 1 spp (1,768 vs
# 1,234 frames/min) and at 320x240 / 4 spp too (202 vs 187; unpinned, 1 x 2 had won there, 148-157 vs 105-140).
# So frames up to ~390x390 get one thread each. Threads: 160x120 and 320x240 1, 640x480 4, ~1080p 8.
CPU_THREADS_BY_PIXELS = ((150_000, 1), (400_000, 4), (2_200_000, 8))
# A GPU worker's CPU threads: scene sync and the per-frame work above, enough to keep its card fed.
MAX_THREADS_PER_GPU = 8
# What one CPU worker process may need (Blender, the scene, one frame's buffers): auto never starts more
# processes than the available memory holds at this size each (a tiny job's process peaks near 330 MiB).
PROCESS_MEMORY = 768 * 2**20


@dataclass(frozen=True)
class WorkerSlot:
    """One local worker: its CPU threads and, on a GPU machine, the one GPU it renders on."""
    threads: int
    gpu: Device | None = None

    def label(self) -> str:
        if self.gpu:
            return f"{self.gpu.backend}: {self.gpu.name}"
        return f"CPU ({self.threads} thread{'s' if self.threads > 1 else ''})"


def cpu_threads_per_process(cpus: int, resolution: tuple[int, int]) -> int:
    pixels = resolution[0] * resolution[1]
    for limit, threads in CPU_THREADS_BY_PIXELS:
        if pixels <= limit:
            return min(threads, cpus)
    return cpus


def plan_workers(cpus: int, resolution: tuple[int, int], frames: int, choice: Choice,
                 memory: int | None = None) -> list[WorkerSlot]:
    """What ``--workers auto`` starts: one process per GPU of ``choice`` (each pinned to its card, CPU
    threads split between them), or on the CPU ``cpus // threads`` processes with the threads each that
    ``cpu_threads_per_process`` gives for the frame size, no more than ``memory`` bytes (None: unknown)
    hold at ``PROCESS_MEMORY`` each. Never more processes than ``frames`` (those left to render); spare
    cores go to the processes' threads."""
    cpus, frames = max(1, cpus), max(1, frames)
    if choice.device == "GPU" and choice.devices:
        gpus = list(choice.devices)[:frames]
        threads = max(1, min(MAX_THREADS_PER_GPU, cpus // len(gpus)))
        return [WorkerSlot(threads, g) for g in gpus]
    n = max(1, min(cpus // cpu_threads_per_process(cpus, resolution), frames))
    if memory is not None:
        n = max(1, min(n, memory // PROCESS_MEMORY))
    return [WorkerSlot(cpus // n) for _ in range(n)]


def allowed_cpus() -> list[int] | None:
    """The cores this process may run on, in order, where that is the whole story: None without
    ``sched_getaffinity`` or under a CPU quota (cores shared with others: pinning would crowd them)."""
    if not hasattr(os, "sched_getaffinity"):
        return None
    cores = sorted(os.sched_getaffinity(0))
    return cores if len(cores) == available_cpus() else None


def available_cpus() -> int:
    """The cores this process may use: its affinity (Slurm's --cpus-per-task, taskset) and a container's
    CPU quota (cgroup v2 ``cpu.max``, what Kubernetes' CPU limit sets), not the machine's count."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    try:
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()[:2]
        if quota != "max":
            cpus = min(cpus, max(1, int(quota) // int(period)))
    except (OSError, ValueError):
        pass
    return max(1, cpus)


def cpu_sets(allowed: list[int], slots: list[WorkerSlot]) -> list[tuple[int, ...]] | None:
    """Disjoint cores per CPU worker, taken in order from ``allowed`` (the cores this process may use): each
    worker's process is pinned to as many cores as it has threads. Measured (issue 16): unpinned, a
    1-thread Blender keeps a second, idle TBB thread spinning in ``sched_yield``; two such processes on 2
    cores then fell, at random, from ~74 to ~140 ms a frame each. Pinned, TBB sizes itself to the one core.
    None (no pinning) for GPU workers, or where the threads do not fit the cores one to one."""
    if not slots or any(s.gpu is not None for s in slots) or sum(s.threads for s in slots) > len(allowed):
        return None
    out, k = [], 0
    for s in slots:
        out.append(tuple(allowed[k:k + s.threads]))
        k += s.threads
    return out


# Run by a launcher Python: pin this process to the cores in argv[1] (none: ""), lower its priority by argv[2],
# then become the command after them. Both before Blender starts, so every thread it makes inherits them.
PIN_EXEC = ("import os, sys\n"
            "cores, nice = sys.argv[1], int(sys.argv[2])\n"
            "if cores and hasattr(os, 'sched_setaffinity'):\n"
            "    os.sched_setaffinity(0, {int(c) for c in cores.split(',')})\n"
            "if nice and hasattr(os, 'nice'):\n"
            "    os.nice(nice)\n"
            "os.execv(sys.argv[3], sys.argv[3:])\n")

# The sidebar's background workers run this much nicer than the artist's Blender: with every core rendering,
# the UI (a window opening, a menu, a screenshot under software GL) would otherwise wait its turn for seconds.
BACKGROUND_NICE = 10


def pinned(cmd: list[str], cores: tuple[int, ...] | None, python: str, nice: int = 0) -> list[str]:
    """``cmd`` started on ``cores`` (``cpu_sets``) and ``nice`` steps lower in priority, before it runs a line:
    through ``python -S`` running ``PIN_EXEC``, so Blender's thread pools size themselves to those cores.
    ``cmd`` itself with neither, or with no ``python`` to launch through."""
    if not python or (not cores and not nice):
        return list(cmd)
    return [python, "-S", "-c", PIN_EXEC, ",".join(map(str, cores or ())), str(int(nice)), *cmd]


def parse_workers(text: str | int) -> int | str:
    """``--workers``: a count (1 or more) or ``auto``."""
    if isinstance(text, int) or str(text).strip().isdigit():
        n = int(text)
        if n >= 1:
            return n
    elif str(text).strip().lower() == "auto":
        return "auto"
    raise UserError(f"--workers {text!r}: expected a number of processes (1 or more) or auto")

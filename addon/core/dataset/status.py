"""Job progress from a dataset folder alone (DESIGN §5): what each shard has done, what is left, how fast.

Records are the truth (a frame is done when its record exists, it is written last); shard heartbeats
(``shards/K-of-N.json``, written by a rendering process or the local worker pool) only add who renders
what, where, and how it ended. Also here: joining shard folders rendered apart into one dataset.
Pure Python: the farm front ends and ``synthkiln status`` read it without Blender.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

from . import layout
from ..errors import DatasetError
from ..fsio import TEMP_MARK, atomic_write_json, process_alive, temp_path
from .job import Shard, manifest_unit, read_manifest
from .records import dataset_path, parse_record, read_bytes, record_file

SHARDS = layout.SHARDS
HEARTBEAT = re.compile(r"(\d+)-of-(\d+)\.json")
RUNNING, FINISHED, FAILED, INTERRUPTED = "running", "finished", "failed", "interrupted"
DEAD, STALE = "dead", "stale"  # read-side states: a "running" heartbeat whose process is gone / silent
STALE_AFTER = 900  # s without a heartbeat before a running shard on another host counts as stale
LOG_LINES = 12


def heartbeat_path(root: Path, shard: Shard) -> Path:
    return Path(root) / SHARDS / f"{shard.index}-of-{shard.count}.json"


def done_in(indices: Iterable[int], frames: range) -> int:
    return sum(1 for i in indices if i in frames)


def unfinished_shards(root: Path, shards: int, frames: int | None = None) -> list[int]:
    """Shard indices K (of ``shards``) with at least one planned frame that has no record: what
    ``farm retry`` resubmits. ``frames``: the job's frame count (default: the manifest's; a folder not
    yet created or without a manifest has every shard unfinished)."""
    root = Path(root)
    try:
        manifest = read_manifest(root)
    except DatasetError:
        manifest = None
        if frames is None:
            return list(range(shards))
    if frames is None:
        frames = int(manifest.get("frames") or 0)
    unit = manifest_unit(manifest) if manifest else 1      # a clip job's shards are whole clips
    done = set(layout.record_indices(root)) if (root / layout.FRAMES).is_dir() else set()
    return [k for k in range(shards) if any(i not in done for i in Shard(k, shards, unit).frames(frames))]


# -- heartbeats ---------------------------------------------------------------------------------------------
class Heartbeat:
    """One shard's heartbeat file: rewritten (atomically) on each event, never required for correctness.

    Writes are best effort: a vanished or unwritable output folder must surface as the render's own
    error, not as a heartbeat traceback. Only a dataset (its manifest exists) gets one: a job that fails
    before it starts leaves the folder as it was, and a deleted dataset folder is never re-created."""

    def __init__(self, root: Path, shard: Shard, total: int, *, pid: int | None = None):
        frames = shard.frames(total)
        self.path = heartbeat_path(root, shard)
        self.frames = frames
        self.data: dict[str, Any] = {
            "shard": shard.index, "count": shard.count, "first": frames.start, "end": frames.stop,
            "planned": len(frames), "done": 0, "rendered": 0, "last_frame": None,
            "pid": os.getpid() if pid is None else pid, "host": socket.gethostname(),
            "started": time.time(), "updated": time.time(), "state": RUNNING, "message": None, "log": []}

    def frame(self, index: int, done: int | None = None, write: bool = True) -> None:
        d = self.data
        d["rendered"] += 1
        d["last_frame"] = index
        if done is not None:
            d["done"] = done
        if write:
            self.write()

    def log(self, line: str) -> None:
        self.data["log"] = (self.data["log"] + [line.rstrip()])[-LOG_LINES:]

    def end(self, state: str, message: str | None = None, lines: Iterable[str] = ()) -> None:
        for line in lines:
            self.log(line)
        self.data["state"], self.data["message"] = state, message
        self.write()

    def write(self) -> None:
        self.data["updated"] = time.time()
        if not (self.path.parent.parent / layout.MANIFEST).is_file():
            return
        try:
            self.path.parent.mkdir(exist_ok=True)
            atomic_write_json(self.path, self.data, indent=1)
        except OSError:
            self._write_in_place()

    def _write_in_place(self) -> None:
        """The last word on a full disk, where no temp file can be made: the heartbeat rewritten in the
        blocks it already has (compact, so it fits), so ``status`` says why the shard failed instead of
        showing it dead with no reason. Not atomic, which a hint may be; a reader skips a torn one."""
        data = json.dumps({**self.data, "log": self.data["log"][-3:]}, separators=(",", ":")).encode()
        try:
            with open(self.path, "r+b") as f:
                f.write(data)
                f.truncate()
        except OSError:
            pass


def read_heartbeats(root: Path) -> list[dict]:
    """Every readable heartbeat, by (count, shard); unreadable ones are skipped (a heartbeat is a hint)."""
    out = []
    folder = Path(root) / SHARDS
    if not folder.is_dir():
        return out
    for p in folder.iterdir():
        m = HEARTBEAT.fullmatch(p.name)
        if not m:
            continue
        try:
            data = json.loads(p.read_text())
        except (OSError, ValueError):
            continue
        if isinstance(data, dict) and isinstance(data.get("first"), int) and isinstance(data.get("end"), int):
            data["shard"], data["count"] = int(m.group(1)), int(m.group(2))
            out.append(data)
    return sorted(out, key=lambda d: (d["count"], d["shard"]))


def live_state(hb: dict, now: float, host: str | None = None) -> str:
    """The heartbeat's state, with a "running" one whose process is gone shown as dead (same host) or
    stale (another host, silent for ``STALE_AFTER``)."""
    state = hb.get("state") or RUNNING
    if state != RUNNING:
        return state
    if hb.get("host") == (host or socket.gethostname()) and isinstance(hb.get("pid"), int):
        return RUNNING if process_alive(hb["pid"]) else DEAD
    return STALE if now - float(hb.get("updated") or 0) > STALE_AFTER else RUNNING


# -- frame times -------------------------------------------------------------------------------------------
TIMES = re.compile(r"times-.+\.tsv")


def record_frame_time(root: Path, index: int, seconds: float) -> None:
    """Append one rendered frame's wall time to this process's log, ``shards/times-HOST-PID.tsv``, for the
    dataset report. Append-only and one file per process: no rewrite per frame, no shared writers.
    Best effort, like heartbeats: timing never fails a render."""
    folder = Path(root) / SHARDS
    try:
        folder.mkdir(exist_ok=True)
        with open(folder / f"times-{socket.gethostname()}-{os.getpid()}.tsv", "a", encoding="ascii") as f:
            f.write(f"{index}\t{seconds:.4f}\n")
    except OSError:
        pass


def read_frame_times(root: Path) -> dict[int, float]:
    """Seconds per frame from every process's log (a frame rendered twice keeps its later time)."""
    out: dict[int, float] = {}
    folder = Path(root) / SHARDS
    logs = sorted((p for p in folder.iterdir() if TIMES.fullmatch(p.name)), key=lambda p: p.stat().st_mtime) \
        if folder.is_dir() else []
    for p in logs:
        try:
            lines = p.read_text("ascii").splitlines()
        except (OSError, ValueError):
            continue
        for line in lines:
            frame, _, seconds = line.partition("\t")
            try:
                out[int(frame)] = float(seconds)
            except ValueError:
                continue        # a line cut short by a crash
    return out


# -- the status of a job ---------------------------------------------------------------------------------
@dataclass
class ShardStatus:
    shard: int
    count: int
    first: int
    end: int
    done: int
    state: str                      # running/finished/failed/interrupted/dead/stale, or "planned" (no heartbeat)
    host: str | None = None
    pid: int | None = None
    last_frame: int | None = None
    message: str | None = None
    log: list[str] = field(default_factory=list)
    device: str | None = None       # what the shard renders on ("OPTIX: NVIDIA ...", "CPU: ..."), from its heartbeat

    @property
    def planned(self) -> int:
        return self.end - self.first


@dataclass
class JobStatus:
    root: str
    planned: int
    done: int
    shards: list[ShardStatus]
    frames_per_minute: float | None
    eta_s: float | None
    temp_files: int

    def as_json(self) -> dict:
        d = {k: v for k, v in self.__dict__.items() if k != "shards"}
        d["shards"] = [{**s.__dict__, "planned": s.planned} for s in self.shards]
        d["failed"] = [s.shard for s in self.shards if s.state in (FAILED, DEAD, STALE)]
        return d


def throughput(mtimes: list[float], window: int = 100) -> float | None:
    """Frames per minute over the newest ``window`` records (all shards together: they interleave)."""
    recent = sorted(mtimes)[-window:]
    if len(recent) < 2 or recent[-1] <= recent[0]:
        return None
    return 60.0 * (len(recent) - 1) / (recent[-1] - recent[0])


def job_status(root: Path, shards: int | None = None, now: float | None = None) -> JobStatus:
    """Per-shard progress of the job in ``root``: from the heartbeats, or, with ``shards`` (or none
    written), an even split into that many (default 1) contiguous shards."""
    root = Path(root)
    manifest = read_manifest(root)
    now = time.time() if now is None else now
    planned = int(manifest.get("frames") or 0)
    mtimes: dict[int, float] = {}
    frames_dir = root / layout.FRAMES
    if frames_dir.is_dir():
        for e in os.scandir(frames_dir):
            stem, _, ext = e.name.partition(".")
            if ext == "json" and stem.isdigit():
                try:
                    mtimes[int(stem)] = e.stat().st_mtime
                except OSError:
                    pass
    beats = [] if shards else read_heartbeats(root)
    rows = []
    if beats:
        for hb in beats:
            frames = range(hb["first"], hb["end"])
            rows.append(ShardStatus(hb["shard"], hb["count"], hb["first"], hb["end"], done_in(mtimes, frames),
                                    live_state(hb, now), hb.get("host"), hb.get("pid"), hb.get("last_frame"),
                                    hb.get("message"), list(hb.get("log") or []),
                                    hb.get("device") if isinstance(hb.get("device"), str) else None))
    else:
        n = shards or 1
        for k in range(n):
            frames = Shard(k, n).frames(planned)
            done = done_in(mtimes, frames)
            rows.append(ShardStatus(k, n, frames.start, frames.stop, done,
                                    FINISHED if done == len(frames) else "planned"))
    done = done_in(mtimes, range(planned))
    fpm = throughput(list(mtimes.values()))
    running = any(s.state == RUNNING for s in rows) or (not beats and mtimes and now - max(mtimes.values()) < 300)
    eta = 60.0 * (planned - done) / fpm if fpm and running and done < planned else None
    temps = sum(1 for _ in root.rglob(f"*{TEMP_MARK}"))
    return JobStatus(str(root), planned, done, rows, fpm, eta, temps)


def format_status(st: JobStatus) -> list[str]:
    """Human-readable lines: one per shard, failed ones with their last log lines, then the totals."""
    pct = 100.0 * st.done / st.planned if st.planned else 100.0
    states: dict[str, int] = {}
    for s in st.shards:
        states[s.state] = states.get(s.state, 0) + 1
    lines = [f"{st.root}: {st.done}/{st.planned} frames ({pct:.0f}%), {len(st.shards)} shard"
             f"{'s' if len(st.shards) != 1 else ''}: " + ", ".join(f"{n} {k}" for k, n in sorted(states.items()))]
    for s in st.shards:
        where = f"  {s.host} pid {s.pid}" if s.host else ""
        last = f"  last frame {s.last_frame}" if s.last_frame is not None else ""
        on = f"  on {s.device}" if s.device else ""
        lines.append(f"  shard {s.shard}/{s.count}  frames {s.first}-{s.end - 1}  {s.done}/{s.planned}  "
                     f"{s.state}{where}{last}{on}")
        if s.state in (FAILED, DEAD, STALE, INTERRUPTED):
            if s.message:
                lines.append(f"    {s.message}")
            lines.extend(f"    | {ln}" for ln in s.log[-5:])
    rate = f"{st.frames_per_minute:.1f} frames/min" if st.frames_per_minute else "throughput unknown"
    eta = f", ETA {_duration(st.eta_s)}" if st.eta_s is not None else ""
    temps = f"; {st.temp_files} temp files (cleaned when their frames render again)" if st.temp_files else ""
    lines.append(f"{rate}{eta}{temps}")
    return lines


def _duration(s: float) -> str:
    s = int(round(s))
    return f"{s // 3600}h{s % 3600 // 60:02d}m" if s >= 3600 else (f"{s // 60}m{s % 60:02d}s" if s >= 60 else f"{s}s")


# -- merge ------------------------------------------------------------------------------------------------
def _place(src: Path, dst: Path) -> str:
    """Put ``src`` at ``dst`` atomically: a hard link where the file system allows, else a copy."""
    tmp = temp_path(dst)
    try:
        try:
            os.link(src, tmp)
            how = "hardlink"
        except FileNotFoundError:
            raise DatasetError(f"{src}: missing (listed in its frame record)") from None
        except OSError:
            shutil.copyfile(src, tmp)
            how = "copy"
        os.replace(tmp, dst)
    finally:
        tmp.unlink(missing_ok=True)
    return how


def merge_datasets(sources: list[Path], out: Path, report: Callable[[str], None] | None = None) -> dict[str, int]:
    """Join datasets rendered apart (shards in their own folders) into ``out``: every record keeps its
    frame index, so ids are the ones a single run gives. Refuses sources made by another recipe or seed,
    and a frame two sources hold with different records. Each frame's files are placed before its
    record (the record last, as in a render), so an interrupted merge resumes. Returns counts."""
    out = Path(out)
    manifests = [(Path(s), read_manifest(Path(s))) for s in sources]
    if not manifests:
        raise DatasetError("merge: name at least one dataset folder")
    ref_root, ref = manifests[0]
    layout.claim_output(out)
    if (out / layout.MANIFEST).exists():
        manifests.append((out, read_manifest(out)))
    for root, m in manifests[1:]:
        for key in ("recipe_hash", "seed"):
            if m.get(key) != ref.get(key):
                raise DatasetError(f"cannot merge {root} with {ref_root}: they were made with another "
                                   f"{'recipe' if key == 'recipe_hash' else 'seed'} "
                                   f"({key} {m.get(key)!r} vs {ref.get(key)!r})")
    manifest = dict(ref)
    manifest["frames"] = max(int(m.get("frames") or 0) for _, m in manifests)
    manifest["created"] = min(str(m.get("created") or "") for _, m in manifests) or ref.get("created")
    counts = {"frames": 0, "already": 0, "hardlink": 0, "copy": 0}
    try:
        out.mkdir(parents=True, exist_ok=True)
        atomic_write_json(out / layout.MANIFEST, manifest, indent=1)
        owner: dict[int, Path] = {}
        for src in (Path(s) for s in sources):
            if src.resolve() == out.resolve():
                continue
            for index in layout.record_indices(src):
                rec_path = src / layout.record_name(index)
                rec_bytes = read_bytes(rec_path)
                dst_rec = out / layout.record_name(index)
                if dst_rec.exists():
                    if dst_rec.read_bytes() != rec_bytes:
                        first = owner.get(index, out)
                        raise DatasetError(f"frame {index} differs between {first} and {src}: "
                                           "they cannot be shards of one job")
                    counts["already"] += 1
                    continue
                rec = parse_record(rec_bytes, rec_path, index)
                for key, rel in (rec.get("files") or {}).items():
                    dst = out / record_file(rel, str(rec_path), f"files.{key}")
                    dst.parent.mkdir(parents=True, exist_ok=True)
                    counts[_place(dataset_path(src, rel, str(rec_path), f"files.{key}"), dst)] += 1
                dst_rec.parent.mkdir(parents=True, exist_ok=True)
                _place(rec_path, dst_rec)
                owner[index] = src
                counts["frames"] += 1
            if (src / SHARDS).is_dir():     # frame-time logs (names are unique per host and process)
                for log in (p for p in (src / SHARDS).iterdir() if TIMES.fullmatch(p.name)):
                    (out / SHARDS).mkdir(exist_ok=True)
                    if not (out / SHARDS / log.name).exists():
                        shutil.copyfile(log, out / SHARDS / log.name)
    except OSError as e:
        raise DatasetError(f"cannot merge into {out}: {e.strerror or e}"
                           f"{f' ({e.filename})' if getattr(e, 'filename', None) else ''}") from None
    if report:
        report(f"merged {counts['frames']} frames into {out} ({counts['already']} already there; "
               f"files: {counts['hardlink']} hard links, {counts['copy']} copies)")
    return counts

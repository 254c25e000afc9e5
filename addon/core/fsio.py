"""Atomic file writes: a reader (or a resumed job) never sees a half-written file.

Every file goes to a temp name in the same folder and is moved into place with ``os.replace``;
``clean_temp_files`` removes what a crashed frame left behind.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import socket
import stat
import time
from pathlib import Path

TEMP_MARK = ".sk-tmp"
STAGING = ".partial-"  # .<folder>.partial-<writer>: a folder being built (an export format, a report)
OLD = ".old-"          # .<folder>.old-<writer>-<n>: a replaced folder on its way out
STALE_AFTER = 6 * 3600  # s: another host's leftover untouched this long was left by a crash
# This host, short: temp and staging names carry "<pid>-<host>", so a resume can tell a dead writer of
# its own host (removed at once) from a writer on another host sharing the folder (whose pid means nothing here).
HOST = hashlib.blake2b(socket.gethostname().encode(), digest_size=3).hexdigest()


def writer_tag() -> str:
    return f"{os.getpid()}-{HOST}"


def temp_path(path: Path) -> Path:
    """The temp name used while ``path`` is written (same folder, so the rename is atomic)."""
    return path.with_name(f".{path.name}.{writer_tag()}{TEMP_MARK}")


def writer_state(tag: str) -> str:
    """"self", "alive" or "dead" for a writer of this host; "foreign" for another host's (or no tag)."""
    pid, _, host = tag.partition("-")
    if not pid.isdigit() or (host and host != HOST):
        return "foreign"
    if int(pid) == os.getpid():
        return "self"
    if not host:        # a name from before host tags: its pid is only a guess
        return "alive" if process_alive(int(pid)) else "foreign"
    return "alive" if process_alive(int(pid)) else "dead"


class UnreadableFile(Exception):
    """Why ``read_regular`` refused a file: ``kind`` is missing, folder, special (device, pipe, socket),
    too_big or error; callers word it for their users (a preset, a record)."""

    def __init__(self, kind: str, size: int | None = None, reason: str = ""):
        super().__init__(kind)
        self.kind, self.size, self.reason = kind, size, reason


def read_regular(path: Path, limit: int) -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes. Opened without blocking and checked on the
    open file, so a pipe or ``/dev/zero`` in its place is refused rather than read forever, and nothing can
    be swapped in between the check and the read."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except FileNotFoundError:
        raise UnreadableFile("missing") from None
    except IsADirectoryError:
        raise UnreadableFile("folder") from None
    except OSError as e:
        raise UnreadableFile("error", reason=e.strerror or str(e)) from None
    try:
        st = os.fstat(fd)
        if stat.S_ISDIR(st.st_mode):
            raise UnreadableFile("folder")
        if not stat.S_ISREG(st.st_mode):
            raise UnreadableFile("special")
        if st.st_size > limit:
            raise UnreadableFile("too_big", st.st_size)
        with os.fdopen(fd, "rb", closefd=False) as f:
            data = f.read(limit + 1)
    except OSError as e:
        raise UnreadableFile("error", reason=e.strerror or str(e)) from None
    finally:
        os.close(fd)
    if len(data) > limit:       # grew after the check
        raise UnreadableFile("too_big")
    return data


def atomic_write_bytes(path: Path, data: bytes) -> None:
    path = Path(path)
    tmp = temp_path(path)
    try:
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def atomic_write_json(path: Path, obj: object, *, indent: int | None = None) -> None:
    text = json.dumps(obj, indent=indent, sort_keys=False, separators=None if indent else (",", ":"))
    atomic_write_bytes(path, text.encode("utf-8"))


def clean_temp_files(root: Path, stems: set[str] | None = None) -> int:
    """Delete temp files left by an interrupted run under ``root``; returns how many.

    A temp file (``.<name>.<pid>-<host>.sk-tmp``) whose writer was a process of this host that has died
    goes at once, whatever it was (a frame's file, a heartbeat). One whose writer still runs is kept: a
    second process given the same shard must not pull a file from under the first one's write. A file
    written on another host goes only when it belongs to ``stems`` (frames this process now owns) or, with
    no ``stems``, always; shards sharing a folder never delete each other's files in flight."""
    count = 0
    for p in Path(root).rglob(f"*{TEMP_MARK}"):
        name = p.name[1:]
        state = writer_state(name[: -len(TEMP_MARK)].rsplit(".", 1)[-1])
        if state == "alive" or state == "foreign" and stems is not None and name.split(".", 1)[0] not in stems:
            continue
        p.unlink(missing_ok=True)
        count += 1
    return count


def process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:          # EPERM: alive, another user's
        return True
    return True


def clean_scratch(folder: Path, prefix: str) -> None:
    """Scratch folders ``<prefix><pid>-<host>-*`` in ``folder`` whose writer, a process of this host, died."""
    try:
        entries = list(Path(folder).glob(f"{prefix}*-{HOST}-*"))
    except OSError:
        return
    for p in entries:       # <pid>-<host>-<mkdtemp's suffix, which has no "-">
        if p.is_dir() and writer_state(p.name[len(prefix):].rsplit("-", 1)[0]) == "dead":
            shutil.rmtree(p, ignore_errors=True)


# -- whole folders ----------------------------------------------------------------------------------------
def staging_dir(final: Path) -> Path:
    """Where a folder is built before ``swap_in`` puts it at ``final`` (same parent, so renames are atomic)."""
    return final.with_name(f".{final.name}{STAGING}{writer_tag()}")


def clean_staging(folder: Path) -> None:
    """Staging and replaced folders left in ``folder`` by a crash: a dead writer's of this host at once,
    another host's once untouched for ``STALE_AFTER`` (it may be exporting into the same folder now)."""
    if not folder.is_dir():
        return
    now = time.time()
    for p in folder.iterdir():
        if not (p.name.startswith(".") and (STAGING in p.name or OLD in p.name) and p.is_dir()):
            continue
        tag = p.name.rsplit(STAGING, 1)[-1] if STAGING in p.name else p.name.rsplit(OLD, 1)[-1].rsplit("-", 1)[0]
        state = writer_state(tag)
        try:
            if state == "dead" or state == "foreign" and now - p.stat().st_mtime > STALE_AFTER:
                shutil.rmtree(p, ignore_errors=True)
        except OSError:
            pass


def swap_in(staging: Path, final: Path) -> None:
    """Replace ``final`` (a folder) by ``staging``: the old folder is moved aside first, so the window
    without one is two renames long. Two shards finishing together may both export (the same content):
    whoever loses a rename race moves the winner's copy aside and tries again."""
    olds = []
    for attempt in range(5):
        try:
            if final.exists():
                old = final.with_name(f".{final.name}{OLD}{writer_tag()}-{attempt}")
                os.replace(final, old)
                olds.append(old)
            os.replace(staging, final)
            break
        except OSError:
            if attempt == 4:
                raise
    for old in olds:
        shutil.rmtree(old, ignore_errors=True)

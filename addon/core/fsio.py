"""Atomic file writes: a reader (or a resumed job) never sees a half-written file.

Every file goes to a temp name in the same folder and is moved into place with ``os.replace``;
``clean_temp_files`` removes what a crashed frame left behind.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

TEMP_MARK = ".sk-tmp"
STAGING = ".partial-"  # .<folder>.partial-<pid>: a folder being built (an export format, a report)


def temp_path(path: Path) -> Path:
    """The temp name used while ``path`` is written (same folder, so the rename is atomic)."""
    return path.with_name(f".{path.name}.{os.getpid()}{TEMP_MARK}")


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

    With ``stems``, only temp files of those frames (``.<stem>.<ext>.<pid>.sk-tmp``) go: shards sharing
    a folder must never delete each other's files in flight. A temp file whose writer (the pid in its
    name) still runs on this host is kept too: a second process given the same shard (a farm retry while
    the first still runs) must not pull a file from under the first one's write."""
    count = 0
    for p in Path(root).rglob(f"*{TEMP_MARK}"):
        name = p.name[1:]
        if stems is not None and name.split(".", 1)[0] not in stems:
            continue
        pid = name[: -len(TEMP_MARK)].rsplit(".", 1)[-1]
        if pid.isdigit() and int(pid) != os.getpid() and _writer_alive(int(pid)):
            continue
        p.unlink(missing_ok=True)
        count += 1
    return count


def _writer_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:          # EPERM: alive, another user's
        return True
    return True


# -- whole folders ----------------------------------------------------------------------------------------
def staging_dir(final: Path) -> Path:
    """Where a folder is built before ``swap_in`` puts it at ``final`` (same parent, so renames are atomic)."""
    return final.with_name(f".{final.name}{STAGING}{os.getpid()}")


def swap_in(staging: Path, final: Path) -> None:
    """Replace ``final`` (a folder) by ``staging``: the old folder is moved aside first, so the window
    without one is two renames long. Two shards finishing together may both export (the same content):
    whoever loses a rename race moves the winner's copy aside and tries again."""
    olds = []
    for attempt in range(5):
        try:
            if final.exists():
                old = final.with_name(f".{final.name}.old-{os.getpid()}-{attempt}")
                os.replace(final, old)
                olds.append(old)
            os.replace(staging, final)
            break
        except OSError:
            if attempt == 4:
                raise
    for old in olds:
        shutil.rmtree(old, ignore_errors=True)

"""Fixtures of the reliability tier: a small full-able file system (tmpfs, root only)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest


@pytest.fixture
def small_disk(tmp_path):
    """A 4 MiB tmpfs at ``tmp_path/disk``; ``fill()`` then leaves it with no free byte."""
    mnt = tmp_path / "disk"
    mnt.mkdir()
    if os.geteuid() != 0:
        pytest.skip("a full disk is simulated with a tmpfs, which only root can mount")
    p = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mnt)], capture_output=True, text=True)
    if p.returncode:
        pytest.skip(f"cannot mount a tmpfs here: {p.stderr.strip()}")

    class Disk:
        path = mnt

        @staticmethod
        def fill() -> None:
            with open(mnt / "filler", "wb", buffering=0) as f:
                for size in (65536, 4096, 512, 1):      # to the last byte the file system gives
                    try:
                        while True:
                            f.write(b"\0" * size)
                    except OSError:
                        pass

        @staticmethod
        def free() -> None:
            (mnt / "filler").unlink(missing_ok=True)

    try:
        yield Disk
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)

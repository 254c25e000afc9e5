"""Leftovers of crashed writers: a resume removes a dead writer's temp files and staging folders of this
host at once (whatever they were for), keeps a live writer's, and leaves another host's alone unless the
frames are its own now."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from synthkiln.addon.core import fsio


def dead_pid() -> int:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def test_temp_names_carry_pid_and_host(tmp_path):
    assert fsio.temp_path(tmp_path / "a.json").name == f".a.json.{os.getpid()}-{fsio.HOST}.sk-tmp"
    assert fsio.writer_state(f"{os.getpid()}-{fsio.HOST}") == "self"
    assert fsio.writer_state(f"{dead_pid()}-{fsio.HOST}") == "dead"
    assert fsio.writer_state(f"{os.getppid()}-{fsio.HOST}") == "alive"
    assert fsio.writer_state(f"{dead_pid()}-ffffff" if fsio.HOST != "ffffff" else "1-000000") == "foreign"


def test_dead_writers_temp_files_go_at_once_live_and_foreign_ones_stay(tmp_path):
    shards, frames = tmp_path / "shards", tmp_path / "frames"
    shards.mkdir()
    frames.mkdir()
    other = "ffffff" if fsio.HOST != "ffffff" else "000000"
    dead_heartbeat = shards / f".1-of-2.json.{dead_pid()}-{fsio.HOST}.sk-tmp"    # not a frame of ours
    live = frames / f".000004.png.{os.getppid()}-{fsio.HOST}.sk-tmp"
    foreign_other = frames / f".000005.png.{os.getppid()}-{other}.sk-tmp"
    foreign_ours = frames / f".000001.png.{os.getppid()}-{other}.sk-tmp"
    for p in (dead_heartbeat, live, foreign_other, foreign_ours):
        p.write_bytes(b"half")
    assert fsio.clean_temp_files(tmp_path, {"000001"}) == 2
    assert not dead_heartbeat.exists() and not foreign_ours.exists()
    assert live.exists() and foreign_other.exists()


def test_staging_of_a_dead_writer_goes_at_once(tmp_path):
    other = "ffffff" if fsio.HOST != "ffffff" else "000000"
    dead = tmp_path / f".coco{fsio.STAGING}{dead_pid()}-{fsio.HOST}"
    dead_old = tmp_path / f".yolo{fsio.OLD}{dead_pid()}-{fsio.HOST}-0"
    live = tmp_path / f".voc{fsio.STAGING}{os.getppid()}-{fsio.HOST}"
    young_foreign = tmp_path / f".kitti{fsio.STAGING}{os.getppid()}-{other}"
    old_foreign = tmp_path / f".preview{fsio.STAGING}{os.getppid()}-{other}"
    user = tmp_path / "coco"
    for p in (dead, dead_old, live, young_foreign, old_foreign, user):
        p.mkdir()
    past = time.time() - fsio.STALE_AFTER - 10
    os.utime(old_foreign, (past, past))
    fsio.clean_staging(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(n.name for n in (live, young_foreign, user))


def test_swap_in_leaves_no_old_folder(tmp_path):
    final = tmp_path / "coco"
    final.mkdir()
    (final / "old.json").write_text("1")
    staging = fsio.staging_dir(final)
    staging.mkdir()
    (staging / "new.json").write_text("2")
    fsio.swap_in(staging, final)
    assert [p.name for p in tmp_path.iterdir()] == ["coco"]
    assert [p.name for p in final.iterdir()] == ["new.json"]


def test_scratch_of_a_dead_writer_on_this_host_goes(tmp_path):
    other = "ffffff" if fsio.HOST != "ffffff" else "000000"
    dead = tmp_path / f"synthkiln-{dead_pid()}-{fsio.HOST}-abc"
    live = tmp_path / f"synthkiln-{os.getppid()}-{fsio.HOST}-def"
    foreign = tmp_path / f"synthkiln-{dead_pid()}-{other}-ghi"
    pool = tmp_path / f"synthkiln-worker-{dead_pid()}-{fsio.HOST}-jkl"     # the worker pool's own prefix
    for p in (dead, live, foreign, pool):
        p.mkdir()
    fsio.clean_scratch(tmp_path, "synthkiln-")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in (live, foreign, pool))
    fsio.clean_scratch(tmp_path, "synthkiln-worker-")                      # what the pool runs
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in (live, foreign))

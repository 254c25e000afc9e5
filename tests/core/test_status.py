"""Job status, retry bookkeeping and merge from dataset folders alone (no Blender, synthetic datasets)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from synthkiln.addon.core.dataset import layout
from synthkiln.addon.core.dataset import status as st
from synthkiln.addon.core.errors import DatasetError
from synthkiln.addon.core.dataset.job import Shard


def make_dataset(root: Path, frames: int, done, *, seed: int = 0, recipe_hash: str = "r1", salt: str = "") -> Path:
    """A dataset folder with a manifest and records (plus their image/mask files) for ``done``."""
    layout.make_dirs(root)
    (root / layout.MANIFEST).write_text(json.dumps({"frames": frames, "seed": seed, "recipe_hash": recipe_hash,
                                                   "created": "2026-01-01T00:00:00Z", "categories": []}))
    for i in done:
        files = {"image": layout.image_name(i), "mask": layout.mask_name(i)}
        for rel in files.values():
            (root / rel).write_bytes(f"{rel}{salt}".encode())
        (root / layout.record_name(i)).write_text(json.dumps({"frame": i, "files": files, "salt": salt}))
    return root


def dead_pid() -> int:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def test_unfinished_shards(tmp_path):
    root = make_dataset(tmp_path / "d", 10, [0, 1, 2, 3, 4, 7, 8, 9])     # 5, 6 missing
    assert st.unfinished_shards(root, 2) == [1]                            # shards 0-4 | 5-9
    assert st.unfinished_shards(root, 5) == [2, 3]                         # 4-5, 6-7
    assert st.unfinished_shards(root, 1) == [0]
    assert st.unfinished_shards(root, 10) == [5, 6]
    assert st.unfinished_shards(root, 3, frames=5) == []                   # a smaller job is complete
    assert st.unfinished_shards(tmp_path / "nothing-yet", 3) == [0, 1, 2]


def test_shard_progress_without_heartbeats(tmp_path):
    root = make_dataset(tmp_path / "d", 8, [0, 1, 2, 3, 5])
    s = st.job_status(root, shards=2)
    assert (s.planned, s.done) == (8, 5)
    assert [(r.first, r.end, r.done, r.state) for r in s.shards] == [(0, 4, 4, "finished"), (4, 8, 1, "planned")]
    assert s.as_json()["failed"] == []


def test_heartbeats_states_and_failure_lines(tmp_path):
    root = make_dataset(tmp_path / "d", 9, [0, 1, 2, 3])
    ok = st.Heartbeat(root, Shard(0, 3), 9)
    for i in range(3):
        ok.frame(i, i + 1)
    ok.end(st.FINISHED)
    bad = st.Heartbeat(root, Shard(1, 3), 9)
    bad.frame(3, 1)
    bad.end(st.FAILED, "cannot write frame 4 to /x: No space left on device", ["frames 1/3", "Error: disk full"])
    gone = st.Heartbeat(root, Shard(2, 3), 9, pid=dead_pid())     # a running shard whose process died (kill -9)
    gone.write()
    s = st.job_status(root)
    assert [(r.shard, r.count, r.done, r.state) for r in s.shards] == [(0, 3, 3, "finished"), (1, 3, 1, "failed"),
                                                                       (2, 3, 0, "dead")]
    assert s.as_json()["failed"] == [1, 2]
    text = "\n".join(st.format_status(s))
    assert "4/9 frames" in text and "No space left on device" in text and "| Error: disk full" in text
    assert s.eta_s is None                                   # nothing runs: no ETA


def test_stale_heartbeat_of_another_host(tmp_path):
    hb = {"state": "running", "host": "elsewhere", "pid": 1, "updated": 1000.0}
    assert st.live_state(hb, 1000.0 + st.STALE_AFTER - 1) == "running"
    assert st.live_state(hb, 1000.0 + st.STALE_AFTER + 1) == "stale"
    assert st.live_state({**hb, "host": "here", "pid": os.getpid()}, 1e12, host="here") == "running"


def test_throughput_and_eta(tmp_path):
    assert st.throughput([10.0]) is None
    assert st.throughput([0.0, 30.0, 60.0]) == pytest.approx(2.0)     # 2 intervals in 60 s
    root = make_dataset(tmp_path / "d", 10, range(4))
    now = time.time()
    for k, i in enumerate(range(4)):                                 # a record every 6 s: 10 frames/min
        os.utime(root / layout.record_name(i), (now - 18 + 6 * k, now - 18 + 6 * k))
    beat = st.Heartbeat(root, Shard(0, 1), 10)
    beat.write()                                                     # this process: running
    s = st.job_status(root)
    assert s.frames_per_minute == pytest.approx(10.0)
    assert s.eta_s == pytest.approx(36.0)                            # 6 frames left at 10/min
    assert "10.0 frames/min, ETA 36s" in st.format_status(s)[-1]


def test_heartbeat_only_in_a_dataset(tmp_path):
    """Never re-creates a deleted dataset folder, never writes into a folder a failed job left alone."""
    beat = st.Heartbeat(tmp_path / "gone", Shard(0, 1), 4)
    beat.frame(0, 1)
    assert not (tmp_path / "gone").exists()
    (tmp_path / "empty").mkdir()
    st.Heartbeat(tmp_path / "empty", Shard(0, 1), 4).end(st.FAILED, "HDRI 'nope' not found")
    assert not list((tmp_path / "empty").iterdir())


def test_unreadable_heartbeats_are_skipped(tmp_path):
    root = make_dataset(tmp_path / "d", 4, [0])
    (root / st.SHARDS).mkdir()
    (root / st.SHARDS / "0-of-2.json").write_text("{half")
    (root / st.SHARDS / "notes.txt").write_text("x")
    assert st.read_heartbeats(root) == []


def test_merge_keeps_frame_ids_and_is_idempotent(tmp_path):
    a = make_dataset(tmp_path / "a", 6, [0, 1, 2])
    b = make_dataset(tmp_path / "b", 6, [3, 4, 5])
    out = tmp_path / "out"
    counts = st.merge_datasets([a, b], out)
    assert counts["frames"] == 6 and counts["hardlink"] == 12
    assert layout.record_indices(out) == list(range(6))
    for i in range(6):
        src = a if i < 3 else b
        assert (out / layout.record_name(i)).read_bytes() == (src / layout.record_name(i)).read_bytes()
        assert os.path.samefile(out / layout.image_name(i), src / layout.image_name(i))
    assert json.loads((out / layout.MANIFEST).read_text())["frames"] == 6
    assert st.merge_datasets([a, b], out)["already"] == 6          # again: nothing to do
    assert not list(out.rglob("*.sk-tmp"))


def test_merge_refuses_other_recipes_seeds_and_conflicting_frames(tmp_path):
    a = make_dataset(tmp_path / "a", 4, [0, 1])
    with pytest.raises(DatasetError, match="another seed"):
        st.merge_datasets([a, make_dataset(tmp_path / "s", 4, [2], seed=7)], tmp_path / "o1")
    with pytest.raises(DatasetError, match="another recipe"):
        st.merge_datasets([a, make_dataset(tmp_path / "r", 4, [2], recipe_hash="r2")], tmp_path / "o2")
    with pytest.raises(DatasetError, match="frame 1 differs between"):
        st.merge_datasets([a, make_dataset(tmp_path / "c", 4, [1], salt="other")], tmp_path / "o3")
    with pytest.raises(DatasetError, match="not a SynthKiln dataset"):
        st.merge_datasets([a, tmp_path], tmp_path / "o4")


def test_merge_refuses_files_outside_the_dataset(tmp_path):
    a = make_dataset(tmp_path / "a", 1, [0])
    (a / layout.record_name(0)).write_text(json.dumps({"frame": 0, "files": {"image": "../../etc/passwd"}}))
    with pytest.raises(DatasetError, match="outside the dataset"):
        st.merge_datasets([a], tmp_path / "o")


def test_cleaning_spares_temp_files_of_live_writers(tmp_path):
    from synthkiln.addon.core.fsio import clean_temp_files
    root = make_dataset(tmp_path / "d", 4, [])
    writer = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        live = root / layout.IMAGES / f".000001.png.{writer.pid}{st.TEMP_MARK}"
        dead = root / layout.IMAGES / f".000002.png.{dead_pid()}{st.TEMP_MARK}"
        live.write_bytes(b"being written")
        dead.write_bytes(b"left by a crash")
        assert clean_temp_files(root, {"000001", "000002"}) == 1
        assert live.exists() and not dead.exists()
    finally:
        writer.kill()
        writer.wait()

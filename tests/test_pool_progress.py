"""The worker pool's progress counts frames one at a time, even when several records appear between two of
its polls (a fast child): a progress bar, the API's callback and the heartbeats each see 1, 2, 3 ... (the
pool once reported [2, 2, 3] when two records landed together; seen as a flaky API test). And the pool's
decisions that need no child: whether a render may need it at all, and how many frames are left."""

from __future__ import annotations

import json
import stat
from pathlib import Path

from synthkiln.addon.core.dataset.job import Shard
from synthkiln.headless.workers import CHILD, frames_left, may_pool, run_workers


def test_records_that_appear_together_still_count_one_by_one(tmp_path):
    root = tmp_path / "ds"
    (root / "frames").mkdir(parents=True)
    # A stand-in for `python -m synthkiln render --shard 0/2`: every record of the shard at once, then exit 0.
    child = tmp_path / "child"
    child.write_text("#!/bin/sh\n" + "".join(
        f"echo '{json.dumps({'frame': i})}' > '{root}/frames/{i:06d}.json'\n" for i in range(3)))
    child.chmod(child.stat().st_mode | stat.S_IXUSR)
    seen = []
    rendered = run_workers([], root, 6, shard=Shard(0, 2), python=str(child),
                           progress=lambda frame, done, total: seen.append((frame, done, total)))
    assert rendered == 3
    assert seen == [(0, 1, 3), (1, 2, 3), (2, 3, 3)]


def test_records_are_counted_while_the_child_runs_and_in_any_order(tmp_path):
    """The parent follows a running child's records as they appear (it does not wait for the child to end):
    the stand-in child waits for a file that only the progress callback makes once frame 2 is counted (it
    gives up after 20 s, and then fails). Records written out of frame order (4 before 3) still count, in
    frame order, by the time the child has ended."""
    root = tmp_path / "ds"
    (root / "frames").mkdir(parents=True)
    go = tmp_path / "go"
    write = lambda i: f"echo '{json.dumps({'frame': i})}' > '{root}/frames/{i:06d}.json'\n"     # noqa: E731
    child = tmp_path / "child"
    child.write_text("#!/bin/sh\n" + write(0) + write(1) + write(2)
                     + f"n=0; while [ ! -e '{go}' ]; do n=$((n+1)); [ $n -gt 400 ] && exit 3; sleep 0.05; done\n"
                     + write(4) + write(3))
    child.chmod(child.stat().st_mode | stat.S_IXUSR)
    seen = []

    def progress(frame, done, total):
        seen.append((frame, done, total))
        if frame == 2:
            go.touch()

    assert run_workers([], root, 10, shard=Shard(0, 2), python=str(child), progress=progress) == 5   # no exports
    assert seen == [(0, 1, 5), (1, 2, 5), (2, 3, 5), (3, 4, 5), (4, 5, 5)]


def test_when_a_render_may_need_the_pool(tmp_path, monkeypatch):
    """A .blend's recipe is read in a child only when a pool could follow: never for one process (or auto
    with one frame) within --recycle, never inside a pool child; and auto plans only the frames left."""
    monkeypatch.delenv(CHILD, raising=False)
    assert may_pool("auto", 1000, Shard(), None) and may_pool("auto", 1000, Shard(), 2)
    assert may_pool(1, 1000, Shard(), 1001) and may_pool(2, 1000, Shard(), 2)
    assert not may_pool(1, 1000, Shard(), 1000) and not may_pool("auto", 1000, Shard(), 1)
    assert not may_pool("auto", 1000, Shard(1, 2), 2)         # its shard holds one frame
    monkeypatch.setenv(CHILD, "1")
    assert not may_pool("auto", 1000, Shard(), None)
    root = tmp_path / "ds"
    assert frames_left(root, Shard(), 4) == 4
    (root / "frames").mkdir(parents=True)
    for i in (0, 3):
        (root / "frames" / f"{i:06d}.json").write_text("{}")
    assert frames_left(root, Shard(), 4) == 2 and frames_left(root, Shard(1, 2), 4) == 1

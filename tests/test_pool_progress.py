"""The worker pool's progress counts frames one at a time, even when several records appear between two of
its polls (a fast child): a progress bar, the API's callback and the heartbeats each see 1, 2, 3 ... (the
pool once reported [2, 2, 3] when two records landed together; seen as a flaky API test)."""

from __future__ import annotations

import json
import stat
from pathlib import Path

from synthkiln.addon.core.dataset.job import Shard
from synthkiln.headless.workers import run_workers


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

"""A full disk while exporting gives one clear error, never a raw ``OSError`` (issue 13 item 8: previews
were outside the error handling), leaves the previous exports as they were, and works once space is freed."""

from __future__ import annotations

import pytest

from synthkiln.addon.core.errors import DatasetError
from synthkiln.addon.core.exports.build import write_exports

from tests.helpers.cli import ok, one_error, sk
from tests.helpers.known_dataset import make_dataset


def test_full_disk_while_drawing_previews(small_disk):
    root = small_disk.path / "ds"
    make_dataset(root)
    write_exports(root, ["coco"], 0)
    before = (root / "exports" / "coco" / "annotations.json").read_bytes()
    small_disk.fill()
    with pytest.raises(DatasetError, match="cannot write the previews .*No space left"):
        write_exports(root, [], 6)                   # the previews alone: the formats have their own handling
    one_error(sk("export", root, "--format", "coco", "--previews", "6", cwd=small_disk.path), "No space left")
    assert (root / "exports" / "coco" / "annotations.json").read_bytes() == before
    assert not [p for p in (root / "exports").iterdir() if p.name.startswith(".")]
    small_disk.free()
    ok(sk("export", root, "--format", "coco", "--previews", "6", cwd=small_disk.path))
    assert len(list((root / "exports" / "preview").glob("*.png"))) == 6


def test_a_heartbeat_on_a_full_disk_still_says_why(small_disk):
    """Issue 13 item 8: after a full disk, status showed the shard dead with no reason (the final heartbeat
    could not be written through a temp file)."""
    import json

    from synthkiln.addon.core.dataset import status
    from synthkiln.addon.core.dataset.job import Shard

    root = small_disk.path / "ds"
    make_dataset(root)
    beat = status.Heartbeat(root, Shard(0, 1), 6)
    beat.write()
    small_disk.fill()
    beat.end(status.FAILED, "cannot write frame 3: No space left on device")
    data = json.loads(beat.path.read_text())
    assert (data["state"], data["message"]) == ("failed", "cannot write frame 3: No space left on device")
    row = status.job_status(root).shards[0]
    assert row.state == "failed" and "No space left" in (row.message or "")

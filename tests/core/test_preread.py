"""Records read ahead by the pool's parent (``records.Preread``) give the very exports a plain read gives,
and a record file replaced after it was read ahead is read again."""

from __future__ import annotations

import json
import os

from synthkiln.addon.core.dataset import layout
from synthkiln.addon.core.dataset.records import Preread
from synthkiln.addon.core.exports.build import write_exports

from tests.helpers.known_dataset import make_dataset


def _coco(root, preread=None) -> bytes:
    path = write_exports(root, ["coco", "yolo"], 0, preread=preread)[0]
    return path.read_bytes()


def test_read_ahead_records_export_the_same(tmp_path):
    make_dataset(tmp_path, frames=range(6))
    plain = _coco(tmp_path)
    pre = Preread(tmp_path, limit=4)
    for i in range(6):
        pre.add(i)
    assert pre.full() and sorted(pre.held) == [0, 1, 2, 3]           # bounded: the rest is read at the end
    assert _coco(tmp_path, pre) == plain
    assert not pre.held                   # each record is handed out once: the parent keeps nothing after


def test_a_record_replaced_after_reading_ahead_is_read_again(tmp_path):
    make_dataset(tmp_path, frames=range(3))
    pre = Preread(tmp_path)
    for i in range(3):
        pre.add(i)
    path = tmp_path / layout.record_name(1)
    rec = json.loads(path.read_text())
    assert len(rec["objects"]) > 1
    rec["objects"] = rec["objects"][:1]                  # a rerun rewrote frame 1 with fewer objects
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(rec))
    os.replace(tmp, path)
    exported = json.loads(_coco(tmp_path, pre))
    assert len([a for a in exported["annotations"] if a["image_id"] == exported["images"][1]["id"]]) <= 1
    pre = Preread(tmp_path)
    assert exported == json.loads(_coco(tmp_path))
    pre.add(7)                             # no such record: nothing held, the export reports it itself
    assert 7 not in pre.held

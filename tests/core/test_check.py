"""``synthkiln check`` finds planted problems, one line each, and passes a clean dataset; the ``export``
and ``check`` commands never print a traceback."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from synthkiln.addon.core.dataset import layout
from synthkiln.addon.core.dataset.check import check_dataset
from synthkiln.headless.cli import main

from tests.helpers.known_dataset import make_dataset


def edit_record(root: Path, frame: int, change) -> None:
    path = root / layout.record_name(frame)
    rec = json.loads(path.read_text())
    change(rec)
    path.write_text(json.dumps(rec))


def test_clean_dataset_passes(tmp_path):
    make_dataset(tmp_path)
    problems, summary = check_dataset(tmp_path)
    assert problems == []
    assert "ok: 6 frames (6 planned), 36 visible instances, 3 categories" in summary


def test_planted_problems_are_each_reported(tmp_path):
    make_dataset(tmp_path, frames=range(8))
    (tmp_path / layout.mask_name(1)).unlink()                                   # missing mask file

    def outside(rec):
        rec["objects"][4]["bbox"] = [60, 40, 10, 10]                            # box past the image edge
    edit_record(tmp_path, 2, outside)

    def duplicate(rec):
        rec["objects"][1]["instance_id"] = 1                                    # two objects, one id
    edit_record(tmp_path, 3, duplicate)

    def area(rec):
        rec["objects"][0]["area"] += 5                                          # area vs. mask pixels
    edit_record(tmp_path, 4, area)

    def renamed(rec):
        rec["objects"][0]["name"] = "Cup"                                       # id 1 is "Mug" elsewhere
        rec["objects"][2]["category"] = "saucer"                                # unknown category
    edit_record(tmp_path, 5, renamed)

    def wrong_rle(rec):
        rec["objects"][1]["rle"] = rec["objects"][2]["rle"]                     # RLE of another object
    edit_record(tmp_path, 6, wrong_rle)
    (tmp_path / "semantic/000007.png").write_bytes((tmp_path / "semantic/000000.png").read_bytes())
    (tmp_path / layout.record_name(9)).write_text((tmp_path / layout.record_name(0)).read_text())  # says frame 0

    problems, _ = check_dataset(tmp_path)
    text = "\n".join(problems)
    expect = [
        "frames/000001.json: files.mask: masks/000001.png is missing",
        "frames/000002.json: object 'Edge': bbox [60, 40, 10, 10] is not inside the 64x48 image",
        "frames/000002.json: object 'Edge' (id 5): bbox [60, 40, 10, 10], but its pixels in masks/000002.png span",
        "frames/000003.json: object 'Plate': instance_id 1 is also used by 'Mug'",
        "frames/000004.json: object 'Mug' (id 1): area 149, but masks/000004.png has 144 pixels with id 1",
        "frames/000005.json: object 'Cup': instance_id 1 belongs to 'Mug' in frames/000000.json",
        "frames/000005.json: object 'Ring': category 'saucer' is not in synthkiln.json",
        "frames/000006.json: object 'Plate' (id 2): rle differs from masks/000006.png in",
        "semantic/000007.png: ",
        "frames/000009.json: record says frame 0, its file name says 9",
    ]
    for line in expect:
        assert line in text, f"{line!r} not in:\n{text}"
    assert all(p.split(": ", 1)[0].endswith((".json", ".png")) for p in problems), problems
    assert not any("frames/000000.json" in p.split(":")[0] for p in problems)  # the clean frame is clean


def test_cli_check(tmp_path):
    make_dataset(tmp_path)
    runner = CliRunner()
    ok = runner.invoke(main, ["check", str(tmp_path)])
    assert ok.exit_code == 0 and ok.output.count("\n") == 1 and "ok:" in ok.output

    (tmp_path / layout.mask_name(3)).write_bytes(b"not a png")
    edit_record(tmp_path, 2, lambda rec: rec["objects"].append(dict(rec["objects"][0])))
    bad = runner.invoke(main, ["check", str(tmp_path)])
    assert bad.exit_code == 1
    lines = bad.output.strip().splitlines()
    assert lines[-1] == f"Error: 2 problems in {tmp_path}"
    assert any(ln.startswith("masks/000003.png: cannot be decoded") for ln in lines)
    assert "Traceback" not in bad.output

    gone = runner.invoke(main, ["check", str(tmp_path / "frames")])
    assert gone.exit_code == 1 and "is not a SynthKiln dataset" in gone.output and "Traceback" not in gone.output


def test_cli_export_formats(tmp_path):
    make_dataset(tmp_path, exports=["voc"])
    runner = CliRunner()
    r = runner.invoke(main, ["export", str(tmp_path), "--format", "coco,yolo,voc,kitti", "--previews", "2"])
    assert r.exit_code == 0, r.output
    for rel in ("exports/coco/annotations.json", "exports/yolo/data.yaml", "exports/voc/Annotations",
                "exports/kitti/training/label_2"):
        assert str(tmp_path / rel) in r.output
    assert "images placed in the exports by 18 hardlinks" in r.output
    assert "2 previews in" in r.output
    assert len(list((tmp_path / "exports/kitti/training/label_2").iterdir())) == 6

    default = runner.invoke(main, ["export", str(tmp_path), "--previews", "0"])  # the recipe's output.exports
    assert default.exit_code == 0 and str(tmp_path / "exports/voc/Annotations") in default.output
    assert "coco" not in default.output

    bad = runner.invoke(main, ["export", str(tmp_path), "--format", "coco,tfrecord"])
    assert bad.exit_code == 1 and "--format 'tfrecord'" in bad.output and "Traceback" not in bad.output

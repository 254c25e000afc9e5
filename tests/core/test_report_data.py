"""The report's data side: statistics from records, a real COCO file read into the same shape, the gap
measures (checked against scipy), rare-event tallies, frame-time logs and what ``collect`` ranks."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from scipy import stats as sps

from synthkiln.addon.core.dataset import layout, status
from synthkiln.addon.core.errors import DatasetError, UserError
from synthkiln.addon.core.dataset.records import iter_records
from synthkiln.addon.core.dataset.job import sample_frame
from synthkiln.addon.core.images.png import encode_png
from synthkiln.addon.core.recipe.preset import load_preset
from synthkiln.addon.core.randomizers import Context
from synthkiln.addon.core.report import compare
from synthkiln.addon.core.report.build import collect
from synthkiln.addon.core.report.real import read_real
from synthkiln.addon.core.report.stats import dataset_stats

from tests.helpers.grey_dataset import GREY, H, W, make_dataset

MUG_SIZE = math.sqrt(30 * 20 / (W * H))        # make_dataset's mug: bbox [20, 30, 30, 20]


def with_output(root: Path, **output) -> dict:
    manifest = json.loads((root / layout.MANIFEST).read_text())
    manifest["recipe"] = {"output": output}
    (root / layout.MANIFEST).write_text(json.dumps(manifest))
    return manifest


# -- distances --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_ks_and_wasserstein_agree_with_scipy(seed):
    rng = np.random.Generator(np.random.PCG64(seed))
    a = rng.normal(0, 1, 300)
    b = np.round(rng.gamma(2.0, 0.7, 170), 1)         # ties, and another shape
    assert compare.ks_statistic(a, b) == pytest.approx(sps.ks_2samp(a, b).statistic, abs=1e-12)
    assert compare.wasserstein(a, b) == pytest.approx(sps.wasserstein_distance(a, b), rel=1e-9)
    assert compare.ks_statistic(a, a) == 0.0 and compare.wasserstein(a, a) == 0.0


def test_total_variation():
    assert compare.total_variation({"a": 5, "b": 5}, {"a": 10, "b": 10}) == 0.0
    assert compare.total_variation({"a": 3}, {"b": 7}) == 1.0
    assert compare.total_variation({"a": 1, "b": 3}, {"a": 3, "b": 1}) == pytest.approx(0.5)


# -- synthetic statistics ---------------------------------------------------------------------------------
def test_dataset_stats_from_known_boxes(tmp_path):
    make_dataset(tmp_path, frames=3)
    manifest = with_output(tmp_path)
    notes = []
    st, rows, rare = dataset_stats(tmp_path, manifest, iter_records(tmp_path), note=notes.append)
    assert st.images == 3 and st.instances == 6 and st.categories == {"mug": 3, "plate": 3}
    mug = np.isclose(st.numeric["aspect"], 1.5)
    assert mug.sum() == 3 and np.allclose(st.numeric["box_size"][mug], MUG_SIZE)
    assert np.allclose(st.numeric["objects_per_image"], 2)
    assert np.allclose(st.numeric["brightness"], GREY / 255, atol=1e-6)
    assert np.allclose(st.centres[0], [35 / W, 40 / H])            # the mug's box centre
    assert "visibility" not in st.numeric and rare == [] and notes == []
    assert [r.index for r in rows] == [0, 1, 2] and rows[0].objects == 2
    assert rows[0].smallest_box == pytest.approx(min(MUG_SIZE, math.sqrt(31 * 31 / (W * H))), rel=0.1)


def test_export_filters_decide_what_counts(tmp_path):
    make_dataset(tmp_path, frames=2)
    manifest = with_output(tmp_path, min_area=650)                  # the mug (600 px) goes, the plate stays
    notes = []
    st, _, _ = dataset_stats(tmp_path, manifest, iter_records(tmp_path), note=notes.append)
    assert st.categories == {"mug": 0, "plate": 2}
    assert notes == ["Statistics count the objects the exports keep (min_area 650)."]


def test_brightness_is_sampled_on_big_jobs(tmp_path):
    make_dataset(tmp_path, frames=5)
    notes = []
    st, rows, _ = dataset_stats(tmp_path, with_output(tmp_path), iter_records(tmp_path), image_budget=2,
                                note=notes.append)
    assert st.numeric["brightness"].size == 2 and [r.brightness is not None for r in rows] == [1, 0, 0, 0, 1]
    assert "2 of 5 frames" in notes[0]


# -- rare events ------------------------------------------------------------------------------------------
RARE_PRESET = """\
categories: [{name: thing}]
randomizers:
  lighting:
    - type: light
      name: key
      energy: {log_uniform: [60, 250], rare: {p: 0.25, uniform: [1, 5]}}
      temperature: {uniform: [3500, 6500], rare: {p: 1.0, uniform: [1000, 1200]}}
"""


def test_rare_tally_counts_draws_without_changing_them(tmp_path):
    path = tmp_path / "rare.yaml"
    path.write_text(RARE_PRESET)
    recipe = load_preset(path)
    contexts = {"lighting/key": Context(targets=["Key", "Fill"])}
    totals = {}
    for i in range(400):
        tally = {}
        values = sample_frame(recipe, 7, i, contexts, tally)
        assert values == sample_frame(recipe, 7, i, contexts)      # counting never shifts a draw
        for k, (d, h) in tally.items():
            t = totals.setdefault(k, [0, 0])
            t[0], t[1] = t[0] + d, t[1] + h
    assert set(totals) == {"lighting/key.energy", "lighting/key.temperature"}
    assert totals["lighting/key.temperature"][0] == totals["lighting/key.temperature"][1] > 0   # p = 1
    d, h = totals["lighting/key.energy"]
    assert abs(h / d - 0.25) < 0.07


# -- real COCO --------------------------------------------------------------------------------------------
def real_coco(root: Path) -> Path:
    """Two real photos: one with a mug and a crowd, one with two plates (the real data, written by hand)."""
    (root / "img").mkdir()
    (root / "img" / "a.png").write_bytes(encode_png(np.full((100, 200, 3), 51, np.uint8)))
    (root / "img" / "b.png").write_bytes(encode_png(np.full((100, 200, 3), 204, np.uint8)))
    coco = {"images": [{"id": 1, "file_name": "a.png", "width": 200, "height": 100},
                       {"id": 2, "file_name": "b.png", "width": 200, "height": 100}],
            "categories": [{"id": 7, "name": "mug"}, {"id": 9, "name": "plate"}],
            "annotations": [{"id": 1, "image_id": 1, "category_id": 7, "bbox": [0, 0, 50, 50], "iscrowd": 0},
                            {"id": 2, "image_id": 1, "category_id": 9, "bbox": [0, 0, 200, 100], "iscrowd": 1},
                            {"id": 3, "image_id": 2, "category_id": 9, "bbox": [100, 50, 40, 20], "iscrowd": 0},
                            {"id": 4, "image_id": 2, "category_id": 9, "bbox": [10, 10, 20, 40]}]}
    path = root / "real.json"
    path.write_text(json.dumps(coco, indent=1))
    return path


def test_read_real(tmp_path):
    notes = []
    st, frames = read_real(real_coco(tmp_path), tmp_path / "img", note=notes.append, samples=5)
    assert st.images == 2 and st.instances == 3 and st.categories == {"mug": 1, "plate": 2}
    assert sorted(st.numeric["objects_per_image"]) == [1, 2]
    assert sorted(st.numeric["aspect"]) == [0.5, 1.0, 2.0]
    assert st.numeric["box_size"][0] == pytest.approx(math.sqrt(2500 / 20000))
    assert sorted(st.numeric["brightness"]) == pytest.approx([0.2, 0.8], abs=1e-6)
    assert np.allclose(st.centres[1], [120 / 200, 60 / 100])
    assert "visibility" not in st.numeric and "1 crowd region" in notes[0]
    assert [(f.name, f.image, f.boxes) for f in frames] == [       # the crowd region is not a box
        ("a.png", tmp_path / "img" / "a.png", [("mug", [0.0, 0.0, 50.0, 50.0])]),
        ("b.png", tmp_path / "img" / "b.png", [("plate", [100.0, 50.0, 40.0, 20.0]),
                                                ("plate", [10.0, 10.0, 20.0, 40.0])])]
    assert read_real(tmp_path / "real.json", samples=5)[1] == []                # no --images: no real frames


@pytest.mark.parametrize("text, expected", [
    ("{\n  \"images\": [}", r"real\.json:2:14: not a COCO file: invalid JSON"),
    ("[1, 2]", "expected a JSON object with images, annotations and categories, got a list"),
    ('{"images": [], "categories": []}', "'annotations' is missing, expected a list"),
    ('{"images": [], "annotations": [], "categories": []}', "lists no images"),
    ('{"images": [{"id": 1, "width": 10}], "annotations": [], "categories": []}', r"images\[0\]: expected"),
    ('{"images": [{"id": 1, "width": 9, "height": 9}], "categories": [{"id": 1, "name": "a"}], '
     '"annotations": [{"image_id": 1, "category_id": 1, "bbox": [1, 2, 3]}]}', r"annotations\[0\]: bbox must be"),
    ('{"images": [{"id": 1, "width": 9, "height": 9}], "categories": [{"id": 1, "name": "a"}], '
     '"annotations": [{"image_id": 5, "category_id": 1, "bbox": [1, 2, 3, 4]}]}', "image_id 5 is not in 'images'"),
])
def test_bad_coco_files_get_a_clear_error(tmp_path, text, expected):
    path = tmp_path / "real.json"
    path.write_text(text)
    with pytest.raises(UserError, match=expected):
        read_real(path)


def test_binary_and_missing_files_and_images(tmp_path):
    (tmp_path / "x.json").write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe")
    with pytest.raises(UserError, match="not a COCO file"):
        read_real(tmp_path / "x.json")
    with pytest.raises(UserError, match="no such file"):
        read_real(tmp_path / "none.json")
    path = real_coco(tmp_path)
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError, match="none of the COCO file's images are there"):
        read_real(path, tmp_path / "empty")


# -- gaps and collect -------------------------------------------------------------------------------------
def test_gaps_rank_the_largest_first_and_vanish_against_itself(tmp_path):
    make_dataset(tmp_path / "ds", frames=3)
    with_output(tmp_path / "ds")
    report = collect(tmp_path / "ds", real_coco(tmp_path), tmp_path / "img")
    assert [g.distance for g in report.gaps] == sorted((g.distance for g in report.gaps), reverse=True)
    by_key = {g.key: g for g in report.gaps}
    assert set(by_key) >= {"categories", "box_size", "aspect", "objects_per_image", "brightness", "centre_x"}
    assert "visibility" not in by_key                                   # real COCO can't say
    assert by_key["categories"].distance == pytest.approx(abs(0.5 - 1 / 3))
    same = compare.gaps(report.synthetic, report.synthetic)
    assert all(g.distance == 0 and g.wasserstein in (None, 0.0) for g in same)


def test_collect_ranks_worst_frames_and_checks_input(tmp_path):
    make_dataset(tmp_path, frames=4)
    with_output(tmp_path)
    rec = json.loads((tmp_path / layout.record_name(2)).read_text())
    rec["objects"] = rec["objects"][1:]                                 # frame 2 lost its mug
    (tmp_path / layout.record_name(2)).write_text(json.dumps(rec))
    report = collect(tmp_path, worst="objects", samples=2, worst_count=2)
    assert report.worst_frames == [2]                   # the others are at the best value: not "worst"
    assert report.sample_frames == [0, 3]
    assert collect(tmp_path, worst="brightness").worst_frames == []          # all equally grey
    with pytest.raises(UserError, match="--worst 'nope'"):
        collect(tmp_path, worst="nope")
    with pytest.raises(UserError, match="--images .* needs --compare"):
        collect(tmp_path, images=tmp_path)
    for p in (tmp_path / layout.FRAMES).iterdir():
        p.unlink()
    with pytest.raises(DatasetError, match="no finished frames yet"):
        collect(tmp_path)
    with pytest.raises(DatasetError):
        collect(tmp_path / "images")                                    # not a dataset


# -- frame times ------------------------------------------------------------------------------------------
def test_frame_times_append_read_and_merge(tmp_path):
    make_dataset(tmp_path / "a", frames=2)
    status.record_frame_time(tmp_path / "a", 0, 1.5)
    status.record_frame_time(tmp_path / "a", 1, 2.0)
    status.record_frame_time(tmp_path / "a", 1, 2.5)                    # re-rendered: the later time wins
    log = next((tmp_path / "a" / status.SHARDS).glob("times-*.tsv"))
    with open(log, "a") as f:
        f.write("7\t")                                                  # cut short by a crash
    assert status.read_frame_times(tmp_path / "a") == {0: 1.5, 1: 2.5}
    status.merge_datasets([tmp_path / "a"], tmp_path / "m")
    assert status.read_frame_times(tmp_path / "m") == {0: 1.5, 1: 2.5}
    assert status.read_heartbeats(tmp_path / "m") == []                # a log is not a heartbeat

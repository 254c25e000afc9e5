"""The tracking exports of a clip job, loaded by other people's readers: MOTChallenge ground truth with
motmetrics' own loader (``io.loadtxt(fmt="mot15-2D")``) scored by its CLEAR-MOT metrics against itself
(MOTA = IDF1 = 1, no switches), MOT sequences with Datumaro's ``mot_seq`` importer (CVAT's), KITTI tracking
labels as its devkit parses them, and COCO's video fields with pycocotools.

Two clip jobs: the known one of ``tests/helpers/clip_dataset.py`` (tracks through an occlusion and out of
the image) and ``presets/traffic_clip.yaml`` rendered small, both made and exported (all tracking formats)
by the main environment's CLI (``SYNTHKILN_PYTHON``), since nothing here imports SynthKiln. motmetrics 1.4's ``iou_matrix`` calls ``np.asfarray``, which numpy 2 removed (fixed
upstream, not released), so distances come from its ``distances.boxiou`` as ``compare_to_groundtruth``
would compute them."""

from __future__ import annotations

import configparser
import json
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

from tests.interop.conftest import ROOT, synthkiln

mm = pytest.importorskip("motmetrics", reason="motmetrics lives in .venv-interop (make test-interop)")
from pycocotools.coco import COCO  # noqa: E402

METRICS = ["mota", "idf1", "num_switches", "num_false_positives", "num_misses", "num_objects"]


def make_known(root: Path) -> None:
    python = os.environ.get("SYNTHKILN_PYTHON") or str(ROOT / ".venv" / "bin" / "python")
    if not Path(python).exists():
        pytest.skip(f"no SynthKiln environment at {python} to make the dataset (run make venv)")
    make = ("from pathlib import Path; from tests.helpers.clip_dataset import make_clip_dataset; "
            f"make_clip_dataset(Path({str(root)!r}))")
    subprocess.run([python, "-c", make], cwd=ROOT, check=True, timeout=300)


@pytest.fixture(scope="module", params=["known", "traffic"])
def clip_job(request, tmp_path_factory) -> Path:
    """The known clip job, and presets/traffic_clip.yaml rendered small (2 clips of 3 frames, 160x120)."""
    root = tmp_path_factory.mktemp("clips") / request.param
    if request.param == "known":
        make_known(root)
    else:
        synthkiln("render", str(ROOT / "presets" / "traffic_clip.yaml"), "--clips", "2", "--clip-length", "3",
                  "--out", str(root), "--resolution", "160x120", "--samples", "2", cwd=root.parent)
    synthkiln("export", str(root), "--format", "mot,kitti_tracking,coco,video", "--previews", "0", cwd=root.parent)
    assert (root / "exports" / "video" / "README.txt").read_text().startswith("SynthKiln clip videos: 2 clip(s) as ")
    return root


def records(root: Path) -> dict[int, dict]:
    return {int(p.stem): json.loads(p.read_text()) for p in (root / "frames").glob("*.json")}


def sequences(root: Path) -> list[Path]:
    return sorted((root / "exports" / "mot").glob("SynthKiln-*/clip-*"))


def accumulate(gt, hyp):
    """A MOTAccumulator over every frame of gt and hyp (DataFrames indexed by FrameId, Id) with IoU
    distances (1 - IoU, pairs under IoU 0.5 not matched), as ``utils.compare_to_groundtruth`` builds it."""
    acc = mm.MOTAccumulator()
    fields = ["X", "Y", "Width", "Height"]
    frames = sorted(set(gt.index.get_level_values(0)) | set(hyp.index.get_level_values(0)))
    for f in frames:
        g = gt.xs(f, level=0)[fields] if f in gt.index.get_level_values(0) else gt.iloc[:0][fields]
        h = hyp.xs(f, level=0)[fields] if f in hyp.index.get_level_values(0) else hyp.iloc[:0][fields]
        d = 1.0 - mm.distances.boxiou(g.values[:, None].astype(float), h.values[None, :].astype(float))
        acc.update(g.index.values, h.index.values, np.where(d > 0.5, np.nan, d), frameid=f)
    return acc


def scores(acc) -> dict:
    return mm.metrics.create().compute(acc, metrics=METRICS, name="seq").iloc[0].to_dict()


def test_motmetrics_loads_gt_and_scores_mota_one(clip_job):
    seqs = sequences(clip_job)
    assert len(seqs) == 2
    for seq in seqs:
        ini = configparser.ConfigParser()
        ini.read(seq / "seqinfo.ini")
        length = int(ini["Sequence"]["seqLength"])
        assert len(list((seq / "img1").iterdir())) == length
        gt = mm.io.loadtxt(str(seq / "gt" / "gt.txt"), fmt="mot15-2D", min_confidence=1)
        clip = int(seq.name.split("-")[1])
        recs = {i % length + 1: r for i, r in records(clip_job).items() if r["clip"]["index"] == clip}
        # the loader's boxes (it takes MOT's 1-based corner back to 0-based) are the records' amodal boxes
        for (frame, tid), row in gt.iterrows():
            obj = next(o for o in recs[frame]["objects"] if o["track_id"] == tid)
            assert obj["area"] > 0
            np.testing.assert_allclose(row[["X", "Y", "Width", "Height"]].to_numpy(float), obj["amodal_bbox"], atol=1e-3)
        assert len(gt) == sum(o["area"] > 0 for r in recs.values() for o in r["objects"])
        s = scores(accumulate(gt, gt))
        assert s["mota"] == 1.0 and s["idf1"] == 1.0, s
        assert s["num_switches"] == s["num_false_positives"] == s["num_misses"] == 0 and s["num_objects"] == len(gt)

        # the same metrics see a broken hypothesis: two tracks' ids swapped from frame 2 on
        ids = sorted(set(gt.index.get_level_values(1)))
        a, b = ids[0], ids[1]
        hyp = gt.reset_index()
        late = hyp["FrameId"] >= 2
        hyp.loc[late & (hyp["Id"] == a), "Id"], hyp.loc[late & (hyp["Id"] == b), "Id"] = -1, a
        hyp.loc[hyp["Id"] == -1, "Id"] = b
        s = scores(accumulate(gt, hyp.set_index(["FrameId", "Id"])))
        assert s["num_switches"] > 0 and s["mota"] < 1.0


def test_ignore_rows_are_dropped_by_min_confidence(clip_job):
    """conf 0 rows (an object fully behind another) load without min_confidence and drop with it."""
    for seq in sequences(clip_job):
        every = mm.io.loadtxt(str(seq / "gt" / "gt.txt"), fmt="mot15-2D")
        kept = mm.io.loadtxt(str(seq / "gt" / "gt.txt"), fmt="mot15-2D", min_confidence=1)
        hidden = every[every["Confidence"] == 0]
        assert (hidden["Visibility"] == 0).all()
        assert len(every) == len(kept) + len(hidden)
        if clip_job.name == "known":       # CarC behind the truck on its last two frames
            assert hidden.index.tolist() == [(5, 30), (6, 30)]


def test_coco_video_fields_load_in_pycocotools(clip_job):
    coco = COCO(str(clip_job / "exports" / "coco" / "annotations.json"))
    videos = coco.dataset["videos"]
    assert [v["id"] for v in videos] == [1, 2]
    recs = records(clip_job)
    assert len(coco.dataset["annotations"]) == sum(o["area"] > 0 for r in recs.values() for o in r["objects"])
    for v in videos:
        imgs = sorted((im for im in coco.dataset["images"] if im["video_id"] == v["id"]), key=lambda im: im["frame_index"])
        assert [im["frame_index"] for im in imgs] == list(range(v["length"]))
        for im in imgs:
            for ann in coco.loadAnns(coco.getAnnIds(imgIds=im["id"])):
                assert ann["video_id"] == v["id"] and ann["track_id"] // 65536 == v["id"] - 1


def test_kitti_tracking_labels_and_videos(clip_job):
    """label_02 read as the devkit does (space-separated, 17 columns): one row per shown object and frame."""
    import pandas as pd
    train = clip_job / "exports" / "kitti_tracking" / "training"
    seqmap = [ln.split() for sub in ("train", "val") for ln in (train / f"evaluate_tracking.seqmap.{sub}").read_text().splitlines()]
    assert sorted(s[0] for s in seqmap) == ["0000", "0001"]
    recs = records(clip_job)
    for seq, _, first, count in seqmap:
        labels = pd.read_csv(train / "label_02" / f"{seq}.txt", sep=" ", header=None)
        assert labels.shape[1] == 17 and first == "000000"
        clip = int(seq)
        shown = sorted((r["clip"]["frame"], o["track_id"]) for r in recs.values() if r["clip"]["index"] == clip
                       for o in r["objects"] if o["area"] > 0)
        assert sorted(zip(labels[0].tolist(), labels[1].tolist())) == shown
        assert len(list((train / "image_02" / seq).iterdir())) == int(count)
        video = clip_job / "exports" / "video"
        assert (video / f"clip-{clip:04d}.mp4").is_file() or len(list((video / f"clip-{clip:04d}").iterdir())) == int(count)


def test_datumaro_reads_mot_sequences_with_their_labels(clip_job):
    """Datumaro's ``mot_seq`` importer (what CVAT uses): frames, category names from gt/labels.txt, track ids,
    the ignore flag. It takes MOT's 1-based corner as is, so its boxes are the records' shifted by 1 px."""
    dm = pytest.importorskip("datumaro")
    recs = records(clip_job)
    for seq in sequences(clip_job):
        clip = int(seq.name.split("-")[1])
        by_frame = {r["clip"]["frame"] + 1: r for r in recs.values() if r["clip"]["index"] == clip}
        assert dm.Environment().detect_dataset(str(seq)) == ["mot_seq"]
        ds = dm.Dataset.import_from(str(seq), "mot_seq")
        names = ds.categories()[dm.AnnotationType.label]
        assert sorted(int(item.id) for item in ds) == sorted(by_frame)
        for item in ds:
            rec = by_frame[int(item.id)]
            objs = {o["track_id"]: o for o in rec["objects"]}
            shown = sorted(tid for tid, o in objs.items() if o["area"] > 0)
            assert sorted(a.attributes["track_id"] for a in item.annotations if not a.attributes["ignored"]) == shown
            for a in item.annotations:
                obj = objs[a.attributes["track_id"]]
                assert names[a.label].name == obj["category"]
                assert a.attributes["ignored"] == (obj["area"] == 0)
                np.testing.assert_allclose(a.get_bbox(), np.add(obj["amodal_bbox"], [1, 1, 0, 0]), atol=0.01)  # it rounds to 0.01

"""Tracking exports of a clip job (MOTChallenge, KITTI tracking, COCO's video fields, videos, camera
trajectories) on a dataset whose every track is known (``tests/helpers/clip_dataset.py``), read back with
plain parsing and pycocotools; and the clip fields' checks in ``read_record``."""

from __future__ import annotations

import configparser
import json
import os
import random
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import pytest

from synthkiln.addon.core.dataset import layout
from synthkiln.addon.core.dataset.check import check_dataset
from synthkiln.addon.core.dataset.records import read_record
from synthkiln.addon.core.errors import DatasetError, UserError
from synthkiln.addon.core.exports import build as exports, preview
from synthkiln.addon.core.exports.common import Split
from synthkiln.addon.core.params.schema import SchemaError, from_data
from synthkiln.addon.core.recipe.model import Recipe
from synthkiln.addon.core.report.build import build_report, collect
from synthkiln.addon.core.report.tracks import TrackCollector

from tests.helpers.clip_dataset import BODIES, CAMERA_STEP, CLIPS, H, LENGTH, SEED, W, make_clip_dataset
from tests.helpers.coco import load_coco
from tests.helpers.known_dataset import make_dataset
from tests.helpers.modules import hide_module

CLASS = {"car": 3, "truck": 8}


def subset_of(clip: int, val_fraction: float = 0.2) -> str:
    return Split.from_val_fraction(val_fraction).of(SEED, clip)


def expected_state(body, clip: int, t: int) -> str:
    """"shown" (pixels in the mask), "hidden" (in view, 0 px: behind the truck) or "out" (outside the image)."""
    x0, y0, x1, y1 = body.rect(clip, t)
    if x0 >= W:
        return "out"
    return "hidden" if body.name == "CarC" and t >= 4 else "shown"


# -- MOTChallenge ----------------------------------------------------------------------------------------
def test_mot_sequences_gt_rows_images_and_poses(tmp_path):
    make_clip_dataset(tmp_path)
    [path] = exports.write_exports(tmp_path, ["mot"], 0)
    assert path == tmp_path / "exports" / "mot"
    for c in range(CLIPS):
        seq = path / f"SynthKiln-{subset_of(c)}" / f"clip-{c:04d}"
        ini = configparser.ConfigParser()
        ini.read(seq / "seqinfo.ini")
        assert dict(ini["Sequence"]) == {"name": f"clip-{c:04d}", "imdir": "img1", "framerate": "24",
                                         "seqlength": str(LENGTH), "imwidth": str(W), "imheight": str(H),
                                         "imext": ".png"}
        for t in range(LENGTH):     # 1-based image names, the dataset's own files
            assert os.path.samefile(seq / "img1" / f"{t + 1:06d}.png", tmp_path / layout.image_name(c * LENGTH + t))
        labels = (seq / "gt" / "labels.txt").read_text().splitlines()
        assert labels == [f"unused-{i}" for i in (1, 2)] + ["car"] + [f"unused-{i}" for i in range(4, 8)] + ["truck"]
        rows = [ln.split(",") for ln in (seq / "gt" / "gt.txt").read_text().splitlines()]
        assert all(len(r) == 9 for r in rows)
        keys = [(int(r[1]), int(r[0])) for r in rows]
        assert keys == sorted(keys)     # by track, then frame, as MOT17's gt.txt
        got = {(int(r[1]), int(r[0])): r for r in rows}
        want = {}
        for b in BODIES:
            for t in range(LENGTH):
                state = expected_state(b, c, t)
                if state == "out":
                    continue
                rec = read_record(tmp_path, c * LENGTH + t)
                obj = next(o for o in rec["objects"] if o["name"] == b.name)
                x0, y0, x1, y1 = b.rect(c, t)
                conf, vis = (1, obj["visibility"]) if state == "shown" else (0, 0.0)
                want[(b.track_id, t + 1)] = (x0 + 1, y0 + 1, x1 - x0, y1 - y0, conf, CLASS[b.category], vis)
        assert set(got) == set(want)
        for key, (x, y, w, h, conf, cls, vis) in want.items():
            r = got[key]
            assert [float(v) for v in r[2:6]] == [x, y, w, h]       # the amodal box, unclipped, 1-based
            assert (int(r[6]), int(r[7])) == (conf, cls)
            assert float(r[8]) == pytest.approx(vis, abs=1e-3)
        # the car leaving the image: its amodal box reaches past the right edge, as MOT boxes do
        assert float(got[(10, 4)][2]) - 1 + float(got[(10, 4)][4]) > W
        # the trajectory: camera t in camera 0's coordinates, KITTI odometry's 3x4 rows
        poses = np.loadtxt(seq / "poses.txt").reshape(-1, 3, 4)
        assert poses.shape == (LENGTH, 3, 4)
        for t in range(LENGTH):
            np.testing.assert_allclose(poses[t][:, :3], np.eye(3), atol=1e-12)
            np.testing.assert_allclose(poses[t][:, 3], [CAMERA_STEP * t, 0, 0], atol=1e-9)
        cams = json.loads((seq / "cameras.json").read_text())["frames"]
        assert [f["frame"] for f in cams] == list(range(LENGTH)) and cams[2]["world_to_camera"][0][3] == -0.2
    for subset in ("train", "val"):
        names = (path / "seqmaps" / f"SynthKiln-{subset}.txt").read_text().splitlines()
        assert names == ["name"] + [f"clip-{c:04d}" for c in range(CLIPS) if subset_of(c) == subset]


def test_mot_filters_make_ignore_rows(tmp_path):
    """Below min_visibility: conf 0 (ignore) rows, the track unbroken; a category filtered out: no rows."""
    make_clip_dataset(tmp_path, min_visibility=0.5, include_categories=["car"])
    exports.write_exports(tmp_path, ["mot"], 0)
    seq = tmp_path / "exports" / "mot" / f"SynthKiln-{subset_of(0)}" / "clip-0000"
    rows = {(int(r[1]), int(r[0])): r for r in (ln.split(",") for ln in (seq / "gt/gt.txt").read_text().splitlines())}
    assert {tid for tid, _ in rows} == {10, 30}         # the truck's category is not exported
    assert [rows[(30, t)][6] for t in range(1, 7)] == ["1", "1", "1", "0", "0", "0"]   # visibility .25 at t = 4
    assert rows[(30, 4)][8] == "0.25"


def test_tracking_formats_refuse_still_jobs(tmp_path):
    make_dataset(tmp_path, frames=range(2))
    for fmt in ("mot", "kitti_tracking", "video"):
        with pytest.raises(DatasetError, match=rf"frames/000000.json: the {fmt} export needs the frames of a clip job"):
            exports.write_exports(tmp_path, [fmt], 0)
    assert not (tmp_path / "exports" / "mot").exists()


# -- KITTI tracking --------------------------------------------------------------------------------------
def test_kitti_tracking_labels_calib_and_seqmaps(tmp_path):
    make_clip_dataset(tmp_path)
    [path] = exports.write_exports(tmp_path, ["kitti_tracking"], 0)
    train = tmp_path / "exports" / "kitti_tracking" / "training"
    assert path == train / "label_02"
    for c in range(CLIPS):
        seq = f"{c:04d}"
        lines = [ln.split() for ln in (train / "label_02" / f"{seq}.txt").read_text().splitlines()]
        assert all(len(f) == 17 for f in lines)
        got = {(int(f[0]), int(f[1])): f for f in lines}
        want = {(t, b.track_id): b for b in BODIES for t in range(LENGTH) if expected_state(b, c, t) == "shown"}
        assert set(got) == set(want)
        for (t, _), b in want.items():
            f = got[(t, b.track_id)]
            x0, y0, x1, y1 = b.rect(c, t)
            assert f[2] == b.category
            assert [float(v) for v in f[6:10]] == [x0, y0, min(x1, W), y1]     # clipped, pixel edges
            level = 0 if x1 <= W else 1 if (x1 - W) / (x1 - x0) < 0.5 else 2
            assert int(f[3]) == level           # a truncation level, not a share
        assert int(got[(3, 30)][4]) == 2        # CarC a quarter visible: largely occluded
        assert int(got[(3, 10)][3]) == 2        # CarA 8 of 10 columns outside
        for t in range(LENGTH):
            assert os.path.samefile(train / "image_02" / seq / f"{t:06d}.png", tmp_path / layout.image_name(c * LENGTH + t))
        assert (train / "calib" / f"{seq}.txt").read_text().startswith("P0: 6.000000000000e+01 0.0")
        assert np.loadtxt(train / "poses" / f"{seq}.txt").shape == (LENGTH, 12)
    for subset in ("train", "val"):
        lines = (train / f"evaluate_tracking.seqmap.{subset}").read_text().splitlines()
        assert lines == [f"{c:04d} empty 000000 {LENGTH:06d}" for c in range(CLIPS) if subset_of(c) == subset]


def test_kitti_tracking_dontcare_for_filtered_objects(tmp_path):
    make_clip_dataset(tmp_path, min_visibility=0.5)
    exports.write_exports(tmp_path, ["kitti_tracking"], 0)
    lines = (tmp_path / "exports/kitti_tracking/training/label_02/0000.txt").read_text().splitlines()
    dontcare = [ln.split() for ln in lines if " DontCare " in ln]
    # CarC at t = 3 (a quarter visible) is DontCare; at t = 4, 5 nothing of it shows: not listed at all
    assert [(int(f[0]), int(f[1]), [float(v) for v in f[6:10]]) for f in dontcare] == [(3, -1, [22.0, 14.0, 30.0, 22.0])]
    assert not any(ln.split()[:2] == ["3", "30"] for ln in lines)


# -- COCO video fields -----------------------------------------------------------------------------------
def test_coco_video_and_track_fields(tmp_path):
    make_clip_dataset(tmp_path)
    manifest = json.loads((tmp_path / layout.MANIFEST).read_text())
    manifest["categories"].append({"id": 9, "name": "bus", "supercategory": "vehicle"})    # in no clip
    (tmp_path / layout.MANIFEST).write_text(json.dumps(manifest))
    [path] = exports.write_exports(tmp_path, ["coco"], 0)
    coco = load_coco(path)
    data = coco.dataset
    assert [(v["id"], v["name"], v["length"], v["width"], v["height"]) for v in data["videos"]] == \
        [(c + 1, f"clip-{c:04d}", LENGTH, W, H) for c in range(CLIPS)]
    # TAO's fields: labels are exhaustive, so a category without a track in the video is a verified negative
    assert all(v["neg_category_ids"] == [9] and v["not_exhaustive_category_ids"] == [] for v in data["videos"])
    by_image = {im["id"]: im for im in data["images"]}
    for im in data["images"]:
        c, t = divmod(im["id"] - 1, LENGTH)
        assert (im["video_id"], im["frame_index"], im["frame_id"], im["video"]) == (c + 1, t, t, f"clip-{c:04d}")
    tracks = {tr["id"]: tr for tr in data["tracks"]}
    assert sorted(tracks) == sorted(c * 65536 + b.track_id for c in range(CLIPS) for b in BODIES)
    for ann in data["annotations"]:
        im = by_image[ann["image_id"]]
        assert ann["track_id"] == ann["instance_id"] == (im["video_id"] - 1) * 65536 + ann["id"] % 65536 * 10
        assert tracks[ann["track_id"]]["video_id"] == ann["video_id"] == im["video_id"]
        assert tracks[ann["track_id"]]["category_id"] == ann["category_id"]
    # one track per body and clip, on exactly the frames it shows
    for c in range(CLIPS):
        for b in BODIES:
            frames = sorted(by_image[a["image_id"]]["frame_index"] for a in data["annotations"]
                            if a["track_id"] == c * 65536 + b.track_id)
            assert frames == [t for t in range(LENGTH) if expected_state(b, c, t) == "shown"]
    # subset files keep whole videos and their tracks
    for subset in ("train", "val"):
        part = json.loads((tmp_path / "exports/coco/annotations" / f"instances_{subset}.json").read_text())
        clips = [c for c in range(CLIPS) if subset_of(c) == subset]
        assert [v["id"] for v in part["videos"]] == [c + 1 for c in clips]
        assert len(part["images"]) == LENGTH * len(clips)
        assert {tr["video_id"] for tr in part["tracks"]} == {c + 1 for c in clips}


def test_still_coco_has_no_video_fields(tmp_path):
    make_dataset(tmp_path, frames=range(2))
    [path] = exports.write_exports(tmp_path, ["coco"], 0)
    data = json.loads(path.read_text())
    assert "videos" not in data and "tracks" not in data and "video_id" not in data["images"][0]
    assert "track_id" not in data["annotations"][0]


def test_clip_jobs_split_by_clip_in_every_format(tmp_path):
    """A clip's frames share one subset in every writer (YOLO here), by the clip's index."""
    make_clip_dataset(tmp_path, val_fraction=0.5)
    exports.write_exports(tmp_path, ["yolo"], 0)
    for c in range(CLIPS):
        subset = subset_of(c, 0.5)
        for t in range(LENGTH):
            assert (tmp_path / "exports/yolo/images" / subset / f"{c * LENGTH + t:06d}.png").is_file()


# -- videos ----------------------------------------------------------------------------------------------
def preview_of(root, frame: int) -> np.ndarray:
    """What the video's frame must show: the preview of the objects the exports keep."""
    manifest = json.loads((root / layout.MANIFEST).read_text())
    rec = read_record(root, frame)
    return preview.render_preview(root, rec, preview.category_colours(manifest), [o for o in rec["objects"] if o["area"] > 0])


def test_video_without_ffmpeg_is_a_sequence_of_labelled_frames(tmp_path, monkeypatch):
    Image = pytest.importorskip("PIL.Image")
    make_clip_dataset(tmp_path)
    monkeypatch.setenv("PATH", str(tmp_path / "no-bin"))
    notes = []
    [path] = exports.write_exports(tmp_path, ["video"], 0, report=notes.append)
    assert path == tmp_path / "exports" / "video"
    colour = preview.category_colours(json.loads((tmp_path / layout.MANIFEST).read_text()))["truck"]
    for c in range(CLIPS):
        names = sorted(p.name for p in (path / f"clip-{c:04d}").iterdir())
        assert names == [f"{t:06d}.png" for t in range(LENGTH)]
        got = np.asarray(Image.open(path / f"clip-{c:04d}" / "000003.png").convert("RGB"))
        np.testing.assert_array_equal(got, preview_of(tmp_path, c * LENGTH + 3))
        x0, y0, x1, y1 = BODIES[0].rect(c, 3)
        assert tuple(got[y1 - 1, x1 - 1]) == colour      # the truck's box outline, its last pixel
    readme = (path / "README.txt").read_text()
    assert "2 clip(s) as numbered image sequences" in readme and "ffmpeg is not on PATH" in readme
    assert "frames: the previews (masks, boxes, category #track_id)" in readme
    assert any(n.startswith("videos: 2 clip(s) as numbered image sequences") for n in notes)


def test_video_without_pillow_links_the_plain_images(tmp_path, monkeypatch):
    make_clip_dataset(tmp_path)
    monkeypatch.setenv("PATH", str(tmp_path / "no-bin"))
    hide_module(monkeypatch, "PIL")
    [path] = exports.write_exports(tmp_path, ["video"], 0)
    for c in range(CLIPS):
        for t in range(LENGTH):
            assert os.path.samefile(path / f"clip-{c:04d}" / f"{t:06d}.png", tmp_path / layout.image_name(c * LENGTH + t))
    assert "frames: the plain images (Pillow is not available" in (path / "README.txt").read_text()


@pytest.mark.skipif(shutil.which("ffmpeg") is None or shutil.which("ffprobe") is None,
                    reason="ffmpeg is not installed (the export then writes image sequences, tested above)")
def test_video_with_ffmpeg_is_one_mp4_per_clip(tmp_path):
    Image = pytest.importorskip("PIL.Image")
    make_clip_dataset(tmp_path)
    notes = []
    [path] = exports.write_exports(tmp_path, ["video"], 0, report=notes.append)
    assert sorted(p.name for p in path.iterdir()) == ["README.txt", "clip-0000.mp4", "clip-0001.mp4"]
    assert "2 clip(s) as MP4 (H.264)" in (path / "README.txt").read_text()
    assert any(n.startswith("videos: 2 clip(s) as MP4") for n in notes)
    for c in range(CLIPS):
        video = path / f"clip-{c:04d}.mp4"
        probe = subprocess.run(["ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0", "-show_entries",
                                "stream=nb_read_frames,width,height,r_frame_rate,codec_name", "-of", "json", str(video)],
                               capture_output=True, text=True, check=True)
        [stream] = json.loads(probe.stdout)["streams"]
        assert stream == {"codec_name": "h264", "width": W, "height": H, "r_frame_rate": "24/1",
                          "nb_read_frames": str(LENGTH)}
        # the video's frame 3 is frame 3's preview: of the clip's previews, the nearest (chroma subsampling
        # smears the 2 px coloured outlines of a 64x48 frame, so nearest, not equal)
        out = tmp_path / f"back-{c}.png"
        subprocess.run(["ffmpeg", "-v", "error", "-i", str(video), "-vf", "select=eq(n\\,3)", "-frames:v", "1",
                        "-pix_fmt", "rgb24", str(out)], check=True)
        got = np.asarray(Image.open(out).convert("RGB"), int)
        errors = [np.abs(got - preview_of(tmp_path, c * LENGTH + t).astype(int)).mean() for t in range(LENGTH)]
        assert int(np.argmin(errors)) == 3 and errors[3] < 10, errors


# -- record checks ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("clip, track, message", [
    ({"index": 0, "frame": 6, "length": 6}, 10, r"clip: expected \{index, frame, length\}"),
    ({"index": 0, "frame": 1}, 10, r"clip: expected \{index, frame, length\}"),
    ({"index": 1, "frame": 1, "length": 6}, 10, r"clip: expected the clip of frame 1"),
    ("0/1", 10, r"clip: expected"),
    ({"index": 0, "frame": 1, "length": 6}, 0, r"objects\[0\]\.track_id: expected an integer 1\.\.65535"),
    ({"index": 0, "frame": 1, "length": 6}, "7", r"objects\[0\]\.track_id: expected an integer"),
])
def test_read_record_checks_clip_fields(tmp_path, clip, track, message):
    make_clip_dataset(tmp_path)
    path = tmp_path / layout.record_name(1)
    rec = json.loads(path.read_text())
    rec["clip"], rec["objects"][0]["track_id"] = clip, track
    path.write_text(json.dumps(rec))
    with pytest.raises(DatasetError, match=message):
        read_record(tmp_path, 1)


# -- synthkiln check -------------------------------------------------------------------------------------
def test_check_passes_the_clip_job_and_finds_broken_track_ids(tmp_path):
    make_clip_dataset(tmp_path)
    problems, _ = check_dataset(tmp_path)
    assert problems == []

    def edit(frame, change):
        path = tmp_path / layout.record_name(frame)
        rec = json.loads(path.read_text())
        change(rec["objects"])
        path.write_text(json.dumps(rec))

    def swap(objs):             # the truck and CarC trade track ids on one frame
        objs[0]["track_id"], objs[1]["track_id"] = objs[1]["track_id"], objs[0]["track_id"]
    edit(2, swap)
    edit(8, lambda objs: objs[2].pop("track_id"))
    edit(9, lambda objs: objs[2].update(track_id=20))      # CarA takes the truck's id in clip 1
    path = tmp_path / layout.record_name(3)
    rec = json.loads(path.read_text())
    rec["clip"]["length"] = 4                               # 0 * 4 + 3 is still frame 3
    path.write_text(json.dumps(rec))
    problems, _ = check_dataset(tmp_path)
    assert problems == [
        "frames/000002.json: object 'Truck': track_id 30 belongs to 'CarC' in earlier frames of clip 0",
        "frames/000002.json: object 'Truck': track_id 30 here, 20 in earlier frames of clip 0",
        "frames/000002.json: object 'CarC': track_id 20 belongs to 'Truck' in earlier frames of clip 0",
        "frames/000002.json: object 'CarC': track_id 20 here, 30 in earlier frames of clip 0",
        "frames/000003.json: clip.length is 4, the manifest's clip_length 6",
        "frames/000003.json: clip 0 has length 4 here, 6 in its earlier frames",
        "frames/000008.json: object 'CarA' has no track_id (every object of a clip frame needs one)",
        "frames/000009.json: track_id 20 is used by 'Truck' and 'CarA' in the same frame",
        "frames/000009.json: object 'CarA': track_id 20 belongs to 'Truck' in earlier frames of clip 1",
        "frames/000009.json: object 'CarA': track_id 20 here, 10 in earlier frames of clip 1",
    ]


# -- the report's track statistics -----------------------------------------------------------------------
def test_track_statistics_of_the_known_clips():
    with tempfile.TemporaryDirectory() as d:
        make_clip_dataset(Path(d))
        records = [read_record(Path(d), i) for i in range(CLIPS * LENGTH)]
    t = TrackCollector({"car", "truck"})
    for rec in records:
        t.add(rec)
    s = t.result()
    assert (s.clips, s.tracks, s.reappearances) == (2, 6, 0)
    # per clip: the truck shows in 6 frames, CarC in 4 (then hidden), CarA in 4 (then out of the image)
    assert sorted(s.lengths.tolist()) == [4, 4, 4, 4, 6, 6]
    assert s.occlusion_runs.tolist() == [3, 3]        # CarC: a quarter visible at t = 3, then 0 px at 4, 5
    assert s.hidden_runs.tolist() == [2, 2]
    # speeds: the truck 0 px/frame (5 steps), each car 4 px/frame (3 steps each: t 0..3)
    assert sorted(s.speeds.tolist()) == [0.0] * 10 + [4.0] * 12
    cars = TrackCollector({"car"})
    for rec in records:
        cars.add(rec)
    assert cars.result().tracks == 4
    still = TrackCollector()
    still.add({"frame": 0, "objects": []})
    assert still.result() is None


def test_track_reappearance_and_gaps():
    """A track hidden for two frames that shows again is one re-appearance; a missing frame restarts motion."""

    def rec(t, area, x=0.0, vis=1.0):
        obj = {"track_id": 1, "category": "car", "area": area, "visibility": vis if area else 0.0,
               "bbox": [x, 0, 2, 2] if area else None, "amodal_bbox": [x, 0, 2, 2], "amodal_bbox_clipped": [x, 0, 2, 2]}
        return {"frame": t, "clip": {"index": 0, "frame": t, "length": 9}, "objects": [obj]}
    t = TrackCollector()
    for r in (rec(0, 4, 0), rec(1, 4, 3), rec(2, 0), rec(3, 0), rec(4, 4, 12, vis=0.4), rec(5, 4, 15), rec(7, 4, 30)):
        t.add(r)
    s = t.result()
    assert s.reappearances == 1 and s.hidden_runs.tolist() == [2] and s.occlusion_runs.tolist() == [3]
    assert s.speeds.tolist() == [3.0, 3.0] and s.lengths.tolist() == [5]


def test_report_has_a_tracks_section_for_clip_jobs(tmp_path):
    pytest.importorskip("matplotlib")
    make_clip_dataset(tmp_path)
    index = build_report(tmp_path)
    html = index.read_text()
    section = html[html.index('<section id="tracks">'):]
    section = section[:section.index("</section>")]
    assert "6 tracks in 2 clip(s); 0 re-appearance(s)" in section and 'src="tracks.png"' in section
    assert "px/frame of the box centre" in section
    summary = json.loads((index.parent / "summary.json").read_text())["tracks"]
    assert summary["tracks"] == 6 and summary["speeds"]["n"] == 22 and summary["lengths"]["median"] == 4.0
    assert (index.parent / "tracks.png").stat().st_size > 5000


def test_recipe_refuses_tracking_formats_for_stills():
    with pytest.raises(SchemaError, match="export format 'kitti_tracking' needs a clip job") as e:
        from_data(Recipe, {"output": {"exports": ["coco", "kitti_tracking"]}})
    assert e.value.path == ("output", "exports", 1)
    assert from_data(Recipe, {"output": {"exports": ["mot"], "clips": 2, "clip_length": 3}}).output.frames == 6


@pytest.mark.parametrize("fmt", ["mot", "kitti_tracking", "coco"])
def test_broken_clip_records_are_one_message(tmp_path, fmt):
    make_clip_dataset(tmp_path)
    path = tmp_path / layout.record_name(2)
    rec = json.loads(path.read_text())
    del rec["objects"][2]["track_id"]
    path.write_text(json.dumps(rec))
    with pytest.raises(DatasetError, match=r"frames/000002.json: object 'CarA' has no integer 'track_id'"):
        exports.write_exports(tmp_path, [fmt], 0)


@pytest.mark.parametrize("w2c, message", [
    ([[1, 0, 0], [0, 1, 0], [0, 0, 1]], r"frames/000002.json: camera.world_to_camera: expected a 4x4 matrix"),
    ([[0] * 4] * 4, r"frames/000002.json: camera.world_to_camera is singular"),
])
def test_broken_camera_trajectory_is_one_message(tmp_path, w2c, message):
    make_clip_dataset(tmp_path)
    path = tmp_path / layout.record_name(2)
    rec = json.loads(path.read_text())
    rec["camera"]["world_to_camera"] = w2c
    path.write_text(json.dumps(rec))
    with pytest.raises(DatasetError, match=message):
        exports.write_exports(tmp_path, ["mot"], 0)


def test_check_finds_records_of_the_wrong_job_shape(tmp_path):
    """A still frame in a clip job, and clip frames in a still job (e.g. merged from another job)."""
    make_clip_dataset(tmp_path)
    path = tmp_path / layout.record_name(4)
    rec = json.loads(path.read_text())
    del rec["clip"]
    path.write_text(json.dumps(rec))
    problems, _ = check_dataset(tmp_path)
    assert problems == ["frames/000004.json: has no 'clip', but the job is a clip job (output.clips in the manifest)"]
    manifest = json.loads((tmp_path / layout.MANIFEST).read_text())
    manifest["recipe"]["output"]["clips"] = 0
    (tmp_path / layout.MANIFEST).write_text(json.dumps(manifest))
    problems, _ = check_dataset(tmp_path)
    assert len(problems) == 11 and all("has a 'clip', but the job is a still job" in p for p in problems)


def test_fuzzed_clip_records_never_raise_anything_but_a_user_error(tmp_path):
    """The fields the tracking writers, the track check and the report's track statistics read, each set to
    hostile values (the fuzz of test_hostile_records; 1540 such cases passed once, 16 drawn here)."""
    from tests.core.test_hostile_records import HOSTILE, _paths
    clean = tmp_path / "clean"
    make_clip_dataset(clean)
    rel = layout.record_name(3)
    good = json.loads((clean / rel).read_text())
    fields = [p for p in _paths(good) if p and (p[0] in ("clip", "camera") or (len(p) == 3 and p[0] == "objects"
              and p[2] in ("track_id", "amodal_bbox", "amodal_bbox_clipped", "area", "hidden", "category", "visibility")))]
    rng = random.Random(19)
    for k in range(16):
        root = tmp_path / f"d{k}"
        shutil.copytree(clean, root)
        rec = json.loads(json.dumps(good))
        path, value = rng.choice(fields), rng.choice(HOSTILE + [0, 65536])
        target = rec
        for p in path[:-1]:
            target = target[p]
        target[path[-1]] = value
        (root / rel).write_text(json.dumps(rec))
        for run in (lambda: exports.write_exports(root, ["mot", "kitti_tracking", "coco"], 0),
                    lambda: check_dataset(root), lambda: collect(root, samples=0)):
            try:
                run()
            except UserError:
                pass
            except Exception as e:  # noqa: BLE001 - the test's point
                pytest.fail(f"{path} = {value!r}: {type(e).__name__}: {e}")

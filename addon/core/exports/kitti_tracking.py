"""KITTI tracking export (the tracking benchmark's ``label_02``), one sequence per clip.

::

    exports/kitti_tracking/training/image_02/SSSS/TTTTTT.png     the clip's frames (0-based), linked
    exports/kitti_tracking/training/label_02/SSSS.txt            one line per object and frame (below)
    exports/kitti_tracking/training/calib/SSSS.txt               P0..P3 = K [I | 0] of the clip's first frame
    exports/kitti_tracking/training/poses/SSSS.txt, cameras/SSSS.json   the camera trajectory (clips.Trajectory)
    exports/kitti_tracking/training/evaluate_tracking.seqmap.{train,val}   "SSSS empty 000000 LLLLLL" per sequence

SSSS is the clip index (``0000``, ``0001``, ...). The seqmaps are the devkit's (and TrackEval's Kitti2DBox,
``GT_FOLDER=exports/kitti_tracking/training SPLIT_TO_EVAL=train``): sequence, "empty", first frame, frame
count. A clip lies in one subset (``common.Context.split``).

A label line is the object benchmark's line (``kitti.label_line``: type, occluded, alpha, the clipped
amodal box, dimensions, location, rotation_y from the record's 3D box) behind ``frame track_id``, with one
difference KITTI tracking makes: ``truncated`` is a level, 0 (inside the image), 1 (partly outside, less than
half of the silhouette) or 2 (half or more outside), not a share.

Objects the other exports leave out although they show (below ``min_visibility``/``min_area``) are
``DontCare`` regions (track id -1, KITTI's placeholders), so an evaluation ignores detections there; fully
occluded objects are not listed (nothing of them shows).
"""

from __future__ import annotations

import os
import posixpath
from pathlib import Path

from . import kitti
from .clips import ClipFrame, Trajectory, ignored, require_clip, track_id
from .common import Context, write_text

PARTLY_OUT = 0.5        # truncation share from which the level is 2


def truncation_level(obj: dict) -> int:
    t = kitti.truncation(obj)
    return 0 if t <= 0.0 else 1 if t < PARTLY_OUT else 2


def dontcare_line(obj: dict) -> str:
    x, y, w, h = obj.get("amodal_bbox_clipped") or obj["bbox"]
    return (f"-1 DontCare -1 -1 -10 {x:.2f} {y:.2f} {x + w:.2f} {y + h:.2f} "
            "-1 -1 -1 -1000 -1000 -1000 -10")


class KittiTrackingWriter:
    DIR = "kitti_tracking"
    uses_images = True

    def __init__(self, ctx: Context, out: Path):
        self.ctx, self.out = ctx, out
        self.train = out / "training"
        for sub in ("image_02", "label_02", "calib", "poses", "cameras"):
            (self.train / sub).mkdir(parents=True, exist_ok=True)
        self.kept = {c["name"] for c in ctx.categories}
        self.clips: dict[int, ClipFrame] = {}
        self.subset_of: dict[int, str] = {}
        self.rows: dict[int, list[tuple[int, int, str]]] = {}      # clip -> (frame, track id, line)
        self.trajectories: dict[int, Trajectory] = {}

    def add(self, rec: dict, objs: list[dict]) -> None:
        clip = require_clip(rec, "kitti_tracking")
        seq = f"{clip.index:04d}"
        if clip.index not in self.clips:
            self.clips[clip.index] = clip
            self.subset_of[clip.index] = self.ctx.split(rec["frame"])
            self.rows[clip.index], self.trajectories[clip.index] = [], Trajectory()
            (self.train / "image_02" / seq).mkdir()
            K = (rec.get("camera") or {}).get("K")
            if K:
                write_text(str(self.train / "calib" / f"{seq}.txt"), kitti.calib_text(K))
        name, src = self.ctx.image(rec)
        t = clip.frame
        self.ctx.link(src, os.path.join(self.train, "image_02", seq, f"{t:06d}{posixpath.splitext(name)[1]}"))
        self.trajectories[clip.index].add(t, rec)
        rows = self.rows[clip.index]
        for obj in objs:
            tid = track_id(rec, obj)
            rows.append((t, tid, f"{t} {tid} {kitti.label_line(obj, str(truncation_level(obj)))}\n"))
        for obj in ignored(rec, objs, self.kept):
            if (obj.get("area") or 0) > 0:
                rows.append((t, -1, f"{t} {dontcare_line(obj)}\n"))

    def finish(self) -> Path:
        maps: dict[str, list[str]] = {name: [] for name in self.ctx.subsets.names}
        for index in sorted(self.clips):
            seq = f"{index:04d}"
            maps[self.subset_of[index]].append(f"{seq} empty 000000 {self.clips[index].length:06d}\n")
            write_text(str(self.train / "label_02" / f"{seq}.txt"), "".join(line for *_, line in sorted(self.rows[index])))
            self.trajectories[index].write(self.train / "poses" / f"{seq}.txt", self.train / "cameras" / f"{seq}.json")
        for subset, lines in maps.items():
            write_text(str(self.train / f"evaluate_tracking.seqmap.{subset}"), "".join(lines))
        return self.train / "label_02"

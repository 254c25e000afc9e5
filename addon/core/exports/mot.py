"""MOTChallenge export (MOT17/MOT20 ground truth), one sequence per clip, in the layout TrackEval reads.

::

    exports/mot/SynthKiln-{train,val}/clip-CCCC/seqinfo.ini    name, imDir, frameRate, seqLength, imWidth, imHeight, imExt
    exports/mot/SynthKiln-{train,val}/clip-CCCC/gt/gt.txt      the ground truth (below)
    exports/mot/SynthKiln-{train,val}/clip-CCCC/gt/labels.txt  class names, line i = class id i (CVAT, Datumaro)
    exports/mot/SynthKiln-{train,val}/clip-CCCC/img1/000001.png  the clip's frames, 1-based, linked (common.ImageLinker)
    exports/mot/SynthKiln-{train,val}/clip-CCCC/poses.txt, cameras.json   the camera trajectory (clips.Trajectory)
    exports/mot/seqmaps/SynthKiln-{train,val}.txt             "name" and the subset's sequences, one a line

TrackEval's MOTChallenge2DBox takes ``GT_FOLDER=exports/mot BENCHMARK=SynthKiln SPLIT_TO_EVAL=train``;
motmetrics reads each ``gt.txt`` with ``io.loadtxt(path, fmt="mot15-2D")``; Datumaro (``mot_seq``) and CVAT
read a sequence folder with its ``labels.txt`` (they take the box corner as 0-based: their boxes sit 1 px
right and down of the records'). A clip lies in one subset
(``common.Context.split`` splits clip jobs by clip).

A ``gt.txt`` line, MOT17's nine comma-separated columns, sorted by track id then frame:
``frame, id, bb_left, bb_top, bb_width, bb_height, conf, class, visibility``

- frame: 1-based within the clip (t + 1); id: the record's ``track_id``.
- box: MOT boxes cover the whole object, occluded parts included, and may reach outside the image; so this
  is the record's ``amodal_bbox`` (unclipped; the mask's tight box where the record has none). Coordinates
  are 1-based as in MOT (pixel column x of the image is bb_left = x + 1), floats with up to 3 decimals.
- conf: MOT's "consider" flag. 1 for every object the other exports show; 0 ("ignore") for objects in view
  that they leave out: fully occluded in this frame, or below ``min_visibility``/``min_area``
  (``clips.ignored``), so a track keeps its boxes through an occlusion while evaluation ignores them.
- class: the manifest's category id. MOT's own numbering (1 pedestrian, 3 car, ...) is not imposed. TrackEval's
  preprocessing keeps class 1 ("pedestrian") only and refuses ids outside MOT's 1..13, so evaluate other
  categories with ``DO_PREPROC=False`` (every conf 1 row counts; checked: ground truth scored against itself
  gives MOTA = HOTA = 1 in this layout).
- visibility: the record's ``visibility`` (0..1; 0 for a fully occluded object).
"""

from __future__ import annotations

import os
import posixpath
from pathlib import Path

from ..dataset.records import ID_STRIDE, categories
from .clips import ClipFrame, Trajectory, ignored, number, require_clip, track_id
from .common import Context, write_text

BENCHMARK = "SynthKiln"


class _Sequence:
    def __init__(self, folder: Path, clip: ClipFrame, rec: dict, ext: str):
        self.folder, self.clip, self.ext = folder, clip, ext
        self.width, self.height = rec["width"], rec["height"]
        self.rows: list[tuple[int, int, str]] = []      # (track id, frame, line)
        self.trajectory = Trajectory()
        (folder / "img1").mkdir(parents=True)
        (folder / "gt").mkdir()


class MotWriter:
    DIR = "mot"
    uses_images = True

    def __init__(self, ctx: Context, out: Path):
        self.ctx, self.out = ctx, out
        self.cat_ids = {c["name"]: c["id"] for c in ctx.categories}
        names = {c["id"]: " ".join(c["name"].split()) for c in categories(ctx.manifest)}
        last = min(max(names, default=0), ID_STRIDE - 1)        # a hand-made manifest's id 10**9: no 1 GB file
        self.labels = "".join(f"{names.get(i, f'unused-{i}')}\n" for i in range(1, last + 1))
        self.seqs: dict[int, _Sequence] = {}
        self.subset_of: dict[int, str] = {}

    def add(self, rec: dict, objs: list[dict]) -> None:
        clip = require_clip(rec, "mot")
        name, src = self.ctx.image(rec)
        seq = self.seqs.get(clip.index)
        if seq is None:
            subset = self.subset_of[clip.index] = self.ctx.split(rec["frame"])
            seq = self.seqs[clip.index] = _Sequence(self.out / f"{BENCHMARK}-{subset}" / clip.name, clip, rec,
                                                    posixpath.splitext(name)[1])
        t = clip.frame + 1
        self.ctx.link(src, os.path.join(seq.folder, "img1", f"{t:06d}{posixpath.splitext(name)[1]}"))
        seq.trajectory.add(clip.frame, rec)
        rows = [(o, 1, o.get("visibility")) for o in objs]
        rows += [(o, 0, o.get("visibility") if (o.get("area") or 0) > 0 else 0.0)
                 for o in ignored(rec, objs, set(self.cat_ids))]
        for obj, conf, vis in rows:
            tid = track_id(rec, obj)
            x, y, w, h = obj.get("amodal_bbox") or obj.get("amodal_bbox_clipped") or obj["bbox"]
            vis = 1.0 if vis is None else min(max(float(vis), 0.0), 1.0)
            seq.rows.append((tid, t, f"{t},{tid},{number(x + 1)},{number(y + 1)},{number(w)},{number(h)},"
                                     f"{conf},{self.cat_ids[obj['category']]},{number(vis)}\n"))

    def finish(self) -> Path:
        self.out.mkdir(parents=True, exist_ok=True)
        maps: dict[str, list[str]] = {name: [] for name in self.ctx.subsets.names}
        for index in sorted(self.seqs):
            seq = self.seqs[index]
            maps[self.subset_of[index]].append(seq.clip.name)
            write_text(str(seq.folder / "gt" / "gt.txt"), "".join(line for *_, line in sorted(seq.rows)))
            write_text(str(seq.folder / "gt" / "labels.txt"), self.labels)
            write_text(str(seq.folder / "seqinfo.ini"),
                       f"[Sequence]\nname={seq.clip.name}\nimDir=img1\nframeRate={number(seq.clip.fps)}\n"
                       f"seqLength={seq.clip.length}\nimWidth={seq.width}\nimHeight={seq.height}\nimExt={seq.ext}\n")
            seq.trajectory.write(seq.folder / "poses.txt", seq.folder / "cameras.json")
        (self.out / "seqmaps").mkdir()
        for subset, names in maps.items():
            write_text(str(self.out / "seqmaps" / f"{BENCHMARK}-{subset}.txt"), "".join(f"{n}\n" for n in ["name", *names]))
        return self.out

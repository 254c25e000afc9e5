"""Track statistics of a clip job, for the report: how long tracks are, how often and how long they are
occluded, and how fast their boxes move. One pass over the records in frame order, state per track only.

Definitions (per clip, per ``track_id``; categories the export filter leaves out are not counted):

- length: the frames a track shows in (area > 0); a track that never shows is not counted.
- occlusion run: consecutive frames a track is in view (its projected box meets the image) but shows less
  than half of itself (``visibility < 0.5``, 0 px included); a hidden run: the same at 0 px. A track that
  shows again after a hidden run counts once per such run as a re-appearance (what a tracker must bridge).
- speed: the distance its box centre moves between consecutive frames it shows in, px/frame, using the
  unclipped amodal box where the record has it (the object's own motion, not its clipping at the edge).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

OCCLUDED = 0.5          # visibility under which a frame counts as occluded


@dataclass
class TrackStats:
    clips: int
    tracks: int                     # tracks that show in at least one frame
    lengths: np.ndarray             # frames shown, per track
    occlusion_runs: np.ndarray      # frames, per run of visibility < OCCLUDED while in view
    hidden_runs: np.ndarray         # frames, per run of 0 px while in view
    reappearances: int              # hidden runs a track came back from
    speeds: np.ndarray              # px/frame of box centres between consecutive shown frames


class _Track:
    __slots__ = ("shown", "t", "centre", "occluded", "hidden")

    def __init__(self):
        self.shown, self.t, self.centre, self.occluded, self.hidden = 0, -2, None, 0, 0


def _centre(obj: dict) -> tuple[float, float] | None:
    box = obj.get("amodal_bbox") or obj.get("bbox")
    if not box:
        return None
    x, y, w, h = box
    return x + w / 2.0, y + h / 2.0


class TrackCollector:
    """Fed every record (``add``), in frame order; ``result()`` is None unless some record is a clip frame."""

    def __init__(self, kept: set[str] | None = None):
        self.kept = kept
        self.tracks: dict[tuple[int, int], _Track] = {}
        self.clips: set[int] = set()
        self.occlusion_runs: list[int] = []
        self.hidden_runs: list[int] = []
        self.speeds: list[float] = []
        self.reappearances = 0

    def _close(self, tr: _Track, occluded: bool = True, hidden: bool = True) -> None:
        if occluded and tr.occluded:
            self.occlusion_runs.append(tr.occluded)
            tr.occluded = 0
        if hidden and tr.hidden:
            self.hidden_runs.append(tr.hidden)
            tr.hidden = 0

    def add(self, rec: dict) -> None:
        clip = rec.get("clip")
        if not isinstance(clip, dict):
            return
        c, t = clip["index"], clip["frame"]
        self.clips.add(c)
        for obj in rec.get("objects") or ():
            tid = obj.get("track_id")
            if not isinstance(tid, int) or (self.kept is not None and obj.get("category") not in self.kept):
                continue
            tr = self.tracks.setdefault((c, tid), _Track())
            if tr.t != t - 1:                   # a frame missing in between: runs and motion restart
                self._close(tr)
                tr.centre = None
            tr.t = t
            area = obj.get("area") or 0
            in_view = not obj.get("hidden") and (area > 0 or obj.get("amodal_bbox_clipped") is not None)
            if not in_view:
                self._close(tr)
                tr.centre = None
                continue
            vis = obj.get("visibility")
            if area <= 0 or (vis is not None and vis < OCCLUDED):
                tr.occluded += 1
            else:
                self._close(tr, hidden=False)
            if area <= 0:
                tr.hidden += 1
                tr.centre = None
                continue
            if tr.hidden:
                self.reappearances += 1
                self._close(tr, occluded=False)
            tr.shown += 1
            centre = _centre(obj)
            if centre is not None and tr.centre is not None:
                self.speeds.append(math.dist(centre, tr.centre))
            tr.centre = centre

    def result(self) -> TrackStats | None:
        if not self.clips:
            return None
        for tr in self.tracks.values():
            self._close(tr)
        lengths = [tr.shown for tr in self.tracks.values() if tr.shown]
        as_array = lambda v: np.asarray(v, np.float64)     # noqa: E731
        return TrackStats(clips=len(self.clips), tracks=len(lengths), lengths=as_array(lengths),
                          occlusion_runs=as_array(self.occlusion_runs), hidden_runs=as_array(self.hidden_runs),
                          reappearances=self.reappearances, speeds=as_array(self.speeds))


# (key, title, unit, what one sample is) of each sample array, in the order the report shows them
SERIES = (("lengths", "Track length", "frames shown", "tracks"),
          ("occlusion_runs", "Occlusion runs", "frames under half visible", "runs"),
          ("hidden_runs", "Hidden runs", "frames at 0 px, in view", "runs"),
          ("speeds", "Speed", "px/frame of the box centre", "frame steps"))

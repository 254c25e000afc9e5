"""What the tracking exports (MOT, KITTI tracking, the videos, COCO's video fields) share: which clip a
frame record belongs to, its objects' track ids, the objects a tracker should see but no box labels (the
"ignore" rows), and each sequence's camera trajectory.

A clip job of C clips of L frames numbers its frames i = c * L + t (clip c, frame t within it); each
record says so in ``clip: {index, frame, length}`` and each of its objects carries ``track_id`` (1-based,
unique within the clip, the same object on every frame). Records of still jobs have no ``clip``: the
tracking formats refuse them with one message.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..dataset import layout
from ..errors import DatasetError
from .common import write_text

DEFAULT_FPS = 24.0      # Blender's default scene rate, for records whose clip does not name one ("fps")


@dataclass(frozen=True)
class ClipFrame:
    """Where a frame lies in its clip."""
    index: int          # the clip, c
    frame: int          # the frame within it, t (0-based)
    length: int         # L
    fps: float

    @property
    def name(self) -> str:
        """The clip's sequence name (MOT, videos); KITTI tracking uses the bare number."""
        return f"clip-{self.index:04d}"


def clip_frame(rec: dict) -> ClipFrame | None:
    """The record's place in its clip, or None for a still job's frame (shape checked by read_record)."""
    clip = rec.get("clip")
    if not isinstance(clip, dict):
        return None
    fps = clip.get("fps")
    return ClipFrame(clip["index"], clip["frame"], clip["length"],
                     float(fps) if isinstance(fps, (int, float)) and fps > 0 else DEFAULT_FPS)


def require_clip(rec: dict, fmt: str) -> ClipFrame:
    """``clip_frame``, or one error saying the tracking format ``fmt`` needs a clip job."""
    clip = clip_frame(rec)
    if clip is None:
        raise DatasetError(f"{layout.record_name(rec['frame'])}: the {fmt} export needs the frames of a clip job "
                           "(this record has no 'clip'): render with --clips C --clip-length L "
                           "(output.clips, output.clip_length)")
    return clip


def track_id(rec: dict, obj: dict) -> int:
    """The object's track id; a clip frame's object without one is a broken record."""
    tid = obj.get("track_id")
    if not isinstance(tid, int):
        raise DatasetError(f"{layout.record_name(rec['frame'])}: object {obj.get('name')!r} has no integer "
                           f"'track_id' (every object of a clip frame needs one), got {tid!r}")
    return tid


def ignored(rec: dict, objs: list[dict], kept: set[str]) -> list[dict]:
    """The record's objects the exports leave out although they are in view: fully occluded in this frame
    (area 0) or below the recipe's ``min_visibility``/``min_area``. They still have a box of their
    projected geometry (``amodal_bbox_clipped``) inside the image, so a tracking format can list them as
    "ignore" rows and a track stays one track through an occlusion. Objects not rendered (``hidden``),
    outside the image or of a category the export leaves out are not listed."""
    shown = {id(o) for o in objs}
    out = []
    for obj in rec.get("objects") or ():
        if id(obj) in shown or obj.get("hidden") or obj.get("category") not in kept:
            continue
        box = obj.get("amodal_bbox_clipped")
        if box is not None and box[2] > 0 and box[3] > 0:
            out.append(obj)
    return out


class Trajectory:
    """A sequence's camera, frame by frame, written as two files:

    - poses (``.txt``): the KITTI odometry convention, one line per frame, 12 numbers = the row-major 3x4
      matrix [R | t] taking a point from camera t's coordinates to the sequence's first camera's (the first
      line is [I | 0]); camera axes are OpenCV's (x right, y down, z forward), units the scene's metres.
      evo (``evo_traj kitti``) and the KITTI odometry devkit read it.
    - cameras (``.json``): ``{"frames": [{"frame": t, "K": 3x3, "world_to_camera": 4x4}]}``, the records'
      own camera per frame in world coordinates (Blender's world, z up), for visual odometry or SLAM.
    """

    def __init__(self):
        self.frames: dict[int, tuple[list | None, list]] = {}
        self.dataset_frame: dict[int, int] = {}

    def add(self, t: int, rec: dict) -> None:
        cam = rec.get("camera") or {}
        w2c = cam.get("world_to_camera")
        if w2c is not None:
            self.frames[t] = (cam.get("K"), w2c)
            self.dataset_frame[t] = rec["frame"]

    def write(self, poses: Path, cameras: Path) -> None:
        if not self.frames:
            return
        order = sorted(self.frames)
        first = np.asarray(self.frames[order[0]][1], np.float64)
        lines = []
        for t in order:
            try:
                rel = first @ np.linalg.inv(np.asarray(self.frames[t][1], np.float64))
            except np.linalg.LinAlgError:
                raise DatasetError(f"{layout.record_name(self.dataset_frame[t])}: camera.world_to_camera is "
                                   "singular: expected a rigid transform") from None
            lines.append(" ".join(f"{v:.9e}" for v in rel[:3].ravel()) + "\n")
        write_text(str(poses), "".join(lines))
        cams = [{"frame": t, "K": self.frames[t][0], "world_to_camera": self.frames[t][1]} for t in order]
        write_text(str(cameras), json.dumps({"frames": cams}, indent=1) + "\n")


def number(v: float) -> str:
    """A coordinate with at most 3 decimals and no trailing zeros (``12``, ``12.5``, ``-0.25``)."""
    text = f"{v:.3f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text

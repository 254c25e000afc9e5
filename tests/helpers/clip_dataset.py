"""A clip job's dataset whose every track is known: 2 clips of 6 frames, 64x48, with records as the clip
contract has them (``clip: {index, frame, length}``, ``track_id`` per object, a moving camera).

Per clip, three rectangles in depth order (front first):

- ``Truck`` (instance 2, track 20): static in the middle, in front of the car C.
- ``CarC`` (instance 3, track 30): moves right 4 px/frame behind the truck: partly hidden at t = 3, fully
  hidden (0 px, still in view) at t = 4 and 5.
- ``CarA`` (instance 1, track 10): moves right 4 px/frame and leaves the image: truncated from t = 2,
  outside at t = 4 and 5.

Track ids differ from instance ids on purpose (the writers must read ``track_id``). Clip 1 is clip 0
moved down by ``CLIP_DY`` px. The camera moves 0.1 m along its x axis per frame.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from synthkiln.addon.core.dataset import layout
from synthkiln.addon.core.images.png import encode_png
from synthkiln.addon.core.labels import masks

from tests.helpers.known_dataset import box3d_pose

H, W = 48, 64
SEED = 3          # clip 0 in train, clip 1 in val (val_fraction 0.2 and 0.5)
CLIPS, LENGTH = 2, 6
CLIP_DY = 4
CATEGORIES = [{"id": 3, "name": "car", "supercategory": "vehicle"},
              {"id": 8, "name": "truck", "supercategory": "vehicle"}]
K = [[60.0, 0.0, 32.0], [0.0, 60.0, 24.0], [0.0, 0.0, 1.0]]
CAMERA_STEP = 0.1       # m along the camera's x axis per frame


@dataclass(frozen=True)
class Body:
    name: str
    instance_id: int
    track_id: int
    category: str

    def rect(self, clip: int, t: int) -> tuple[int, int, int, int]:
        """[x0, y0, x1, y1) in pixels, unclipped."""
        dy = CLIP_DY * clip
        if self.name == "Truck":
            return 24, 10 + dy, 40, 30 + dy
        if self.name == "CarC":
            return 10 + 4 * t, 14 + dy, 18 + 4 * t, 22 + dy
        return 50 + 4 * t, 32 + dy, 60 + 4 * t, 42 + dy


BODIES = [Body("Truck", 2, 20, "truck"), Body("CarC", 3, 30, "car"), Body("CarA", 1, 10, "car")]  # front first


def clip_manifest(**output) -> dict:
    out = {"clips": CLIPS, "clip_length": LENGTH, **output}
    return {"generator": "SynthKiln", "version": "0.1.0", "created": "2026-12-05T08:00:00Z", "seed": SEED,
            "frames": CLIPS * LENGTH, "categories": CATEGORIES, "recipe": {"output": out}, "blender": "5.0.1"}


def world_to_camera(t: int) -> list[list[float]]:
    m = np.eye(4)
    m[0, 3] = -CAMERA_STEP * t
    return m.tolist()


def frame_mask(clip: int, t: int) -> np.ndarray:
    m = np.zeros((H, W), np.uint16)
    for b in reversed(BODIES):          # back to front: the front body overwrites
        x0, y0, x1, y1 = b.rect(clip, t)
        m[max(y0, 0):min(y1, H), max(x0, 0):min(x1, W)] = b.instance_id
    return m


def objects(clip: int, t: int, mask: np.ndarray) -> list[dict]:
    stats, rles = masks.instance_stats(mask), masks.rle_encode_instances(mask)
    out = []
    for b in BODIES:
        x0, y0, x1, y1 = b.rect(clip, t)
        cx0, cy0, cx1, cy1 = max(x0, 0), max(y0, 0), min(x1, W), min(y1, H)
        inside = max(cx1 - cx0, 0) * max(cy1 - cy0, 0)
        full = (x1 - x0) * (y1 - y0)
        s = stats.get(b.instance_id)
        area = s["area"] if s else 0
        obj = {"instance_id": b.instance_id, "track_id": b.track_id, "name": b.name, "category": b.category,
               "attributes": {}, "hidden": False, "bbox": s["bbox"] if s else None, "area": area,
               "rle": rles.get(b.instance_id), "visibility": area / inside if inside else 0.0,
               "truncation": 1.0 - inside / full,
               "amodal_bbox": [float(x0), float(y0), float(x1 - x0), float(y1 - y0)],
               "amodal_bbox_clipped": [float(cx0), float(cy0), float(cx1 - cx0), float(cy1 - cy0)] if inside else None}
        obj["box3d"], obj["pose"] = box3d_pose(0.2 * b.instance_id, [0.1 * b.instance_id, 0.05, 2.0 + b.instance_id])
        out.append(obj)
    return out


def make_clip_dataset(root: Path, **output) -> dict[int, np.ndarray]:
    """Manifest, records, masks and images of the clip job; returns the masks by dataset frame."""
    layout.make_dirs(root)
    (root / layout.MANIFEST).write_text(json.dumps(clip_manifest(**output)))
    out = {}
    for c in range(CLIPS):
        for t in range(LENGTH):
            i = c * LENGTH + t
            mask = frame_mask(c, t)
            files = {"image": layout.image_name(i), "mask": layout.mask_name(i)}
            rgb = np.full((H, W, 3), 90, np.uint8)
            rgb[..., 0] = 20 * i
            rgb[mask > 0, 1] = 40 * mask[mask > 0]
            (root / files["image"]).write_bytes(encode_png(rgb))
            (root / files["mask"]).write_bytes(encode_png(mask))
            rec = {"synthkiln": "0.1.0", "frame": i, "seed": SEED, "width": W, "height": H, "files": files,
                   "clip": {"index": c, "frame": t, "length": LENGTH},
                   "camera": {"name": "Camera", "K": K, "world_to_camera": world_to_camera(t)},
                   "values": {}, "applied": {}, "objects": objects(c, t, mask)}
            (root / layout.record_name(i)).write_text(json.dumps(rec))
            out[i] = mask
    return out

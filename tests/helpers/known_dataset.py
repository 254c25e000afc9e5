"""A dataset folder whose every label is known: manifest, frame records, 16-bit instance masks, semantic
masks and tiny RGB images, with boxes (tight, amodal), RLEs, visibility, truncation, 3D boxes, poses and
keypoints. The writer tests read their exports back against it; ``check`` and the export contract use it
as a clean dataset."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from synthkiln.addon.core.dataset import layout
from synthkiln.addon.core.images.png import encode_png
from synthkiln.addon.core.labels import masks

H, W = 48, 64
SEED = 11
CATEGORIES = [{"id": 1, "name": "mug", "supercategory": "kitchen"},
              {"id": 5, "name": "plate", "supercategory": "kitchen"},
              {"id": 9, "name": "toy car", "supercategory": "toy"}]
K = [[60.0, 0.0, 32.0], [0.0, 60.0, 24.0], [0.0, 0.0, 1.0]]
# instance id, name, category, visibility, truncation
SPEC = [(1, "Mug", "mug", 1.0, 0.0), (2, "Plate", "plate", 0.6, 0.0), (3, "Ring", "toy car", 0.9, 0.0),
        (4, "Split", "toy car", 0.2, 0.0), (5, "Edge", "mug", 1.0, 0.5), (6, "Speck", "plate", 1.0, 0.0),
        (7, "Hidden", "mug", None, 0.0)]
SIZE = (0.12, 0.08, 0.10)  # box3d extents along local x (length), y (width), z (height)


def manifest(**output) -> dict:
    return {"generator": "SynthKiln", "version": "0.1.0", "created": "2026-11-23T10:00:00Z", "seed": SEED,
            "frames": 6, "categories": CATEGORIES, "recipe": {"output": output}, "blender": "5.0.1"}


def frame_mask(frame: int) -> np.ndarray:
    m = np.zeros((H, W), np.uint16)
    yy, xx = np.mgrid[:H, :W]
    m[4 + frame:16 + frame, 3:15] = 1                                   # rectangle, moves per frame
    m[(xx - 46) ** 2 + (yy - 14) ** 2 <= 8 ** 2] = 2                   # disc
    ring = ((xx - 20) ** 2 + (yy - 34) ** 2 <= 9 ** 2) & ((xx - 20) ** 2 + (yy - 34) ** 2 > 4 ** 2)
    m[ring] = 3                                                         # ring: one hole
    m[28:34, 36:42] = 4
    m[38:44, 44:50] = 4                                                 # two components
    m[H - 10:, W - 12:] = 5                                              # touches the border
    m[1:4, 30:33] = 6                                                   # 3x3 speck
    return m


def box3d_pose(ry: float, t: list[float]) -> tuple[dict, dict]:
    """An upright object (local z up = camera -y) turned by ry about the camera's y axis."""
    c, s = math.cos(ry), math.sin(ry)
    R = np.array([[c, s, 0.0], [0.0, 0.0, -1.0], [-s, c, 0.0]])   # columns: local x, y, z in camera
    lx, ly, lz = SIZE
    local = [(x, y, z) for x in (-lx / 2, lx / 2) for y, z in ((-ly / 2, 0), (-ly / 2, lz), (ly / 2, lz), (ly / 2, 0))]
    cam = [(R @ np.array(p) + np.array(t)).tolist() for p in local]
    return ({"corners_world": cam, "corners_camera": cam, "size": list(SIZE)},
            {"R": R.tolist(), "t": list(t), "scale": [1.0, 1.0, 1.0]})


def objects_for(frame: int, mask: np.ndarray) -> list[dict]:
    stats, rles = masks.instance_stats(mask), masks.rle_encode_instances(mask)
    out = []
    for iid, name, cat, vis, trunc in SPEC:
        s = stats.get(iid)
        obj = {"instance_id": iid, "name": name, "category": cat, "attributes": {"colour": f"c{iid}"},
               "hidden": s is None, "bbox": s["bbox"] if s else None, "area": s["area"] if s else 0,
               "rle": rles.get(iid), "visibility": vis, "truncation": trunc}
        if s:
            x, y, w, h = s["bbox"]
            amodal = [x - 2.5, y - 1.5, w + 4.0, h + 3.0]
            x0, y0 = max(amodal[0], 0.0), max(amodal[1], 0.0)
            x1, y1 = min(amodal[0] + amodal[2], W), min(amodal[1] + amodal[3], H)
            obj["amodal_bbox"], obj["amodal_bbox_clipped"] = amodal, [x0, y0, x1 - x0, y1 - y0]
            obj["box3d"], obj["pose"] = box3d_pose(0.3 * iid - 1.0 + 0.1 * frame, [0.1 * iid - 0.3, 0.05, 1.5 + iid])
        if name == "Mug":
            x, y, w, h = s["bbox"]
            obj["keypoints"] = [{"name": "handle", "uv": [x + w - 0.5, y + h / 2], "camera": [0, 0, 1], "v": 2},
                                {"name": "rim", "uv": [x + w / 2, y + 0.5], "camera": [0, 0, 1], "v": 1},
                                {"name": "top", "uv": [-3.0, 5.0], "camera": [0, 0, 1], "v": 0}]
        out.append(obj)
    return out


def make_dataset(root: Path, frames=range(6), **output) -> dict[int, np.ndarray]:
    """Manifest, records, 16-bit instance masks, semantic masks and tiny RGB images."""
    layout.make_dirs(root)
    (root / layout.MANIFEST).write_text(json.dumps(manifest(**output)))
    cat_id = {c["name"]: c["id"] for c in CATEGORIES}
    lut = np.zeros(max(s[0] for s in SPEC) + 1, np.uint16)
    for iid, _, cat, _, _ in SPEC:
        lut[iid] = cat_id[cat]
    (root / "semantic").mkdir(exist_ok=True)
    out = {}
    for i in frames:
        mask = frame_mask(i)
        files = {"image": layout.image_name(i), "mask": layout.mask_name(i), "semantic": f"semantic/{i:06d}.png"}
        rgb = np.full((H, W, 3), 90, np.uint8)
        rgb[..., 0] = (40 * i) % 256
        (root / files["image"]).write_bytes(encode_png(rgb))
        (root / files["mask"]).write_bytes(encode_png(mask))
        (root / files["semantic"]).write_bytes(encode_png(lut[mask]))
        rec = {"synthkiln": "0.1.0", "frame": i, "seed": SEED, "width": W, "height": H, "files": files,
               "camera": {"name": "Camera", "K": K, "world_to_camera": np.eye(4).tolist()},
               "values": {}, "applied": {}, "objects": objects_for(i, mask)}
        (root / layout.record_name(i)).write_text(json.dumps(rec))
        out[i] = mask
    return out

"""A small dataset of flat grey frames: instance 1 (a mug) a 30x20 rectangle, 2 (a plate) a disc, 3 hidden;
the same objects in every frame. The preview tests draw on it; the report tests read and draw it."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from synthkiln.addon.core.dataset import layout
from synthkiln.addon.core.images.png import encode_png
from synthkiln.addon.core.labels import masks

H, W = 80, 120
GREY = 100
CATEGORIES = [{"id": 1, "name": "mug", "supercategory": "kitchen"},
              {"id": 2, "name": "plate", "supercategory": "kitchen"}]


def make_dataset(root: Path, frames: int = 3, with_rle: bool = True) -> np.ndarray:
    """Flat grey images; instance 1 (mug) a 30x20 rectangle, 2 (plate) a disc, 3 hidden."""
    layout.make_dirs(root)
    (root / layout.MANIFEST).write_text(json.dumps(
        {"generator": "SynthKiln", "version": "0.1.0", "created": "2026-11-22T10:00:00Z", "seed": 1,
         "frames": frames, "categories": CATEGORIES, "recipe": {}, "blender": "5.0.1"}))
    mask = np.zeros((H, W), np.uint16)
    mask[30:50, 20:50] = 1                      # bbox [20, 30, 30, 20]
    yy, xx = np.mgrid[:H, :W]
    mask[(xx - 90) ** 2 + (yy - 45) ** 2 <= 15 ** 2] = 2
    stats, rles = masks.instance_stats(mask), masks.rle_encode_instances(mask)
    objects = [{"instance_id": i, "name": n, "category": c, "attributes": {},
                "bbox": stats[i]["bbox"] if i in stats else None, "area": stats.get(i, {}).get("area", 0),
                "rle": rles.get(i) if with_rle else None}
               for i, n, c in [(1, "Mug", "mug"), (2, "Plate", "plate"), (3, "Gone", "mug")]]
    for f in range(frames):
        (root / layout.image_name(f)).write_bytes(encode_png(np.full((H, W, 3), GREY, np.uint8)))
        (root / layout.mask_name(f)).write_bytes(encode_png(mask))
        rec = {"synthkiln": "0.1.0", "frame": f, "seed": 1, "width": W, "height": H,
               "files": {"image": layout.image_name(f), "mask": layout.mask_name(f)},
               "camera": {}, "values": {}, "objects": objects}
        (root / layout.record_name(f)).write_text(json.dumps(rec))
    return mask

"""YOLO export in the Ultralytics layout, from the frame records.

::

    exports/yolo/data.yaml                  path (absolute), train, val, names {0: first category, ...}
    exports/yolo/images/{train,val}/NNNNNN.png   the dataset's images, linked (see exports.ImageLinker)
    exports/yolo/labels/{train,val}/NNNNNN.txt   one line per object: cls cx cy w h (0..1)

``exports/yolo-seg/`` is the same with segmentation lines ``cls x1 y1 x2 y2 ...`` (0..1): one polygon per
object along its pixel edges, components and holes joined by zero-width cuts (``core/labels/polygons.py``).

Class ids are 0-based in the manifest's category order (after the ``categories`` filter). A frame goes
to ``val`` when a hash of (job seed, frame) falls below ``val_fraction`` (``exports.split_of``): the same
for every shard, rerun and export. Boxes are the tight boxes of the masks (whole pixels, so a label
converts back to the record's box exactly, up to the 6 printed decimals).

``path`` is absolute because Ultralytics resolves a relative ``path`` against its own datasets folder,
not the YAML's; after moving the dataset, run ``synthkiln export`` again (or edit ``path``).
"""

from __future__ import annotations

import os
import posixpath
from pathlib import Path

import yaml

from ..dataset import layout
from ..labels import polygons
from ..errors import DatasetError
from .common import Context, write_text

SPLITS = ("train", "val")


class YoloWriter:
    """``exports/yolo``: detection labels."""
    DIR = "yolo"
    uses_images = True

    def __init__(self, ctx: Context, out: Path):
        self.ctx, self.out = ctx, out
        self.cls = {c["name"]: i for i, c in enumerate(ctx.categories)}
        for kind in ("images", "labels"):
            for split in SPLITS:
                (out / kind / split).mkdir(parents=True, exist_ok=True)
        self.counts = dict.fromkeys(SPLITS, 0)
        self.dirs = {(kind, split): os.path.join(out, kind, split) for kind in ("images", "labels") for split in SPLITS}

    def line(self, rec: dict, obj: dict, w: int, h: int) -> str | None:
        x, y, bw, bh = obj["bbox"]
        return (f"{self.cls[obj['category']]} {(x + bw / 2) / w:.6f} {(y + bh / 2) / h:.6f} "
                f"{bw / w:.6f} {bh / h:.6f}")

    def add(self, rec: dict, objs: list[dict]) -> None:
        frame, w, h = rec["frame"], rec["width"], rec["height"]
        split = self.ctx.split(frame)
        name, src = self.ctx.image(rec)
        self.ctx.link(src, os.path.join(self.dirs["images", split], name))
        lines = [ln for ln in (self.line(rec, o, w, h) for o in objs) if ln]
        stem = posixpath.splitext(name)[0]
        write_text(os.path.join(self.dirs["labels", split], f"{stem}.txt"), "".join(f"{ln}\n" for ln in lines))
        self.counts[split] += 1

    def finish(self) -> Path:
        final = self.ctx.root / layout.EXPORTS / self.DIR
        data = {"path": str(final.resolve()), "train": "images/train", "val": "images/val",
                "names": {i: c["name"] for i, c in enumerate(self.ctx.categories)}}
        head = (f"# SynthKiln {self.DIR} export: {self.counts['train']} train / {self.counts['val']} val images\n"
                "# (split by a hash of the job seed and frame; rerun `synthkiln export` after moving the dataset)\n")
        path = self.out / "data.yaml"
        write_text(str(path), head + yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
        return path


class YoloSegWriter(YoloWriter):
    """``exports/yolo-seg``: one polygon per object."""
    DIR = "yolo-seg"

    def line(self, rec: dict, obj: dict, w: int, h: int) -> str | None:
        if obj.get("rle") is None:
            raise DatasetError(f"{layout.record_name(rec['frame'])}: object {obj.get('name')!r} has no rle "
                               "to draw its polygon from")
        try:
            ring = polygons.object_polygon(obj["rle"], obj["bbox"])
        except (ValueError, IndexError) as exc:   # counts that do not fit the mask's size
            raise DatasetError(f"{layout.record_name(rec['frame'])}: object {obj.get('name')!r}: rle cannot be "
                               f"decoded ({exc})") from None
        if ring is None:
            return None
        coords = " ".join(f"{px / w:.6f} {py / h:.6f}" for px, py in ring.tolist())
        return f"{self.cls[obj['category']]} {coords}"

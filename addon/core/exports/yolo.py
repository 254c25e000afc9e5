"""YOLO export in the Ultralytics layout, from the frame records.

::

    exports/yolo/data.yaml                       train, val (and any other subset), names {0: first, ...}
    exports/yolo/images/{train,val}/NNNNNN.png   the dataset's images, linked (see common.ImageLinker)
    exports/yolo/labels/{train,val}/NNNNNN.txt   one line per object: cls cx cy w h (0..1)

``data.yaml`` has no ``path``: Ultralytics then takes the YAML's own folder as the dataset root (a relative
``path`` it would resolve against its settings' datasets folder instead), so a copied or moved export
trains on its own images.

``exports/yolo-seg/`` is the same with segmentation lines ``cls x1 y1 x2 y2 ...`` (0..1): one polygon per
object through the centres of its boundary pixels (``polygons.centre_ring``), components and holes joined
by zero-width cuts. Readers rasterise these with OpenCV's ``fillPoly`` on integer vertices (Ultralytics'
``polygon2mask``, supervision), which fills the boundary pixels themselves: a polygon along the pixel edges
would come back a column and a row too big. Each vertex is written at pixel index + ``VERTEX_OFFSET``
(a quarter pixel), so truncating (``astype(int32)``, what both do) and rounding both give the index back.
A single component, holes included, comes back exactly; the cuts joining several components fill the
pixels they cross (YOLO allows one polygon per object).

Class ids are 0-based in the manifest's category order (after the ``categories`` filter). Subsets follow
``common.Split`` (a hash of job seed and frame): the same for every shard, rerun and export. Boxes are the
tight boxes of the masks (whole pixels, so a label converts back to the record's box exactly, up to the 6
printed decimals).
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

VERTEX_OFFSET = 0.25     # px added to each integer vertex: survives int truncation and rounding alike


class YoloWriter:
    """``exports/yolo``: detection labels."""
    DIR = "yolo"
    uses_images = True

    def __init__(self, ctx: Context, out: Path):
        self.ctx, self.out = ctx, out
        self.cls = {c["name"]: i for i, c in enumerate(ctx.categories)}
        splits = ctx.subsets.names
        for kind in ("images", "labels"):
            for split in splits:
                (out / kind / split).mkdir(parents=True, exist_ok=True)
        self.counts = dict.fromkeys(splits, 0)
        self.dirs = {(kind, split): os.path.join(out, kind, split) for kind in ("images", "labels") for split in splits}

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
        data = {split: f"images/{split}" for split in self.ctx.subsets.names}
        data["names"] = {i: c["name"] for i, c in enumerate(self.ctx.categories)}
        counts = " / ".join(f"{n} {split}" for split, n in self.counts.items())
        head = (f"# SynthKiln {self.DIR} export: {counts} images (split by a hash of the job seed and frame).\n"
                "# No `path`: the dataset root is this file's folder, so the export can be moved or copied.\n")
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
            ring = polygons.object_polygon(obj["rle"], obj["bbox"], centres=True)
        except (ValueError, IndexError) as exc:   # counts that do not fit the mask's size
            raise DatasetError(f"{layout.record_name(rec['frame'])}: object {obj.get('name')!r}: rle cannot be "
                               f"decoded ({exc})") from None
        if ring is None:
            return None
        off = VERTEX_OFFSET
        coords = " ".join(f"{(px + off) / w:.6f} {(py + off) / h:.6f}" for px, py in ring.tolist())
        return f"{self.cls[obj['category']]} {coords}"

"""Pascal VOC export, from the frame records.

::

    exports/voc/Annotations/NNNNNN.xml      one per image
    exports/voc/ImageSets/Main/{train,val}.txt   image stems, split as YOLO's (exports.split_of)
    exports/voc/JPEGImages/NNNNNN.png       the images, linked (VOC's folder name, whatever the format)

Boxes are VOC's 1-based inclusive pixel indices: a record box [x, y, w, h] (pixel column x covers
[x, x + 1)) becomes xmin = x + 1, ymin = y + 1, xmax = x + w, ymax = y + h.

Flags, from the record's ``truncation`` and ``visibility`` (missing values count as 0 and 1):

- ``truncated`` 1 when more than ``TRUNCATED`` (15 %) of the object's silhouette lies outside the
  image, or its box touches the image border;
- ``occluded`` 1 when less than ``OCCLUDED`` (85 %) of it is visible;
- ``difficult`` 1 when less than ``DIFFICULT_VISIBILITY`` (30 %) is visible or the box is smaller than
  ``DIFFICULT_SIDE`` (8 px) on a side: VOC's evaluation then neither rewards nor punishes it.
"""

from __future__ import annotations

import os
import posixpath
from pathlib import Path
from xml.sax.saxutils import escape

from .common import Context, write_text

TRUNCATED = 0.15
OCCLUDED = 0.85
DIFFICULT_VISIBILITY = 0.3
DIFFICULT_SIDE = 8


def flags(obj: dict, width: int, height: int) -> tuple[int, int, int]:
    """(truncated, occluded, difficult) for a record object."""
    x, y, w, h = obj["bbox"]
    trunc = obj.get("truncation") or 0.0
    vis = obj.get("visibility")
    vis = 1.0 if vis is None else vis
    touches = x <= 0 or y <= 0 or x + w >= width or y + h >= height
    truncated = int(trunc > TRUNCATED or touches)
    occluded = int(vis < OCCLUDED)
    difficult = int(vis < DIFFICULT_VISIBILITY or min(w, h) < DIFFICULT_SIDE)
    return truncated, occluded, difficult


def annotation_xml(rec: dict, objs: list[dict], filename: str, folder: str = "JPEGImages") -> str:
    w, h = rec["width"], rec["height"]
    parts = [
        "<annotation>",
        f"  <folder>{escape(folder)}</folder>",
        f"  <filename>{escape(filename)}</filename>",
        "  <source><database>SynthKiln</database><annotation>SynthKiln</annotation>"
        f"<image>frame {rec['frame']}, seed {rec.get('seed')}</image></source>",
        f"  <size><width>{w}</width><height>{h}</height><depth>3</depth></size>",
        "  <segmented>0</segmented>",
    ]
    for obj in objs:
        x, y, bw, bh = obj["bbox"]
        t, o, d = flags(obj, w, h)
        parts += [
            "  <object>",
            f"    <name>{escape(str(obj['category']))}</name>",
            "    <pose>Unspecified</pose>",
            f"    <truncated>{t}</truncated>",
            f"    <occluded>{o}</occluded>",
            f"    <difficult>{d}</difficult>",
            f"    <bndbox><xmin>{x + 1}</xmin><ymin>{y + 1}</ymin><xmax>{x + bw}</xmax><ymax>{y + bh}</ymax></bndbox>",
            "  </object>",
        ]
    parts.append("</annotation>\n")
    return "\n".join(parts)


class VocWriter:
    DIR = "voc"
    uses_images = True

    def __init__(self, ctx: Context, out: Path):
        self.ctx, self.out = ctx, out
        for sub in ("Annotations", "ImageSets/Main", "JPEGImages"):
            (out / sub).mkdir(parents=True, exist_ok=True)
        self.sets: dict[str, list[str]] = {"train": [], "val": []}
        self.images, self.annotations = str(out / "JPEGImages"), str(out / "Annotations")

    def add(self, rec: dict, objs: list[dict]) -> None:
        name, src = self.ctx.image(rec)
        stem = posixpath.splitext(name)[0]
        self.ctx.link(src, os.path.join(self.images, name))
        write_text(os.path.join(self.annotations, f"{stem}.xml"), annotation_xml(rec, objs, name))
        self.sets[self.ctx.split(rec["frame"])].append(stem)

    def finish(self) -> Path:
        main = self.out / "ImageSets" / "Main"
        for split, stems in self.sets.items():
            write_text(str(main / f"{split}.txt"), "".join(f"{s}\n" for s in stems))
        return self.out / "Annotations"

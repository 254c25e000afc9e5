"""Pascal VOC export, from the frame records.

::

    exports/voc/Annotations/NNNNNN.xml      one per image
    exports/voc/ImageSets/Main/{train,val}.txt   image stems, split as the other formats (common.Split)
    exports/voc/JPEGImages/NNNNNN.jpg       the images as JPEG (linked when the dataset's are JPEG already)
    exports/voc/labelmap.txt                the labels (Datumaro's label map: name:r,g,b::), background first

VOC readers build an image's path as ``JPEGImages/<id>.jpg`` (torchvision's ``VOCDetection``, the devkit),
so PNG renders are encoded as JPEG (quality ``JPEG_QUALITY``) with Pillow. Inside a Blender without Pillow
the PNG is linked under the ``.jpg`` name (every reader decodes by content) and a note says that
``synthkiln export`` writes real JPEGs.

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
from html import escape as _html_escape

from ..images.pillow import pillow_available
from .common import Context, write_text


def escape(text: str) -> str:
    """XML character data: & < > escaped (xml.sax.saxutils.escape's rule; that module imports urllib and
    http, 17 ms of every render process's start-up)."""
    return _html_escape(text, quote=False)


JPEG_QUALITY = 95

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
        self.sets: dict[str, list[str]] = {name: [] for name in ctx.subsets.names}
        self.images, self.annotations = str(out / "JPEGImages"), str(out / "Annotations")
        self.encode = pillow_available()
        self.note = None

    def add(self, rec: dict, objs: list[dict]) -> None:
        name, src = self.ctx.image(rec)
        stem = posixpath.splitext(name)[0]
        jpg = os.path.join(self.images, f"{stem}.jpg")
        if name.lower().endswith((".jpg", ".jpeg")) or not self.encode:
            self.ctx.link(src, jpg)
            if not name.lower().endswith((".jpg", ".jpeg")):
                self.note = "VOC images are PNG files named .jpg (no Pillow here): `synthkiln export` writes JPEGs"
        else:
            _to_jpeg(src, jpg)
        write_text(os.path.join(self.annotations, f"{stem}.xml"), annotation_xml(rec, objs, f"{stem}.jpg"))
        self.sets[self.ctx.split(rec["frame"])].append(stem)

    def finish(self) -> Path:
        main = self.out / "ImageSets" / "Main"
        for split, stems in self.sets.items():
            write_text(str(main / f"{split}.txt"), "".join(f"{s}\n" for s in stems))
        write_text(str(self.out / "labelmap.txt"), labelmap([c["name"] for c in self.ctx.categories]))
        return self.out / "Annotations"


def _to_jpeg(src: str, dst: str) -> None:
    from PIL import Image
    with Image.open(src) as im:
        im.convert("RGB").save(dst, "JPEG", quality=JPEG_QUALITY)


def voc_colour(index: int) -> tuple[int, int, int]:
    """The VOC devkit's colour map: label i's colour from its bits (background 0 is black)."""
    r = g = b = 0
    for k in range(8):
        r |= ((index >> 0) & 1) << (7 - k)
        g |= ((index >> 1) & 1) << (7 - k)
        b |= ((index >> 2) & 1) << (7 - k)
        index >>= 3
    return r, g, b


def labelmap(names: list[str]) -> str:
    """Datumaro's ``labelmap.txt``: ``name:r,g,b:parts:actions`` per label, background first (VOC's 0)."""
    lines = ["# label:color_rgb:parts:actions"]
    for i, name in enumerate(["background", *names]):
        lines.append(f"{name}:{','.join(map(str, voc_colour(i)))}::")
    return "\n".join(lines) + "\n"

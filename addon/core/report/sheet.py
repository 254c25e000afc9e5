"""Thumbnails for the report's contact sheets (sample frames, worst frames): each frame drawn by
``preview.render_preview`` (mask fill, boxes, labels), scaled down and written beside the page.

One frame that cannot be drawn (image deleted, record broken) becomes a caption saying why, not a failed
report: the report is most wanted exactly when a dataset has problems.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import numpy as np

from ..dataset import layout
from ..errors import DatasetError
from ..dataset.records import dataset_path, read_record
from ..fsio import atomic_write_bytes
from ..dataset.job import read_manifest
from ..exports.preview import category_colour, category_colours, draw_boxes, render_preview
from ..images.pillow import import_pillow
from .model import Report

THUMB = 320           # longest side, px (the page shows them ~220 px wide; sharp on high-DPI screens)
JPEG_QUALITY = 88


@dataclass
class Thumb:
    index: int
    file: str | None        # relative to the report folder; None when the frame could not be drawn
    width: int = 0
    height: int = 0
    problem: str | None = None


def thumbnail_name(index: int) -> str:
    return f"frame_{layout.stem(index)}.jpg"


def _thumbnail(rgb: np.ndarray, size: int) -> tuple[bytes, int, int]:
    Image, _, _ = import_pillow("report thumbnails")
    img = Image.fromarray(rgb, "RGB")
    img.thumbnail((size, size), Image.Resampling.LANCZOS)  # only ever shrinks, keeps the aspect
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=JPEG_QUALITY, optimize=True)
    return buf.getvalue(), img.width, img.height


def write_thumbnails(report: Report, out: Path, indices: Iterable[int], size: int = THUMB) -> dict[int, Thumb]:
    """A thumbnail per frame index (each drawn once, however often it is asked for), written into ``out``."""
    import_pillow("report thumbnails")  # fail early with the clear message
    root = Path(report.root)
    try:
        colours = category_colours(read_manifest(root))
    except DatasetError:
        colours = {}  # automatic colours: the data side reports the missing manifest
    thumbs: dict[int, Thumb] = {}
    for index in indices:
        if index in thumbs:
            continue
        try:
            data, w, h = _thumbnail(render_preview(root, read_record(root, index), colours), size)
        except (DatasetError, OSError) as exc:  # OSError: a mask file missing or unreadable
            thumbs[index] = Thumb(index, None, problem=str(exc))
            continue
        name = thumbnail_name(index)
        atomic_write_bytes(Path(out) / name, data)
        thumbs[index] = Thumb(index, name, w, h)
    return thumbs


def real_thumbnail_name(k: int) -> str:
    return f"real_{k:04d}.jpg"


def write_real_thumbnails(report: Report, out: Path, size: int = THUMB) -> list[Thumb]:
    """Thumbnails of the real sample images with their COCO boxes, in the synthetic sheet's category
    colours (matched by name), so the two sheets read alike. ``Thumb.index`` is the position."""
    Image, ImageDraw, ImageFont = import_pillow("report thumbnails")
    try:
        colours = category_colours(read_manifest(Path(report.root)))
    except DatasetError:
        colours = {}
    font = ImageFont.load_default()
    thumbs = []
    for k, frame in enumerate(report.real_frames):
        try:
            with Image.open(frame.image) as im:
                img = im.convert("RGB")
        except OSError as exc:
            thumbs.append(Thumb(k, None, problem=f"{frame.name}: cannot open image ({exc})"))
            continue
        draw_boxes(ImageDraw.Draw(img), font, [(box, name, colours.get(name) or category_colour(name))
                                               for name, box in frame.boxes])
        data, w, h = _thumbnail(np.asarray(img), size)
        atomic_write_bytes(Path(out) / real_thumbnail_name(k), data)
        thumbs.append(Thumb(k, real_thumbnail_name(k), w, h))
    return thumbs


def write_sensor_pairs(report: Report, out: Path, size: int = THUMB) -> list[tuple[int, Thumb, Thumb]]:
    """(frame, clean thumbnail, sensor thumbnail) for the clean-vs-sensor sheet: the clean one is the frame's
    own ``files.clean`` (the render before the sensor stack, kept small by the frame job) copied beside the
    page; the sensor one is the stored image, shrunk to the same size, without labels drawn over it."""
    Image = import_pillow("report thumbnails")[0]
    root = Path(report.root)
    pairs = []
    for index in report.sensor.pairs:
        thumbs = []
        try:
            files = read_record(root, index).get("files") or {}
        except DatasetError as exc:
            pairs.append((index, Thumb(index, None, problem=str(exc)), Thumb(index, None, problem=str(exc))))
            continue
        for kind in ("clean", "image"):
            prefix = "clean" if kind == "clean" else "stored"
            try:
                path = dataset_path(root, files[kind], layout.record_name(index), f"files.{kind}")
                with Image.open(path) as im:
                    data, w, h = _thumbnail(np.asarray(im.convert("RGB")), size)
            except (KeyError, DatasetError, OSError) as exc:
                thumbs.append(Thumb(index, None, problem=f"{kind}: {exc}"))
                continue
            name = f"{prefix}_{layout.stem(index)}.jpg"
            atomic_write_bytes(Path(out) / name, data)
            thumbs.append(Thumb(index, name, w, h))
        pairs.append((index, thumbs[0], thumbs[1]))
    return pairs

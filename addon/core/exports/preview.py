"""Box and mask previews: a quick visual check that labels sit on the pixels they describe.

Each frame's RGB image gets a semi-transparent fill of every visible instance's mask and a 2 px box
outline in its category's colour, with the category name above the box (and in a clip job the track id,
``car #3``). The outline is drawn from (x, y) to (x + w - 1, y + h - 1) and grows inwards, so its outer
pixels are exactly the mask's extreme pixels: a box that looks one pixel off *is* one pixel off.

The amodal box (the whole projected object, occluded and out-of-image parts included) is a thin
dashed outline in the same colour, drawn the same way (Pillow clips what lies outside the image).
Keypoints are dots at their pixel: filled with a dark rim when visible (v = 2), a ring when occluded
(v = 1); those outside the image (v = 0) are not drawn. With exports, only the objects the export
filters keep are drawn, so the previews show what the exports hold.

Pillow is needed (text and image decoding) and is imported lazily: inside Blender it may be absent,
and nothing else in core should fail for that.
"""

from __future__ import annotations

import colorsys
import math
from pathlib import Path
from typing import Callable

import numpy as np

from ..dataset import layout
from ..errors import DatasetError
from ..dataset.records import dataset_path, read_json, read_record
from ..fsio import atomic_write_bytes
from ..labels.masks import rle_decode
from ..images.pillow import import_pillow
from ..images.png import encode_png

PREVIEW_DIR = f"{layout.EXPORTS}/preview"
FILL_ALPHA = 0.4
BOX_WIDTH = 2
DASH = 4          # amodal box: dash and gap length, px
KEYPOINT_RADIUS = 3


def category_colour(key: int | str) -> tuple[int, int, int]:
    """A distinct, stable, saturated colour per category: hues spaced by the golden angle."""
    if isinstance(key, str):
        # a stable small number from the name (Python's hash() is salted per process)
        key = sum((i + 1) * ord(ch) for i, ch in enumerate(key))
    hue = (key * 0.618033988749895) % 1.0
    r, g, b = colorsys.hsv_to_rgb(hue, 0.85, 1.0)
    return int(r * 255), int(g * 255), int(b * 255)


def _instance_mask(root: Path, record: dict, obj: dict, cache: dict) -> np.ndarray:
    """The instance's 0/1 mask: from its RLE, else from the frame's 16-bit mask file."""
    where = layout.record_name(record["frame"])
    if obj.get("rle"):
        try:
            return rle_decode(obj["rle"])
        except (ValueError, KeyError, TypeError) as exc:
            raise DatasetError(f"{where}: object {obj.get('name')!r}: rle cannot be decoded ({exc})") from None
    if "ids" not in cache:
        Image, _, _ = import_pillow()
        rel = (record.get("files") or {}).get("mask") or layout.mask_name(record["frame"])
        path = dataset_path(root, rel, where, "files.mask")
        try:
            with Image.open(path) as im:
                cache["ids"] = np.asarray(im).astype(np.int64)
        except (OSError, ValueError, Image.DecompressionBombError) as exc:
            raise DatasetError(f"{path}: cannot open mask ({exc})") from None
    return (cache["ids"] == obj.get("instance_id")).astype(np.uint8)


def _dashed_rectangle(draw, box: list[float], colour, size: tuple[int, int]) -> None:
    """A 1 px dashed outline on the pixels (x, y)..(x + w - 1, y + h - 1), as the tight box is drawn.
    Only the dashes inside the ``size`` (width, height) image are drawn, in the phase the whole outline
    has: an amodal box reaches far outside, and a record's box may be huge."""
    x0, y0 = round(box[0]), round(box[1])
    x1, y1 = round(box[0] + box[2]) - 1, round(box[1] + box[3]) - 1
    if x1 < x0 or y1 < y0:
        return
    step = 2 * DASH
    for a, b, fixed, horizontal in ((x0, x1, y0, True), (x0, x1, y1, True), (y0, y1, x0, False), (y0, y1, x1, False)):
        along, across = (size[0], size[1]) if horizontal else (size[1], size[0])
        if not 0 <= fixed < across:
            continue
        first = a + max(0, (0 - a) // step) * step
        for s in range(first, min(b, along - 1) + 1, step):
            e = min(s + DASH - 1, b)
            draw.line([(s, fixed), (e, fixed)] if horizontal else [(fixed, s), (fixed, e)], fill=colour, width=1)


def _keypoints(draw, keypoints: list[dict], colour, size: tuple[int, int]) -> None:
    r = KEYPOINT_RADIUS
    for k in keypoints or ():
        v = int(k.get("v", 0))
        if v <= 0:
            continue
        px, py = k["uv"][0] - 0.5, k["uv"][1] - 0.5  # uv has pixel centres at +0.5
        if not (-r <= px <= size[0] + r and -r <= py <= size[1] + r):
            continue    # nothing of it would show (and a huge coordinate is no use to Pillow)
        if v == 2:
            draw.ellipse([px - r, py - r, px + r, py + r], fill=colour, outline=(0, 0, 0))
        else:
            draw.ellipse([px - r, py - r, px + r, py + r], outline=colour, width=1)


def category_colours(manifest: dict) -> dict[str, tuple[int, int, int]]:
    """Preview colour per category name: the recipe's colour where one is set (not black), else automatic."""
    out = {}
    for c in manifest.get("categories") or ():
        if not isinstance(c, dict) or not isinstance(c.get("name"), str):
            continue    # reported by records.categories; colours only decorate
        rgb = c.get("color")
        ok = isinstance(rgb, list) and len(rgb) == 3 and all(isinstance(x, (int, float)) and math.isfinite(x)
                                                             for x in rgb)
        key = c.get("id") if isinstance(c.get("id"), int) else c["name"]
        out[c["name"]] = (tuple(int(round(min(max(x, 0.0), 1.0) * 255)) for x in rgb) if ok and any(rgb)
                          else category_colour(key))
        out[c["name"]] = tuple(out[c["name"]])
    return out


def render_preview(root: Path, record: dict, colours_by_category: dict[str, tuple[int, int, int]],
                   objects: list[dict] | None = None) -> np.ndarray:
    """The preview of one frame as an (H, W, 3) uint8 array (of ``objects``, default: all visible)."""
    Image, ImageDraw, ImageFont = import_pillow()
    rel = (record.get("files") or {}).get("image") or layout.image_name(record["frame"])
    path = dataset_path(root, rel, layout.record_name(record["frame"]), "files.image")
    try:
        with Image.open(path) as im:
            rgb = np.asarray(im.convert("RGB"), dtype=np.float32)
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        raise DatasetError(f"{path}: cannot open image ({exc})") from None

    visible = [o for o in (record.get("objects") or () if objects is None else objects)
               if (o.get("area") or 0) > 0 and o.get("bbox")]
    colours = {id(o): colours_by_category.get(o.get("category")) or category_colour(o.get("category") or 0)
               for o in visible}

    cache: dict = {}
    for obj in visible:
        m = _instance_mask(root, record, obj, cache).astype(bool)
        if m.shape != rgb.shape[:2]:
            raise DatasetError(f"{layout.record_name(record['frame'])}: mask of {obj.get('name')!r} is "
                               f"{m.shape[1]}x{m.shape[0]}, the image is {rgb.shape[1]}x{rgb.shape[0]}")
        rgb[m] = rgb[m] * (1.0 - FILL_ALPHA) + np.asarray(colours[id(obj)], np.float32) * FILL_ALPHA

    img = Image.fromarray(np.clip(rgb + 0.5, 0, 255).astype(np.uint8), "RGB")
    draw = ImageDraw.Draw(img)
    font = ImageFont.load_default()
    for obj in visible:
        if obj.get("amodal_bbox"):
            _dashed_rectangle(draw, obj["amodal_bbox"], colours[id(obj)], img.size)
    draw_boxes(draw, font, [(obj["bbox"], label(obj), colours[id(obj)]) for obj in visible])
    for obj in visible:
        _keypoints(draw, obj.get("keypoints"), colours[id(obj)], img.size)
    return np.asarray(img)


def label(obj: dict) -> str:
    """The tag over a box: the category, and in a clip job the track id (``car #3``)."""
    tid = obj.get("track_id")
    return f"{obj.get('category')} #{tid}" if isinstance(tid, int) else str(obj.get("category"))


def draw_boxes(draw, font, boxes: list[tuple[list[float], str, tuple[int, int, int]]]) -> None:
    """Each ([x, y, w, h], label, colour): the outline, and the label on a tag above the box (inside it
    at the image's top edge). Shared by the previews and the report's real-data contact sheet."""
    for (x, y, w, h), label, colour in boxes:
        draw.rectangle([x, y, x + w - 1, y + h - 1], outline=colour, width=BOX_WIDTH)
        left, top, right, bottom = draw.textbbox((0, 0), label, font=font)
        tw, th = right - left, bottom - top
        ty = y - th - 3 if y - th - 3 >= 0 else y + BOX_WIDTH  # inside the box at the top edge
        draw.rectangle([x, ty, x + tw + 3, ty + th + 2], fill=colour)
        draw.text((x + 2 - left, ty + 1 - top), label, fill=(0, 0, 0), font=font)


def write_previews(dataset_dir: Path, limit: int | None = None,
                   keep: Callable[[dict], list[dict]] | None = None) -> list[Path]:
    """Write ``exports/preview/NNNNNN.png`` for the first ``limit`` frames (all when None); ``keep``
    (a record -> its objects to draw) applies the export filters."""
    import_pillow()  # fail early with the clear message
    root = Path(dataset_dir)
    manifest = read_json(root / layout.MANIFEST)
    colours = category_colours(manifest if isinstance(manifest, dict) else {})

    indices = layout.record_indices(root)
    if limit is not None:
        indices = indices[:max(limit, 0)]
    out_dir = root / PREVIEW_DIR
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for i in indices:
        record = read_record(root, i)
        out = out_dir / f"{layout.stem(i)}.png"
        objects = keep(record) if keep is not None else None
        atomic_write_bytes(out, encode_png(render_preview(root, record, colours, objects)))
        written.append(out)
    return written

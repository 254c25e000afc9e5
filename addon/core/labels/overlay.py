"""The viewport's label overlay, as plain data: what to draw for a frame record, and where.

The 3D view draws exactly what a frame record says (the same record the dataset writes), so a wrong label
shows where the artist looks. This module turns a record into shapes in image pixels (tight box, dashed
amodal box, category and visibility tag, keypoints, instance colours) and maps image pixels onto the
camera frame as the viewport shows it; the ``gpu`` drawing (``ui/overlay.py``) only strokes the result.

Image pixels follow the records: x right, y down, pixel column x covers [x, x + 1), so a box [x, y, w, h]
spans x .. x + w. Region coordinates are Blender's: x right, y up, from the region's bottom-left corner.
"""

from __future__ import annotations

import colorsys
from dataclasses import dataclass

import numpy as np

from .masks import rle_decode

FILL_ALPHA = 0.35       # instance colour over the viewport
DASH = 6.0              # amodal box: dash and gap length, region pixels


@dataclass(frozen=True)
class Shape:
    """One thing to draw, in image pixels. ``kind``: "box" (solid outline), "amodal" (dashed outline), both
    with ``points`` = 4 corners clockwise from top-left; "text" at ``points[0]`` (its bottom-left);
    "keypoint" (filled dot) or "occluded" (ring) at ``points[0]``."""
    kind: str
    points: tuple[tuple[float, float], ...]
    colour: tuple[float, float, float]
    text: str = ""


def instance_colour(instance_id: int) -> tuple[float, float, float]:
    """A distinct, stable colour per instance id (golden-angle hues), 0..1 floats."""
    hue = (instance_id * 0.618033988749895) % 1.0
    return colorsys.hsv_to_rgb(hue, 0.8, 1.0)


def _corners(box: list[float]) -> tuple[tuple[float, float], ...]:
    x, y, w, h = (float(v) for v in box)
    return (x, y), (x + w, y), (x + w, y + h), (x, y + h)


def tag(obj: dict) -> str:
    """The text beside an object's box: its category and, when known, its visibility ratio."""
    vis = obj.get("visibility")
    text = str(obj.get("category") or obj.get("name") or "?")
    return text if vis is None else f"{text} {vis:.2f}"


def record_shapes(record: dict, colours: dict[str, tuple[float, float, float]] | None = None) -> list[Shape]:
    """The shapes of a frame record's objects: every object with a tight or an amodal box (hidden ones
    and ones wholly behind the camera have neither). ``colours``: category -> colour (0..1); an object's
    own instance colour otherwise."""
    colours = colours or {}
    shapes: list[Shape] = []
    for obj in record.get("objects") or ():
        if obj.get("hidden"):
            continue
        bbox, amodal = obj.get("bbox"), obj.get("amodal_bbox")
        if not bbox and not amodal:
            continue
        colour = tuple(colours.get(obj.get("category"), instance_colour(int(obj.get("instance_id") or 0))))
        if amodal:
            shapes.append(Shape("amodal", _corners(amodal), colour))
        if bbox:
            shapes.append(Shape("box", _corners(bbox), colour))
        anchor = _corners(bbox or amodal)[0]
        shapes.append(Shape("text", (anchor,), colour, tag(obj)))
        for kp in obj.get("keypoints") or ():
            if kp.get("v", 0) > 0 and kp.get("uv") is not None:
                kind = "keypoint" if kp["v"] == 2 else "occluded"
                shapes.append(Shape(kind, (tuple(float(c) for c in kp["uv"]),), colour, str(kp.get("name", ""))))
    return shapes


def instance_rgba(record: dict, alpha: float = FILL_ALPHA) -> np.ndarray | None:
    """(H, W, 4) float32 instance colours from the record's RLE masks, rows bottom-up (a GPU texture's
    order), transparent elsewhere; None when no object has a mask."""
    w, h = int(record["width"]), int(record["height"])
    rgba = None
    for obj in record.get("objects") or ():
        if not obj.get("rle") or obj.get("hidden"):
            continue
        m = rle_decode(obj["rle"]).astype(bool)
        if m.shape != (h, w):
            continue
        if rgba is None:
            rgba = np.zeros((h, w, 4), np.float32)
        rgba[m] = (*instance_colour(int(obj.get("instance_id") or 0)), alpha)
    return None if rgba is None else np.ascontiguousarray(rgba[::-1])


@dataclass(frozen=True)
class CameraFrame:
    """Where the image lies in a region: its top-left, top-right, bottom-right, bottom-left corners in
    region coordinates, and the image size in pixels. Inside, image pixels map bilinearly (the camera
    view shows the image as a rectangle, so this is exact there)."""
    corners: tuple[tuple[float, float], ...]
    width: int
    height: int

    @classmethod
    def from_view_frame(cls, region_points, width: int, height: int) -> "CameraFrame":
        """From the region positions of ``Camera.view_frame()``'s corners, which come top-right,
        bottom-right, bottom-left, top-left."""
        tr, br, bl, tl = (tuple(float(c) for c in p[:2]) for p in region_points)
        return cls((tl, tr, br, bl), width, height)

    def to_region(self, points) -> np.ndarray:
        """Image pixel coordinates (N, 2) -> region coordinates (N, 2)."""
        p = np.asarray(points, np.float64).reshape(-1, 2)
        u, v = p[:, 0:1] / self.width, p[:, 1:2] / self.height
        tl, tr, br, bl = (np.asarray(c, np.float64) for c in self.corners)
        return (tl * (1 - u) * (1 - v) + tr * u * (1 - v) + br * u * v + bl * (1 - u) * v)

    def to_image(self, points) -> np.ndarray:
        """Region coordinates (N, 2) -> image pixels, for a frame with axis-aligned sides (the camera view)."""
        p = np.asarray(points, np.float64).reshape(-1, 2)
        tl, _, br, _ = (np.asarray(c, np.float64) for c in self.corners)
        return (p - tl) / (br - tl) * (self.width, self.height)

    def scale(self) -> float:
        """Region pixels per image pixel (horizontally): how big the image's pixels are drawn."""
        tl, tr = (np.asarray(c, np.float64) for c in self.corners[:2])
        return float(np.linalg.norm(tr - tl)) / max(self.width, 1)


def dashes(a, b, length: float = DASH) -> list[tuple[np.ndarray, np.ndarray]]:
    """The dash segments of the line a -> b (region coordinates): ``length`` on, ``length`` off."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    total = float(np.linalg.norm(b - a))
    if total == 0.0:
        return []
    d = (b - a) / total
    out, s = [], 0.0
    while s < total:
        out.append((a + d * s, a + d * min(s + length, total)))
        s += 2 * length
    return out


def region_lines(shapes: list[Shape], frame: CameraFrame) -> dict[str, list]:
    """Line segments in region coordinates per stroke style: {"solid": [(p, q, colour)], "dashed": [...]}
    (the dashes cut already), plus "points": [(p, colour, filled)] and "texts": [(p, colour, text)]."""
    out: dict[str, list] = {"solid": [], "dashed": [], "points": [], "texts": []}
    for s in shapes:
        pts = frame.to_region(s.points)
        if s.kind in ("box", "amodal"):
            for i in range(4):
                a, b = pts[i], pts[(i + 1) % 4]
                if s.kind == "box":
                    out["solid"].append((a, b, s.colour))
                else:
                    out["dashed"].extend((p, q, s.colour) for p, q in dashes(a, b))
        elif s.kind == "text":
            out["texts"].append((pts[0], s.colour, s.text))
        else:
            out["points"].append((pts[0], s.colour, s.kind == "keypoint"))
    return out

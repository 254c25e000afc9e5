"""KITTI object export, from the frame records.

::

    exports/kitti/training/label_2/NNNNNN.txt   one line per object (15 fields, KITTI's order)
    exports/kitti/training/calib/NNNNNN.txt     P0..P3 = K [I | 0], R0_rect = I, Tr_velo_to_cam = Tr_imu_to_velo = [I | 0]
    exports/kitti/training/image_2/NNNNNN.png   the images, linked (see common.ImageLinker)
    exports/kitti/ImageSets/{train,val}.txt     the split of training/ (common.Split), by image stem

This is the object benchmark's layout: every labelled frame is under ``training/`` (``testing/`` holds
unlabelled images there), and train/val are lists of stems in ``ImageSets/``, as the benchmark's common
3DOP/MV3D split is shipped and as OpenPCDet and MMDetection3D read it. Datumaro's KITTI importer therefore
sees one subset, ``training``.

A label line: ``type truncated occluded alpha left top right bottom h w l x y z rotation_y``.

- type: the category name, spaces replaced by ``_``.
- truncated: the record's ``truncation`` (0..1, share of the silhouette outside the image).
- occluded from ``visibility``: 0 fully visible (>= 85 %), 1 partly (>= 50 %), 2 largely, 3 unknown.
- bbox: pixel-edge coordinates (left = x, right = x + w, pixel column x covers [x, x + 1)), the same
  continuous convention as K. KITTI boxes include the occluded parts of an object, so this is the
  ``amodal_bbox_clipped`` where the record has it, else the tight box of the mask.
- 3D, from ``box3d`` (camera coordinates are OpenCV's, which are KITTI's: x right, y down, z forward):
  h, w, l = the box's extents along the object's local z, y, x (Blender: z up, x forward), location =
  centre of the bottom face (local z minimum), rotation_y = rotation of the object's x axis about the
  camera's y axis, alpha = rotation_y - atan2(x, z). KITTI assumes upright objects and a level camera;
  for others these are that best fit (the x axis projected on the camera's x-z plane). Without
  ``box3d``: KITTI's placeholders h w l = -1, location -1000, rotation_y = alpha = -10.
"""

from __future__ import annotations

import math
import os
import posixpath
from pathlib import Path

from .common import Context, write_text

FULLY_VISIBLE = 0.85
PARTLY_VISIBLE = 0.5
# Blender bound_box order: (x0,y0,z0) (x0,y0,z1) (x0,y1,z1) (x0,y1,z0) (x1,y0,z0) (x1,y0,z1) (x1,y1,z1) (x1,y1,z0):
# edges 0-4, 0-3, 0-1 run along local x, y, z; corners 0, 3, 4, 7 are the bottom face (local z minimum).


def _wrap(a: float) -> float:
    return (a + math.pi) % (2 * math.pi) - math.pi


def occlusion_level(visibility: float | None) -> int:
    if visibility is None:
        return 3
    return 0 if visibility >= FULLY_VISIBLE else 1 if visibility >= PARTLY_VISIBLE else 2


def geometry(obj: dict) -> tuple[float, float, float, float, float, float, float, float]:
    """(h, w, l, x, y, z, rotation_y, alpha), or KITTI's placeholders when the record has no box3d."""
    box = obj.get("box3d") or {}
    c = box.get("corners_camera")
    if not c or len(c) != 8:
        return -1.0, -1.0, -1.0, -1000.0, -1000.0, -1000.0, -10.0, -10.0
    c0 = c[0]
    ex = [c[4][k] - c0[k] for k in range(3)]   # along local x (length)
    ey = [c[3][k] - c0[k] for k in range(3)]   # along local y (width)
    ez = [c[1][k] - c0[k] for k in range(3)]   # along local z (height)
    length, width, height = math.hypot(*ex), math.hypot(*ey), math.hypot(*ez)
    x, y, z = ((c0[k] + c[3][k] + c[4][k] + c[7][k]) / 4.0 for k in range(3))  # bottom face centre
    if length > 0:
        ry = math.atan2(-ex[2], ex[0])
    else:
        r = (obj.get("pose") or {}).get("R")
        ry = math.atan2(-r[2][0], r[0][0]) if r else 0.0
    ry = _wrap(ry)
    alpha = _wrap(ry - math.atan2(x, z))
    return height, width, length, x, y, z, ry, alpha


def truncation(obj: dict) -> float:
    return min(max(float(obj.get("truncation") or 0.0), 0.0), 1.0)


def label_line(obj: dict, truncated: str | None = None) -> str:
    """A label line; ``truncated`` replaces the truncation share (KITTI tracking writes a level there)."""
    box = obj.get("amodal_bbox_clipped") or obj["bbox"]
    x, y, w, h = (float(v) for v in box)
    trunc = f"{truncation(obj):.2f}" if truncated is None else truncated
    kind = "_".join(str(obj["category"]).split()) or "object"
    hh, ww, ll, lx, ly, lz, ry, alpha = geometry(obj)
    return (f"{kind} {trunc} {occlusion_level(obj.get('visibility'))} {alpha:.4f} "
            f"{x:.2f} {y:.2f} {x + w:.2f} {y + h:.2f} "
            f"{hh:.4f} {ww:.4f} {ll:.4f} {lx:.4f} {ly:.4f} {lz:.4f} {ry:.4f}")


def calib_text(K: list[list[float]]) -> str:
    p = [K[0][0], K[0][1], K[0][2], 0.0, K[1][0], K[1][1], K[1][2], 0.0, K[2][0], K[2][1], K[2][2], 0.0]
    proj = " ".join(f"{v:.12e}" for v in p)
    eye34 = " ".join(f"{v:.12e}" for v in (1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0))
    eye33 = " ".join(f"{v:.12e}" for v in (1, 0, 0, 0, 1, 0, 0, 0, 1))
    return (f"P0: {proj}\nP1: {proj}\nP2: {proj}\nP3: {proj}\nR0_rect: {eye33}\n"
            f"Tr_velo_to_cam: {eye34}\nTr_imu_to_velo: {eye34}\n")


class KittiWriter:
    DIR = "kitti"
    uses_images = True

    def __init__(self, ctx: Context, out: Path):
        self.ctx, self.out = ctx, out
        for sub in ("training/label_2", "training/calib", "training/image_2", "ImageSets"):
            (out / sub).mkdir(parents=True, exist_ok=True)
        self.sets: dict[str, list[str]] = {name: [] for name in ctx.subsets.names}
        self.dirs = {sub: str(out / "training" / sub) for sub in ("label_2", "calib", "image_2")}

    def add(self, rec: dict, objs: list[dict]) -> None:
        name, src = self.ctx.image(rec)
        stem = posixpath.splitext(name)[0]
        self.ctx.link(src, os.path.join(self.dirs["image_2"], name))
        write_text(os.path.join(self.dirs["label_2"], f"{stem}.txt"), "".join(f"{label_line(o)}\n" for o in objs))
        K = (rec.get("camera") or {}).get("K")
        if K:
            write_text(os.path.join(self.dirs["calib"], f"{stem}.txt"), calib_text(K))
        self.sets[self.ctx.split(rec["frame"])].append(stem)

    def finish(self) -> Path:
        for split, stems in self.sets.items():
            write_text(str(self.out / "ImageSets" / f"{split}.txt"), "".join(f"{s}\n" for s in stems))
        return self.out / "training" / "label_2"

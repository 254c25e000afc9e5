"""Display names for schema fields, enum values and randomizer types, shared by the sidebar and the
messages that point into it (Check Scene), so both call a thing the same: "Limit XY", "PNG", "AgX"."""

from __future__ import annotations

# words that are not title-cased: acronyms, brand spellings, units
WORDS = {"xy": "XY", "png": "PNG", "rle": "RLE", "cpu": "CPU", "gpu": "GPU", "agx": "AgX", "hdri": "HDRI",
         "coco": "COCO", "mot": "MOT", "yolo": "YOLO", "voc": "VOC", "kitti": "KITTI", "jpeg": "JPEG", "exr": "EXR", "iso": "ISO",
         "dof": "DoF", "ev": "EV", "mb": "MB", "cuda": "CUDA", "hip": "HIP", "optix": "OptiX", "oneapi": "oneAPI",
         "metal": "Metal", "rgb": "RGB", "id": "ID", "ids": "IDs", "uv": "UV", "fstop": "F-Stop", "seg": "Seg",
         "k1": "K1", "k2": "K2", "k3": "K3", "k4": "K4", "p1": "P1", "p2": "P2", "3d": "3D", "2d": "2D",
         "m": "m", "cm": "cm", "mm": "mm", "in": "in", "ft": "ft"}
# whole names that read better otherwise
NAMES = {"brown_conrady": "Brown-Conrady", "yolo-seg": "YOLO-Seg", "val": "Value", "convex_hull": "Convex Hull",
         "directory": "Folder", "labels": "Label Rules"}


def title(name: str) -> str:
    """``limit_xy`` -> "Limit XY", ``AgX`` -> "AgX", ``-Y`` -> "-Y": a schema identifier as the UI shows it."""
    name = str(name)
    if name in NAMES:
        return NAMES[name]
    if name.startswith("-") or any(c.isupper() for c in name[1:]) and "_" not in name and not name.isupper():
        return name                                     # -Y, AgX, Filmic: already spelt for people
    words = name.replace("-", "_").split("_")
    return " ".join(WORDS.get(w.lower(), w.capitalize()) for w in words if w)


def summary(doc: str | None, fallback: str = "") -> str:
    """A docstring's first paragraph on one line: the whole sentence a tooltip shows (not its first line)."""
    text = (doc or "").strip().split("\n\n")[0]
    return " ".join(text.split()) or fallback

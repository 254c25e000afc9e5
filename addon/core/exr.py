"""EXR I/O through the OpenEXR library (bundled as a wheel in the extension): read the passes of
Blender's multilayer EXR, write depth maps."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .fsio import temp_path
import os


def read_channels(path: Path) -> dict[str, np.ndarray]:
    """Every channel of every part, by full name (``ViewLayer.Depth.Z``), as float32 H×W (top row first)."""
    import OpenEXR
    out: dict[str, np.ndarray] = {}
    with OpenEXR.File(str(path), separate_channels=True) as f:
        for part in f.parts:
            for name, ch in part.channels.items():
                out[name] = ch.pixels
    return out


def find_channel(channels: dict[str, np.ndarray], pass_names: tuple[str, ...]) -> np.ndarray:
    """The single channel of a pass, whatever the view layer is called (``<layer>.<pass>.<chan>``)."""
    for name, px in channels.items():
        parts = name.split(".")
        if len(parts) >= 2 and parts[-2] in pass_names:
            return px
    raise KeyError(f"no pass named {' or '.join(pass_names)} in {sorted(channels)}")


def write_depth(path: Path, depth: np.ndarray) -> None:
    """A float32 single-channel (``Z``) EXR, ZIP-compressed, written atomically."""
    import OpenEXR
    path = Path(path)
    tmp = temp_path(path)
    header = {"compression": OpenEXR.ZIP_COMPRESSION, "type": OpenEXR.scanlineimage}
    try:
        with OpenEXR.File(header, {"Z": np.ascontiguousarray(depth, dtype=np.float32)}) as f:
            f.write(str(tmp))
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()

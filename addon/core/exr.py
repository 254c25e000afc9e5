"""EXR I/O through the OpenEXR library (bundled as a wheel in the extension): read the passes of
Blender's multilayer EXR, write label maps (depth, distance, normals, flow)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from .fsio import temp_path


def read_channels(path: Path) -> dict[str, np.ndarray]:
    """Every channel of every part, by full name (``ViewLayer.Depth.Z``), as float32 H×W (top row first)."""
    import OpenEXR
    out: dict[str, np.ndarray] = {}
    with OpenEXR.File(str(path), separate_channels=True) as f:
        for part in f.parts:
            for name, ch in part.channels.items():
                out[name] = ch.pixels
    return out


def _pass_prefix(channels: dict[str, np.ndarray], pass_names: tuple[str, ...]) -> str:
    """``<layer>.<pass>.`` of the first pass with one of these names, whatever the view layer is called."""
    for name in channels:
        parts = name.split(".")
        if len(parts) >= 2 and parts[-2] in pass_names:
            return name[: -len(parts[-1])]
    raise KeyError(f"no pass named {' or '.join(pass_names)} in {sorted(channels)}")


def find_channel(channels: dict[str, np.ndarray], pass_names: tuple[str, ...]) -> np.ndarray:
    """The single channel of a pass (``<layer>.<pass>.<chan>``)."""
    prefix = _pass_prefix(channels, pass_names)
    return next(px for name, px in channels.items() if name.startswith(prefix))


def find_channels(channels: dict[str, np.ndarray], pass_names: tuple[str, ...], chans: str) -> np.ndarray:
    """The channels ``chans`` (e.g. ``"XYZ"``) of a multi-channel pass, stacked H×W×len(chans)."""
    prefix = _pass_prefix(channels, pass_names)
    return np.stack([channels[prefix + c] for c in chans], axis=-1)


def write_channels(path: Path, channels: dict[str, np.ndarray]) -> None:
    """A single-part float32 EXR with one H×W channel per name, ZIP-compressed, written atomically."""
    import OpenEXR
    path = Path(path)
    tmp = temp_path(path)
    header = {"compression": OpenEXR.ZIP_COMPRESSION, "type": OpenEXR.scanlineimage}
    data = {name: np.ascontiguousarray(px, dtype=np.float32) for name, px in channels.items()}
    shapes = {px.shape for px in data.values()}
    if len(shapes) != 1 or len(next(iter(shapes))) != 2:
        raise ValueError(f"EXR channels must share one H×W shape, got {sorted(map(str, shapes))}")
    try:
        with OpenEXR.File(header, data) as f:
            f.write(str(tmp))
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def write_depth(path: Path, depth: np.ndarray) -> None:
    """Planar z-depth in metres as channel ``Z``."""
    write_channels(path, {"Z": depth})

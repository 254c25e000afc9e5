"""A reader for the one TIFF SynthKiln asks Blender for: uncompressed RGB(A), 8 or 16 bits, strips.

Why: the sensor group (issue 18) processes the render's display image (view transform applied) with more
than 8 bits, and Blender writes that as a 16-bit TIFF. Uncompressed strips need no codec, so this stays a
few lines of numpy (Pillow reads 16-bit RGB TIFFs as 8 bits, and is optional inside Blender).
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np

_TYPES = {3: ("H", 2), 4: ("I", 4)}     # SHORT, LONG: the only types the tags read here use


def read_rgb(path: Path) -> np.ndarray:
    """H x W x 3 float32 in [0, 1] from an uncompressed, chunky, top-left TIFF of 8 or 16 bits per sample."""
    data = Path(path).read_bytes()
    order = {b"II": "<", b"MM": ">"}.get(data[:2])
    if order is None or struct.unpack_from(order + "H", data, 2)[0] != 42:
        raise ValueError(f"{path}: not a TIFF file")
    ifd = struct.unpack_from(order + "I", data, 4)[0]
    tags: dict[int, list[int]] = {}
    for i in range(struct.unpack_from(order + "H", data, ifd)[0]):
        tag, typ, count, _ = struct.unpack_from(order + "HHII", data, ifd + 2 + 12 * i)
        if typ not in _TYPES:
            continue
        code, size = _TYPES[typ]
        where = ifd + 2 + 12 * i + 8
        if size * count > 4:
            where = struct.unpack_from(order + "I", data, where)[0]
        tags[tag] = list(struct.unpack_from(order + code * count, data, where))
    width, height = tags[256][0], tags[257][0]
    bits, spp = tags[258][0], tags.get(277, [1])[0]
    if tags.get(259, [1])[0] != 1 or tags.get(284, [1])[0] != 1 or tags.get(274, [1])[0] != 1 or bits not in (8, 16):
        raise ValueError(f"{path}: only uncompressed, chunky, top-left 8/16-bit TIFFs are read")
    raw = b"".join(data[o:o + n] for o, n in zip(tags[273], tags[279]))
    dtype = np.dtype(order + ("u2" if bits == 16 else "u1"))
    pixels = np.frombuffer(raw, dtype, count=width * height * spp).reshape(height, width, spp)
    return (pixels[..., :3].astype(np.float32) / float((1 << bits) - 1))

"""EXR I/O in pure numpy + zlib: read the passes of Blender's multilayer EXR, write label maps (depth,
distance, normals, flow).

Why not the OpenEXR wheel: a Blender that links the system OpenEXR (e.g. Debian's Blender 4.3 with
OpenEXR 3.1) crashes when the add-on imports OpenEXR 3.5's extension module. This covers exactly what
SynthKiln meets: scanline images, single- or multi-part (Blender 5.0 writes one part per pass), channel
types UINT/HALF/FLOAT, compression NONE/ZIPS/ZIP. Anything else is a clear ValueError. The tests check
both directions against the OpenEXR library.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..fsio import atomic_write_bytes

MAGIC = 20000630
_TILED, _LONG_NAMES, _DEEP, _MULTIPART = 0x200, 0x400, 0x800, 0x1000
_NONE, _ZIPS, _ZIP = 0, 2, 3
_LINES_PER_BLOCK = {_NONE: 1, _ZIPS: 1, _ZIP: 16}
_COMPRESSION_NAMES = {0: "NONE", 1: "RLE", 2: "ZIPS", 3: "ZIP", 4: "PIZ", 5: "PXR24", 6: "B44", 7: "B44A",
                      8: "DWAA", 9: "DWAB", 10: "HTJ2K256", 11: "HTJ2K32", 13: "ZSTD"}
_PIXEL_DTYPES = {0: np.dtype("<u4"), 1: np.dtype("<f2"), 2: np.dtype("<f4")}   # UINT, HALF, FLOAT
_WRITE_ZIP_LEVEL = 4        # OpenEXR's own default: most of the size win at a fraction of level 9's time


# -- reading --------------------------------------------------------------------------------------------

@dataclass
class _Channel:
    name: str
    dtype: np.dtype


@dataclass
class _Part:
    channels: list[_Channel]
    compression: int
    x0: int
    y0: int
    width: int
    height: int
    chunk_count: int | None


class _Cursor:
    """Reads the header's little-endian fields from the file's bytes."""

    def __init__(self, data: bytes, pos: int = 0):
        self.data, self.pos = data, pos

    def cstr(self) -> str:
        end = self.data.index(b"\0", self.pos)
        s = self.data[self.pos:end].decode("utf-8", "replace")
        self.pos = end + 1
        return s

    def unpack(self, fmt: str):
        vals = struct.unpack_from("<" + fmt, self.data, self.pos)
        self.pos += struct.calcsize("<" + fmt)
        return vals


def _parse_chlist(raw: bytes, path) -> list[_Channel]:
    cur, out = _Cursor(raw), []
    while raw[cur.pos] != 0:
        name = cur.cstr()
        ptype, _linear, xs, ys = cur.unpack("iB3xii")
        if ptype not in _PIXEL_DTYPES:
            raise ValueError(f"{path}: channel {name!r} has unknown pixel type {ptype}")
        if (xs, ys) != (1, 1):
            raise ValueError(f"{path}: channel {name!r} is subsampled ({xs}, {ys}); only 1x1 sampling is read")
        out.append(_Channel(name, _PIXEL_DTYPES[ptype]))
    return out


def _parse_header(cur: _Cursor, path) -> _Part:
    attrs: dict[str, tuple[str, bytes]] = {}
    while cur.data[cur.pos] != 0:
        name, kind = cur.cstr(), cur.cstr()
        (size,) = cur.unpack("i")
        attrs[name] = (kind, cur.data[cur.pos:cur.pos + size])
        cur.pos += size
    cur.pos += 1
    for required in ("channels", "compression", "dataWindow"):
        if required not in attrs:
            raise ValueError(f"{path}: EXR header lacks the required attribute {required!r}")
    part_type = attrs.get("type", ("string", b"scanlineimage"))[1].rstrip(b"\0").decode("ascii", "replace")
    if part_type != "scanlineimage":
        raise ValueError(f"{path}: EXR part of type {part_type!r}; only scanline images are read")
    compression = attrs["compression"][1][0]
    if compression not in _LINES_PER_BLOCK:
        name = _COMPRESSION_NAMES.get(compression, str(compression))
        raise ValueError(f"{path}: EXR compression {name} is not supported (only NONE, ZIPS, ZIP)")
    x0, y0, x1, y1 = struct.unpack("<4i", attrs["dataWindow"][1])
    chunk_count = struct.unpack("<i", attrs["chunkCount"][1])[0] if "chunkCount" in attrs else None
    return _Part(_parse_chlist(attrs["channels"][1], path), compression, x0, y0, x1 - x0 + 1, y1 - y0 + 1,
                 chunk_count)


def _unzip(block: bytes, expected: int) -> np.ndarray:
    """Undo OpenEXR's ZIP/ZIPS: inflate, undo the byte-delta predictor, re-interleave the two halves."""
    if len(block) == expected:          # stored raw because compressing did not make it smaller
        return np.frombuffer(block, np.uint8)
    d = np.frombuffer(zlib.decompress(block), np.uint8).copy()
    if d.size != expected:
        raise ValueError(f"ZIP block inflates to {d.size} bytes, expected {expected}")
    d[1:] -= 128                        # uint8 arithmetic wraps: b[i] = b[i-1] + d[i] - 128 (mod 256)
    t = np.cumsum(d, dtype=np.uint8)
    out = np.empty_like(t)
    half = (t.size + 1) // 2
    out[0::2], out[1::2] = t[:half], t[half:]
    return out


def _read_part(data: bytes, part: _Part, offsets: np.ndarray, index: int | None, path) -> dict[str, np.ndarray]:
    line_bytes = sum(c.dtype.itemsize for c in part.channels) * part.width
    rows = np.empty((part.height, line_bytes), np.uint8)
    lpb = _LINES_PER_BLOCK[part.compression]
    head = 8 if index is None else 12
    for off in offsets.tolist():
        if off <= 0 or off + head > len(data):
            raise ValueError(f"{path}: EXR chunk offset {off} is outside the file (incomplete file?)")
        if index is None:
            y, size = struct.unpack_from("<ii", data, off)
        else:
            p, y, size = struct.unpack_from("<iii", data, off)
            if p != index:
                raise ValueError(f"{path}: chunk at {off} belongs to part {p}, expected {index}")
        row = y - part.y0
        n = min(lpb, part.height - row)
        if row < 0 or n <= 0 or off + head + size > len(data):
            raise ValueError(f"{path}: EXR chunk at {off} (y={y}, {size} bytes) lies outside the image or file")
        block = data[off + head:off + head + size]
        expected = n * line_bytes
        if part.compression == _NONE:
            if size != expected:
                raise ValueError(f"{path}: uncompressed chunk of {size} bytes, expected {expected}")
            px = np.frombuffer(block, np.uint8)
        else:
            px = _unzip(block, expected)
        rows[row:row + n] = px.reshape(n, line_bytes)
    out, col = {}, 0
    for c in part.channels:
        width = c.dtype.itemsize * part.width
        out[c.name] = np.ascontiguousarray(rows[:, col:col + width]).view(c.dtype).astype(np.float32)
        col += width
    return out


def read_channels(path: Path) -> dict[str, np.ndarray]:
    """Every channel of every part, by full name (``ViewLayer.Depth.Z``), as float32 H×W (top row first)."""
    data = Path(path).read_bytes()
    if len(data) < 8 or struct.unpack_from("<i", data)[0] != MAGIC:
        raise ValueError(f"{path}: not an OpenEXR file")
    (flags,) = struct.unpack_from("<I", data, 4)
    if flags & 0xFF != 2:
        raise ValueError(f"{path}: OpenEXR file format version {flags & 0xFF} is not supported")
    if flags & _DEEP:
        raise ValueError(f"{path}: deep EXR images are not supported")
    multipart = bool(flags & _MULTIPART)
    if flags & _TILED and not multipart:
        raise ValueError(f"{path}: tiled EXR images are not supported (only scanline images)")
    cur = _Cursor(data, 8)
    try:
        parts = [_parse_header(cur, path)]
        if multipart:
            while data[cur.pos] != 0:
                parts.append(_parse_header(cur, path))
            cur.pos += 1
    except (IndexError, struct.error) as ex:
        raise ValueError(f"{path}: truncated or corrupt EXR header ({ex})") from ex
    out: dict[str, np.ndarray] = {}
    for i, part in enumerate(parts):
        count = part.chunk_count if multipart else -(-part.height // _LINES_PER_BLOCK[part.compression])
        if count is None:
            raise ValueError(f"{path}: multi-part EXR header lacks chunkCount")
        offsets = np.frombuffer(data, "<u8", count, cur.pos).astype(np.int64)
        cur.pos += 8 * count
        out.update(_read_part(data, part, offsets, i if multipart else None, path))
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


# -- writing --------------------------------------------------------------------------------------------

def _attr(name: str, kind: str, value: bytes) -> bytes:
    return name.encode() + b"\0" + kind.encode() + b"\0" + struct.pack("<i", len(value)) + value


def _zip(raw: np.ndarray) -> bytes:
    """OpenEXR's ZIP: split even/odd bytes into two halves, byte-delta predictor, deflate."""
    t = np.concatenate([raw[0::2], raw[1::2]])
    d = t.copy()
    d[1:] = t[1:] - t[:-1] + 128        # wraps mod 256
    packed = zlib.compress(d.tobytes(), _WRITE_ZIP_LEVEL)
    return packed if len(packed) < raw.size else raw.tobytes()


def _encode(channels: dict[str, np.ndarray]) -> bytes:
    names = sorted(channels, key=lambda n: n.encode("utf-8"))     # the format's byte order, header and data
    h, w = channels[names[0]].shape
    stacked = np.stack([channels[n] for n in names], axis=1).astype("<f4")      # H×C×W
    rows = stacked.view(np.uint8).reshape(h, -1)
    chlist = b"".join(n.encode("utf-8") + b"\0" + struct.pack("<iB3xii", 2, 0, 1, 1) for n in names) + b"\0"
    window = struct.pack("<4i", 0, 0, w - 1, h - 1)
    header = b"".join([
        _attr("channels", "chlist", chlist),
        _attr("compression", "compression", bytes([_ZIP])),
        _attr("dataWindow", "box2i", window),
        _attr("displayWindow", "box2i", window),
        _attr("lineOrder", "lineOrder", b"\0"),
        _attr("pixelAspectRatio", "float", struct.pack("<f", 1.0)),
        _attr("screenWindowCenter", "v2f", struct.pack("<2f", 0.0, 0.0)),
        _attr("screenWindowWidth", "float", struct.pack("<f", 1.0)),
    ]) + b"\0"
    flags = 2 | (_LONG_NAMES if any(len(n.encode("utf-8")) > 31 for n in names) else 0)
    lpb = _LINES_PER_BLOCK[_ZIP]
    chunks = [struct.pack("<i", y) + _with_size(_zip(rows[y:y + lpb].reshape(-1))) for y in range(0, h, lpb)]
    start = 8 + len(header) + 8 * len(chunks)
    offsets = np.cumsum([start] + [len(c) for c in chunks[:-1]]).astype("<u8")
    return struct.pack("<iI", MAGIC, flags) + header + offsets.tobytes() + b"".join(chunks)


def _with_size(block: bytes) -> bytes:
    return struct.pack("<i", len(block)) + block


def write_channels(path: Path, channels: dict[str, np.ndarray]) -> None:
    """A single-part float32 EXR with one H×W channel per name, ZIP-compressed, written atomically."""
    path = Path(path)
    data = {name: np.asarray(px, dtype=np.float32) for name, px in channels.items()}
    shapes = {px.shape for px in data.values()}
    if not data or len(shapes) != 1 or len(next(iter(shapes))) != 2 or 0 in next(iter(shapes)):
        raise ValueError(f"EXR channels must share one non-empty H×W shape, got {sorted(map(str, shapes))}")
    if any(not n or "\0" in n for n in data):
        raise ValueError(f"EXR channel names must be non-empty and free of NUL: {sorted(data)}")
    atomic_write_bytes(path, _encode(data))

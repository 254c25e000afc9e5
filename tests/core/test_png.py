"""encode_png and the text-chunk helpers, checked with an independent decoder (Pillow)."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from synthkiln.addon.core.images import png
from synthkiln.addon.core.images.png import add_text_chunks, encode_png, read_text_chunks

FILTERS = [None, "none", "sub", "up", "paeth", "adaptive"]


def decode(data: bytes) -> tuple[Image.Image, np.ndarray]:
    img = Image.open(io.BytesIO(data))
    img.load()
    return img, np.asarray(img)


def chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    """(type, data) of every chunk, asserting each CRC."""
    out, pos = [], 8
    while pos < len(data):
        (n,) = struct.unpack_from(">I", data, pos)
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + n]
        (crc,) = struct.unpack_from(">I", data, pos + 8 + n)
        assert crc == zlib.crc32(kind + body), kind
        out.append((kind, body))
        pos += 12 + n
    return out


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


@pytest.mark.parametrize("filt", FILTERS)
@pytest.mark.parametrize("shape", [(1, 1), (7, 13), (48, 64)])
def test_uint8_gray_rgb_rgba_roundtrip(rng, filt, shape):
    for channels, mode in [(None, "L"), (3, "RGB"), (4, "RGBA"), (2, "LA")]:
        full = shape if channels is None else (*shape, channels)
        arr = rng.integers(0, 256, full, dtype=np.uint8)
        data = encode_png(arr, filter=filt)
        img, back = decode(data)
        assert img.mode == mode
        assert img.size == (shape[1], shape[0])
        np.testing.assert_array_equal(back, arr)


@pytest.mark.parametrize("filt", FILTERS)
def test_uint16_gray_exact(rng, filt):
    arr = rng.integers(0, 65536, (31, 17), dtype=np.uint16)
    arr[0, 0], arr[0, 1], arr[-1, -1] = 0, 65535, 256  # extremes and a value that needs the high byte
    img, back = decode(encode_png(arr, filter=filt))
    assert img.mode in ("I;16", "I;16B", "I")
    np.testing.assert_array_equal(back.astype(np.int64), arr.astype(np.int64))
    ihdr = chunks(encode_png(arr))[0]
    assert ihdr[0] == b"IHDR" and ihdr[1][8] == 16 and ihdr[1][9] == 0  # 16-bit gray


def test_uint16_big_endian_on_disk():
    """PNG stores 16-bit samples most significant byte first, whatever the machine's order."""
    arr = np.array([[0x0102]], dtype=np.uint16)
    idat = b"".join(body for kind, body in chunks(encode_png(arr, filter="none")) if kind == b"IDAT")
    assert zlib.decompress(idat) == b"\x00\x01\x02"  # filter byte 0, then 0x01 0x02


def test_uint16_rgb_and_non_contiguous(rng):
    arr = rng.integers(0, 65536, (9, 11, 3), dtype=np.uint16)
    # Pillow cannot hold 16-bit RGB; check the filtered stream by decoding it ourselves
    data = encode_png(arr, filter="none")
    raw = zlib.decompress(b"".join(b for k, b in chunks(data) if k == b"IDAT"))
    rows = np.frombuffer(raw, np.uint8).reshape(9, 1 + 11 * 6)
    assert (rows[:, 0] == 0).all()
    np.testing.assert_array_equal(rows[:, 1:].copy().view(">u2").reshape(9, 11, 3), arr)
    # a strided view encodes like its copy
    big = rng.integers(0, 256, (20, 30, 4), dtype=np.uint8)
    view = big[::2, ::3, :3]
    np.testing.assert_array_equal(decode(encode_png(view))[1], view)


def test_mostly_zero_mask_is_small():
    mask = np.zeros((480, 640), np.uint16)
    mask[100:200, 150:300] = 3
    mask[300:420, 400:560] = 17
    data = encode_png(mask)
    assert len(data) < 10_000
    np.testing.assert_array_equal(decode(data)[1].astype(np.uint16), mask)


def test_rejects_bad_arrays():
    with pytest.raises(ValueError):
        encode_png(np.zeros((4, 4), np.float32))
    with pytest.raises(ValueError):
        encode_png(np.zeros((4, 4), bool))
    with pytest.raises(ValueError):
        encode_png(np.zeros((4, 4, 5), np.uint8))
    with pytest.raises(ValueError):
        encode_png(np.zeros((0, 4), np.uint8))
    with pytest.raises(ValueError):
        encode_png(np.zeros(4, np.uint8))
    with pytest.raises(ValueError):
        encode_png(np.zeros((2, 2), np.uint8), filter="median")


def test_text_chunks_written_and_read_by_pillow():
    text = {"generator": "SynthKiln", "version": "0.1.0", "seed": "7", "frame": "3", "note": "café\nline 2"}
    data = encode_png(np.zeros((4, 5, 3), np.uint8), text=text)
    img, _ = decode(data)
    assert img.text == text
    assert read_text_chunks(data) == text
    kinds = [k for k, _ in chunks(data)]
    assert kinds[0] == b"IHDR" and kinds[-1] == b"IEND"
    assert kinds.index(b"tEXt") < kinds.index(b"IDAT")


@pytest.mark.parametrize("key,value", [
    ("", "x"),
    ("k" * 80, "x"),
    ("bad\x00key", "x"),
    (" lead", "x"),
    ("trail ", "x"),
    ("two  spaces", "x"),
    ("caf\u20ac", "x"),        # euro sign: not Latin-1
    ("key", "\u65e5\u672c"),  # not Latin-1
    ("key", "nul\x00inside"),
])
def test_text_rejects_invalid(key, value):
    with pytest.raises(ValueError):
        encode_png(np.zeros((2, 2), np.uint8), text={key: value})
    with pytest.raises(ValueError):
        add_text_chunks(encode_png(np.zeros((2, 2), np.uint8)), {key: value})


def test_text_key_limits_accepted():
    text = {"k" * 79: "", "a b": "\xe9\xff"}
    assert read_text_chunks(encode_png(np.zeros((1, 1), np.uint8), text=text)) == text


def test_add_text_chunks_to_foreign_png_keeps_pixels(rng):
    arr = rng.integers(0, 256, (23, 19, 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="PNG")  # a PNG someone else wrote
    original = buf.getvalue()
    stamped = add_text_chunks(original, {"generator": "SynthKiln", "frame": "12"})
    img, back = decode(stamped)
    np.testing.assert_array_equal(back, arr)
    assert img.text == {"generator": "SynthKiln", "frame": "12"}
    kinds = [k for k, _ in chunks(stamped)]
    assert kinds[:3] == [b"IHDR", b"tEXt", b"tEXt"]
    # pixel chunks are copied byte for byte
    assert [c for c in chunks(stamped) if c[0] != b"tEXt"] == chunks(original)


def test_add_text_chunks_replaces_same_key_keeps_others():
    data = encode_png(np.zeros((2, 2), np.uint8), text={"frame": "1", "Software": "Blender"})
    again = add_text_chunks(data, {"frame": "2"})
    assert read_text_chunks(again) == {"frame": "2", "Software": "Blender"}
    assert sum(1 for k, _ in chunks(again) if k == b"tEXt") == 2
    assert decode(again)[0].text == {"frame": "2", "Software": "Blender"}


def test_read_text_chunks_ztxt_itxt_from_pillow():
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("plain", "a")
    info.add_text("zipped", "b" * 200, zip=True)
    info.add_itxt("intl", "\u65e5\u672c", lang="ja")
    buf = io.BytesIO()
    Image.new("L", (2, 2)).save(buf, format="PNG", pnginfo=info)
    assert read_text_chunks(buf.getvalue()) == {"plain": "a", "zipped": "b" * 200, "intl": "\u65e5\u672c"}


def test_not_a_png():
    with pytest.raises(ValueError):
        read_text_chunks(b"GIF89a....")
    with pytest.raises(ValueError):
        add_text_chunks(png.PNG_SIGNATURE + b"\x00\x00", {"a": "b"})
    truncated = encode_png(np.zeros((2, 2), np.uint8))[:-6]
    with pytest.raises(ValueError):
        read_text_chunks(truncated)

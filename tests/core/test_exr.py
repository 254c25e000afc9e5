"""The add-on's own EXR reader/writer (addon/core/exr.py) against the OpenEXR library as the independent
checker: ours -> OpenEXR, OpenEXR (every compression and pixel type we claim) -> ours, and a real Blender
multilayer scratch file read channel by channel."""

import struct

import numpy as np
import pytest

from synthkiln.addon.core.images import exr

OpenEXR = pytest.importorskip("OpenEXR")

SHAPES = [(1, 1), (17, 33), (480, 640)]
NAMES = ["Z", "A", "ViewLayer.Normal.X", "b"]


def openexr_read(path) -> dict[str, np.ndarray]:
    out = {}
    with OpenEXR.File(str(path), separate_channels=True) as f:
        for part in f.parts:
            for name, ch in part.channels.items():
                out[name] = ch.pixels
    return out


def assert_same(ours: dict, ref: dict) -> None:
    assert sorted(ours) == sorted(ref)
    for name, px in ref.items():
        assert ours[name].dtype == np.float32, name
        assert ours[name].shape == px.shape, name
        assert np.array_equal(ours[name], px.astype(np.float32), equal_nan=True), name


def sample_pixels(rng, shape, dtype=np.float32) -> np.ndarray:
    """Wide-range values with the special cases an EXR must keep bit for bit."""
    px = (rng.normal(size=shape) * 10.0 ** rng.integers(-3, 4, size=shape)).astype(dtype)
    special = np.array([0.0, -0.0, np.inf, 6e4 if dtype == np.float16 else 1e10], dtype)
    px.reshape(-1)[: min(4, px.size)] = special[: min(4, px.size)]
    return px


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("n_channels", [1, 2, 3, 4])
def test_ours_written_reads_identically_in_openexr(tmp_path, shape, n_channels):
    rng = np.random.default_rng(n_channels * 1000 + shape[0])
    channels = {name: sample_pixels(rng, shape) for name in NAMES[:n_channels]}
    path = tmp_path / "ours.exr"
    exr.write_channels(path, channels)
    with OpenEXR.File(str(path)) as f:
        assert f.header()["compression"] == OpenEXR.ZIP_COMPRESSION
        assert len(f.parts) == 1
    ref = openexr_read(path)
    assert_same(ref, channels)              # the independent reader sees exactly what we wrote
    assert_same(exr.read_channels(path), channels)
    assert not list(tmp_path.glob("*.sk-tmp"))


def test_written_file_is_compressed_and_sorted(tmp_path):
    """Smooth label maps must shrink (ZIP really applied); channels come back in the format's byte order."""
    y, x = np.mgrid[0:480, 0:640].astype(np.float32)
    exr.write_channels(tmp_path / "d.exr", {"Z": 2.0 + 0 * x, "U": x / 640, "V": y / 480})
    assert (tmp_path / "d.exr").stat().st_size < 480 * 640 * 3 * 4 / 4
    with OpenEXR.File(str(tmp_path / "d.exr")) as f:
        assert [c.name for c in f.header()["channels"]] == ["U", "V", "Z"]
    assert list(exr.read_channels(tmp_path / "d.exr")) == ["U", "V", "Z"]


@pytest.mark.parametrize("compression", ["NO_COMPRESSION", "ZIPS_COMPRESSION", "ZIP_COMPRESSION"])
@pytest.mark.parametrize("shape", SHAPES)
def test_openexr_written_reads_identically_in_ours(tmp_path, compression, shape):
    """HALF and FLOAT channels side by side (mixed line layouts), and a data window off the origin."""
    rng = np.random.default_rng(shape[1])
    channels = {
        "ViewLayer.Combined.R": sample_pixels(rng, shape, np.float16),
        "ViewLayer.Depth.Z": sample_pixels(rng, shape),
        "h": sample_pixels(rng, shape, np.float16),
    }
    h, w = shape
    header = {"compression": getattr(OpenEXR, compression), "type": OpenEXR.scanlineimage,
              "dataWindow": (np.array([3, 5], np.int32), np.array([3 + w - 1, 5 + h - 1], np.int32))}
    path = tmp_path / "ref.exr"
    with OpenEXR.File(header, dict(channels)) as f:     # it turns the dict's arrays into Channel objects
        f.write(str(path))
    assert_same(exr.read_channels(path), openexr_read(path))
    assert_same(exr.read_channels(path), channels)


def test_openexr_multipart_reads_identically_in_ours(tmp_path):
    """Blender 5 writes one part per pass: chunks then start with their part number."""
    rng = np.random.default_rng(5)
    parts = [
        OpenEXR.Part({"compression": OpenEXR.NO_COMPRESSION, "type": OpenEXR.scanlineimage},
                     {f"L.Combined.{c}": sample_pixels(rng, (17, 33)) for c in "RGBA"}, "L.Combined"),
        OpenEXR.Part({"compression": OpenEXR.ZIP_COMPRESSION, "type": OpenEXR.scanlineimage},
                     {"L.Depth.Z": sample_pixels(rng, (17, 33))}, "L.Depth"),
        OpenEXR.Part({"compression": OpenEXR.ZIPS_COMPRESSION, "type": OpenEXR.scanlineimage},
                     {"L.Vector.X": sample_pixels(rng, (17, 33), np.float16)}, "L.Vector"),
    ]
    path = tmp_path / "multi.exr"
    with OpenEXR.File(parts) as f:
        f.write(str(path))
    ours = exr.read_channels(path)
    assert len(ours) == 6
    assert_same(ours, openexr_read(path))


def _tiles():
    t = OpenEXR.TileDescription()
    t.xSize = t.ySize = 8
    return t


@pytest.mark.parametrize("header", [
    {"compression": OpenEXR.PIZ_COMPRESSION, "type": OpenEXR.scanlineimage},
    {"compression": OpenEXR.RLE_COMPRESSION, "type": OpenEXR.scanlineimage},
    {"compression": OpenEXR.ZIP_COMPRESSION, "type": OpenEXR.tiledimage, "tiles": "tiles"},
], ids=["piz", "rle", "tiled"])
def test_unsupported_files_fail_with_a_clear_error(tmp_path, header):
    header = {k: _tiles() if v == "tiles" else v for k, v in header.items()}
    path = tmp_path / "x.exr"
    with OpenEXR.File(header, {"Z": np.ones((8, 8), np.float32)}) as f:
        f.write(str(path))
    with pytest.raises(ValueError, match="not supported"):
        exr.read_channels(path)


def test_not_an_exr_and_truncated_files_fail_with_a_clear_error(tmp_path):
    (tmp_path / "a.exr").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(64))
    with pytest.raises(ValueError, match="not an OpenEXR file"):
        exr.read_channels(tmp_path / "a.exr")
    exr.write_channels(tmp_path / "b.exr", {"Z": np.ones((40, 8), np.float32)})
    data = (tmp_path / "b.exr").read_bytes()
    assert struct.unpack_from("<i", data)[0] == exr.MAGIC
    (tmp_path / "c.exr").write_bytes(data[: len(data) - 20])
    with pytest.raises(ValueError, match="outside"):
        exr.read_channels(tmp_path / "c.exr")
    (tmp_path / "d.exr").write_bytes(data[:40])
    with pytest.raises(ValueError, match="truncated"):
        exr.read_channels(tmp_path / "d.exr")


def test_write_rejects_bad_shapes_without_leaving_files(tmp_path):
    for bad in ({}, {"Z": np.ones(5, np.float32)}, {"Z": np.ones((0, 4), np.float32)},
                {"U": np.ones((2, 3)), "V": np.ones((3, 2))}):
        with pytest.raises(ValueError):
            exr.write_channels(tmp_path / "bad.exr", bad)
    assert not list(tmp_path.iterdir())


@pytest.mark.bpy
@pytest.mark.render
def test_blender_multilayer_scratch_reads_identically(tmp_path):
    """The real scratch file of addon.bridge.render's fallback (NONE codec, 32-bit, every pass), plus the same render
    saved with Blender's ZIP and ZIPS codecs: ours equals OpenEXR channel by channel."""
    bpy = pytest.importorskip("bpy")
    from synthkiln.addon.bridge import compat, render
    from synthkiln.addon.core.recipe.model import OutputSettings, RenderSettings
    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    bpy.ops.mesh.primitive_cube_add(size=0.5, location=(0.0, 0.0, 0.25))
    cam = bpy.data.objects.new("Camera", bpy.data.cameras.new("Camera"))
    scene.collection.objects.link(cam)
    cam.location, cam.rotation_euler = (0.0, -3.0, 0.25), (np.pi / 2, 0.0, 0.0)
    scene.camera = cam
    out = OutputSettings(normals=True, flow=True)
    render.configure(scene, RenderSettings(resolution=(48, 36), samples=1, threads=1), out)
    scratch = tmp_path / "passes.exr"
    installed, render._Passes.installed = render._Passes.installed, False    # the fallback: through the EXR
    try:
        labels = render.render(scene, scratch, tmp_path / "rgb.png", out)
    finally:
        render._Passes.installed = installed

    ref = openexr_read(scratch)
    assert {"ViewLayer.Depth.Z", "ViewLayer.Normal.X", "ViewLayer.Vector.W"} <= set(ref)
    assert_same(exr.read_channels(scratch), ref)
    assert labels["instance"].shape == (36, 48) and labels["instance"].max() >= 0
    assert np.isfinite(ref["ViewLayer.Depth.Z"]).all()

    result = next(im for im in bpy.data.images if im.type == "RENDER_RESULT")
    for codec in ("ZIP", "ZIPS"):
        compat.set_image_format(scene.render.image_settings, "OPEN_EXR_MULTILAYER", color_depth="16")
        scene.render.image_settings.exr_codec = codec
        path = tmp_path / f"{codec}.exr"
        result.save_render(str(path), scene=scene)
        assert_same(exr.read_channels(path), openexr_read(path))

"""The image header check that stands between a recipe's file names and Blender's magenta."""

from synthkiln.addon.core.images.png import encode_png
from synthkiln.addon.core.images.sniff import image_problem

import numpy as np


def test_real_images_pass_and_impostors_are_named(tmp_path):
    png = tmp_path / "a.png"
    png.write_bytes(encode_png(np.zeros((2, 2, 3), np.uint8)))
    assert image_problem(png) is None
    (tmp_path / "sky.hdr").write_bytes(b"#?RADIANCE\nFORMAT=32-bit_rle_rgbe\n")
    assert image_problem(tmp_path / "sky.hdr") is None
    (tmp_path / "t.tga").write_bytes(b"\0" * 20)                   # no signature to check: passes
    assert image_problem(tmp_path / "t.tga") is None
    (tmp_path / "fake.exr").write_text("root:x:0:0:root:/root:/bin/bash\n")
    assert "not a EXR image" in image_problem(tmp_path / "fake.exr")
    (tmp_path / "passwd").write_text("root:x:0:0:root:/root:/bin/bash\n")     # no extension: any image will do
    assert "not an image Blender reads" in image_problem(tmp_path / "passwd")
    (tmp_path / "renamed.hdr").write_bytes(png.read_bytes())               # a PNG named .hdr
    assert image_problem(tmp_path / "renamed.hdr").startswith("not a HDR image")
    assert image_problem(tmp_path / "missing.png") == "no such file"
    assert image_problem(tmp_path) == "not a regular file"

"""Box/mask previews: boxes on the exact outer pixels of each mask, fill only inside the mask."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from synthkiln.addon.core.labels import masks
from synthkiln.addon.core.exports import preview
from synthkiln.addon.core.errors import UserError

from tests.helpers.grey_dataset import GREY, H, W, make_dataset
from tests.helpers.modules import hide_module


def load(path: Path) -> np.ndarray:
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB")).astype(int)


@pytest.mark.parametrize("with_rle", [True, False], ids=["from-rle", "from-mask-png"])
def test_boxes_on_outer_mask_pixels_and_fill_inside(tmp_path, with_rle):
    mask = make_dataset(tmp_path, with_rle=with_rle)
    paths = preview.write_previews(tmp_path)
    assert paths == [tmp_path / "exports" / "preview" / f"{i:06d}.png" for i in range(3)]
    img = load(paths[0])
    assert img.shape == (H, W, 3)

    mug = np.array(preview.category_colour(1))
    x, y, w, h = 20, 30, 30, 20
    x2, y2 = x + w - 1, y + h - 1
    for px, py in [(x, y), (x2, y), (x, y2), (x2, y2), (x + 1, y + 1), (x2 - 1, y2 - 1), (x + 10, y2)]:
        assert (img[py, px] == mug).all(), (px, py, img[py, px])  # 2 px outline, growing inwards
    for px, py in [(x - 1, y2), (x2 + 1, y2), (x2, y2 + 1), (x + 10, y2 + 1)]:
        assert (img[py, px] == GREY).all(), (px, py)  # nothing outside the mask's box
    inner = img[y + 5, x + 15]  # inside the mask, away from the outline: fill blended with grey
    expected = np.round(GREY * (1 - preview.FILL_ALPHA) + mug * preview.FILL_ALPHA)
    assert np.abs(inner - expected).max() <= 1
    assert (img[5, 5] == GREY).all() and (img[75, 60] == GREY).all()  # background untouched

    # the disc's box touches its extreme pixels: top row of the box coloured only at the outline
    plate = np.array(preview.category_colour(2))
    bx, by, bw, bh = masks.instance_stats(mask)[2]["bbox"]
    assert (img[by + bh - 1, bx] == plate).all() and (img[by, bx + bw - 1] == plate).all()
    assert not (img[by + bh, bx + bw // 2] == plate).all()
    # a label above the mug box, in the mug's colour
    assert (img[y - 6:y, x:x + 10] == mug).all(axis=-1).any()


def test_limit_and_distinct_colours(tmp_path):
    make_dataset(tmp_path, frames=4)
    assert [p.name for p in preview.write_previews(tmp_path, limit=2)] == ["000000.png", "000001.png"]
    assert sorted(p.name for p in (tmp_path / "exports" / "preview").iterdir()) == ["000000.png", "000001.png"]
    colours = {preview.category_colour(i) for i in range(1, 21)}
    assert len(colours) == 20


def test_missing_pillow_is_a_user_error(tmp_path, monkeypatch):
    make_dataset(tmp_path, frames=1)
    hide_module(monkeypatch, "PIL")
    with pytest.raises(UserError, match="Pillow"):
        preview.write_previews(tmp_path)
    assert not (tmp_path / "exports" / "preview").exists()


def test_category_colours_follow_the_recipe_or_are_automatic():
    from synthkiln.addon.core.exports.preview import category_colour, category_colours
    manifest = {"categories": [{"id": 1, "name": "mug", "color": [1.0, 0.5, 0.0]},
                               {"id": 2, "name": "can", "color": [0.0, 0.0, 0.0]}, {"id": 3, "name": "box"}]}
    assert category_colours(manifest) == {"mug": (255, 128, 0), "can": category_colour(2), "box": category_colour(3)}

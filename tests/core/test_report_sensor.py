"""The report's sensor section (issue 18) on a hand-made dataset whose records carry sensor draws and clean
thumbnails: which fields count as drawn, which as fixed, the histograms (one figure per randomizer, one
panel per drawn field), the clean-vs-stored sheet, and summary.json."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from synthkiln.addon.core.dataset import layout
from synthkiln.addon.core.images.png import encode_png
from synthkiln.addon.core.report import build, sensor as report_sensor
from synthkiln.addon.core.sensor import clean_thumbnail, keeps_clean, plan

from tests.helpers.grey_dataset import H, W, make_dataset
from tests.helpers.report import Page

FRAMES = 10
STACK = [{"type": "lens_distortion", "name": "wide"},
         {"type": "sensor_noise", "name": "small_sensor", "iso": {"log_uniform": [100, 3200]}},
         {"type": "jpeg", "name": "stream"}, {"type": "tone", "name": "muted", "enabled": False}]


def sensor_dataset(root: Path, clean_every: int = 2) -> Path:
    """The grey dataset with a sensor stack in its recipe, draws in every record and a clean thumbnail (a
    smooth gradient: visibly not the stored image) on every ``clean_every``-th frame."""
    make_dataset(root, frames=FRAMES)
    manifest = json.loads((root / layout.MANIFEST).read_text())
    manifest["recipe"] = {"randomizers": {"sensor": STACK}}
    (root / layout.MANIFEST).write_text(json.dumps(manifest))
    rng = np.random.default_rng(3)
    (root / layout.CLEAN).mkdir()
    for f in range(FRAMES):
        rec = json.loads((root / layout.record_name(f)).read_text())
        rec["values"] = {
            "sensor/wide": {"model": "brown_conrady", "coefficients": [-0.1 - 0.01 * f, 0.02, 0.0, 0.0, 0.0],
                            "max_overscan": 2.0},
            "sensor/small_sensor": {"iso": float(100 * 2 ** (f % 6)), "full_well": 4000.0, "read_noise": 2.5,
                                    "sensitivity": [0.6, 1.0, 0.5], "salt_pepper": 0.0, "seed": int(rng.integers(1e9))},
            "sensor/stream": {"quality": int(rng.integers(40, 95))}}
        if f % clean_every == 0:
            rgb = np.zeros((H, W, 3), np.uint8)
            rgb[..., 0] = np.linspace(0, 255, W, dtype=np.uint8)[None, :]
            rec["files"]["clean"] = layout.clean_name(f, "png")
            (root / rec["files"]["clean"]).write_bytes(encode_png(rgb))
        (root / layout.record_name(f)).write_text(json.dumps(rec))
    return root


def test_drawn_and_fixed_fields():
    assert report_sensor.scalars({"model": "fisheye", "coefficients": [0.1, 0.0, 0.0, 0.0], "seed": 4,
                                  "flag": True, "sensitivity": [0.6, 1.0, 0.5]}) == {
        "k1": 0.1, "k2": 0.0, "k3": 0.0, "k4": 0.0, "sensitivity[0]": 0.6, "sensitivity[1]": 1.0,
        "sensitivity[2]": 0.5}


def test_collect_gathers_the_draws(tmp_path):
    r = build.collect(sensor_dataset(tmp_path / "ds"))
    s = r.sensor
    drawn = {(f.key, f.field) for f in s.fields}
    assert drawn == {("sensor/wide", "k1"), ("sensor/small_sensor", "iso"), ("sensor/stream", "quality")}
    assert all(len(f.values) == FRAMES for f in s.fields)
    iso = next(f for f in s.fields if f.field == "iso")
    assert iso.log and not any(f.log for f in s.fields if f is not iso)       # as the recipe draws it
    assert sorted(set(iso.values)) == [100 * 2 ** k for k in range(6)]
    assert s.fixed["sensor/wide"] == {"k2": 0.02, "p1": 0.0, "p2": 0.0, "k3": 0.0, "max_overscan": 2.0}
    assert s.fixed["sensor/small_sensor"]["full_well"] == 4000.0 and "seed" not in s.fixed["sensor/small_sensor"]
    assert "sensor/muted" not in s.fixed                # muted: it drew nothing
    assert s.clean_frames == [0, 2, 4, 6, 8] and s.pairs == [0, 2, 4, 6, 8]


def test_report_shows_histograms_and_clean_vs_stored(tmp_path):
    root = sensor_dataset(tmp_path / "ds")
    index = build.build_report(root)
    doc = Page(index.read_text("utf-8"))
    assert "sensor" in doc.sections
    srcs = [i["src"] for i in doc.imgs]
    assert "sensor.png" in srcs                     # one figure: a histogram per drawn field
    with Image.open(index.parent / "sensor.png") as im:
        assert len(np.unique(np.asarray(im.convert("L")))) > 20 and im.width >= 1000       # drawn, not blank
    pairs = [s for s in srcs if s.startswith(("clean_", "stored_"))]
    assert pairs == [f"{kind}_{layout.stem(i)}.jpg" for i in (0, 2, 4, 6, 8) for kind in ("clean", "stored")]
    clean = np.asarray(Image.open(index.parent / "clean_000000.jpg").convert("RGB"), np.float64)
    stored = np.asarray(Image.open(index.parent / "stored_000000.jpg").convert("RGB"), np.float64)
    assert clean.shape == stored.shape == (H, W, 3)
    assert clean[:, -5:, 0].mean() > 200 and abs(stored.mean() - 100) < 3   # the gradient / the grey image
    text = " ".join(doc.text["sensor"])
    assert "full_well 4,000" in text and "clean render" in text
    summary = json.loads((index.parent / build.SUMMARY).read_text())["sensor"]
    assert summary["draws"]["sensor/small_sensor.iso"]["n"] == FRAMES and summary["clean_frames"] == [0, 2, 4, 6, 8]


def test_a_dataset_without_sensor_says_so(tmp_path):
    make_dataset(tmp_path / "ds", frames=2)
    index = build.build_report(tmp_path / "ds")
    doc = Page(index.read_text("utf-8"))
    assert "No sensor randomizers" in " ".join(doc.text["sensor"])
    assert not any(i["src"].startswith(("clean_", "stored_", "sensor_")) for i in doc.imgs)


def test_clean_thumbnail_is_the_render_without_the_margins():
    """With a lens, the clean image is the wide canvas less its margins, shrunk by whole blocks."""
    K = np.array([[500.0, 0, 320], [0, 500.0, 240], [0, 0, 1]])
    p = plan([("lens_distortion", {"model": "brown_conrady", "coefficients": [-0.15, 0.02, 0, 0, 0]})], K, (640, 480))
    (mx, my), (rw, rh) = p.lens.margins, p.lens.render_size
    rgb = np.zeros((rh, rw, 3), np.float32)
    rgb[my:my + 480, mx:mx + 640] = 0.5                      # the margins are black: none may show
    data, ext = clean_thumbnail(p, rgb)
    with Image.open(io.BytesIO(data)) as im:
        assert im.size == (320, 240) and ext == "jpg"
        a = np.asarray(im.convert("RGB"), np.float64)
    assert np.abs(a - 128).max() <= 3


@pytest.mark.parametrize("frames", [20, 48, 49, 95, 1000, 100000])
def test_at_most_48_frames_keep_a_clean_thumbnail(frames):
    n = sum(keeps_clean(i, frames) for i in range(frames))
    assert n == frames if frames <= 48 else 24 < n <= 48


def test_a_missing_clean_thumbnail_is_a_caption_not_a_failed_report(tmp_path):
    root = sensor_dataset(tmp_path / "ds")
    (root / layout.clean_name(2, "png")).unlink()
    index = build.build_report(root)
    text = index.read_text("utf-8")
    assert 'class="missing"' in text and "clean:" in text
    assert (index.parent / "stored_000002.jpg").is_file() and not (index.parent / "clean_000002.jpg").exists()

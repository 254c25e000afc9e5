"""``synthkiln report`` end to end: a real rendered job (balance, a rare-event mixture, frame times) into
an HTML report; compared with a real COCO file written by hand and with the dataset's own COCO export
(read by pycocotools); the page loaded in headless Chromium; bad input refused with one clear message."""

from __future__ import annotations

import html as htmllib
import json
import math
import re
from pathlib import Path

import numpy as np
import pytest
import yaml

from synthkiln.addon.core.images.png import encode_png
from synthkiln.addon.core.recipe.preset import load_preset
from synthkiln.addon.core.report.build import collect
from tests.helpers.cli import TINY, ok, one_error, sk
from tests.helpers.report import Page
from tests.tiny import BALANCED_PRESET

pytestmark = pytest.mark.bpy

PRESET = BALANCED_PRESET.replace("energy: {log_uniform: [60, 250]}",
                                 "energy: {log_uniform: [60, 250], rare: {p: 0.3, uniform: [5, 10]}}")
FRAMES = 8


@pytest.fixture(scope="module")
def job(tmp_path_factory):
    work = tmp_path_factory.mktemp("report")
    (work / "job.yaml").write_text(PRESET)
    ok(sk("render", work / "job.yaml", "--frames", FRAMES, "--out", work / "ds", *TINY, cwd=work))
    return work


def real_coco(work: Path) -> tuple[Path, Path]:
    """A small "real" set, written by hand: photos at another size, bigger and fewer boxes, one crowd."""
    photos = work / "photos"
    photos.mkdir(exist_ok=True)
    images, anns = [], []
    for i, (w, h, grey) in enumerate([(320, 240, 30), (320, 240, 60), (640, 480, 90)], start=1):
        (photos / f"p{i}.png").write_bytes(encode_png(np.full((h, w, 3), grey, np.uint8)))
        images.append({"id": i, "file_name": f"p{i}.png", "width": w, "height": h})
        anns.append({"id": 10 * i, "image_id": i, "category_id": 1, "bbox": [w / 4, h / 4, w / 2, h / 2],
                     "area": w * h / 4, "iscrowd": 0})
    anns.append({"id": 99, "image_id": 3, "category_id": 2, "bbox": [0, 0, 640, 100], "iscrowd": 1})
    coco = {"info": {"description": "hand-labelled photos"}, "images": images, "annotations": anns,
            "categories": [{"id": 1, "name": "mug", "supercategory": "kitchenware"},
                           {"id": 2, "name": "cup", "supercategory": "kitchenware"}]}
    path = work / "real.json"
    path.write_text(json.dumps(coco, indent=1))
    return path, photos


def test_report_of_a_rendered_job(job):
    p = ok(sk("report", job / "ds", cwd=job))
    index = Path(p.stdout.strip().splitlines()[-1])
    assert index == job / "ds" / "report" / "index.html"
    page = Page(index.read_text())
    text = " ".join(page.section_text(s) for s in (None, *page.sections))     # the header, then each section
    for ref in page.refs:
        assert not re.match(r"^(https?:)?//", ref), ref                   # self-contained
    for src in (img["src"] for img in page.imgs):
        assert (index.parent / src).is_file(), src
    assert len([img for img in page.imgs if img["src"].endswith(".png")]) >= 8
    assert f"{FRAMES} done of {FRAMES} planned" in text
    assert re.search(r"75\.0\s?%", text) and "lighting/key.energy" in text  # balance target, rare parameter
    data = collect(job / "ds")
    assert data.job.seconds_per_frame.size == FRAMES and (data.job.seconds_per_frame > 0).all()
    rare = {r.parameter: r for r in data.rare}
    assert rare["lighting/key.energy"].draws == FRAMES and rare["lighting/key.energy"].p == 0.3
    targets = {(row["attribute"], row["value"]): row["target"] for row in data.balance}
    assert targets == {("category", "mug"): 0.5, ("category", "can"): 0.5, ("colour", "red"): 0.75,
                       ("colour", "blue"): 0.25}
    assert sorted(data.sample_frames) == list(range(FRAMES))


def test_statistics_match_the_coco_export_read_by_pycocotools(job):
    """The report's box statistics against pycocotools' view of the dataset's own COCO export; and the
    export compared with the dataset it came from shows no gap."""
    from pycocotools.coco import COCO

    ann_file = job / "ds" / "exports" / "coco" / "annotations.json"
    coco = COCO(str(ann_file))
    sizes, aspects = [], []
    for a in coco.loadAnns(coco.getAnnIds()):
        im = coco.imgs[a["image_id"]]
        x, y, w, h = a["bbox"]
        sizes.append(math.sqrt(w * h / (im["width"] * im["height"])))
        aspects.append(w / h)
    data = collect(job / "ds", ann_file)
    assert np.allclose(sorted(data.synthetic.numeric["box_size"]), sorted(sizes))
    assert np.allclose(sorted(data.synthetic.numeric["aspect"]), sorted(aspects))
    assert data.real.instances == len(sizes) == data.synthetic.instances
    for g in data.gaps:
        assert g.distance == pytest.approx(0.0, abs=1e-12), g


def test_compare_with_real_data(job):
    real, photos = real_coco(job)
    out = job / "compared"
    p = ok(sk("report", job / "ds", "--compare", real, "--images", photos, "--out", out, cwd=job))
    index = out / "index.html"
    assert p.stdout.strip().splitlines()[-1] == str(index)
    data = collect(job / "ds", real, photos)
    keys = [g.key for g in data.gaps]
    assert [g.distance for g in data.gaps] == sorted((g.distance for g in data.gaps), reverse=True)
    assert {"categories", "box_size", "objects_per_image", "brightness"} <= set(keys)
    assert data.real.numeric["brightness"] == pytest.approx(sorted([30 / 255, 60 / 255, 90 / 255]), abs=1e-6)
    html = index.read_text()
    # the gaps table lists the statistics in the same order, largest first
    positions = [html.find(g.title) for g in data.gaps]
    assert all(pos >= 0 for pos in positions)
    assert "1 crowd region" in html
    # the real category mix as a balance entry to paste: valid in the job's own preset
    snippet = htmllib.unescape(re.search(r"<pre>(.*?)</pre>", html, re.S).group(1))
    assert yaml.safe_load(snippet) == {"balance": [{"attribute": "category", "shares": {"mug": 1}}]}
    suggested = job / "suggested.yaml"
    suggested.write_text(PRESET.split("balance:")[0] + snippet + "\n")
    assert load_preset(suggested).balance_shares() == {"category": {"mug": 1.0}}
    assert [f.name for f in data.real_frames] == ["p1.png", "p2.png", "p3.png"]
    for k in range(3):                                                  # the real images, boxes drawn
        assert f'src="real_{k:04d}.jpg"' in html and (out / f"real_{k:04d}.jpg").is_file()
    summary = json.loads((out / "summary.json").read_text())          # the same figures for pipelines
    assert [g["key"] for g in summary["gaps"]] == keys
    assert summary["gaps"][0]["distance"] == pytest.approx(data.gaps[0].distance)
    assert summary["real"]["source"] == str(real) and summary["real"]["instances"] == 3
    assert summary["synthetic"]["statistics"]["box_size"]["n"] == data.synthetic.instances
    assert summary["job"]["seconds_per_frame"]["n"] == FRAMES


def test_report_in_headless_chromium(job):
    """The report of a real rendered job beside real data, opened from disk in Debian's Chromium."""
    from tests.helpers.browser import Browser, ensure_chromium

    reason = ensure_chromium()
    if reason:
        pytest.skip(reason)
    real, photos = real_coco(job)
    out = job / "browser"
    ok(sk("report", job / "ds", "--compare", real, "--images", photos, "--out", out, cwd=job))
    browser = Browser(job / "chromium-profile")
    try:
        page, problems = browser.open((out / "index.html").as_uri())
        page.eval_on_selector_all("img", "els => els.forEach(e => e.loading = 'eager')")
        page.wait_for_function("[...document.images].every(i => i.complete)")
        assert problems.all() == []
        sizes = page.eval_on_selector_all("img", "els => els.map(e => [e.getAttribute('src'), e.naturalWidth])")
        assert len(sizes) >= 12 and all(w > 0 for _, w in sizes), sizes
        assert "Largest gaps" in page.inner_text("body") or "gap" in page.inner_text("body").lower()
        shot = Path(__file__).resolve().parents[1] / "gui_artifacts" / "report" / "rendered-compare.png"
        shot.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(shot), full_page=True)
    finally:
        browser.close()


def test_bad_input_keeps_the_last_report(job, tmp_path):
    ok(sk("report", job / "ds", "--out", tmp_path / "rep", cwd=job))
    before = sorted(p.name for p in (tmp_path / "rep").iterdir())
    not_coco = tmp_path / "photo.json"
    not_coco.write_text("id,name\n1,mug\n")
    one_error(sk("report", job / "ds", "--compare", not_coco, "--out", tmp_path / "rep", cwd=job),
              str(not_coco), "not a COCO file: invalid JSON")
    listed = tmp_path / "list.json"
    listed.write_text(json.dumps({"images": [{"id": 1, "width": 4, "height": 4}], "categories": []}))
    one_error(sk("report", job / "ds", "--compare", listed, "--out", tmp_path / "rep", cwd=job),
              "'annotations' is missing, expected a list")
    assert sorted(p.name for p in (tmp_path / "rep").iterdir()) == before
    assert not [p for p in tmp_path.iterdir() if ".partial-" in p.name]

    empty = tmp_path / "empty"
    (empty / "frames").mkdir(parents=True)
    (empty / "synthkiln.json").write_text((job / "ds" / "synthkiln.json").read_text())
    one_error(sk("report", empty, cwd=job), "no finished frames yet")
    assert not (empty / "report").exists()
    one_error(sk("report", tmp_path / "rep", cwd=job), "is not a SynthKiln dataset")
    one_error(sk("report", job / "ds", "--images", tmp_path, cwd=job), "needs --compare")
    precious = tmp_path / "documents"                   # --out naming a folder of the user's: never replaced
    precious.mkdir()
    (precious / "thesis.txt").write_text("years of work")
    one_error(sk("report", job / "ds", "--out", precious, cwd=job), "is not a SynthKiln report")
    assert (precious / "thesis.txt").read_text() == "years of work"
    one_error(sk("report", job / "ds", "--out", job / "ds", cwd=job), "is not a SynthKiln report")

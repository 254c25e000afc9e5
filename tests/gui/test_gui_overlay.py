"""GUI tier (issue 17): the label overlay over a previewed frame and Render Dataset in background workers, in a
real Blender with a window (the chroots of tests/gui/chroot.py; tests/gui/overlay_driver.py drives it).

Checks: the overlay draws over the camera view where the record's boxes are (the screenshot with the overlay
differs from the one without along each box's edges), OCR reads a category name there; the background render
runs in Blender worker processes while the UI answers (a menu opens and the progress moves while it is open),
finishes the dataset with its exports, shows the last frame in an image editor and leaves the scene as it was.
Screenshots are kept in gui_artifacts/overlay-<suite>/.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import yaml
from PIL import Image, ImageOps

pytestmark = pytest.mark.gui

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
SUITES = ("trixie", "sid")
FRAMES = 8


def _chroot():
    spec = importlib.util.spec_from_file_location("synthkiln_gui_chroot_overlay", HERE / "chroot.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


chroot = _chroot()


@pytest.fixture(scope="module", params=SUITES)
def session(request, extension_zip):
    suite = request.param
    reason = chroot.skip_reason()
    if reason:
        if os.environ.get("SYNTHKILN_GUI_REQUIRED") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    root = chroot.ensure(suite)
    inner = Path("/tmp/synthkiln-gui") / f"overlay-{suite}-{os.getpid()}"
    run = root / inner.relative_to("/")
    if run.exists():
        shutil.rmtree(run)
    run.mkdir(parents=True)
    shutil.copy(extension_zip, run / "synthkiln.zip")
    shutil.copy(HERE / "overlay_driver.py", run / "driver.py")
    shutil.copy(HERE / "inside.sh", run / "inside.sh")
    data = yaml.safe_load((ROOT / "presets" / "tabletop.yaml").read_text())
    data["render"] = {**data.get("render", {}), "resolution": [320, 240], "samples": 4, "denoise": False}
    data["output"] = {**data.get("output", {}), "directory": str(inner / "out"), "frames": FRAMES, "seed": 5}
    (run / "preset.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    (run / "config.json").write_text(json.dumps({"run_dir": str(inner), "preset": str(inner / "preset.yaml"),
                                                 "stop_dir": str(inner / "stopped"), "render_timeout_s": 300}))
    with chroot.locked(suite), chroot.mounted(root):
        subprocess.run(["timeout", "-k", "10", "600",
                        *chroot.chroot_cmd(root, ["sh", str(inner / "inside.sh"), str(inner), "480"])], check=False)
        results = json.loads((run / "results.json").read_text()) if (run / "results.json").is_file() else {}
        ocr = {}
        # OCR inside the chroot (tesseract lives there): the overlay's coloured tags 2x enlarged, the popover's
        # light-on-dark text inverted and 3x enlarged
        for shot, scale, invert in (("overlay", 2, False), ("popover", 3, True)):
            if shot in results.get("screenshots", {}):
                im = Image.open(run / f"{shot}.png").convert("RGB")
                im = ImageOps.invert(im.convert("L")) if invert else im
                im.resize((im.width * scale, im.height * scale), Image.LANCZOS).save(run / f"{shot}_ocr.png")
                ocr[shot] = subprocess.run(["timeout", "120", *chroot.chroot_cmd(
                    root, ["tesseract", str(inner / f"{shot}_ocr.png"), "-", "--psm", "11"])],
                    capture_output=True, text=True).stdout
    art = ROOT / "gui_artifacts" / f"overlay-{suite}"
    if art.exists():
        shutil.rmtree(art)
    shutil.copytree(run, art, ignore=shutil.ignore_patterns("home", "synthkiln.zip"))
    shutil.rmtree(run)
    (art / "ocr.json").write_text(json.dumps(ocr, indent=1))
    return {"art": art, "results": results, "ocr": ocr, "log": (art / "gui.log").read_text(errors="replace")
            if (art / "gui.log").is_file() else ""}


def _shot(session, name):
    return np.asarray(Image.open(session["art"] / f"{name}.png").convert("RGB")).astype(np.int16)


def test_session_ran(session):
    r = session["results"]
    assert r.get("failed") is None, r.get("failed")
    assert r.get("done"), session["log"][-3000:]
    bad = [line for line in session["log"].splitlines() if "Traceback" in line or "rna_uiItem" in line]
    assert not bad, "\n".join(bad) + session["log"][-3000:]


def test_overlay_draws_the_records_boxes(session):
    r = session["results"]
    assert not r.get("overlay_error"), r.get("overlay_error")
    objects = r["overlay"]["objects"]
    assert objects, r["overlay"]
    on, off = _shot(session, "overlay"), _shot(session, "no_overlay")
    wx, wy, ww, wh = r["screenshots"]["overlay"]["window"]
    rx, ry, _, _ = r["screenshots"]["overlay"]["region"]
    diff = np.abs(on - off).sum(axis=2) > 40
    hits = 0
    for o in objects:
        (x0, y0), (x1, _) = o["region_box"]           # region coordinates, y up
        left, right = int(round(x0 + rx + wx)), int(round(x1 + rx + wx))
        top = int(round(wh - (y0 + ry)))
        edge = diff[top - 2:top + 3, left:right + 1]           # the box's top side, give or take 2 px
        if edge.size and edge.any(axis=0).mean() > 0.6:
            hits += 1
    assert hits >= max(1, len(objects) // 2), (hits, objects)
    words = {o["category"] for o in objects}
    assert any(w in session["ocr"].get("overlay", "").lower() for w in words), (words, session["ocr"])


def test_background_render_keeps_the_ui_responsive(session):
    r = session["results"]
    assert r["render_invoke"] == ["RUNNING_MODAL"]
    assert r["render_done"] == [FRAMES, FRAMES] and r["render_status"] == "Done", r
    done = [d for _, d, _ in r["progress"]]
    assert done == sorted(done) and len(set(done)) >= 3, r["progress"]        # the progress moved step by step
    assert "menu_at_done" in r and max(done) > r["menu_at_done"], r          # and went on with a menu open
    assert r["scene_unchanged"], "the open scene was changed by the render"
    assert "SynthKiln Last Frame" in r["image_editors"], r["image_editors"]
    out = session["art"] / "out"
    assert len(list((out / "frames").glob("*.json"))) == FRAMES
    assert (out / "exports" / "coco" / "annotations.json").is_file()


def test_stop_keeps_whole_frames_and_render_resumes(session):
    stop = session["results"]["stop"]
    assert stop["status"].startswith("Cancelled after"), stop
    assert 2 <= stop["records"] < FRAMES and stop["temp_files"] == [], stop
    assert stop["resumed_status"] == "Done" and stop["resumed_done"] == [FRAMES, FRAMES], stop
    assert len(list((session["art"] / "stopped" / "frames").glob("*.json"))) == FRAMES


def test_the_toggle_is_in_the_overlays_popover(session):
    text = session["ocr"].get("popover", "").lower()
    assert "synthkiln labels" in text, text

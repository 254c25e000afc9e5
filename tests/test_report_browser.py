"""The HTML dataset report in a real browser (Debian's headless Chromium via playwright, tests/browser.py):
opened from file:// as a user would, it loads without a console error, a page error or a failed request,
and every image shows. A full-page screenshot is kept in gui_artifacts/report/ (gitignored) to look at.

Skips, saying why, where Chromium is missing and cannot be installed (not root, no apt-get)."""

from __future__ import annotations

from pathlib import Path

import pytest

from synthkiln.addon.core.report.page import render_report
from tests.helpers.browser import Browser, ensure_chromium
from tests.helpers.report import SECTIONS, empty_report, make_report

ARTIFACTS = Path(__file__).resolve().parents[1] / "gui_artifacts" / "report"


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    reason = ensure_chromium()
    if reason:
        pytest.skip(reason)
    b = Browser(tmp_path_factory.mktemp("chromium-profile"))
    yield b
    b.close()


def render(report, out: Path) -> Path:
    out.mkdir()
    return render_report(report, out)


def images(page) -> list[dict]:
    return page.eval_on_selector_all("img", "els => els.map(e => ({src: e.getAttribute('src'), "
                                            "w: e.naturalWidth, h: e.naturalHeight, complete: e.complete}))")


@pytest.mark.parametrize("compare", [True, False], ids=["compare", "synthetic"])
def test_report_loads_cleanly_and_every_image_shows(browser, tmp_path, compare):
    report = make_report(tmp_path / "ds", compare=compare, frames=8)
    path = render(report, tmp_path / "report")
    page, problems = browser.open(path.as_uri())
    try:
        page.eval_on_selector_all("img", "els => els.forEach(e => e.loading = 'eager')")  # thumbnails are lazy
        page.wait_for_function("[...document.images].every(i => i.complete)")
        assert problems.all() == []
        shown = images(page)
        plots = 1 + 2 + 7 + 3  # categories, two attributes, seven statistics, centres, rare, seconds per frame
        assert len(shown) == plots + len(report.sample_frames) + len(report.worst_frames)
        assert all(i["complete"] and i["w"] > 0 and i["h"] > 0 for i in shown), [i for i in shown if not i["w"]]
        assert page.eval_on_selector_all("section", "els => els.map(e => e.id)") == SECTIONS
        assert page.locator("script").count() == 0
        # the escaped name is shown as text, and no element came from it
        assert "<script>alert('x')</script>" in page.inner_text("#categories")
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= page.viewport_size["width"]  # nothing forces a horizontal scroll bar
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        shot = ARTIFACTS / f"report-{'compare' if compare else 'synthetic'}.png"
        page.screenshot(path=str(shot), full_page=True)
        assert shot.stat().st_size > 50_000
    finally:
        page.close()


def test_empty_report_loads_cleanly(browser, tmp_path):
    root = tmp_path / "ds"
    root.mkdir()
    page, problems = browser.open(render(empty_report(root), tmp_path / "report").as_uri())
    try:
        assert problems.all() == []
        assert images(page) == []
        assert page.locator("p.empty").count() >= len(SECTIONS)
        page.screenshot(path=str(ARTIFACTS / "report-empty.png"), full_page=True) if ARTIFACTS.is_dir() else None
    finally:
        page.close()

"""The report's drawing side (core/report/plots.py, sheet.py, page.py) on hand-built reports and a tiny
dataset: every referenced image exists and is a real image, the page has every section in order, nothing
is fetched from outside, user names are escaped, compare mode adds the real series, and empty parts say
"no data" instead of vanishing."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from synthkiln.addon.core.dataset import layout
from synthkiln.addon.core.errors import UserError
from synthkiln.addon.core.report import page, plots, sheet
from synthkiln.addon.core.report.model import BY_KEY, STATISTICS, Report

from tests.helpers.grey_dataset import H, W
from tests.helpers.modules import hide_module
from tests.helpers.report import EVIL, SECTIONS, Page, empty_report, make_report


def render(report: Report, out: Path) -> tuple[Path, Page]:
    out.mkdir()
    path = page.render_report(report, out)
    return path, Page(path.read_text("utf-8"))


@pytest.fixture(scope="module")
def compared(tmp_path_factory) -> tuple[Report, Path, Page]:
    """One rendered compare-mode report, read by several tests (drawing it takes a few seconds)."""
    tmp = tmp_path_factory.mktemp("compared")
    report = make_report(tmp / "ds")
    return (report, *render(report, tmp / "report"))


def test_every_image_exists_is_valid_and_sections_are_in_order(compared):
    report, path, doc = compared
    assert path.name == "index.html"
    assert doc.sections == SECTIONS
    srcs = [i["src"] for i in doc.imgs]
    frames = [*report.sample_frames, *report.worst_frames]
    assert [s for s in srcs if s.endswith(".jpg")] == [sheet.thumbnail_name(i) for i in frames]
    plot_files = {s for s in srcs if s.endswith(".png")}
    # one plot per part with data: categories, 2 attributes, 7 statistics, centres, rare, seconds per frame
    assert len(plot_files) == 1 + 2 + len(STATISTICS) + 3
    for src in set(srcs):
        f = path.parent / src
        assert f.parent == path.parent and f.is_file(), src
        with Image.open(f) as im:
            im.verify()
        with Image.open(f) as im:
            if src in plot_files:
                assert im.format == "PNG" and 400 <= im.width <= 1600 and 200 <= im.height <= 1500, (src, im.size)
                assert len(np.unique(np.asarray(im.convert("L")))) > 20  # drawn, not blank
            else:
                assert im.format == "JPEG" and im.size == (W, H)  # smaller than a thumbnail: kept as is
    # nothing else in the folder than what the page uses
    assert sorted(p.name for p in path.parent.iterdir()) == sorted({*srcs, "index.html"})


def test_no_outside_references_no_scripts_and_names_escaped(compared):
    _, path, doc = compared
    text = path.read_text("utf-8")
    assert doc.scripts == 0 and EVIL not in text
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in text
    for ref in doc.refs:
        assert ref.startswith("#") or ref == "data:," or ("/" not in ref and ":" not in ref), ref
    assert "http" not in text.lower() and "url(" not in text
    # the escaped name is still readable as text where it belongs
    assert EVIL in doc.section_text("categories") and EVIL in doc.section_text("job")
    assert f"A note about {EVIL}." in " ".join(doc.text[None])


def test_compare_mode_gaps_in_order_and_real_series(compared):
    report, _, doc = compared
    gap_rows = doc.rows["gaps"][1:]
    assert [r[0] for r in gap_rows] == [g.title for g in report.gaps]
    assert [r[1] for r in gap_rows] == ["KS", "TV", "KS"]
    assert gap_rows[1][3] == "–"  # no Wasserstein distance for category shares
    assert doc.rows["categories"][0][-3:] == ["Real instances", "Share", "Synthetic − real"]
    cup = next(r for r in doc.rows["categories"] if r[0] == "cup")  # a real-only category
    assert cup[1:3] == ["0", "0.0 %"] and cup[3] == "90"

    # histograms: both datasets, same bins, normalised densities, n in the legend
    stat = BY_KEY["box_size"]
    fig = plots.plot_statistic(report, stat)
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == [f"synthetic (n={report.synthetic.instances:,})", f"real (n={report.real.instances:,})"]
    assert ax.get_xscale() == "log"
    filled = [p for p in ax.patches if p.get_fill()]
    assert len(filled) == 2
    edges = [np.unique(p.get_xy()[:, 0]) for p in filled]
    assert len(edges[0]) > 10 and np.array_equal(*edges)
    for poly in filled:  # a density histogram's outline (closed along y = 0) encloses an area of 1
        x, y = poly.get_xy().T
        assert abs(np.dot(x, np.roll(y, 1)) - np.dot(y, np.roll(x, 1))) / 2 == pytest.approx(1.0, abs=1e-6)
    # statistics the real data lacks: synthetic alone, still over densities
    depth = plots.plot_statistic(report, BY_KEY["depth"]).axes[0]
    assert [t.get_text() for t in depth.get_legend().get_texts()] == [f"synthetic (n={report.synthetic.instances:,})"]
    assert depth.get_ylabel() == "density"
    # categories as shares: each dataset's bars sum to 100 %
    cat = plots.plot_categories(report).axes[0]
    by_colour: dict = {}
    for bar in cat.patches:
        by_colour.setdefault(bar.get_facecolor(), []).append(bar.get_width())
    assert len(by_colour) == 2 and all(np.isclose(sum(v), 100) for v in by_colour.values())


def test_synthetic_only_counts_balance_targets_and_rare_markers(tmp_path):
    report = make_report(tmp_path / "ds", compare=False)
    _, doc = render(report, tmp_path / "report")
    assert doc.sections == SECTIONS
    assert "--compare" in doc.section_text("gaps")
    # counts, not shares, without real data (horizontal bars: a category's name is long)
    cat = plots.plot_categories(report).axes[0]
    assert [b.get_width() for b in cat.patches] == list(report.synthetic.categories.values())
    # balance: achieved bars with the targets as markers; the table has the difference
    ax = plots.plot_attribute(report, "colour").axes[0]
    assert [round(b.get_height(), 6) for b in ax.patches] == [round(100 * b["achieved"], 6) for b in report.balance]
    assert list(ax.lines[0].get_ydata()) == pytest.approx([100 * b["target"] for b in report.balance])
    red = next(r for r in doc.rows["attributes"] if r[0] == "red")
    assert red[3:] == ["40.0 %", "41.7 %", "+1.7 pp"]
    # an attribute without targets: plain counts
    state = plots.plot_attribute(report, "state").axes[0]
    assert [b.get_height() for b in state.patches] == [900, 300] and not state.lines
    # rare events: achieved share bars, configured p markers
    rare = plots.plot_rare(report).axes[0]
    assert [b.get_width() for b in rare.patches] == pytest.approx([100 * r.hits / r.draws for r in report.rare])
    assert list(rare.lines[0].get_xdata()) == pytest.approx([100 * r.p for r in report.rare])


def test_many_real_categories_show_the_largest_shares(tmp_path):
    report = make_report(tmp_path / "ds", frames=1)
    report.real.categories = {f"class {i}": 1000 - 10 * i for i in range(80)} | {"mug": 5}
    ax = plots.plot_categories(report).axes[0]
    ticks = [t.get_text() for t in ax.get_yticklabels()]
    assert len(ticks) == plots.MAX_BARS
    assert f"the {plots.MAX_BARS} largest of 83" in ax.get_title()  # mug, plate, the long name, 80 classes
    assert ticks[:2] == ["mug", "plate"] and "class 0" in ticks and "class 79" not in ticks


def test_centre_heat_map_has_y_down(tmp_path):
    report = make_report(tmp_path / "ds", compare=False)
    report.synthetic.centres = np.array([[0.1, 0.9]] * 50 + [[0.8, 0.2]] * 10)  # most boxes bottom left
    ax = plots.plot_centres(report).axes[0]
    grid = np.asarray(ax.images[0].get_array())
    row, col = np.unravel_index(grid.argmax(), grid.shape)
    assert row == grid.shape[0] - 1 and col == 0 and grid.max() == pytest.approx(100 * 50 / 60)
    assert ax.get_ylim()[0] > ax.get_ylim()[1]  # the y axis grows downwards, as in an image


def test_empty_report_says_no_data_everywhere(tmp_path):
    root = tmp_path / "ds"
    root.mkdir()
    path, doc = render(empty_report(root), tmp_path / "report")
    assert doc.sections == SECTIONS and doc.imgs == []
    assert sorted(p.name for p in path.parent.iterdir()) == ["index.html"]
    html = path.read_text("utf-8")
    for anchor in SECTIONS:
        assert f'<section id="{anchor}">' in html
        assert doc.section_text(anchor).strip(), anchor
    assert html.count('class="empty"') >= len(SECTIONS)
    assert all(s.title in doc.section_text("statistics") for s in STATISTICS)
    assert "No frame times recorded" in doc.section_text("job")


def test_thumbnails_drawn_once_scaled_and_missing_frames_explained(tmp_path):
    report = make_report(tmp_path / "ds", frames=3)
    (report.root / layout.image_name(2)).unlink()
    report.sample_frames, report.worst_frames = [0, 1, 2], [1, 0]
    out = tmp_path / "thumbs"
    out.mkdir()
    thumbs = sheet.write_thumbnails(report, out, [*report.sample_frames, *report.worst_frames], size=60)
    assert sorted(thumbs) == [0, 1, 2] and sorted(p.name for p in out.iterdir()) == [
        sheet.thumbnail_name(0), sheet.thumbnail_name(1)]
    assert (thumbs[0].width, thumbs[0].height) == (60, 40)
    assert thumbs[2].file is None and "cannot open image" in thumbs[2].problem
    # the mug's mask fill (preview colours) survives the downscale: the thumbnail is the preview, smaller
    with Image.open(out / thumbs[0].file) as im:
        small = np.asarray(im.convert("RGB")).astype(int)
    with Image.open(report.root / layout.image_name(0)) as im:
        plain = np.asarray(im.convert("RGB").resize((60, 40), Image.Resampling.LANCZOS)).astype(int)
    mug = (slice(17, 23), slice(12, 23))  # inside the 30x20 mug rectangle at (20, 30), halved
    assert np.abs(small[mug] - plain[mug]).mean() > 20 and np.abs(small[:8, :8] - plain[:8, :8]).mean() < 6

    doc = Page(page.page_html(report, {}, thumbs))
    assert "cannot open image" in doc.section_text("samples")
    captions = doc.section_text("worst")
    assert captions.index("frame 1") < captions.index("frame 0")
    assert f"min visibility {page.num(report.frames[1].min_visibility)}" in captions


def test_no_worst_frames_when_every_frame_ties(tmp_path):
    report = make_report(tmp_path / "ds", compare=False, frames=2)
    report.worst_frames = []
    doc = Page(page.page_html(report, {}, {}))
    assert "No frame stands out: every ranked frame has the same min visibility." in doc.section_text("worst")


def test_without_pillow_the_sheets_say_so(tmp_path, monkeypatch):
    report = make_report(tmp_path / "ds", compare=False, frames=2)
    report.synthetic.numeric, report.synthetic.attributes, report.balance = {}, {}, []  # fewer plots: faster
    monkeypatch.setattr(page, "pillow_available", lambda: False)
    _, doc = render(report, tmp_path / "report")
    assert doc.imgs and all(i["src"].endswith(".png") for i in doc.imgs)
    assert "need Pillow" in doc.section_text("samples")


def test_missing_matplotlib_is_a_user_error(tmp_path, monkeypatch):
    report = make_report(tmp_path / "ds", compare=False, frames=1)
    hide_module(monkeypatch, "matplotlib")
    assert not plots.matplotlib_available()
    out = tmp_path / "report"
    out.mkdir()
    with pytest.raises(UserError, match="pip install matplotlib"):
        page.render_report(report, out)
    assert list(out.iterdir()) == []

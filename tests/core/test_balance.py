"""Balance targets: deterministic, stratified by frame index, on target over a job and over any shard;
the job report reads achieved shares and constraint failures back from the records."""

import json
from collections import Counter

import pytest

from synthkiln.addon.core.dataset import layout
from synthkiln.addon.core.params.balance import BalanceTarget, balanced_choice, report_rows
from synthkiln.addon.core.errors import PresetError
from synthkiln.addon.core.dataset.jobreport import format_summary, summarize
from synthkiln.addon.core.recipe.preset import load_preset

SHARES = {"red": 0.5, "green": 0.3, "blue": 0.15, "white": 0.05}


def shares_of(frames, key="materials/colour", slot=0):
    counts = Counter(balanced_choice(SHARES, i, key, slot) for i in frames)
    return {k: counts[k] / len(frames) for k in SHARES}


@pytest.mark.parametrize("frames", [range(1000), range(500, 1500), range(7, 4007, 4), range(100)],
                         ids=["job", "second-shard", "every-4th", "first-100"])
def test_achieved_shares_follow_targets(frames):
    tol = 0.02 if len(frames) >= 1000 else 0.03
    got = shares_of(frames)
    for k, p in SHARES.items():
        assert abs(got[k] - p) <= tol, (k, got[k], p)


def test_slots_and_keys_are_independent_sequences_but_each_balanced():
    a = [balanced_choice(SHARES, i, "a", 0) for i in range(1000)]
    b = [balanced_choice(SHARES, i, "a", 1) for i in range(1000)]
    c = [balanced_choice(SHARES, i, "b", 0) for i in range(1000)]
    assert a != b and a != c
    for seq in (b, c):
        counts = Counter(seq)
        assert all(abs(counts[k] / 1000 - p) <= 0.02 for k, p in SHARES.items())


def test_deterministic_and_respects_allowed():
    assert [balanced_choice(SHARES, i, "k") for i in range(50)] == [balanced_choice(SHARES, i, "k") for i in range(50)]
    picks = Counter(balanced_choice(SHARES, i, "k", allowed={"green", "blue"}) for i in range(1000))
    assert set(picks) == {"green", "blue"}
    assert abs(picks["green"] / 1000 - 0.3 / 0.45) <= 0.02
    with pytest.raises(ValueError):
        balanced_choice(SHARES, 0, "k", allowed={"black"})


def test_a_weighted_random_draw_is_worse_than_balance():
    """Why balance exists: iid draws with the same weights miss the targets by more, seed by seed."""
    import numpy as np
    rng = np.random.Generator(np.random.PCG64(1))
    keys = list(SHARES)
    draws = Counter(keys[i] for i in rng.choice(len(keys), size=1000, p=list(SHARES.values())))
    iid_err = max(abs(draws[k] / 1000 - p) for k, p in SHARES.items())
    got = shares_of(range(1000))
    bal_err = max(abs(got[k] - p) for k, p in SHARES.items())
    assert bal_err < 0.005 < iid_err


def write(tmp_path, text):
    p = tmp_path / "p.yaml"
    p.write_text(text)
    return p


def test_balance_section_is_checked(tmp_path):
    base = ("categories: [{name: mug}, {name: can}]\n"
            "randomizers:\n  objects: [{type: object_count}]\n  materials: [{type: material_color, mode: palette}]\n")
    r = load_preset(write(tmp_path, base + "balance:\n  - {attribute: category, shares: {mug: 3, can: 1}}\n"))
    assert r.balance_shares() == {"category": {"mug": 0.75, "can": 0.25}}
    for text, line, what in [
        ("balance:\n  - {attribute: category, shares: {cup: 1}}\n", 6, "category 'cup' is not in categories"),
        ("balance:\n  - {attribute: colour, shares: {red: -1}}\n", 6, "a share must be a number >= 0"),
        ("balance:\n  - {attribute: colour, shares: {red: 0}}\n", 6, "positive sum"),
        ("balance:\n  - {attribute: colour, shares: {red: 1}}\n  - {attribute: colour, shares: {red: 1}}\n", 7,
         "given twice"),
        ("balance:\n  - {attribute: size, shares: {big: 1}}\n", 6, "no randomizer follows a balance on 'size'"),
    ]:
        with pytest.raises(PresetError, match=what) as e:
            load_preset(write(tmp_path, base + text))
        assert f"p.yaml:{line}:" in str(e.value)


def test_job_report_reads_the_records(tmp_path):
    layout.make_dirs(tmp_path)
    manifest = {"frames": 4, "recipe": {"balance": [{"attribute": "colour", "shares": {"red": 1, "blue": 1}}]}}
    (tmp_path / layout.MANIFEST).write_text(json.dumps(manifest))
    for i in range(3):
        objs = [{"category": "mug", "area": 10, "attributes": {"colour": "red" if i else "blue"}},
                {"category": "can", "area": 0, "attributes": {"colour": "blue"}}]     # not visible: not counted
        applied = {"camera/orbit": {"ok": i != 1, "try": 3}}
        (tmp_path / layout.record_name(i)).write_text(json.dumps({"frame": i, "objects": objs, "applied": applied}))
    s = summarize(tmp_path)
    assert (s["frames_done"], s["frames_planned"], s["instances"]) == (3, 4, 3)
    assert s["categories"] == {"mug": 3}
    assert [(r["value"], r["target"], round(r["achieved"], 3)) for r in s["balance"]] == [("blue", 0.5, 0.333),
                                                                                          ("red", 0.5, 0.667)]
    assert s["constraint_failures"] == {"camera/orbit": 1}
    text = format_summary(s)
    assert "red" in text and "66.7%" in text and "constraint not met in 1 of 3 frames" in text
    assert report_rows([BalanceTarget("colour", {"red": 1})], []) == [("colour", "red", 1.0, 0.0, 0)]

"""Distributions and random streams: shapes, bounds, the rare-event share, determinism."""

import numpy as np
import pytest

from synthkiln.addon.core.params.distributions import Distribution, DistributionSyntaxError, parse
from synthkiln.addon.core.params.rng import stream


def draws(d, n=4000, seed=1):
    rng = stream(seed, 0, "test")
    return [d.sample(rng) for _ in range(n)]


def test_constant_and_uniform():
    assert set(draws(parse(2.5), 10)) == {2.5}
    x = np.array(draws(parse({"uniform": [1, 3]})))
    assert x.min() >= 1 and x.max() <= 3 and abs(x.mean() - 2) < 0.05


def test_normal_clip():
    x = np.array(draws(parse({"normal": [0, 1], "clip": [-0.5, 0.5]})))
    assert x.min() == -0.5 and x.max() == 0.5
    y = np.array(draws(parse({"normal": [10, 2]})))
    assert abs(y.mean() - 10) < 0.15 and abs(y.std() - 2) < 0.15


def test_log_uniform_covers_decades_evenly():
    x = np.log10(draws(parse({"log_uniform": [1, 1000]})))
    assert x.min() >= 0 and x.max() <= 3
    counts = np.histogram(x, bins=3, range=(0, 3))[0]
    assert counts.min() > 0.28 * len(x)


def test_choice_weights():
    x = draws(parse({"choice": ["a", "b"], "weights": [1, 3]}))
    assert abs(x.count("b") / len(x) - 0.75) < 0.03


def test_rare_share_within_tolerance():
    d = parse({"uniform": [0, 1], "rare": {"p": 0.05, "uniform": [10, 20]}})
    x = np.array(draws(d, 20000))
    share = np.mean(x >= 10)
    assert abs(share - 0.05) < 0.006
    assert np.all((x <= 1) | ((x >= 10) & (x <= 20)))


def test_yaml_form_round_trips():
    for data in (3.0, {"uniform": [0.0, 1.0]}, {"normal": [1.0, 2.0], "clip": [0.0, 3.0]},
                 {"log_uniform": [0.5, 8.0]}, {"choice": ["x", 2], "weights": [1.0, 2.0]},
                 {"constant": 1.0, "rare": {"p": 0.1, "uniform": [5.0, 6.0]}}):
        assert parse(data).to_data() == data
        assert parse(parse(data).to_data()) == parse(data)


@pytest.mark.parametrize("data, words", [
    ({"uniform": [2, 1]}, "min 2.0 is greater than max 1.0"),
    ({"uniform": [1]}, "two numbers"),
    ({"log_uniform": [0, 1]}, "min > 0"),
    ({"normal": [0, -1]}, "std must be >= 0"),
    ({"choice": []}, "non-empty list"),
    ({"choice": [1, 2], "weights": [1]}, "2 weights"),
    ({"uniform": [0, 1], "rare": {"p": 2, "uniform": [0, 1]}}, "expected 0..1"),
    ({"gaussian": [0, 1]}, "unknown key 'gaussian'"),
    ("abc", "expected a number"),
    ({"uniform": [0, 1], "clip": [0, 1]}, "clip only applies to normal"),
])
def test_bad_distributions_say_what_was_expected(data, words):
    with pytest.raises(DistributionSyntaxError) as e:
        parse(data)
    assert words in str(e.value)


def test_streams_are_independent_and_repeatable():
    a1 = stream(7, 3, "objects/pose").random(5)
    assert np.array_equal(a1, stream(7, 3, "objects/pose").random(5))
    assert not np.array_equal(a1, stream(7, 4, "objects/pose").random(5))
    assert not np.array_equal(a1, stream(8, 3, "objects/pose").random(5))
    assert not np.array_equal(a1, stream(7, 3, "objects/other").random(5))


def test_draw_count_depends_only_on_parameters():
    """A rare mixture consumes the same stream whether or not it fires, so later draws don't shift."""
    d = Distribution(kind="uniform", min=0, max=1, rare_p=0.5, rare_min=5, rare_max=6)
    rng1, rng2 = stream(1, 0, "a"), stream(1, 0, "a")
    d.sample(rng1)
    d.sample(rng2)
    assert rng1.random() == rng2.random()

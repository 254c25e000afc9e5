"""The rare-event mixture works on every numeric parameter of every randomizer: synthetic data lacks
outliers unless a recipe puts them there, so no parameter may be left out."""

import numpy as np
import pytest

from synthkiln.addon.core.randomizers import GROUPS, Randomizer
from synthkiln.addon.core.params.schema import field_specs, from_data


def numeric_dist_fields():
    for t, cls in sorted(Randomizer.REGISTRY.items()):
        for spec in field_specs(cls):
            if spec.kind == "dist" and spec.subtype != "names":
                yield t, cls, spec


CASES = list(numeric_dist_fields())


def mixture(spec):
    """A main range and a disjoint outlier range, both inside the field's allowed range."""
    lo = spec.min if spec.min is not None else -10.0
    hi = spec.max if spec.max is not None else lo + 20.0
    if spec.min is not None and spec.min > 0:        # e.g. log-uniform style fields that must stay positive
        lo = spec.min
    span = hi - lo
    main = [lo + 0.1 * span, lo + 0.4 * span]
    rare = [lo + 0.6 * span, lo + 0.9 * span]
    return main, rare


@pytest.mark.parametrize("t, cls, spec", CASES, ids=[f"{t}.{s.name}" for t, _, s in CASES])
def test_every_numeric_parameter_takes_a_rare_mixture(t, cls, spec):
    main, rare = mixture(spec)
    r = from_data(cls, {spec.name: {"uniform": main, "rare": {"p": 0.05, "uniform": rare}}})
    d = getattr(r, spec.name)
    rng = np.random.Generator(np.random.PCG64(11))
    draws = np.array([d.sample(rng) for _ in range(4000)])
    share = np.mean(draws >= rare[0] - 1e-6)
    assert abs(share - 0.05) < 0.012, share        # 4000 draws: 3 standard deviations is about 0.010
    assert draws.min() >= main[0] - 1e-4 and draws.max() <= rare[1] + 1e-4


def test_every_group_has_parameters():
    assert {cls.GROUP for _, cls, _ in CASES} == set(GROUPS)

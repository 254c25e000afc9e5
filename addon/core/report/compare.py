"""How far synthetic data is from real data, per statistic, ranked so the largest gap comes first.

Numeric statistics use the two-sample Kolmogorov-Smirnov statistic (0 = same distribution, 1 = disjoint:
unitless, so gaps in box size and in brightness rank on one scale) and report the 1-D Wasserstein
distance beside it, in the statistic's own unit. Category mixes use the total variation distance, which
is on the same 0-1 scale. Plain numpy (checked against scipy in the tests).
"""

from __future__ import annotations

import numpy as np

from .model import BY_KEY, Gap, Stats

CENTRES = (("centre_x", "Box centre x", 0), ("centre_y", "Box centre y", 1))


def _cdfs(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Both empirical CDFs evaluated at every value of either sample (sorted)."""
    a, b = np.sort(a), np.sort(b)
    xs = np.concatenate([a, b])
    xs.sort(kind="mergesort")
    return xs, np.searchsorted(a, xs, side="right") / a.size, np.searchsorted(b, xs, side="right") / b.size


def ks_statistic(a, b) -> float:
    """sup |F_a - F_b| of two samples."""
    _, fa, fb = _cdfs(np.asarray(a, np.float64), np.asarray(b, np.float64))
    return float(np.max(np.abs(fa - fb)))


def wasserstein(a, b) -> float:
    """The 1-D earth mover's distance: the area between the two empirical CDFs."""
    xs, fa, fb = _cdfs(np.asarray(a, np.float64), np.asarray(b, np.float64))
    return float(np.sum(np.abs(fa - fb)[:-1] * np.diff(xs)))


def total_variation(p: dict[str, int], q: dict[str, int]) -> float:
    """Half the L1 distance between two count tables read as shares (names matched exactly)."""
    np_, nq = sum(p.values()), sum(q.values())
    if not np_ or not nq:
        return 1.0 if np_ != nq else 0.0
    return 0.5 * sum(abs(p.get(k, 0) / np_ - q.get(k, 0) / nq) for k in set(p) | set(q))


def _gap(key: str, title: str, a: np.ndarray, b: np.ndarray) -> Gap:
    return Gap(key=key, title=title, distance=ks_statistic(a, b), measure="KS", wasserstein=wasserstein(a, b),
               synthetic_median=float(np.median(a)), real_median=float(np.median(b)),
               n_synthetic=int(a.size), n_real=int(b.size))


def gaps(synthetic: Stats, real: Stats) -> list[Gap]:
    """One gap per statistic both datasets have samples of, the largest first."""
    out = [Gap(key="categories", title="Category mix", distance=total_variation(synthetic.categories, real.categories),
               measure="TV", wasserstein=None, synthetic_median=None, real_median=None,
               n_synthetic=synthetic.instances, n_real=real.instances)]
    for key, stat in BY_KEY.items():
        a, b = synthetic.numeric.get(key), real.numeric.get(key)
        if a is not None and b is not None and a.size and b.size:
            out.append(_gap(key, stat.title, a, b))
    if len(synthetic.centres) and len(real.centres):
        for key, title, axis in CENTRES:
            out.append(_gap(key, title, synthetic.centres[:, axis], real.centres[:, axis]))
    return sorted(out, key=lambda g: -g.distance)

"""Parameter distributions: constant, uniform, normal (clipped), log-uniform, choice (weighted), and a
rare-event mixture on any of them (with probability ``rare_p`` draw from ``[rare_min, rare_max]``).

Synthetic data lacks outliers unless we put them there: the mixture is how a recipe asks for them.
YAML spellings (see ``parse``): ``3.0`` · ``{uniform: [a, b]}`` · ``{normal: [mean, std], clip: [lo, hi]}``
· ``{log_uniform: [a, b]}`` · ``{choice: [x, y], weights: [1, 3]}``, each optionally with
``rare: {p: 0.02, uniform: [lo, hi]}``.
"""

from __future__ import annotations

import contextlib
import contextvars
import math
from dataclasses import dataclass, field
from typing import Any, Iterator

import numpy as np

KINDS = ("constant", "uniform", "normal", "log_uniform", "choice")

# How often each distribution took its rare branch, for the dataset report. Context-local rather than a
# parameter: ``sample`` is called from every randomizer, and counting must change neither their
# signatures nor any draw. Off (None) unless a caller opens ``rare_tally``.
_TALLY: contextvars.ContextVar[dict[int, list[int]] | None] = contextvars.ContextVar("rare_tally", default=None)


@contextlib.contextmanager
def rare_tally() -> Iterator[dict[int, list[int]]]:
    """Count rare-mixture draws made inside the block: ``{id(distribution): [draws, hits]}``."""
    tally: dict[int, list[int]] = {}
    token = _TALLY.set(tally)
    try:
        yield tally
    finally:
        _TALLY.reset(token)


def f32(value: float) -> float:
    """Round a float to what a Blender FloatProperty stores, written in its shortest form.

    Presets and scene properties then hold the very same numbers, so a recipe read from YAML and the
    same recipe read back from a .blend sample identical frames."""
    return float(str(np.float32(value)))


@dataclass
class Distribution:
    kind: str = "constant"
    value: float = 0.0
    min: float = 0.0
    max: float = 1.0
    mean: float = 0.0
    std: float = 1.0
    clip: bool = False
    choices: list = field(default_factory=list)
    weights: list = field(default_factory=list)
    rare_p: float = 0.0
    rare_min: float = 0.0
    rare_max: float = 0.0

    # -- construction -----------------------------------------------------------------------------
    @classmethod
    def constant(cls, value: float) -> "Distribution":
        return cls(kind="constant", value=f32(value))

    @classmethod
    def uniform(cls, lo: float, hi: float) -> "Distribution":
        return cls(kind="uniform", min=f32(lo), max=f32(hi))

    # -- sampling ---------------------------------------------------------------------------------
    def sample(self, rng: np.random.Generator) -> Any:
        """One draw. The number of values taken from ``rng`` depends only on the parameters."""
        if self.rare_p > 0.0:
            hit = rng.random() < self.rare_p
            tally = _TALLY.get()
            if tally is not None:
                counts = tally.setdefault(id(self), [0, 0])
                counts[0] += 1
                counts[1] += int(hit)
            if hit:
                return float(rng.uniform(self.rare_min, self.rare_max))
        if self.kind == "constant":
            return self.value
        if self.kind == "uniform":
            return float(rng.uniform(self.min, self.max))
        if self.kind == "normal":
            x = float(rng.normal(self.mean, self.std))
            return min(max(x, self.min), self.max) if self.clip else x
        if self.kind == "log_uniform":
            return float(math.exp(rng.uniform(math.log(self.min), math.log(self.max))))
        if self.kind == "choice":
            p = None
            if self.weights:
                w = np.asarray(self.weights, dtype=float)
                p = w / w.sum()
            return self.choices[int(rng.choice(len(self.choices), p=p))]
        raise ValueError(f"unknown distribution kind {self.kind!r}")

    def support(self) -> tuple[float, float] | None:
        """Smallest and largest value a draw can take (None where unbounded or not numeric)."""
        if self.kind == "constant":
            lo = hi = self.value
        elif self.kind in ("uniform", "log_uniform") or (self.kind == "normal" and self.clip):
            lo, hi = self.min, self.max
        elif self.kind == "choice" and all(isinstance(c, (int, float)) and not isinstance(c, bool)
                                           for c in self.choices):
            lo, hi = min(self.choices), max(self.choices)
        else:
            return None
        if self.rare_p > 0.0:
            lo, hi = min(lo, self.rare_min), max(hi, self.rare_max)
        return lo, hi

    # -- YAML form --------------------------------------------------------------------------------
    def to_data(self) -> Any:
        """The compact YAML form (a bare number for a constant without outliers)."""
        if self.kind == "constant":
            data: Any = {"constant": self.value}
        elif self.kind in ("uniform", "log_uniform"):
            data = {self.kind: [self.min, self.max]}
        elif self.kind == "normal":
            data = {"normal": [self.mean, self.std]}
            if self.clip:
                data["clip"] = [self.min, self.max]
        else:
            data = {"choice": list(self.choices)}
            if self.weights:
                data["weights"] = list(self.weights)
        if self.rare_p > 0.0:
            data["rare"] = {"p": self.rare_p, "uniform": [self.rare_min, self.rare_max]}
        elif self.kind == "constant":
            return self.value
        return data


class DistributionSyntaxError(ValueError):
    """Raised by ``parse`` with a message that says what was expected; the caller adds the location."""

    def __init__(self, message: str, subpath: str = ""):
        super().__init__(message)
        self.subpath = subpath


def _number(x: Any, what: str, subpath: str) -> float:
    if isinstance(x, bool) or not isinstance(x, (int, float)) or not math.isfinite(x):
        raise DistributionSyntaxError(f"{what} must be a finite number, got {x!r}", subpath)
    return f32(x)


def _pair(x: Any, what: str, subpath: str) -> tuple[float, float]:
    if not isinstance(x, (list, tuple)) or len(x) != 2:
        raise DistributionSyntaxError(f"expected a list of two numbers [{what}], got {x!r}", subpath)
    return _number(x[0], what.split(",")[0].strip(), subpath), _number(x[1], what.split(",")[1].strip(), subpath)


def _min_le_max(lo: float, hi: float, subpath: str) -> None:
    if lo > hi:
        raise DistributionSyntaxError(f"min {lo} is greater than max {hi}: expected min <= max", subpath)


def parse(data: Any) -> Distribution:
    """Build a Distribution from its YAML form, checking every part."""
    if isinstance(data, (int, float)) and not isinstance(data, bool):
        return Distribution.constant(_number(data, "a constant", ""))
    if not isinstance(data, dict):
        raise DistributionSyntaxError(
            f"expected a number or one of {{{', '.join(KINDS)}}} (e.g. {{uniform: [0, 1]}}), got {data!r}")
    kinds = [k for k in data if k in KINDS]
    extra = [k for k in data if k not in KINDS and k not in ("clip", "weights", "rare")]
    if extra:
        raise DistributionSyntaxError(
            f"unknown key {extra[0]!r}: expected one of {', '.join(KINDS)}, clip, weights, rare", extra[0])
    if len(kinds) != 1:
        raise DistributionSyntaxError(f"expected exactly one of {', '.join(KINDS)}, got {sorted(data)}")
    kind = kinds[0]
    arg = data[kind]
    d = Distribution(kind=kind)
    if kind == "constant":
        d.value = _number(arg, "constant", kind)
    elif kind in ("uniform", "log_uniform"):
        d.min, d.max = _pair(arg, "min, max", kind)
        _min_le_max(d.min, d.max, kind)
        if kind == "log_uniform" and d.min <= 0:
            raise DistributionSyntaxError(f"log_uniform needs min > 0, got {d.min}", kind)
    elif kind == "normal":
        d.mean, d.std = _pair(arg, "mean, std", kind)
        if d.std < 0:
            raise DistributionSyntaxError(f"std must be >= 0, got {d.std}", kind)
    else:
        if not isinstance(arg, list) or not arg:
            raise DistributionSyntaxError(f"choice needs a non-empty list, got {arg!r}", kind)
        for c in arg:
            if not isinstance(c, (str, int, float)) or isinstance(c, bool):
                raise DistributionSyntaxError(f"choice values must be numbers or strings, got {c!r}", kind)
        d.choices = [f32(c) if isinstance(c, float) else c for c in arg]
    if "clip" in data:
        if kind != "normal":
            raise DistributionSyntaxError("clip only applies to normal", "clip")
        d.clip = True
        d.min, d.max = _pair(data["clip"], "min, max", "clip")
        _min_le_max(d.min, d.max, "clip")
    if "weights" in data:
        if kind != "choice":
            raise DistributionSyntaxError("weights only apply to choice", "weights")
        w = data["weights"]
        if not isinstance(w, list) or len(w) != len(d.choices):
            raise DistributionSyntaxError(f"expected {len(d.choices)} weights (one per choice), got {w!r}", "weights")
        d.weights = [_number(x, "a weight", "weights") for x in w]
        if any(x < 0 for x in d.weights) or sum(d.weights) <= 0:
            raise DistributionSyntaxError(f"weights must be >= 0 with a positive sum, got {w!r}", "weights")
    if "rare" in data:
        rare = data["rare"]
        if not isinstance(rare, dict) or set(rare) != {"p", "uniform"}:
            raise DistributionSyntaxError(f"rare expects {{p: 0.02, uniform: [lo, hi]}}, got {rare!r}", "rare")
        d.rare_p = _number(rare["p"], "rare.p", "rare.p")
        if not 0.0 <= d.rare_p <= 1.0:
            raise DistributionSyntaxError(f"rare.p is a probability: expected 0..1, got {d.rare_p}", "rare.p")
        d.rare_min, d.rare_max = _pair(rare["uniform"], "min, max", "rare.uniform")
        _min_le_max(d.rare_min, d.rare_max, "rare.uniform")
        if kind == "choice" and not all(isinstance(c, (int, float)) for c in d.choices):
            raise DistributionSyntaxError("rare draws numbers; it cannot mix with a choice of strings", "rare")
    return d

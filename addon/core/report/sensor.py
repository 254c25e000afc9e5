"""The sensor group in the report (issue 18), the data half: what each sensor randomizer drew over the frames
(from the records' ``values``) and which frames kept a clean thumbnail of their render (``files.clean``)
for the clean-vs-sensor sheet.

A field counts as drawn when it took more than one value; fields that never changed (a constant full
well, the sensitivity triple) are listed as fixed instead of plotted. The noise's ``seed`` is a random
stream's key, not a parameter, and is left out.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from ..sensor.lens import MODELS

# A lens's coefficients by their OpenCV names, in the record's order.
COEFFICIENTS = {"brown_conrady": ("k1", "k2", "p1", "p2", "k3"), "fisheye": ("k1", "k2", "k3", "k4")}
assert set(COEFFICIENTS) == set(MODELS)
NOT_DRAWS = {"seed", "pick"}     # stream keys and pickers (defocus's target), not parameters
CLEAN_PAIRS = 6         # clean-vs-sensor pairs shown


@dataclass
class SensorField:
    """One drawn field of one sensor randomizer: its value on every frame that recorded it."""
    key: str                    # the randomizer's values key, "sensor/<name>"
    type: str                   # its type, e.g. "sensor_noise"
    field: str                  # e.g. "iso", "k1", "sensitivity[0]"
    values: np.ndarray

    log: bool = False           # the recipe draws it log-uniformly (ISO): plot it on a log axis


@dataclass
class SensorSummary:
    fields: list[SensorField] = field(default_factory=list)            # drawn fields, in stack order
    fixed: dict[str, dict[str, float]] = field(default_factory=dict)   # key -> field -> its one value
    clean_frames: list[int] = field(default_factory=list)              # frames with a clean thumbnail
    pairs: list[int] = field(default_factory=list)     # the clean-vs-sensor sheet's frames, spread over those


def scalars(values: dict) -> dict[str, float]:
    """One randomizer's recorded values as named numbers: numbers as they are, a lens's coefficients by
    name, other lists element by element; text, flags and the noise seed left out."""
    out: dict[str, float] = {}
    names = COEFFICIENTS.get(values.get("model"), ())
    for k, v in values.items():
        if k in NOT_DRAWS or isinstance(v, bool):
            continue
        if isinstance(v, (int, float)) and math.isfinite(v):
            out[k] = float(v)
        elif isinstance(v, list) and all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in v):
            labels = names if k == "coefficients" and len(names) == len(v) else [f"{k}[{i}]" for i in range(len(v))]
            out.update({n: float(x) for n, x in zip(labels, v)})
    return out


def sensor_stack(manifest: dict) -> list[tuple[str, str]]:
    """(values key, type) of the recipe's sensor randomizers, in stack order (muted ones draw nothing)."""
    stack = ((manifest.get("recipe") or {}).get("randomizers") or {}).get("sensor") or []
    return [(f"sensor/{r.get('name') or r.get('type')}", str(r.get("type")))
            for r in stack if isinstance(r, dict) and r.get("enabled", True)]


def log_drawn(manifest: dict) -> set[tuple[str, str]]:
    """(values key, field) of the sensor fields the recipe draws log-uniformly (the main branch)."""
    stack = ((manifest.get("recipe") or {}).get("randomizers") or {}).get("sensor") or []
    return {(f"sensor/{r.get('name') or r.get('type')}", k) for r in stack if isinstance(r, dict)
            for k, d in r.items() if isinstance(d, dict) and "log_uniform" in d}


class SensorDraws:
    """Accumulates the sensor draws of records, one at a time (the report reads the records once)."""

    def __init__(self, manifest: dict):
        self.stack = sensor_stack(manifest)
        self.log = log_drawn(manifest)
        self.samples: dict[str, dict[str, list[float]]] = {key: {} for key, _ in self.stack}
        self.clean: list[int] = []

    def add(self, record: dict) -> None:
        values = record.get("values") or {}
        for key, _ in self.stack:
            if isinstance(values.get(key), dict):
                for name, x in scalars(values[key]).items():
                    self.samples[key].setdefault(name, []).append(x)
        if isinstance((record.get("files") or {}).get("clean"), str):
            self.clean.append(int(record["frame"]))

    def summary(self, spread: Callable[[int, int], list[int]]) -> SensorSummary:
        """What was drawn; ``spread(n, k)`` picks the sheet's pairs among the frames with a clean thumbnail."""
        clean = sorted(self.clean)
        out = SensorSummary(clean_frames=clean, pairs=[clean[i] for i in spread(len(clean), CLEAN_PAIRS)])
        for key, type_ in self.stack:
            for name, xs in self.samples[key].items():
                a = np.asarray(xs, np.float64)
                if len(np.unique(a)) > 1:
                    out.fields.append(SensorField(key, type_, name, a, (key, name) in self.log))
                else:
                    out.fixed.setdefault(key, {})[name] = float(a[0])
        return out

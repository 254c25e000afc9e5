"""Balance targets: the share of each category or attribute value a job should reach, followed
deterministically by frame index, and the achieved shares measured from the frame records.

A plain weighted draw per frame leaves a job off its targets by chance (a few points over 1,000
frames). Balanced draws instead walk a golden-ratio (Weyl) sequence over the frame index, one sequence
per (randomizer, slot): frame ``i`` of a slot takes the value whose cumulative-share interval holds
``frac(offset + i * phi)``. The sequence is equidistributed with low discrepancy, so the shares of any
job, any prefix and any shard split stay within a fraction of a point of the targets, and frame ``i``
still depends only on (recipe, seed, i).
"""

from __future__ import annotations

import hashlib
import math
from collections import Counter
from dataclasses import dataclass
from typing import Any, Iterable

from .schema import SchemaError, fld

PHI = (math.sqrt(5.0) - 1.0) / 2.0     # 0.618...: the golden ratio's fractional part


@dataclass
class BalanceTarget:
    """Target shares for one attribute (or ``category``) over the instances of a job."""
    attribute: str = fld("category", "`category`, or the name of an attribute a randomizer sets (e.g. colour)")
    shares: dict[str, Any] = fld({}, "Target share per value (normalised to sum 1), e.g. {red: 0.5, blue: 0.5}")

    def check(self, path):
        if not self.attribute:
            raise SchemaError("balance needs an attribute name", path + ("attribute",), "", "a name")
        for k, v in self.shares.items():
            if isinstance(v, bool) or not isinstance(v, (int, float)) or v < 0:
                raise SchemaError(f"a share must be a number >= 0, got {v!r}", path + ("shares", k), v,
                                  "a number >= 0")
        if self.shares and sum(self.shares.values()) <= 0:
            raise SchemaError("shares must have a positive sum", path + ("shares",), self.shares, "a positive sum")

    def normalised(self) -> dict[str, float]:
        total = float(sum(self.shares.values()))
        return {str(k): float(v) / total for k, v in self.shares.items()} if total > 0 else {}


def _offset(key: str, slot: int) -> float:
    digest = hashlib.sha256(f"{key}#{slot}".encode()).digest()
    return int.from_bytes(digest[:8], "little") / 2.0 ** 64


def balanced_choice(shares: dict[str, float], index: int, key: str, slot: int = 0,
                    allowed: Iterable[str] | None = None) -> str:
    """The value frame ``index`` takes in ``slot`` so that shares over frames follow ``shares``.

    ``allowed`` restricts the values (e.g. categories still available this frame); the point on the
    sequence then maps onto the allowed values' renormalised shares."""
    items = [(k, p) for k, p in shares.items() if p > 0 and (allowed is None or k in set(allowed))]
    if not items:
        raise ValueError("no value with a positive share is allowed")
    total = sum(p for _, p in items)
    u = (_offset(key, slot) + index * PHI) % 1.0 * total
    acc = 0.0
    for k, p in items:
        acc += p
        if u < acc:
            return k
    return items[-1][0]


def achieved(records: Iterable[dict], attribute: str) -> Counter:
    """How many annotated instances (visible in their image) carry each value of ``attribute``."""
    counts: Counter = Counter()
    for rec in records:
        for obj in rec.get("objects", []):
            if not obj.get("area"):
                continue
            value = obj.get("category") if attribute == "category" else obj.get("attributes", {}).get(attribute)
            if value is not None:
                counts[str(value)] += 1
    return counts


def report_rows(targets: list[BalanceTarget], records: list[dict]) -> list[tuple[str, str, float, float, int]]:
    """(attribute, value, target share, achieved share, instances) for every balanced value."""
    rows = []
    for t in targets:
        shares = t.normalised()
        counts = achieved(records, t.attribute)
        n = sum(counts.values())
        for value in sorted(set(shares) | set(counts)):
            rows.append((t.attribute, value, shares.get(value, 0.0), counts[value] / n if n else 0.0, counts[value]))
    return rows

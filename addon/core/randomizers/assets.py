"""The asset pool: shows k of the recipe's imported assets per frame in a fixed set of target objects
("slots"), so a pool of thousands never has to be in the scene at once.

Draws depend only on the asset list (sorted ids) and the frame's stream: which assets a process happened to
load before never matters. The bridge supplies ``ctx.data["assets"]`` (dicts: id, file, category,
attributes), ``ctx.data["slots"]`` (the slot object names) and ``ctx.data["measure"]`` (asset id -> local
box corners, or None for a file that cannot be imported: it is skipped, the same way in every process).
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from ..params.balance import balanced_choice
from ..params.distributions import Distribution
from ..params.schema import fld
from .base import Randomizer, uni


@dataclass
class AssetPool(Randomizer):
    """Shows k assets of the recipe's sources per frame (weights, category balance, with or without
    repeats) as labelled targets that later randomizers pose, drop and colour like scene objects."""
    TYPE: ClassVar[str] = "asset_pool"
    GROUP: ClassVar[str] = "objects"
    TARGETS: ClassVar[str] = "none"
    SWAPS_MESHES: ClassVar[bool] = True

    sources: list[str] = fld([], "Asset sources (recipe `assets` names, patterns allowed); empty: all")
    count: Distribution = fld(uni(3, 6), "How many assets to show (rounded, at most `slots`)", min=0.0)
    slots: int = fld(8, "Target objects made once and filled per frame: the most assets one frame shows",
                     min=1, max=1000)
    weights: dict[str, Any] = fld({}, "Pick weight per asset id pattern (source/sub/file.glb) or category "
                                      "(first match; others 1)")
    duplicates: bool = fld(False, "The same asset may fill several slots in one frame")
    collection: str = fld("Assets", "Collection of the slots: select it in later randomizers")
    cache_assets: int = fld(256, "Imported assets kept loaded (least recently used go first; a pool that fits "
                                 "is loaded once, up front); never changes what a frame shows",
                            min=1, max=1_000_000)
    cache_mb: float = fld(2048.0, "Memory the kept assets may take (MB, estimated from geometry and "
                                  "textures)", min=1.0)

    def balances(self):
        return {"category": None}

    def slot_names(self) -> list[str]:
        return [f"{self.collection}_{i:03d}" for i in range(self.slots)]

    def uses(self, source: str) -> bool:
        return not self.sources or any(fnmatch.fnmatchcase(source, p) for p in self.sources)

    def weight(self, asset: dict) -> float:
        for pattern, w in self.weights.items():
            if pattern == asset.get("category") or fnmatch.fnmatchcase(asset["id"], pattern):
                return float(w) if isinstance(w, (int, float)) and not isinstance(w, bool) else 1.0
        return 1.0

    def sample(self, rng: np.random.Generator, ctx) -> dict[str, Any]:
        assets: list[dict] = ctx.data.get("assets", [])
        slots: list[str] = ctx.data.get("slots") or self.slot_names()
        measure = ctx.data.get("measure")
        w = np.array([self.weight(a) for a in assets], dtype=float)
        k = int(min(max(round(self.count.sample(rng)), 0), len(slots)))
        shares = {c: p for c, p in ctx.frame.balance.get("category", {}).items() if p > 0}
        remaining = [i for i in range(len(assets)) if w[i] > 0]
        chosen: list[tuple[int, Any]] = []
        tries = 0
        while len(chosen) < k and remaining and tries < k + len(assets):
            tries += 1
            pick_from = remaining
            allowed = {assets[i]["category"] for i in remaining} & set(shares)
            if allowed:
                c = balanced_choice(shares, ctx.frame.scene_index, self.key(), len(chosen), allowed=allowed)
                pick_from = [i for i in remaining if assets[i]["category"] == c]
            ww = w[pick_from]
            i = pick_from[int(rng.choice(len(pick_from), p=ww / ww.sum()))]
            corners = measure(assets[i]["id"]) if measure else None
            if measure and corners is None:        # a broken file: never drawn again, in any process
                remaining.remove(i)
                continue
            chosen.append((i, corners))
            if not self.duplicates:
                remaining.remove(i)
        out: dict[str, Any] = {}
        for s, slot in enumerate(slots):
            if s < len(chosen):
                i, corners = chosen[s]
                a = assets[i]
                out[slot] = {"visible": True, "asset": a["id"], "category": a["category"],
                             "attributes": {**a.get("attributes", {}), "asset": a["id"], "file": a["file"]}}
                if corners is not None:
                    ctx.frame.shapes[slot] = corners
            else:
                out[slot] = {"visible": False}
                ctx.frame.hidden.add(slot)
        return out

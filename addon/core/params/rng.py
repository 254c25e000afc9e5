"""Per-frame random streams (DESIGN §3).

Frame ``i`` of a job draws only from ``SeedSequence([seed, i])``; every randomizer gets a child stream
keyed by a hash of its stable name, so adding, removing or reordering randomizers never changes what
the others draw. Nothing here (or anywhere) touches the global ``random``/``np.random`` state.
"""

from __future__ import annotations

import hashlib

import numpy as np


def _name_words(name: str) -> list[int]:
    digest = hashlib.sha256(name.encode("utf-8")).digest()
    return [int.from_bytes(digest[k:k + 4], "little") for k in range(0, 16, 4)]


def frame_seed_sequence(seed: int, index: int) -> np.random.SeedSequence:
    return np.random.SeedSequence([int(seed), int(index)])


def stream(seed: int, index: int, name: str) -> np.random.Generator:
    """The generator of randomizer ``name`` for frame ``index`` of a job seeded with ``seed``."""
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence([int(seed), int(index), *_name_words(name)])))


def render_seed(seed: int, index: int) -> int:
    """Cycles' noise seed for a frame: varies per frame, fixed per (seed, frame)."""
    return int(frame_seed_sequence(seed, index).generate_state(1)[0] & 0x7FFFFFFF)

"""The Blender half of the randomizer contract (the pure half is ``tests/core/test_contracts.py``): every type
in ``Randomizer.REGISTRY`` has an applier in ``bridge/appliers`` that implements ``apply``, and the bridge
has no applier for a type the core does not know. Registration is by subclassing (``TYPE``), so these
hold by construction once a type's two halves exist."""

from __future__ import annotations

import pytest

pytest.importorskip("bpy")

from synthkiln.addon.bridge.appliers import APPLIERS, Applier, applier  # noqa: E402  (needs bpy)
from synthkiln.addon.core.randomizers import Randomizer  # noqa: E402

pytestmark = pytest.mark.bpy


@pytest.mark.parametrize("t", sorted(Randomizer.REGISTRY))
def test_every_randomizer_type_has_an_applier(t):
    a = APPLIERS.get(t)
    assert a is not None, f"randomizer type {t!r} has no applier in addon/bridge/appliers"
    assert type(a).apply is not Applier.apply, f"{type(a).__name__} does not implement apply"
    assert applier(Randomizer.REGISTRY[t]) is a


def test_no_applier_without_a_randomizer_type():
    assert set(APPLIERS) <= set(Randomizer.REGISTRY), sorted(set(APPLIERS) - set(Randomizer.REGISTRY))

"""Randomizers, the pure half: one module per group, each type a dataclass registered under its ``TYPE``
(``base.py`` has the contract). The bridge (``bridge/appliers/``) has the matching ``apply``."""

from . import assets, backdrop, camera, environment, lighting, materials, objects, occluders  # noqa: F401  (registers types)
from . import sensor  # noqa: F401  (registers the sensor group's types)
from . import motion  # noqa: F401  (registers the clip motion types: issue 19)
from .base import GROUPS, Context, FrameState, Randomizer, Selector

__all__ = ["GROUPS", "Context", "FrameState", "Randomizer", "Selector"]

"""Randomizers, the Blender half: one module per group, mirroring ``core/randomizers/``."""

from . import camera, environment, lighting, materials, objects  # noqa: F401  (registers every applier)
from .base import APPLIERS, Applier, applier, pool

__all__ = ["APPLIERS", "Applier", "applier", "pool"]

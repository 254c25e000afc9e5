"""Randomizers, the Blender half: one module per group, mirroring ``core/randomizers/``."""

from . import backdrop, camera, environment, lighting, materials, objects, occluders  # noqa: F401  (registers)
from .base import APPLIERS, Applier, applier, hide_orphans, owning, pool

__all__ = ["APPLIERS", "Applier", "applier", "hide_orphans", "owning", "pool"]

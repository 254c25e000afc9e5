"""Randomizers, the Blender half: one module per group, mirroring ``core/randomizers/``."""

from . import assets, backdrop, camera, environment, lighting, materials, objects, occluders  # noqa: F401  (registers)
from . import sensor  # noqa: F401  (registers the sensor group: effects after the render)
from . import motion  # noqa: F401  (registers the clip motion types: issue 19)
from .base import APPLIERS, Applier, applier, hide_orphans, owning, pool

__all__ = ["APPLIERS", "Applier", "applier", "hide_orphans", "owning", "pool"]

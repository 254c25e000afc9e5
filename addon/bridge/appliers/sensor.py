"""Sensor group, Blender half: nothing to change in the scene. Its effects act on the frame's one render
afterwards (``bridge/sensor.py`` and ``core/sensor``), so every type's ``apply`` is a no-op here; the lens's
wider render is set up and put back by the frame pipeline around the render itself."""

from __future__ import annotations

from ...core import randomizers as R
from .base import Applier


class _AfterRender(Applier):
    def apply(self, scene, r, values):
        return None


for _t, _cls in sorted(R.Randomizer.REGISTRY.items()):
    if _cls.GROUP == "sensor":
        type(f"{_cls.__name__}Applier", (_AfterRender,), {"TYPE": _t})

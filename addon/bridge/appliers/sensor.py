"""Sensor group, Blender half: almost nothing to change in the scene. Its effects act on the frame's one
render afterwards (``bridge/sensor.py`` and ``core/sensor``), so most types' ``apply`` is a no-op here; the
lens's wider render is set up and put back by the frame pipeline around the render itself. ``defocus`` is
the exception (``core.sensor.SCENE_SIDE``): it sets the camera's depth of field before the render."""

from __future__ import annotations

from mathutils import Vector

from ...core import randomizers as R
from ...core.errors import UserError
from ...core.sensor import SCENE_SIDE
from .. import visibility
from .base import Applier


class Defocus(Applier):
    TYPE = "defocus"

    def apply(self, scene, r, v):
        cam = scene.camera
        if cam is None or cam.type != "CAMERA":
            raise UserError(f"{r.where()}: the scene has no camera")
        to_cam = cam.matrix_world.inverted()
        ahead = []           # (depth along the view axis, name) of the labelled targets in front
        if r.focus == "target":
            for o in visibility.labelled_targets(scene):
                centre = o.matrix_world @ (sum((Vector(c) for c in o.bound_box), Vector()) / 8.0)
                depth = -(to_cam @ centre).z
                if depth > cam.data.clip_start:
                    ahead.append((depth, o.name))
        depth, name = ahead[min(int(v["pick"] * len(ahead)), len(ahead) - 1)] if ahead else (v["distance"], None)
        dof = cam.data.dof
        dof.use_dof, dof.focus_object = True, None
        dof.focus_distance = max(depth * (1.0 + v["focus_error"]), 1e-3)
        dof.aperture_fstop = v["fstop"]
        return {"focus_distance": dof.focus_distance, "on": name}


class _AfterRender(Applier):
    def apply(self, scene, r, values):
        return None


for _t, _cls in sorted(R.Randomizer.REGISTRY.items()):
    if _cls.GROUP == "sensor" and _t not in SCENE_SIDE:
        type(f"{_cls.__name__}Applier", (_AfterRender,), {"TYPE": _t})

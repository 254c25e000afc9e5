"""Camera group, Blender half."""

from __future__ import annotations

import math

import bpy
from mathutils import Euler, Vector

from ...core import randomizers as R
from ...core.errors import UserError
from .base import Applier, aim, find_object, footprint, on_shell, principled, target_point

class CameraShell(Applier):
    TYPE = "camera_shell"

    def apply(self, scene, r, v):
        cam = find_object(r.camera, f"{r.key()}.camera") if r.camera else scene.camera
        if cam is None or cam.type != "CAMERA":
            raise UserError(f"{r.key()}: the scene has no camera")
        center = target_point(r.target, r.look_at, f"{r.key()}.target")
        cam.location = on_shell(center, v["distance"], v["elevation"], v["azimuth"])
        aim(cam, center, v["roll"])
        cam.data.lens = v["focal_length"]

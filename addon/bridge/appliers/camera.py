"""Camera group, Blender half."""

from __future__ import annotations

import bpy
from mathutils import Matrix, Vector

from ...core.errors import UserError
from ...core.params.schema import path_str
from .. import visibility
from .base import Applier, aim, find_object, on_shell, target_point


def _camera(scene, r):
    cam = find_object(r.camera, f"{r.where()}.camera") if r.camera else scene.camera
    if cam is None or cam.type != "CAMERA":
        raise UserError(f"{r.where()}: the scene has no camera")
    return cam


def settle(obj) -> None:
    """Make ``matrix_world`` follow the location/rotation just set, without a depsgraph update.

    Assigning ``matrix_world`` decomposes it back into location/rotation/scale, inexactly and relative to
    the previous rotation; the drawn pose is put back so a frame never depends on the one before."""
    pose = obj.location.copy(), obj.rotation_euler.copy(), obj.scale.copy()
    parent = obj.parent.matrix_world @ obj.matrix_parent_inverse if obj.parent else Matrix()
    obj.matrix_world = parent @ obj.matrix_basis
    obj.location, obj.rotation_euler, obj.scale = pose


class CameraShell(Applier):
    TYPE = "camera_shell"

    def setup(self, scene, r, objs, where=()):
        if r.min_visible:
            visibility.prepare([o for o in scene.objects if o.pass_index > 0])

    def apply(self, scene, r, v):
        cam = _camera(scene, r)
        center = target_point(r.target, r.look_at, f"{r.where()}.target")
        poses = v["poses"]
        if not r.min_visible:
            self._pose(cam, center, poses[0], r.dof)
            return None
        targets = visibility.labelled_targets(scene)
        dg = bpy.context.evaluated_depsgraph_get()
        best = None
        for i, pose in enumerate(poses):
            self._pose(cam, center, pose, r.dof)
            seen = visibility.measure(scene, visibility.View.of(scene, cam), targets, dg)
            passed = sum(f >= r.min_visibility for f in seen.values())
            score = (passed, sum(seen.values()))
            if passed >= r.min_visible:
                return {"try": i, "ok": True, "visible": seen}
            if best is None or score > best[0]:
                best = (score, i, seen)
        _score, i, seen = best
        self._pose(cam, center, poses[i], r.dof)
        return {"try": i, "ok": False, "visible": seen}

    @staticmethod
    def _pose(cam, center: Vector, p: dict, dof: bool) -> None:
        look = center + Vector(p["jitter"])
        cam.location = on_shell(center, p["distance"], p["elevation"], p["azimuth"])
        aim(cam, look, p["roll"])
        settle(cam)
        cam.data.lens = p["focal_length"]
        cam.data.sensor_width = p["sensor_width"]
        cam.data.dof.use_dof = dof
        if dof:
            cam.data.dof.focus_object = None
            cam.data.dof.focus_distance = (look - cam.location).length
            cam.data.dof.aperture_fstop = p["fstop"]


class CameraSelect(Applier):
    TYPE = "camera_select"

    def setup(self, scene, r, objs, where=()):
        for k, name in enumerate(r.cameras.choices):
            obj = bpy.data.objects.get(name)
            if obj is None or obj.type != "CAMERA":
                raise UserError(f"{path_str(where + ('cameras', 'choice', k))}: {name!r} is not a camera object "
                                f"(cameras here: {', '.join(sorted(o.name for o in scene.objects if o.type == 'CAMERA')) or 'none'})")

    def apply(self, scene, r, v):
        scene.camera = bpy.data.objects[v["camera"]]

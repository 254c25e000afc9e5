"""Motion through a clip, Blender half (issue 19): keyframes around the rendered frame.

A motion type keys the clip frames its values were evaluated at (t-1, t, t+1) on scene frames
``FRAME0 + t`` and the pipeline renders scene frame ``FRAME0 + t``, so Cycles' Vector pass (forward and
backward flow) and motion blur see the real motion while the frame stays reproducible alone. Objects move
through their *delta* transforms, which no other randomizer touches, so the start pose the other types set
is never overwritten and nothing drifts from frame to frame; light energies are keyed as factors of the
energy the lighting group set. Several motion types on one object add up (offsets add, turns compose,
light factors multiply). ``reset`` takes the keys away before the next frame is applied.
"""

from __future__ import annotations

import contextlib

import bpy
from mathutils import Euler, Matrix, Vector

from .. import world
from .base import Applier, find_object, target_point

FRAME0 = 1                      # the scene frame of clip frame 0 (Blender's default frame_start)
MOVED = "sk_motion"             # ID property on what a motion type keyed: 1, or 2 when it had animation before
REST_ENERGY = "sk_rest_energy"  # a keyed light's energy (a world's strengths) before its motion: reset puts it back
FRAMES_KEYED = "sk_motion_frames"   # the scene frames keyed (reset deletes just those where animation was before)
OBJECT_PATHS = ("delta_location", "delta_rotation_euler")


def scene_frame(t: int) -> int:
    return FRAME0 + t


def reset(scene) -> None:
    """Take away the motion keys of the last frame applied: delta transforms back to 0, light energies back
    to what they were before their motion. Cheap when nothing was keyed (a still job)."""
    moved = False
    for obj in bpy.data.objects:
        if obj.get(MOVED):
            moved = True
            _unkey(obj, OBJECT_PATHS)
            obj.delta_location = (0.0, 0.0, 0.0)
            obj.delta_rotation_euler = (0.0, 0.0, 0.0)
    _Keyed.transforms, _Keyed.factors = {}, {}
    changed = False
    for light in bpy.data.lights:
        if light.get(MOVED):
            _unkey(light, ("energy",))
            light.energy = light[REST_ENERGY]
            changed = True
    for w in bpy.data.worlds:
        tree = w.node_tree
        if tree is not None and tree.get(MOVED):
            rest = dict(tree[REST_ENERGY])
            _unkey(tree, [f'nodes["{name}"].inputs["Strength"].default_value' for name in rest])
            for name, value in rest.items():
                if name in tree.nodes:
                    tree.nodes[name].inputs["Strength"].default_value = value
            changed = True
    if changed or moved:
        bpy.context.view_layer.update()     # matrix_world without last frame's deltas, for the appliers


def _unkey(idb, paths) -> None:
    """Remove our keys; an ID that had no animation before ours loses its animation data altogether."""
    had_animation = idb[MOVED] == 2
    frames = list(idb.get(FRAMES_KEYED, []))
    del idb[MOVED], idb[FRAMES_KEYED]
    if not had_animation:      # ours alone: drop the action too, so frames leave no datablocks behind
        action = idb.animation_data.action if idb.animation_data else None
        idb.animation_data_clear()
        if action is not None and action.users == 0:
            bpy.data.actions.remove(action)
        return
    for path in paths:
        for f in frames:
            with contextlib.suppress(RuntimeError, TypeError):
                idb.keyframe_delete(path, frame=f)


@contextlib.contextmanager
def linear_keys():
    """New keys interpolate linearly (motion blur between keys follows the sampled motion)."""
    edit = bpy.context.preferences.edit
    before = edit.keyframe_new_interpolation_type
    edit.keyframe_new_interpolation_type = "LINEAR"
    try:
        yield
    finally:
        edit.keyframe_new_interpolation_type = before


def _mark(idb, frames) -> None:
    if not idb.get(MOVED):
        idb[MOVED] = 2 if idb.animation_data is not None else 1
    idb[FRAMES_KEYED] = [scene_frame(t) for t in frames]


class _Keyed:
    """What this frame's motion types keyed so far, so several on one object add up: {object or light name:
    {clip frame: (offset, turn)}} and {light name: {clip frame: energy factor}}. Emptied by ``reset``."""
    transforms: dict[str, dict[int, tuple[Vector, Matrix]]] = {}
    factors: dict[str, dict[int, float]] = {}


def key_transform(obj, frames, locations, turns) -> None:
    """Key ``obj``'s delta location (parent axes, m) and delta rotation (3×3 in parent axes) at clip
    ``frames``; a second motion on the same object this frame adds its offset and composes its turn."""
    _mark(obj, frames)
    mode = obj.rotation_mode if len(obj.rotation_mode) == 3 else "XYZ"
    done = _Keyed.transforms.setdefault(obj.name, {})
    with linear_keys():
        for t, loc, turn in zip(frames, locations, turns):
            before_loc, before_turn = done.get(t, (Vector((0.0, 0.0, 0.0)), Matrix.Identity(3)))
            loc, turn = before_loc + Vector(loc), turn @ before_turn
            done[t] = (loc, turn)
            obj.delta_location = loc
            obj.delta_rotation_euler = turn.to_euler(mode)
            for path in OBJECT_PATHS:
                obj.keyframe_insert(path, frame=scene_frame(t))


def _parent_axes(obj) -> Matrix:
    if obj.parent is None:
        return Matrix.Identity(3)
    return (obj.parent.matrix_world @ obj.matrix_parent_inverse).to_3x3().normalized()


def to_parent(obj, world: Matrix) -> Matrix:
    """World-axes vectors (the columns of ``world``) in ``obj``'s parent axes, where delta transforms live."""
    return _parent_axes(obj).inverted() @ world


def turn_in_parent(obj, turn: Matrix) -> Matrix:
    """A world turn applied before the object's rotation as its delta rotation: Blender composes the
    world rotation as parent · delta · rotation, so delta = P⁻¹ · turn · P."""
    P = _parent_axes(obj)
    return P.inverted() @ turn @ P


def _axes(obj, scene, frame: str) -> Matrix:
    """3×3: the motion's axes (world, the object's own, or the camera's) to its parent's axes."""
    if frame == "local":
        return to_parent(obj, obj.matrix_world.to_3x3().normalized())
    if frame == "camera" and scene.camera is not None:
        return to_parent(obj, scene.camera.matrix_world.to_3x3().normalized())
    return to_parent(obj, Matrix.Identity(3))


def _still(v: dict) -> bool:
    return list(v.get("frames", [0])) == [0]     # a still job: frame 0 of a clip, nothing moves


class ObjectMotion(Applier):
    TYPE = "object_motion"

    def apply(self, scene, r, v):
        for name, m in sorted(v.items()):
            obj = bpy.data.objects.get(name)
            if obj is None or _still(m):
                continue
            axes = _axes(obj, scene, m["frame"])
            locs = [axes @ Vector(off) for off in m["offset"]]
            rots = [turn_in_parent(obj, Matrix.Rotation(a, 3, "Z")) for a in m["spin"]]
            key_transform(obj, m["frames"], locs, rots)


class CameraMotion(Applier):
    TYPE = "camera_motion"

    def apply(self, scene, r, v):
        cam = find_object(r.camera, f"{r.where()}.camera") if r.camera else scene.camera
        if cam is None or _still(v):
            return None
        m0 = cam.matrix_world.copy()
        p0, R0 = m0.translation.copy(), m0.to_3x3().normalized()
        frames, n = v["frames"], len(v["frames"])
        if v["model"] == "orbit":
            c = target_point(r.target, r.center, f"{r.where()}.target")
            turns = [Matrix.Rotation(a, 3, "Z") for a in v["angle"]]
            locs = [c + T @ (p0 - c) - p0 for T in turns]
        elif v["model"] == "dolly":
            view = R0 @ Vector((0.0, 0.0, -1.0))
            locs, turns = [view * d for d in v["distance"]], [Matrix.Identity(3)] * n
        elif v["model"] == "handheld":
            locs = [R0 @ Vector(o) for o in v["offset"]]
            # a turn about the camera's own axes, R0·Rl, is the world turn (R0·Rl·R0ᵀ) applied before R0
            turns = [R0 @ Euler(a, "XYZ").to_matrix() @ R0.transposed() for a in v["rotation"]]
        else:
            locs, turns = [Vector(o) for o in v["offset"]], [Matrix.Identity(3)] * n
        key_transform(cam, frames, [to_parent(cam, Matrix.Identity(3)) @ loc for loc in locs],
                      [turn_in_parent(cam, T) for T in turns])
        return None


class LightMotion(Applier):
    TYPE = "light_motion"

    def apply(self, scene, r, v):
        if _still(v):
            return None
        frames = v["frames"]
        with linear_keys():
            for name, factors in sorted(v["lights"].items()):
                obj = bpy.data.objects.get(name)
                if obj is None or obj.type != "LIGHT":
                    continue
                light = obj.data
                if not light.get(MOVED):     # reset ran before this frame: the energy the lighting group set
                    light[REST_ENERGY] = light.energy
                _mark(light, frames)
                done = _Keyed.factors.setdefault(light.name, {})     # several changes multiply
                for t, factor in zip(frames, factors):
                    done[t] = done.get(t, 1.0) * factor
                    light.energy = light[REST_ENERGY] * done[t]
                    light.keyframe_insert("energy", frame=scene_frame(t))
            if v.get("world") and scene.world is not None:
                self._world(scene.world, frames, v["world"])
        return None

    @staticmethod
    def _world(w, frames, factors) -> None:
        """Key the strength of the world's Background nodes (``world.strength_inputs``) as factors."""
        tree = w.node_tree
        inputs = world.strength_inputs(w)
        if not tree.get(MOVED):
            tree[REST_ENERGY] = {inp.node.name: inp.default_value for inp in inputs}
        rest = tree[REST_ENERGY]
        _mark(tree, frames)
        done = _Keyed.factors.setdefault(f"world:{w.name}", {})
        for t, factor in zip(frames, factors):
            done[t] = done.get(t, 1.0) * factor
            for inp in inputs:
                inp.default_value = rest.get(inp.node.name, inp.default_value) * done[t]
                inp.keyframe_insert("default_value", frame=scene_frame(t))

"""Camera maths: intrinsics K and the world-to-camera matrix, in the OpenCV convention
(x right, y down, z forward), which is what CV tools expect."""

from __future__ import annotations

import contextlib

import numpy as np

# Blender's camera looks down -Z with +Y up; OpenCV's looks down +Z with +Y down.
BLENDER_TO_OPENCV = np.diag([1.0, -1.0, -1.0])


def intrinsics(scene, cam_obj) -> np.ndarray:
    """3×3 K in pixels for the scene's render size, honouring sensor fit, shift and pixel aspect."""
    cam = cam_obj.data
    r = scene.render
    scale = r.resolution_percentage / 100.0
    w, h = r.resolution_x * scale, r.resolution_y * scale
    aspect = r.pixel_aspect_y / r.pixel_aspect_x
    fit = cam.sensor_fit
    if fit == "AUTO":
        fit = "HORIZONTAL" if w >= h * aspect else "VERTICAL"
    sensor = cam.sensor_height if cam.sensor_fit == "VERTICAL" else cam.sensor_width
    if fit == "HORIZONTAL":
        fx = cam.lens / sensor * w
        fy = fx * aspect
    else:
        fy = cam.lens / sensor * h
        fx = fy / aspect
    big = max(w, h * aspect) if cam.sensor_fit == "AUTO" else (w if fit == "HORIZONTAL" else h)
    cx = w / 2.0 - cam.shift_x * big
    cy = h / 2.0 + cam.shift_y * big
    return np.array([[fx, 0.0, cx], [0.0, fy, cy], [0.0, 0.0, 1.0]])


def world_to_camera(cam_obj) -> np.ndarray:
    """4×4 matrix taking world points to OpenCV camera coordinates (metres in Blender units)."""
    m = np.array(cam_obj.matrix_world, dtype=float)
    r, t = m[:3, :3], m[:3, 3]
    # strip scale from the rotation so the matrix is rigid
    r = r / np.linalg.norm(r, axis=0)
    out = np.eye(4)
    out[:3, :3] = BLENDER_TO_OPENCV @ r.T
    out[:3, 3] = -(BLENDER_TO_OPENCV @ r.T @ t)
    return out


def project(K: np.ndarray, w2c: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Pixel coordinates (u, v) of world points; pixel centres at +0.5."""
    p = (w2c[:3, :3] @ np.asarray(points, float).T).T + w2c[:3, 3]
    uv = (K @ p.T).T
    return uv[:, :2] / uv[:, 2:3]


@contextlib.contextmanager
def overscan(scene, cam_obj, margins: tuple[int, int]):
    """Render a canvas ``margins`` pixels wider on each side with the same focal length in pixels and the
    principal point moved by the margins (the sensor group's lens warp reads it: issue 18); everything is
    put back afterwards, so the scene and the record's K stay those of the output size."""
    mx, my = margins
    r, cam = scene.render, cam_obj.data
    if cam.type != "PERSP":
        raise ValueError(f"lens distortion needs a perspective camera; {cam_obj.name!r} is {cam.type.lower()}")
    saved = (r.resolution_x, r.resolution_y, cam.lens, cam.shift_x, cam.shift_y)
    K = intrinsics(scene, cam_obj)
    try:
        r.resolution_x, r.resolution_y = saved[0] + 2 * mx, saved[1] + 2 * my
        cam.lens = saved[2] * K[0, 0] / intrinsics(scene, cam_obj)[0, 0]       # fx is proportional to the lens
        K1 = intrinsics(scene, cam_obj)
        # cx = w/2 - shift_x * big and cy = h/2 + shift_y * big: ``big`` from one probe step of each shift
        for axis, target, sign in ((0, K[0, 2] + mx, -1.0), (1, K[1, 2] + my, 1.0)):
            name = "shift_x" if axis == 0 else "shift_y"
            base = getattr(cam, name)
            setattr(cam, name, base + 0.01)
            big = sign * (intrinsics(scene, cam_obj)[axis, 2] - K1[axis, 2]) / 0.01
            setattr(cam, name, base + sign * (target - K1[axis, 2]) / big)
        yield intrinsics(scene, cam_obj)
    finally:
        r.resolution_x, r.resolution_y, cam.lens, cam.shift_x, cam.shift_y = saved

"""Per-pixel labels derived from the render's passes (pure numpy, no Blender): distance to the camera
centre, camera-space normals, optical flow and the semantic mask. Kept apart from the bridge so the
conventions are testable without a render and reusable by readers of a dataset.

Conventions (OpenCV camera: x right, y down, z forward; pixel centres at +0.5; K in pixels):
- ``distance``: metres from the camera centre along the pixel-centre ray; 0 where nothing was hit.
- ``normals``: unit normals in camera coordinates; a surface facing the camera has z < 0; 0 on background.
- ``flow``: forward optical flow in pixels, (u right, v down): where the surface seen at this pixel moves
  to at the next scene frame (``frame_current + 1``), i.e. ``p_next = p + flow``. Defined wherever a
  surface is seen, even if it is occluded or leaves the image at the next frame (no occlusion mask);
  0 where nothing was hit; pixels on an object's edge average the motion of their hit samples. Needs
  motion blur off (Cycles then writes an all-zero Vector pass).
"""

from __future__ import annotations

from typing import Literal, Mapping

import numpy as np

# The normal of a pixel is the average over its hit samples: shorter than this means no surface there.
_MIN_NORMAL = 1e-6


def pixel_rays(shape: tuple[int, int], K: np.ndarray) -> np.ndarray:
    """H×W×3 camera-space rays through the pixel centres, scaled to z = 1 (``K⁻¹ [u, v, 1]``)."""
    h, w = shape
    Kinv = np.linalg.inv(np.asarray(K, float)).astype(np.float32)   # float32 is ~1e-7 relative: far below 1 mm
    u = (np.arange(w, dtype=np.float32) + 0.5)[None, :, None]
    v = (np.arange(h, dtype=np.float32) + 0.5)[:, None, None]
    return Kinv[:, 0] * u + Kinv[:, 1] * v + Kinv[:, 2]        # separable: no H×W×3 matrix product


def distance_from_depth(z: np.ndarray, K: np.ndarray) -> np.ndarray:
    """Euclidean distance from the camera centre, from planar z-depth: ``z · |K⁻¹ [u, v, 1]|``, which for
    a K without skew is ``z · sqrt(1 + ((u-cx)/fx)² + ((v-cy)/fy)²)``. Background (z = 0) stays 0."""
    z = np.asarray(z)
    rays = pixel_rays(z.shape, K)
    return (z * np.sqrt(np.einsum("hwc,hwc->hw", rays, rays))).astype(np.float32)


def normals_to_camera(normals_world: np.ndarray, w2c: np.ndarray) -> np.ndarray:
    """World-space normals (H×W×3, Cycles' Normal pass) to unit normals in OpenCV camera coordinates.

    Normals transform by the inverse transpose of the world-to-camera rotation (the rotation itself for a
    rigid camera). Pixels whose averaged normal is (nearly) zero -- background -- stay 0; anti-aliased
    edge pixels, averaged over the faces they straddle, are renormalised."""
    R = np.asarray(w2c, float)[:3, :3]
    n = np.asarray(normals_world, np.float32) @ np.linalg.inv(R).astype(np.float32)   # n R⁻¹ == (R⁻ᵀ n)ᵀ
    length = np.linalg.norm(n, axis=-1, keepdims=True)
    return np.where(length > _MIN_NORMAL, n / np.maximum(length, _MIN_NORMAL), np.float32(0.0)).astype(np.float32)


def flow_from_vector(vector: np.ndarray, direction: Literal["forward", "backward"] = "forward") -> np.ndarray:
    """Optical flow (H×W×2: u right, v down, pixels) from Blender's 4-channel Vector pass (X, Y, Z, W).

    Blender stores, in its own pixel frame (y up), ``XY = p_prev - p`` and ``ZW = p - p_next`` (checked on
    Cycles 4.2.23 and 5.0.1 with keyframed objects and cameras). So the forward flow (to the next scene
    frame) is ``(-Z, +W)`` and the backward flow (to the previous one) is ``(X, -Y)`` once y points down.
    The pass is zero everywhere when the render uses motion blur; nothing-hit pixels hold 0."""
    vec = np.asarray(vector, np.float32)
    if vec.shape[-1] != 4:
        raise ValueError(f"the Vector pass has 4 channels (X, Y, Z, W), got shape {vec.shape}")
    if direction == "forward":
        u, v = -vec[..., 2], vec[..., 3]
    elif direction == "backward":
        u, v = vec[..., 0], -vec[..., 1]
    else:
        raise ValueError(f"direction must be 'forward' or 'backward', not {direction!r}")
    return np.stack([u, v], axis=-1).astype(np.float32) + 0.0      # + 0.0 turns -0.0 into 0.0


def semantic_from_instance(mask: np.ndarray, categories: Mapping[int, int]) -> np.ndarray:
    """Category-id mask (uint16, 0 = background) from an instance mask and ``{instance_id: category_id}``;
    instances missing from the map (unlabelled objects) become background."""
    mask = np.asarray(mask)
    size = max(int(mask.max(initial=0)), max(categories, default=0)) + 1
    lut = np.zeros(size, np.uint16)
    for inst, cat in categories.items():
        if not 0 <= int(cat) <= 0xFFFF:
            raise ValueError(f"category id {cat} of instance {inst} does not fit 16 bits")
        lut[int(inst)] = int(cat)
    return lut[mask]

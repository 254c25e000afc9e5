"""Per-pixel label maths without Blender: distance from depth, normals to camera space, the Vector pass
sign convention, semantic masks, and the EXR channel writer."""

import math

import numpy as np
import pytest

from synthkiln.addon.core.images import exr
from synthkiln.addon.core.labels import passes

K = np.array([[100.0, 0.0, 32.0], [0.0, 120.0, 24.0], [0.0, 0.0, 1.0]])


def test_distance_of_a_fronto_parallel_plane_matches_the_ray_length():
    z = np.full((48, 64), 2.5, np.float32)
    d = passes.distance_from_depth(z, K)
    assert d.dtype == np.float32 and d.shape == z.shape
    for row, col in [(0, 0), (24, 32), (47, 63), (10, 50)]:
        u, v = col + 0.5, row + 0.5
        ref = 2.5 * math.sqrt(1 + ((u - 32) / 100) ** 2 + ((v - 24) / 120) ** 2)
        assert abs(d[row, col] - ref) < 1e-5
    assert d.min() >= 2.5                        # never shorter than the z-depth


def test_distance_is_the_norm_of_the_back_projected_point():
    rng = np.random.default_rng(0)
    z = rng.uniform(0.5, 5.0, (6, 8))
    z[0, 0] = 0.0                                # background
    d = passes.distance_from_depth(z, K)
    for row in range(6):
        for col in range(8):
            p = z[row, col] * np.linalg.inv(K) @ [col + 0.5, row + 0.5, 1.0]
            assert abs(d[row, col] - np.linalg.norm(p)) < 1e-5
    assert d[0, 0] == 0.0


def _w2c_looking_along_plus_y():
    """A camera at the origin looking along world +y with world +z up, in OpenCV convention."""
    w2c = np.eye(4)
    w2c[:3, :3] = [[1, 0, 0], [0, 0, -1], [0, 1, 0]]   # camera x = world x, y = -world z, z = world y
    return w2c


def test_normals_rotate_into_opencv_camera_frame():
    w2c = _w2c_looking_along_plus_y()
    world = np.zeros((2, 3, 3), np.float32)
    world[0, 0] = [0, -1, 0]                     # faces the camera
    world[0, 1] = [0, 0, 1]                      # faces up: camera -y
    world[0, 2] = [0, 0, 0]                      # background
    world[1, :] = [0.0, -2.0, 2.0]               # unnormalised (edge average), tilted 45 degrees up
    cam = passes.normals_to_camera(world, w2c)
    assert cam.dtype == np.float32
    assert np.allclose(cam[0, 0], [0, 0, -1]) and np.allclose(cam[0, 1], [0, -1, 0])
    assert np.array_equal(cam[0, 2], [0, 0, 0])
    assert np.allclose(cam[1], [0, -math.sqrt(0.5), -math.sqrt(0.5)])
    assert np.allclose(np.linalg.norm(cam[1], axis=-1), 1.0)


def test_normals_ignore_translation_of_the_camera():
    w2c = _w2c_looking_along_plus_y()
    moved = w2c.copy()
    moved[:3, 3] = [5.0, -1.0, 3.0]
    world = np.array([[[0.3, -0.5, 0.8]]])
    assert np.allclose(passes.normals_to_camera(world, w2c), passes.normals_to_camera(world, moved))


def test_flow_sign_convention():
    """Blender's Vector pass holds XY = p_prev - p and ZW = p - p_next with y up (checked on Cycles)."""
    p_prev, p, p_next = np.array([10.0, 20.0]), np.array([13.0, 21.0]), np.array([18.0, 19.0])   # y up
    vec = np.zeros((2, 2, 4), np.float32)
    vec[0, 0] = [*(p_prev - p), *(p - p_next)]
    fwd = passes.flow_from_vector(vec)
    bwd = passes.flow_from_vector(vec, "backward")
    assert fwd.shape == (2, 2, 2) and fwd.dtype == np.float32
    # forward: +5 px right, and y-up 21 -> 19 is 2 px *down* in the image
    assert np.allclose(fwd[0, 0], [5.0, 2.0])
    assert np.allclose(bwd[0, 0], [-3.0, 1.0])
    assert not np.signbit(fwd[1, 1]).any()       # static pixels are +0.0, not -0.0
    with pytest.raises(ValueError):
        passes.flow_from_vector(vec[..., :3])
    with pytest.raises(ValueError):
        passes.flow_from_vector(vec, "sideways")


def test_semantic_mask_maps_instances_to_categories():
    mask = np.array([[0, 1, 2], [3, 2, 7]], np.uint16)
    sem = passes.semantic_from_instance(mask, {1: 4, 2: 1, 3: 4, 9: 2})
    assert sem.dtype == np.uint16
    assert np.array_equal(sem, [[0, 4, 1], [4, 1, 0]])     # 7 is unlabelled: background
    assert np.array_equal(passes.semantic_from_instance(np.zeros((2, 2), np.uint16), {}), np.zeros((2, 2)))
    with pytest.raises(ValueError):
        passes.semantic_from_instance(mask, {1: 70000})


def test_write_channels_round_trips_and_stores_float32(tmp_path):
    rng = np.random.default_rng(1)
    n = rng.normal(size=(5, 7, 3)).astype(np.float32)
    exr.write_channels(tmp_path / "n.exr", {"X": n[..., 0], "Y": n[..., 1], "Z": n[..., 2]})
    back = exr.read_channels(tmp_path / "n.exr")
    assert sorted(back) == ["X", "Y", "Z"]
    assert np.array_equal(np.stack([back[c] for c in "XYZ"], -1), n)
    exr.write_channels(tmp_path / "d.exr", {"Z": n[..., 0].astype(np.float64)})     # depth, as the pipeline writes it
    d = exr.read_channels(tmp_path / "d.exr")
    assert list(d) == ["Z"] and d["Z"].dtype == np.float32 and np.array_equal(d["Z"], n[..., 0])
    with pytest.raises(ValueError):
        exr.write_channels(tmp_path / "bad.exr", {"U": n[..., 0], "V": n[:4, :, 1]})
    assert not list(tmp_path.glob("*.sk-tmp")) and not (tmp_path / "bad.exr").exists()


def test_find_channels_stacks_a_pass_by_name():
    ch = {f"Layer.Vector.{c}": np.full((2, 2), i, np.float32) for i, c in enumerate("XYZW")}
    ch["Layer.Depth.Z"] = np.ones((2, 2), np.float32)
    v = exr.find_channels(ch, ("Vector",), "XYZW")
    assert v.shape == (2, 2, 4) and list(v[0, 0]) == [0, 1, 2, 3]
    assert np.array_equal(exr.find_channel(ch, ("Depth",)), np.ones((2, 2)))
    with pytest.raises(KeyError):
        exr.find_channels(ch, ("Normal",), "XYZ")

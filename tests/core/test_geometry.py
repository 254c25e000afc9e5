"""Geometric labels on known geometry: the rasteriser against brute force, near-plane clipping, boxes,
truncation, visibility, 3D boxes, 6D pose and keypoint flags (no Blender)."""

import math

import numpy as np
import pytest

from synthkiln.addon.core.labels import geometry, raster

W, H = 96, 72
K = np.array([[100.0, 0.0, 48.0], [0.0, 100.0, 36.0], [0.0, 0.0, 1.0]])


def brute_coverage(tris, width, height):
    """Pixel-centre point-in-triangle by sign tests, one triangle at a time."""
    yy, xx = np.mgrid[0:height, 0:width] + 0.5
    out = np.zeros((height, width), bool)
    for a, b, c in tris:
        def side(p, q):
            return (q[0] - p[0]) * (yy - p[1]) - (q[1] - p[1]) * (xx - p[0])
        s = np.stack([side(a, b), side(b, c), side(c, a)])
        out |= (s >= 0).all(axis=0) | (s <= 0).all(axis=0)
    return out


def cube_mesh(center, half):
    """Camera-space vertices (8, 3) and triangles (12, 3) of an axis-aligned cube, outward winding."""
    c = geometry.box_corners(np.array(center) - half, np.array(center) + half)
    faces = [(0, 1, 2, 3), (4, 7, 6, 5), (0, 4, 5, 1), (3, 2, 6, 7), (0, 3, 7, 4), (1, 5, 6, 2)]
    return c, np.array([[f[0], f[i], f[i + 1]] for f in faces for i in (1, 2)])


def sphere_mesh(center, radius, segments=64, rings=32):
    """A closed UV sphere: vertices and triangles (2 * segments * (rings - 1))."""
    th = np.linspace(0, np.pi, rings + 1)[1:-1]
    ph = np.linspace(0, 2 * np.pi, segments, endpoint=False)
    t, p = np.meshgrid(th, ph, indexing="ij")
    ring = np.stack([np.sin(t) * np.cos(p), np.sin(t) * np.sin(p), np.cos(t)], -1).reshape(-1, 3)
    verts = np.concatenate([[[0, 0, 1]], ring, [[0, 0, -1]]]) * radius + center
    idx = np.arange(ring.shape[0]).reshape(rings - 1, segments) + 1
    nxt = np.roll(idx, -1, axis=1)
    tris = [np.stack([np.zeros(segments, int), idx[0], nxt[0]], 1),
            np.stack([np.full(segments, len(verts) - 1), nxt[-1], idx[-1]], 1)]
    for r in range(rings - 2):
        tris += [np.stack([idx[r], idx[r + 1], nxt[r + 1]], 1), np.stack([idx[r], nxt[r + 1], nxt[r]], 1)]
    return verts, np.concatenate(tris)


def flat_mesh(*quads):
    """Vertices and triangles of separate quads (4 corners each)."""
    verts = np.concatenate(quads).astype(float)
    tris = [[4 * i, 4 * i + 1, 4 * i + 2] for i in range(len(quads))] + [[4 * i, 4 * i + 2, 4 * i + 3]
                                                                        for i in range(len(quads))]
    return verts, np.array(tris)


def mesh_coverage(verts, tris, width=W, height=H):
    edges, _ = geometry.image_edges(verts, tris, K, 1e-3)
    return raster.coverage_edges(edges, width, height)


def polygon_area(p):
    x, y = p[:, 0], p[:, 1]
    return 0.5 * abs(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1)))


def test_coverage_matches_brute_force_on_random_triangles():
    rng = np.random.default_rng(4)
    for size in (3.0, 15.0, 60.0):
        tris = rng.uniform(-10, 90, (40, 1, 2)) + rng.normal(0, size, (40, 3, 2))
        got = raster.coverage(tris, 80, 60)
        assert np.array_equal(got, brute_coverage(tris, 80, 60))
        assert got.any()


def test_coverage_is_a_union_and_counts_pixel_centres():
    # a square [10.2, 30.7] x [5.6, 20.4] split into two triangles: centres 10.5..30.5 and 6.5..19.5
    a, b, c, d = (10.2, 5.6), (30.7, 5.6), (30.7, 20.4), (10.2, 20.4)
    tris = np.array([[a, b, c], [a, c, d], [a, b, c]])       # one triangle twice: still counted once
    cov = raster.coverage(tris, W, H)
    assert cov.sum() == 21 * 14
    ys, xs = np.nonzero(cov)
    assert (xs.min(), xs.max(), ys.min(), ys.max()) == (10, 30, 6, 19)


def test_mesh_outline_coverage_matches_brute_force():
    """Only outline, fold and border edges are rasterised: closed, open, folded and inside-out meshes."""
    rng = np.random.default_rng(11)
    verts, tris = sphere_mesh(np.array([0.05, -0.02, 1.5]), 0.3, 24, 12)
    cases = [(verts, tris),                                            # closed
             (verts, tris[: len(tris) // 2]),                          # open (half a sphere)
             (verts, tris[:, ::-1]),                                   # inside out
             (verts + rng.normal(0, 0.06, verts.shape), tris)]         # crumpled: folds everywhere
    mixed = tris.copy()
    mixed[::3] = mixed[::3, ::-1]                                      # inconsistent winding
    cases.append((verts, mixed))
    for v, t in cases:
        want = brute_coverage(raster.project(K, v[t]), W, H)
        got = mesh_coverage(v, t)
        assert np.array_equal(got, want) and want.sum() > 300
    table = raster.edge_table(tris)
    e = raster.mesh_edges(*raster.project(K, verts).T, tris, table)
    assert len(e) < len(table.edges) / 4                              # the sphere's inner edges cancelled


def test_clip_near_keeps_the_front_part_exactly():
    near = 0.1
    # one corner in front, then two corners in front; planar triangles in z = x, area by shoelace in (x, y)
    for tri in (np.array([[1.0, 0.0, 1.0], [-1.0, 0.0, -1.0], [-1.0, 1.0, -1.0]]),
                np.array([[1.0, 0.0, 1.0], [1.0, 1.0, 1.0], [-1.0, 0.0, -1.0]])):
        pieces = raster.clip_near(tri[None], near)
        assert (pieces[:, :, 2] >= near - 1e-12).all()
        assert np.allclose(pieces[:, :, 0], pieces[:, :, 2])           # still on the triangle's plane
        got = sum(polygon_area(p[:, :2]) for p in pieces)
        # the front part is the triangle cut by x >= near: sample it densely to check the area
        s, t = np.meshgrid(np.linspace(0, 1, 801), np.linspace(0, 1, 801))
        inside = s + t <= 1
        pts = tri[0] + s[inside, None] * (tri[1] - tri[0]) + t[inside, None] * (tri[2] - tri[0])
        want = polygon_area(tri[:, :2]) * np.mean(pts[:, 2] >= near)
        assert abs(got - want) < 2e-3 * polygon_area(tri[:, :2])
    assert len(raster.clip_near(-np.ones((1, 3, 3)), near)) == 0


def test_cube_boxes_match_the_projected_corners():
    lab = geometry.silhouette_labels(*cube_mesh((0.1, -0.05, 2.0), 0.25), K, W, H, mask_area=0)
    corners = raster.project(K, geometry.box_corners(np.array([-0.15, -0.3, 1.75]), np.array([0.35, 0.2, 2.25])))
    lo, hi = corners.min(axis=0), corners.max(axis=0)
    assert np.allclose(lab["amodal_bbox"], [lo[0], lo[1], *(hi - lo)], atol=1e-9)
    assert lab["amodal_bbox_clipped"] == lab["amodal_bbox"]
    assert lab["truncation"] == 0.0 and lab["visibility"] == 0.0


def test_truncation_of_a_square_half_outside_the_image():
    # a 0.4 m square facing the camera, its centre on the left image border (u = 0)
    z = 2.0
    x = -48.0 / 100.0 * z
    quad = np.array([[x - 0.2, -0.2, z], [x + 0.2, -0.2, z], [x + 0.2, 0.2, z], [x - 0.2, 0.2, z]])
    lab = geometry.silhouette_labels(*flat_mesh(quad), K, W, H, mask_area=100)
    assert abs(lab["truncation"] - 0.5) < 0.03
    assert lab["amodal_bbox"] == pytest.approx([-10.0, 26.0, 20.0, 20.0])
    assert lab["amodal_bbox_clipped"] == pytest.approx([0.0, 26.0, 10.0, 20.0])
    assert lab["visibility"] == pytest.approx(100 / (10 * 20), abs=1e-6)     # 10 x 20 px inside the image


def test_objects_behind_the_camera_and_straddling_it():
    lab = geometry.silhouette_labels(*cube_mesh((0.0, 0.0, -2.0), 0.25), K, W, H, mask_area=0)
    assert lab["amodal_bbox"] is None and lab["truncation"] == 1.0 and lab["visibility"] is None
    # a floor running from behind the camera to 10 m in front: finite boxes, mostly outside the image
    floor = flat_mesh(np.array([[-5, 0.5, -5], [5, 0.5, -5], [5, 0.5, 10], [-5, 0.5, 10]]))
    lab = geometry.silhouette_labels(*floor, K, W, H, mask_area=100, near=0.1)
    x, y, w, h = lab["amodal_bbox"]
    assert np.isfinite([x, y, w, h]).all() and w > 1000
    assert lab["amodal_bbox_clipped"] == [0.0, pytest.approx(36 + 100 * 0.5 / 10), 96.0, pytest.approx(31.0)]
    assert 0.9 < lab["truncation"] < 1.0
    # visible part: rows below the horizon whose centre is past v = 41 -> rows 41..71 over the full width
    assert lab["visibility"] == pytest.approx(100 / (31 * 96), abs=1e-6)


def test_coarse_grid_for_huge_silhouettes_agrees_with_the_fine_one():
    edges, extent = geometry.image_edges(*cube_mesh((0.3, 0.1, 0.6), 0.25), K, 1e-3)   # overflows the image
    fine = geometry.silhouette_counts(edges, extent, W, H)
    coarse = geometry.silhouette_counts(edges, extent, W, H, max_cells=5000)
    assert coarse[0] == fine[0] and fine[0] < W * H
    assert abs(coarse[1] - fine[1]) / fine[1] < 0.02


def test_box_corners_follow_blender_bound_box_order():
    c = geometry.box_corners([-1, -1, -1], [1, 1, 1])
    want = [(-1, -1, -1), (-1, -1, 1), (-1, 1, 1), (-1, 1, -1), (1, -1, -1), (1, -1, 1), (1, 1, 1), (1, 1, -1)]
    assert c.tolist() == [list(map(float, p)) for p in want]


def random_rotation(rng):
    q = rng.normal(size=4)
    q /= np.linalg.norm(q)
    w, x, y, z = q
    return np.array([[1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
                     [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
                     [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)]])


def test_pose_and_box3d_reproduce_the_transforms():
    rng = np.random.default_rng(7)
    for i in range(200):
        scale = rng.uniform(0.2, 3.0, 3) * (-1 if i % 5 == 0 else 1)
        m = np.eye(4)
        m[:3, :3] = random_rotation(rng) @ np.diag(scale)
        m[:3, 3] = rng.uniform(-5, 5, 3)
        w2c = np.eye(4)
        w2c[:3, :3] = random_rotation(rng)
        w2c[:3, 3] = rng.uniform(-5, 5, 3)
        p = geometry.pose(m, w2c)
        R, t, s = np.array(p["R"]), np.array(p["t"]), np.array(p["scale"])
        assert np.allclose(R @ R.T, np.eye(3), atol=1e-12) and np.linalg.det(R) == pytest.approx(1.0)
        assert np.allclose(np.abs(s), np.abs(scale), atol=1e-12)
        x = rng.uniform(-1, 1, (50, 3))
        want = geometry.transform(w2c @ m, x)
        assert np.abs((x * s) @ R.T + t - want).max() < 1e-9
        b = geometry.box3d([-1, -2, -0.5], [1, 2, 0.5], m, w2c)
        assert np.allclose(b["size"], np.abs(scale) * [2, 4, 1])
        assert np.allclose(b["corners_camera"], geometry.transform(w2c, np.array(b["corners_world"])), atol=2e-6)


def test_boxes_and_poses_of_many_objects_equal_one_at_a_time():
    """A frame's targets go through ``boxes3d``/``poses`` at once: the same values, to the bit, as each alone,
    mirrored and sheared (the SVD fallback) objects included."""
    rng = np.random.default_rng(3)
    mats, lows, highs = [], [], []
    for i in range(12):
        m = np.eye(4)
        m[:3, :3] = random_rotation(rng) @ np.diag(rng.uniform(0.2, 3.0, 3) * (-1 if i % 4 == 0 else 1))
        if i % 5 == 0:
            m[0, 1] += 0.3                      # shear: the nearest rotation
        m[:3, 3] = rng.uniform(-5, 5, 3)
        mats.append(m)
        lows.append(rng.uniform(-2, -0.1, 3))
        highs.append(rng.uniform(0.1, 2, 3))
    w2c = np.eye(4)
    w2c[:3, :3], w2c[:3, 3] = random_rotation(rng), rng.uniform(-5, 5, 3)
    assert geometry.boxes3d(lows, highs, mats, w2c) == [geometry.box3d(lo, hi, m, w2c)
                                                        for lo, hi, m in zip(lows, highs, mats)]
    assert geometry.poses(mats, w2c) == [geometry.pose(m, w2c) for m in mats]
    for m in mats:                              # each alone: a proper rotation, whatever the batch did
        R = np.array(geometry.pose(m, w2c)["R"])
        assert np.allclose(R @ R.T, np.eye(3), atol=1e-12) and np.linalg.det(R) == pytest.approx(1.0)


def test_keypoint_flags():
    depth = np.zeros((H, W), np.float32)
    depth[20:40, 30:60] = 2.0                                   # a surface at 2 m over part of the image
    pts = {"free": (-0.6, -0.3, 3.0),                            # over the background: visible
           "on": (0.02, -0.03, 2.0),                             # on the surface: visible
           "behind": (0.02, -0.03, 2.5),                         # behind the surface: occluded
           "out": (5.0, 0.0, 2.0),                               # outside the image
           "back": (0.0, 0.0, -1.0)}                             # behind the camera
    kps = geometry.keypoints(pts, K, np.eye(4), depth)
    assert [k["name"] for k in kps] == sorted(pts)
    flags = {k["name"]: k["v"] for k in kps}
    assert flags == {"free": 2, "on": 2, "behind": 1, "out": 0, "back": 0}
    on = next(k for k in kps if k["name"] == "on")
    assert on["uv"] == pytest.approx([48 + 100 * 0.01, 36 - 100 * 0.015])
    assert on["camera"] == pytest.approx([0.02, -0.03, 2.0])
    assert geometry.keypoints({}, K, np.eye(4), depth) == []


def test_silhouette_of_a_dense_sphere():
    """A 4,000-triangle sphere 60 px across in a 320 x 240 image: outline edges only (its speed is a
    benchmark's business, benchmarks/bench_overhead.py, not a timed assertion)."""
    verts, tris = sphere_mesh(np.array([0.0, 0.0, 3.0]), 0.4)
    k = np.array([[225.0, 0.0, 160.0], [0.0, 225.0, 120.0], [0.0, 0.0, 1.0]])
    table = raster.edge_table(tris)
    lab = geometry.silhouette_labels(verts, tris, k, 320, 240, mask_area=2000, table=table)
    assert len(tris) == 3968
    r = 225 * 0.4 / math.sqrt(3.0 ** 2 - 0.4 ** 2)                 # the sphere's image is a disc of radius r
    assert lab["visibility"] == pytest.approx(2000 / (math.pi * r * r), rel=0.02)

"""The sensor group's numpy half (issue 18), without Blender: the lens model against OpenCV, the warp's
overscan, labels through the distortion on a rasterised plane, the noise statistics against the
Poisson-Gaussian model, and the effects' plain properties."""

import math

import numpy as np
import pytest

from synthkiln.addon.core import sensor
from synthkiln.addon.core.labels import raster
from synthkiln.addon.core.params.rng import stream
from synthkiln.addon.core.params.schema import from_data
from synthkiln.addon.core.randomizers import Context, Randomizer
from synthkiln.addon.core.sensor import effects, labels as lens_labels
from synthkiln.addon.core.sensor.lens import Distortion, LensError, LensWarp, _bilinear

cv2 = pytest.importorskip("cv2")

K = np.array([[300.0, 0.0, 161.3], [0.0, 300.0, 118.7], [0.0, 0.0, 1.0]])
SIZE = (320, 240)
BROWN = Distortion("brown_conrady", (-0.28, 0.07, 0.0015, -0.001, -0.01))
FISHEYE = Distortion("fisheye", (0.03, -0.01, 0.004, 0.0))


def _points(n=500, seed=0):
    rng = np.random.Generator(np.random.PCG64(seed))
    return np.stack([rng.uniform(-0.7, 0.7, n), rng.uniform(-0.5, 0.5, n), rng.uniform(1.0, 5.0, n)], -1)


def test_projection_matches_cv2():
    pts = _points()
    pts[:, :2] *= pts[:, 2:3]
    for d, project in ((BROWN, cv2.projectPoints), (FISHEYE, cv2.fisheye.projectPoints)):
        warp = LensWarp.plan(d, K, SIZE)
        ours = warp.project(pts)
        dist = np.array(d.coefficients)
        ref, _ = project(pts.reshape(-1, 1, 3), np.zeros(3), np.zeros(3), K, dist)
        assert np.abs(ours - ref.reshape(-1, 2)).max() < 1e-6, d.model


def test_undistort_inverts_and_agrees_with_cv2():
    u, v = np.meshgrid(np.arange(0, SIZE[0], 7) + 0.5, np.arange(0, SIZE[1], 7) + 0.5)
    xd, yd = (u - K[0, 2]) / K[0, 0], (v - K[1, 2]) / K[1, 1]
    x, y = BROWN.undistort(xd, yd)
    rx, ry = BROWN.distort(x, y)
    assert max(np.abs(rx - xd).max(), np.abs(ry - yd).max()) < 1e-9
    crit = (cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, 200, 1e-14)
    ref = cv2.undistortPointsIter(np.stack([u, v], -1).reshape(-1, 1, 2), K, np.array(BROWN.coefficients), None,
                                  None, crit).reshape(-1, 2)
    assert np.abs(np.stack([x.ravel(), y.ravel()], -1) - ref).max() * K[0, 0] < 1e-3    # pixels


def test_overscan_covers_every_lookup():
    for d in (BROWN, FISHEYE, Distortion("brown_conrady", (0.2, 0.0, 0.0, 0.0, 0.0))):
        warp = LensWarp.plan(d, K, SIZE)
        rw, rh = warp.render_size
        assert warp.map_u.min() >= 1.0 and warp.map_u.max() <= rw - 1.0
        assert warp.map_v.min() >= 1.0 and warp.map_v.max() <= rh - 1.0
        assert np.allclose(warp.render_K[:2, 2], K[:2, 2] + warp.margins)
    barrel = LensWarp.plan(BROWN, K, SIZE)
    assert barrel.margins[0] > 10            # barrel distortion looks well past the pinhole's edge



def test_a_fixed_lens_is_solved_once():
    """The same lens, K and size (a calibrated camera) reuse the solved warp; its arrays are read-only."""
    a = LensWarp.plan(BROWN, K, SIZE)
    assert LensWarp.plan(BROWN, K.copy(), SIZE) is a
    assert LensWarp.plan(Distortion("brown_conrady", (-0.27, 0.07, 0.0015, -0.001, -0.01)), K, SIZE) is not a
    with pytest.raises(ValueError):
        a.map_u[0, 0] = 0.0

def test_too_strong_distortion_is_one_clear_error():
    with pytest.raises(LensError, match="folds over"):
        LensWarp.plan(Distortion("brown_conrady", (-0.9, 0.0, 0.0, 0.0, 0.0)), K, SIZE)
    with pytest.raises(LensError, match="max_overscan"):
        LensWarp.plan(BROWN, K, SIZE, max_overscan=1.05)


def _plane_render(warp, corners_cam, n=24):
    """A square in camera space as a fine triangle grid, rasterised on the render canvas (as Cycles would)."""
    a, b, c = (np.asarray(p, float) for p in corners_cam)
    s, t = np.meshgrid(np.linspace(0, 1, n + 1), np.linspace(0, 1, n + 1))
    verts = (a + s[..., None] * (b - a) + t[..., None] * (c - a)).reshape(-1, 3)
    idx = np.arange((n + 1) ** 2).reshape(n + 1, n + 1)
    q = np.stack([idx[:-1, :-1], idx[:-1, 1:], idx[1:, 1:], idx[1:, :-1]], -1).reshape(-1, 4)
    tris = np.concatenate([q[:, [0, 1, 2]], q[:, [0, 2, 3]]])
    rw, rh = warp.render_size
    uv = raster.project(warp.render_K, verts)
    mask = raster.coverage(uv[tris], rw, rh)
    return verts, tris, mask


def test_labels_through_the_distortion_match_cv2():
    warp = LensWarp.plan(BROWN, K, SIZE)
    verts, tris, wide = _plane_render(warp, [(-1.3, -0.2, 3.0), (-0.4, -0.3, 3.2), (-1.2, 0.6, 2.9)])
    mask = warp.nearest(wide.astype(np.uint16))
    area = int(mask.sum())
    got = lens_labels.silhouette_labels(verts, tris, warp, area, table=raster.edge_table(tris))
    ref, _ = cv2.projectPoints(verts.reshape(-1, 1, 3), np.zeros(3), np.zeros(3), K, np.array(BROWN.coefficients))
    ref = ref.reshape(-1, 2)
    x, y, w, h = got["amodal_bbox"]
    assert np.abs(np.array([x, y, x + w, y + h]) - [*ref.min(0), *ref.max(0)]).max() <= 0.5
    assert got["visibility"] == 1.0 and got["truncation"] == 0.0
    ys, xs = np.nonzero(mask)                # the tight box of the warped mask: within a pixel of OpenCV's
    assert abs(xs.min() - ref[:, 0].min()) <= 1 and abs(xs.max() + 1 - ref[:, 0].max()) <= 1
    # half hidden: visibility follows the warped mask
    hidden = mask.copy()
    hidden[:, : int(np.median(xs))] = 0
    half = lens_labels.silhouette_labels(verts, tris, warp, int(hidden.sum()), table=raster.edge_table(tris))
    assert half["visibility"] == pytest.approx(hidden.sum() / area, abs=1e-6)


def test_keypoints_through_the_distortion():
    warp = LensWarp.plan(BROWN, K, SIZE)
    kps = [{"name": "a", "camera": [0.3, -0.2, 2.0], "uv": [0, 0], "v": 2},
           {"name": "b", "camera": [3.0, 0.0, 1.0], "uv": [0, 0], "v": 0},
           {"name": "c", "camera": [0.0, 0.0, -1.0], "uv": [0, 0], "v": 0}]
    out = lens_labels.keypoints(kps, warp)
    ref, _ = cv2.projectPoints(np.array([[0.3, -0.2, 2.0]]), np.zeros(3), np.zeros(3), K, np.array(BROWN.coefficients))
    assert out[0]["v"] == 2 and np.abs(np.array(out[0]["uv"]) - ref.ravel()).max() < 1e-6
    assert [k["v"] for k in out[1:]] == [0, 0]


def test_nearest_warp_keeps_ids_exact_and_flow_zero():
    warp = LensWarp.plan(BROWN, K, SIZE)
    rw, rh = warp.render_size
    ids = (np.arange(rw * rh).reshape(rh, rw) % 7).astype(np.uint16)
    assert set(np.unique(warp.nearest(ids))) <= set(range(7))
    assert warp.nearest(ids).flags.c_contiguous and warp.flow(np.zeros((rh, rw, 2), np.float32)).flags.c_contiguous
    flow = np.zeros((rh, rw, 2), np.float32)
    assert not warp.flow(flow).any()
    flow[...] = (2.0, 0.0)                                   # everything moves 2 px right in the pinhole view
    f = warp.flow(flow)
    assert 0.5 < f[SIZE[1] // 2, SIZE[0] // 2, 0] < 2.5 and f[..., 0].min() > 0


@pytest.mark.parametrize("read_noise", [3.0, 1.0, 0.0])       # all Gaussian; mixed; exact Poisson where dark
@pytest.mark.parametrize("level", [0.002, 0.02, 0.1, 0.3, 0.6])
def test_noise_statistics_match_the_model(level, read_noise):
    v = {"iso": 1600.0, "full_well": 8000.0, "read_noise": read_noise, "sensitivity": [0.6, 1.0, 0.5],
         "salt_pepper": 0.0, "seed": 5}
    img = np.full((200, 200, 3), level, np.float32)
    out = effects.sensor_noise(img, v, K).astype(np.float64)
    e, read = effects.noise_model(v)
    for c in range(3):
        var = level / e[c] + read[c] ** 2
        n = out[..., c].size
        assert abs(out[..., c].mean() - level) < 4 * math.sqrt(var / n)
        assert out[..., c].var() == pytest.approx(var, rel=0.05)



@pytest.mark.parametrize("level", [0.002, 0.01, 0.05])
def test_dark_pixels_without_read_noise_get_exact_poisson_counts(level):
    """No read noise and few electrons: the skewed case, drawn exactly (whole electrons, P(0) = e^-lam)."""
    v = {"iso": 3200.0, "full_well": 8000.0, "read_noise": 0.0, "sensitivity": [1.0, 1.0, 1.0],
         "salt_pepper": 0.0, "seed": 11}
    out = effects.sensor_noise(np.full((200, 200, 3), level, np.float32), v, K).astype(np.float64)
    e = effects.noise_model(v)[0][0]
    counts = out * e
    lam = level * e
    assert np.allclose(counts, np.round(counts), atol=1e-3)
    assert counts.mean() == pytest.approx(lam, rel=0.03)
    assert counts.var() == pytest.approx(lam, rel=0.05)
    assert (np.round(counts) == 0).mean() == pytest.approx(math.exp(-lam), abs=0.01)


def test_noise_is_deterministic_per_seed():
    v = {"iso": 800.0, "full_well": 4000.0, "read_noise": 1.0, "sensitivity": [0.6, 1.0, 0.5],
         "salt_pepper": 0.001, "seed": 3}
    img = np.random.Generator(np.random.PCG64(0)).random((50, 60, 3), np.float32) ** 3
    a, b = effects.sensor_noise(img, v, K), effects.sensor_noise(img, v, K)
    assert np.array_equal(a, b) and not np.array_equal(a, effects.sensor_noise(img, v | {"seed": 4}, K))


def test_curve_tables_match_the_srgb_formulas():
    x = np.concatenate([np.linspace(0, 1, 100001), np.geomspace(1e-9, 1, 10000)])
    exact_lin = np.where(x <= 0.04045, x / 12.92, ((x + 0.055) / 1.055) ** 2.4)
    exact_disp = np.where(x <= 0.0031308, x * 12.92, 1.055 * x ** (1 / 2.4) - 0.055)
    assert np.abs(effects.to_linear(x) - exact_lin).max() < 1e-6          # float32: 1/4000 of an 8-bit step
    assert np.abs(effects.to_display(x) - exact_disp).max() < 1e-6
    assert effects.to_display(np.array([-1.0, 2.0, np.nan, np.inf])).tolist() == [0.0, 1.0, 0.0, 1.0]



@pytest.mark.parametrize("gamma", [0.5, 0.8, 1.0, 1.25, 3.0])
def test_tone_is_gamma_then_contrast(gamma):
    x = np.concatenate([np.linspace(0, 1, 5001), np.geomspace(1e-9, 1, 2000)]).astype(np.float32)
    exact = np.clip((np.power(x.astype(np.float64), gamma) - 0.5) * 1.2 + 0.5, 0, 1)
    assert np.abs(effects.tone(x, {"gamma": gamma, "contrast": 1.2}, K) - exact).max() < 3e-5

def test_separable_sampling_is_the_2d_bilinear():
    rng = np.random.Generator(np.random.PCG64(2))
    img = rng.random((30, 40, 3), np.float32)
    u = np.linspace(0.9, 38.7, 25)                 # inside: the same as the 2D warp's sampler
    v = np.linspace(1.2, 28.4, 17)
    ref = _bilinear(img, *np.meshgrid(u, v))
    assert np.allclose(effects.separable_bilinear(img, u, v), ref, atol=1e-6)
    edge = effects.separable_bilinear(img, np.array([-3.0, 50.0]), np.array([-1.0]))
    assert np.allclose(edge[0], [img[0, 0], img[0, -1]])           # past an edge: the edge pixel


def test_bilinear_warp_clamps_at_edges_and_keeps_channels():
    rng = np.random.Generator(np.random.PCG64(4))
    img = rng.random((12, 16, 2), np.float32)
    out = _bilinear(img, np.array([[0.5, 15.5, -4.0, 40.0]]), np.array([[0.5, 11.5, 0.5, 11.5]]))
    assert np.allclose(out[0], [img[0, 0], img[11, 15], img[0, 0], img[11, 15]])
    mid = _bilinear(img[..., 0], np.array([1.0]), np.array([0.5]))
    assert mid[0] == pytest.approx((img[0, 0, 0] + img[0, 1, 0]) / 2)

def test_salt_and_pepper_share():
    v = {"iso": 100.0, "full_well": 1e9, "read_noise": 0.0, "sensitivity": [1, 1, 1], "salt_pepper": 0.01, "seed": 1}
    out = effects.sensor_noise(np.full((300, 300, 3), 0.5, np.float32), v, K)
    stuck = np.all((out == 0) | (out == 1), axis=-1)
    assert stuck.mean() == pytest.approx(0.01, abs=0.002)


def test_effects_do_what_they_say():
    rng = np.random.Generator(np.random.PCG64(3))
    img = rng.uniform(0.1, 0.6, (60, 80, 3)).astype(np.float32)
    assert np.allclose(effects.exposure(img, {"ev": 1.0}, K), 2 * img)
    g = effects.wb_gains(3200, 0.0)
    assert g[0] > g[1] > g[2] and g.mean() == pytest.approx(1.0)      # tungsten: warm
    assert np.allclose(effects.wb_gains(6504, 0.0), 1.0, atol=1e-6)
    assert np.array_equal(effects.resize(img, {"factor": 1.0}, K), img)
    flat = np.full((60, 80, 3), 0.4, np.float32)
    assert np.allclose(effects.blur(flat, {"sigma": 2.0}, K), 0.4, atol=1e-6)
    v = effects.vignetting(flat, {"strength": 0.5}, [[1, 0, 40], [0, 1, 30]])
    assert v[30, 40, 0] == pytest.approx(0.4, abs=1e-3) and v[0, 0, 0] == pytest.approx(0.2, abs=0.01)
    assert np.allclose(effects.chromatic_aberration(flat, {"shift": 1.0}, [[1, 0, 40], [0, 1, 30]]), 0.4)
    smooth = np.broadcast_to(np.linspace(0.1, 0.9, 80, dtype=np.float32)[None, :, None], (60, 80, 3))
    j = effects.jpeg(smooth, {"quality": 30}, K)
    assert j.shape == smooth.shape and 0 < np.abs(j - smooth).mean() < 0.02
    assert np.allclose(effects.to_linear(effects.to_display(img)), img, atol=1e-5)


def test_plan_and_process():
    stack = [("sensor_noise", {"iso": 800.0, "full_well": 8000.0, "read_noise": 2.0, "sensitivity": [1, 1, 1],
                               "salt_pepper": 0.0, "seed": 9}),
             ("lens_distortion", BROWN.record() | {"max_overscan": 2.0}), ("jpeg", {"quality": 80})]
    p = sensor.plan(stack, K, SIZE)
    assert p.lens is not None and [t for t, _ in p.steps] == ["sensor_noise", "jpeg"]
    rw, rh = p.lens.render_size
    rgb = np.full((rh, rw, 3), 0.5, np.float32)
    a, b = sensor.process(p, rgb, K), sensor.process(p, rgb, K)
    assert a.shape == (SIZE[1], SIZE[0], 3) and np.array_equal(a, b)
    data = sensor.encode_image(p, a, "PNG", 90, {"synthkiln:frame": "0"})
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert sensor.encode_image(p, a, "JPEG", 90, {"synthkiln:frame": "0"})[:2] == b"\xff\xd8"
    with pytest.raises(ValueError, match="only one"):
        sensor.plan(stack + [stack[1]], K, SIZE)
    assert sensor.plan([("lens_distortion", {"model": "brown_conrady", "coefficients": [0] * 5})], K, SIZE).lens is None
    defocus = ("defocus", {"fstop": 2.0, "distance": 3.0, "focus_error": 0.0, "pick": 0.5})
    assert sensor.plan([defocus, stack[2]], K, SIZE).steps == [stack[2]]      # set on the camera, not an effect


@pytest.mark.parametrize("t", sorted(t for t, c in Randomizer.REGISTRY.items() if c.GROUP == "sensor"))
def test_every_sensor_type_has_an_effect_and_its_draws_run(t):
    r = from_data(Randomizer.REGISTRY[t], {"name": "x"})
    values = r.sample(stream(1, 0, r.key()), Context())
    p = sensor.plan([(t, values)], K, SIZE)
    size = p.lens.render_size if p.lens else SIZE
    out = sensor.process(p, np.full((size[1], size[0], 3), 0.5, np.float32), K)
    assert out.shape == (SIZE[1], SIZE[0], 3)

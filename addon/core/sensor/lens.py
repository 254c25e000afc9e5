"""Lens distortion in OpenCV's conventions, and the warp that takes a wider perspective render to the
distorted image the record describes (issue 18).

Models (normalised camera coordinates x = X/Z, y = Y/Z):
- ``brown_conrady``: coefficients ``[k1, k2, p1, p2, k3]`` (OpenCV's ``distCoeffs`` order), so
  ``cv2.projectPoints`` / ``cv2.undistortPoints`` with the record's K reproduce our pixels.
- ``fisheye``: OpenCV's equidistant model, ``[k1, k2, k3, k4]``: theta_d = theta (1 + k1 theta^2 + ...),
  as ``cv2.fisheye.projectPoints``.

Pixel coordinates are SynthKiln's (pixel centres at +0.5, K with the same convention); distortion acts on
normalised coordinates, so a K and points that share one convention give the same result in OpenCV.

Overscan. Each output pixel looks up where its ray lands in an undistorted (perspective) render. Barrel
distortion looks further out than K alone would, so the bridge renders a wider canvas with the same focal
length and a principal point moved by the margins (``LensWarp.margins``); the warp then never reads outside
the render. Margins are whole pixels plus 2 (the bilinear neighbour and a guard).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np

MODELS = {"brown_conrady": 5, "fisheye": 4}
COARSE = 4              # the undistortion is solved on every COARSE-th pixel first, then refined
_SLOPE_MIN = 0.2          # where the radial map's slope drops below this, the lens is taken as ending


class LensError(ValueError):
    """Distortion that cannot map the image: it folds over, or needs a wider render than allowed."""


@dataclass(frozen=True)
class Distortion:
    model: str
    coefficients: tuple

    def __post_init__(self):
        if self.model not in MODELS:
            raise LensError(f"unknown distortion model {self.model!r}: expected one of {', '.join(MODELS)}")
        if len(self.coefficients) != MODELS[self.model]:
            raise LensError(f"{self.model} takes {MODELS[self.model]} coefficients, got {len(self.coefficients)}")

    def record(self) -> dict:
        """The record's ``camera.distortion``: what OpenCV's functions take next to K."""
        return {"model": self.model, "coefficients": [float(c) for c in self.coefficients]}

    def is_identity(self) -> bool:
        return not any(self.coefficients)

    # -- the radial part, and how far it is valid -----------------------------------------------------
    def _radial(self, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(g, g') of the radial map: r -> r_d (brown_conrady, t = r) or theta -> theta_d (fisheye, t = theta)."""
        c = self.coefficients
        t2 = t * t
        if self.model == "brown_conrady":
            k1, k2, _, _, k3 = c
            g = t * (1 + t2 * (k1 + t2 * (k2 + t2 * k3)))
            dg = 1 + t2 * (3 * k1 + t2 * (5 * k2 + t2 * 7 * k3))
        else:
            k1, k2, k3, k4 = c
            g = t * (1 + t2 * (k1 + t2 * (k2 + t2 * (k3 + t2 * k4))))
            dg = 1 + t2 * (3 * k1 + t2 * (5 * k2 + t2 * (7 * k3 + t2 * 9 * k4)))
        return g, dg

    def valid_radius(self) -> float:
        return _valid_radius(self)

    def _valid_radius(self) -> float:
        """The largest r (brown_conrady) or theta (fisheye) up to which the radial map rises steadily:
        beyond it a polynomial lens folds back. Fisheye stops short of 90 degrees (a perspective render
        cannot show more)."""
        top = 4.0 if self.model == "brown_conrady" else math.radians(85.0)
        t = np.linspace(0.0, top, 4001)
        _, dg = self._radial(t)
        bad = np.flatnonzero(dg < _SLOPE_MIN)
        return float(t[bad[0] - 1]) if len(bad) else top

    # -- forward and inverse ----------------------------------------------------------------------------
    def distort(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Normalised undistorted -> distorted coordinates (OpenCV's formulas). Valid inside
        ``valid_radius``; beyond it the radial map continues as a straight line instead of folding back
        (so boxes of geometry far outside the view stay outside)."""
        x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
        r = np.hypot(x, y)
        lim = self.valid_radius()
        if self.model == "brown_conrady":
            k1, k2, p1, p2, k3 = self.coefficients
            rc = np.minimum(r, lim)
            g, _ = self._radial(rc)
            glim, dglim = self._radial(np.array(lim))
            g = np.where(r > lim, glim + dglim * (r - lim), g)
            scale = np.divide(g, r, out=np.ones_like(r), where=r > 0)
            s = np.divide(rc, r, out=np.ones_like(r), where=r > 0)      # tangential terms at the clamped point
            xc, yc = x * s, y * s
            r2 = rc * rc
            xd = x * scale + 2 * p1 * xc * yc + p2 * (r2 + 2 * xc * xc)
            yd = y * scale + p1 * (r2 + 2 * yc * yc) + 2 * p2 * xc * yc
            return xd, yd
        theta = np.arctan(r)
        g, _ = self._radial(np.minimum(theta, lim))
        glim, dglim = self._radial(np.array(lim))
        g = np.where(theta > lim, glim + dglim * (theta - lim), g)
        scale = np.divide(g, r, out=np.ones_like(r), where=r > 0)
        return x * scale, y * scale

    def undistort(self, xd: np.ndarray, yd: np.ndarray, iterations: int = 30,
                  guess: tuple[np.ndarray, np.ndarray] | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Distorted -> undistorted normalised coordinates by Newton's method (what ``cv2.undistortPoints``
        approximates by fixed-point steps), from ``guess`` if given. Raises ``LensError`` where no point
        inside the lens's valid radius maps there: the image would need rays the lens model does not
        describe. A large 2D grid is solved on every ``COARSE``-th point first (itself the same way), and that,
        interpolated, starts Newton on the rest: one step then reaches full precision."""
        xd, yd = np.asarray(xd, np.float64), np.asarray(yd, np.float64)
        if guess is None and xd.ndim == 2 and min(xd.shape) > 64 and self.model == "brown_conrady":
            rows = np.unique(np.r_[np.arange(0, xd.shape[0], COARSE), xd.shape[0] - 1])
            cols = np.unique(np.r_[np.arange(0, xd.shape[1], COARSE), xd.shape[1] - 1])
            cx, cy = self.undistort(xd[np.ix_(rows, cols)], yd[np.ix_(rows, cols)], iterations)
            guess = (_interpolate(cx, rows, cols, xd.shape), _interpolate(cy, rows, cols, xd.shape))
        lim = self.valid_radius()
        if self.model == "fisheye":
            rd = np.hypot(xd, yd)
            glim, _ = self._radial(np.array(lim))
            if rd.size and rd.max() > glim:
                raise LensError(f"the fisheye lens would need rays beyond {math.degrees(lim):.0f} degrees from the "
                                "axis: use a longer focal length or a smaller output")
            theta = rd.copy()
            for _ in range(iterations):
                g, dg = self._radial(theta)
                if np.abs(g - rd).max(initial=0.0) < 1e-12:
                    break
                theta = np.clip(theta - (g - rd) / dg, 0.0, lim)
            r = np.tan(theta)
            s = np.divide(r, rd, out=np.ones_like(rd), where=rd > 0)
            return xd * s, yd * s
        x, y = (xd.copy(), yd.copy()) if guess is None else (np.array(g, np.float64) for g in guess)   # solved in place
        err = _newton_brown(self.coefficients, x, y, xd, yd, iterations)
        if xd.size and (not np.isfinite(err) or err > 1e-7 or np.sqrt((x * x + y * y).max()) > lim):
            raise LensError("the distortion folds over inside the image (its radial polynomial turns back): "
                            "use smaller coefficients or a longer focal length")
        return x, y


def _newton_brown(c: tuple, x: np.ndarray, y: np.ndarray, xd: np.ndarray, yd: np.ndarray, iterations: int) -> float:
    """Newton's method on Brown-Conrady's forward map, in place on ``x``, ``y`` (every operation writes into
    a few buffers: full-size temporaries would cost more than the arithmetic). Returns the last residual."""
    k1, k2, p1, p2, k3 = c
    shape = np.broadcast_shapes(x.shape, xd.shape)
    xx, yy, xy, r2, radial, fx, fy, t, a, b, d = (np.empty(shape) for _ in range(11))
    err = np.inf
    for _ in range(iterations + 1):
        np.multiply(x, x, out=xx)
        np.multiply(y, y, out=yy)
        np.multiply(x, y, out=xy)
        np.add(xx, yy, out=r2)
        np.multiply(r2, k3, out=radial)                     # 1 + r2 (k1 + r2 (k2 + r2 k3))
        radial += k2
        radial *= r2
        radial += k1
        radial *= r2
        radial += 1
        np.multiply(x, radial, out=fx)                      # x radial + 2 p1 xy + p2 (r2 + 2 xx) - xd
        np.multiply(xx, 2 * p2, out=t)
        t += p2 * r2 if p2 else 0.0
        fx += t
        fx += (2 * p1) * xy if p1 else 0.0
        fx -= xd
        np.multiply(y, radial, out=fy)                      # y radial + p1 (r2 + 2 yy) + 2 p2 xy - yd
        np.multiply(yy, 2 * p1, out=t)
        t += p1 * r2 if p1 else 0.0
        fy += t
        fy += (2 * p2) * xy if p2 else 0.0
        fy -= yd
        err = max(fx.max(initial=0.0), -fx.min(initial=0.0), fy.max(initial=0.0), -fy.min(initial=0.0))
        if err < 1e-10:                                     # 1e-10 of the focal length: far below a pixel
            break                                           # quadratic convergence: usually 4-6 steps
        np.multiply(r2, 3 * k3, out=t)                      # d radial / d(r2), times 2: 2 (k1 + r2 (2 k2 + 3 k3 r2))
        t += 2 * k2
        t *= r2
        t += k1
        t *= 2
        np.multiply(xx, t, out=a)                           # the Jacobian [[a, b], [b, d]] (symmetric)
        a += radial
        np.multiply(xy, t, out=b)
        np.multiply(yy, t, out=d)
        d += radial
        if p1 or p2:
            a += (2 * p1) * y + (6 * p2) * x
            b += (2 * p1) * x + (2 * p2) * y
            d += (6 * p1) * y + (2 * p2) * x
        np.multiply(a, d, out=t)                            # det
        t -= b * b
        t[np.abs(t) < 1e-12] = 1e-12
        np.multiply(d, fx, out=xx)                          # dx = (d fx - b fy) / det, dy = (a fy - b fx) / det
        xx -= b * fy
        xx /= t
        np.multiply(a, fy, out=yy)
        yy -= b * fx
        yy /= t
        x -= xx
        y -= yy
    return err


def _interpolate(coarse: np.ndarray, rows: np.ndarray, cols: np.ndarray, shape: tuple) -> np.ndarray:
    """A field known on a grid of ``rows`` x ``cols`` bilinearly interpolated to every point of ``shape``:
    along the columns on the coarse rows first, then along the rows (separable: the same result as the
    four-corner blend, at a quarter of the full-size passes)."""
    def axis(n: int, nodes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        t = np.arange(n)
        i = np.clip(np.searchsorted(nodes, t, side="right") - 1, 0, len(nodes) - 2)
        return i, (t - nodes[i]) / (nodes[i + 1] - nodes[i])

    j, fc = axis(shape[1], cols)
    across = coarse[:, j] * (1 - fc) + coarse[:, j + 1] * fc          # coarse rows x full width
    i, fr = axis(shape[0], rows)
    top = across[i]
    out = across[i + 1] - top
    out *= fr[:, None]
    out += top
    return out


@functools.lru_cache(maxsize=2)      # a fixed lens (or two cameras' lenses); drawn ones change every frame
def _plan(cls, distortion: Distortion, K: tuple, size: tuple[int, int], max_overscan: float) -> "LensWarp":
    return cls._solve(distortion, np.array(K, np.float64).reshape(3, 3), size, max_overscan)


@functools.lru_cache(maxsize=64)
def _valid_radius(d: Distortion) -> float:
    return d._valid_radius()


def from_values(values: dict) -> Distortion:
    return Distortion(values["model"], tuple(float(c) for c in values["coefficients"]))


def _bilinear(image: np.ndarray, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Bilinear samples of ``image`` (H x W [x C]) at continuous pixel coordinates (centres at +0.5), edges
    clamped. Each corner is one gather of whole pixels (all channels as one opaque item), and the blends
    run in place: a third of the time of per-element indexing."""
    h, w = image.shape[:2]
    x = np.asarray(u, np.float32) - np.float32(0.5)
    y = np.asarray(v, np.float32) - np.float32(0.5)
    itype = np.int32 if h * w < 2**31 else np.intp
    x0 = np.clip(np.floor(x), 0, max(w - 2, 0))
    y0 = np.clip(np.floor(y), 0, max(h - 2, 0))
    fx = np.clip(x - x0, 0, 1).reshape(-1, 1)        # past an edge: the edge pixel's value
    fy = np.clip(y - y0, 0, 1).reshape(-1, 1)
    x0, y0 = x0.astype(itype), y0.astype(itype)
    dx, dy = (1 if w > 1 else 0), (w if h > 1 else 0)
    i00 = (y0 * w + x0).ravel()
    img = np.ascontiguousarray(image, np.float32).reshape(h * w, -1)
    c = img.shape[1]
    pixels = img.view(np.dtype((np.void, 4 * c))).reshape(-1)

    def corner(i):
        return np.take(pixels, i).view(np.float32).reshape(-1, c)

    top, right = corner(i00), corner(i00 + dx)
    right -= top
    right *= fx
    top += right
    bottom, right = corner(i00 + dy), corner(i00 + dy + dx)
    right -= bottom
    right *= fx
    bottom += right
    bottom -= top
    bottom *= fy
    top += bottom
    return top.reshape(np.shape(u) + image.shape[2:])


@dataclass
class LensWarp:
    """A frame's distortion on an output of ``size`` with intrinsics ``K``, and the wider render it reads."""
    distortion: Distortion
    K: np.ndarray                # the output's K (the record's)
    size: tuple[int, int]        # output width, height
    margins: tuple[int, int]     # render canvas = output + 2 * margins, principal point moved by them
    map_u: np.ndarray            # H x W: render-pixel coordinates each output pixel centre reads
    map_v: np.ndarray

    @classmethod
    def plan(cls, distortion: Distortion, K: np.ndarray, size: tuple[int, int],
             max_overscan: float = 2.0) -> "LensWarp":
        """The warp and the render margins it needs; ``LensError`` if the render would have to be more than
        ``max_overscan`` times the output's width or height. A lens whose coefficients do not change between
        frames (a calibrated camera) is solved once: the last two warps are kept, read-only."""
        K = np.asarray(K, np.float64)
        return _plan(cls, distortion, tuple(K.ravel().tolist()), (int(size[0]), int(size[1])), float(max_overscan))

    @classmethod
    def _solve(cls, distortion: Distortion, K: np.ndarray, size: tuple[int, int], max_overscan: float) -> "LensWarp":
        w, h = size
        fx, fy, cx, cy = K[0, 0], K[1, 1], K[0, 2], K[1, 2]
        u = (np.arange(w, dtype=np.float64) + 0.5)[None, :]
        v = (np.arange(h, dtype=np.float64) + 0.5)[:, None]
        xd = np.broadcast_to((u - cx) / fx, (h, w))
        yd = np.broadcast_to((v - cy) / fy, (h, w))
        x, y = distortion.undistort(xd, yd)
        ur, vr = fx * x + cx, fy * y + cy
        mx = max(0, math.ceil(max(-ur.min(), ur.max() - w))) + 2
        my = max(0, math.ceil(max(-vr.min(), vr.max() - h))) + 2
        if (w + 2 * mx) > max_overscan * w or (h + 2 * my) > max_overscan * h:
            raise LensError(f"this distortion needs a render of {w + 2 * mx}x{h + 2 * my} for a {w}x{h} image, more "
                            f"than max_overscan {max_overscan:g} times: use smaller coefficients or raise max_overscan")
        arrays = [K, np.ascontiguousarray(ur + mx, np.float32), np.ascontiguousarray(vr + my, np.float32)]
        for a in arrays:
            a.flags.writeable = False            # shared by every frame with this lens
        return cls(distortion, arrays[0], (w, h), (mx, my), arrays[1], arrays[2])

    @property
    def render_size(self) -> tuple[int, int]:
        return self.size[0] + 2 * self.margins[0], self.size[1] + 2 * self.margins[1]

    @property
    def render_K(self) -> np.ndarray:
        K = self.K.copy()
        K[0, 2] += self.margins[0]
        K[1, 2] += self.margins[1]
        return K

    # -- images -------------------------------------------------------------------------------------------
    def bilinear(self, image: np.ndarray) -> np.ndarray:
        """A render-sized colour image warped to the output (bilinear, float32)."""
        return _bilinear(image, self.map_u, self.map_v)

    def nearest(self, image: np.ndarray) -> np.ndarray:
        """A render-sized label image warped to the output by the nearest pixel: ids, depths and normals are
        copied, never blended (the pixel whose square holds the ray, the same rule as the pass itself)."""
        h, w = image.shape[:2]
        flat = np.ascontiguousarray(image).reshape(h * w, -1)
        return np.take(flat, self._nearest_index(w, h), axis=0).reshape(self.map_u.shape + image.shape[2:])

    def _nearest_index(self, w: int, h: int) -> np.ndarray:
        """The flat render-pixel index each output pixel copies, made once per warp (every pass uses it)."""
        cached = self.__dict__.get("_nearest")
        if cached is None or cached[0] != (w, h):
            cols = np.clip(np.floor(self.map_u).astype(np.intp), 0, w - 1)
            rows = np.clip(np.floor(self.map_v).astype(np.intp), 0, h - 1)
            index = (rows * w + cols).ravel()
            cached = self.__dict__["_nearest"] = ((w, h), index.astype(np.int32) if h * w < 2**31 else index)
        return cached[1]

    def flow(self, flow: np.ndarray) -> np.ndarray:
        """Forward flow (render pixels) warped to the output: each output pixel's surface point moves to
        ``p_u + f`` in the undistorted view, so in the output it moves to distort(p_u + f) - its centre.
        Zero flow (no surface, or nothing moving) stays exactly zero."""
        f = self.nearest(flow)
        h, w = self.map_u.shape
        fx, fy, cx, cy = self.K[0, 0], self.K[1, 1], self.K[0, 2], self.K[1, 2]
        mx, my = self.margins
        un = (self.map_u.astype(np.float64) + f[..., 0] - mx - cx) / fx
        vn = (self.map_v.astype(np.float64) + f[..., 1] - my - cy) / fy
        xd, yd = self.distortion.distort(un, vn)
        u0 = (np.arange(w, dtype=np.float64) + 0.5)[None, :]
        v0 = (np.arange(h, dtype=np.float64) + 0.5)[:, None]
        out = np.stack([fx * xd + cx - u0, fy * yd + cy - v0], axis=-1).astype(np.float32)
        still = (f[..., 0] == 0) & (f[..., 1] == 0)
        out[still] = 0.0
        return out

    # -- points -------------------------------------------------------------------------------------------
    def project(self, cam_points: np.ndarray) -> np.ndarray:
        """Output pixel coordinates of camera-space points (N, 3), z > 0: ``cv2.projectPoints``' result."""
        p = np.asarray(cam_points, np.float64).reshape(-1, 3)
        xd, yd = self.distortion.distort(p[:, 0] / p[:, 2], p[:, 1] / p[:, 2])
        return np.stack([self.K[0, 0] * xd + self.K[0, 2], self.K[1, 1] * yd + self.K[1, 2]], axis=1)

    def render_to_output(self, u: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Render-pixel coordinates -> output-pixel coordinates (through the distortion)."""
        fx, fy, cx, cy = self.K[0, 0], self.K[1, 1], self.K[0, 2], self.K[1, 2]
        xd, yd = self.distortion.distort((np.asarray(u, np.float64) - self.margins[0] - cx) / fx,
                                         (np.asarray(v, np.float64) - self.margins[1] - cy) / fy)
        return fx * xd + cx, fy * yd + cy

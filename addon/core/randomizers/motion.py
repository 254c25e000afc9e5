"""Motion through a clip (issue 19): object trajectories, camera paths, light changes.

Every other randomizer draws a clip's start state (its draws are keyed by the clip); a motion type draws
its parameters from the same clip stream and evaluates them at the clip frames the bridge keys
(``FrameState.motion_frames``: t-1, t, t+1), so frame t of clip c is reproducible alone, with no state
carried from frame to frame. Values are offsets from the start state, never absolute poses, and hold the
frames they were evaluated at, so a record re-applies without sampling. In a still job (no clip) they are
all zero: a still is frame 0 of a clip.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import numpy as np

from ..params.distributions import Distribution
from ..params.schema import fld
from .base import Randomizer, const, deg, uni


def clip_span(ctx) -> tuple[tuple[int, ...], int]:
    """(the clip frames to evaluate, the clip length: at least 1) for this frame."""
    f = ctx.frame
    keys = f.motion_frames() if f.clip >= 0 else (0,)
    return keys, max(f.clip_length, 1)


def catmull_rom(points: np.ndarray, s: float) -> np.ndarray:
    """A point on the Catmull-Rom spline through ``points`` (N×3, N >= 2) at parameter ``s`` in [0, N-1]
    (one unit per segment; outside it the end segments' polynomials carry on smoothly)."""
    n = len(points)
    ext = np.vstack([2 * points[0] - points[1], points, 2 * points[-1] - points[-2]])
    i = min(max(int(math.floor(s)), 0), n - 2)
    u = s - i
    p0, p1, p2, p3 = ext[i], ext[i + 1], ext[i + 2], ext[i + 3]
    return 0.5 * (2 * p1 + (-p0 + p2) * u + (2 * p0 - 5 * p1 + 4 * p2 - p3) * u * u
                  + (-p0 + 3 * p1 - 3 * p2 + p3) * u ** 3)


def random_walk(rng: np.random.Generator, length: int, sigma: np.ndarray) -> np.ndarray:
    """Positions at clip frames -1..length (row t+1), 0 at frame 0: steps for the whole clip are drawn
    at once, so every frame sees the same walk."""
    steps = rng.normal(0.0, 1.0, size=(length + 1, len(sigma))) * sigma
    pos = np.vstack([np.zeros((1, len(sigma))), np.cumsum(steps, axis=0)])    # frames 0..length+1 -> shift
    return pos - pos[1]        # row 0: frame -1, row 1: frame 0 (= 0), row t+1: frame t


def smooth_shake(rng: np.random.Generator, amplitude: float, dims: int, waves: int = 3) -> list:
    """A smooth random wobble as ``f(t)``: a sum of sines with random periods (6-40 frames) and phases,
    evaluable at any frame without stepping through the clip (handheld cameras, flicker of slow lights)."""
    periods = rng.uniform(6.0, 40.0, size=(waves, dims))
    phases = rng.uniform(0.0, 2 * math.pi, size=(waves, dims))
    weights = rng.uniform(0.5, 1.0, size=(waves, dims))
    weights /= np.sqrt((weights ** 2).sum(axis=0) / 2.0)    # ~unit RMS per axis, then scaled

    def at(t: float) -> list[float]:
        w = np.sin(2 * math.pi * t / periods + phases) - np.sin(phases)     # 0 at frame 0: the start state
        return [float(x) for x in amplitude * (weights * w).sum(axis=0)]
    return at


@dataclass
class ObjectMotion(Randomizer):
    """Objects move through a clip from where the other randomizers put them: constant velocity, a random
    walk or a spline through random waypoints, with an optional spin. Select occluders to make them pass
    in front (``frame: camera``, heading 0 or 180)."""
    TYPE: ClassVar[str] = "object_motion"
    GROUP: ClassVar[str] = "objects"
    PHASE: ClassVar[int | None] = 9      # after placement (objects group), before materials
    TARGETS: ClassVar[str] = "objects"   # empty `select`: the labelled targets; names may pick occluders too

    model: Literal["constant_velocity", "random_walk", "spline"] = fld(
        "constant_velocity", "Trajectory: constant velocity, random walk, or a spline through random waypoints")
    frame: Literal["world", "local", "camera"] = fld(
        "world", "Axes the motion is drawn in: world; local (the object's own axes after placement, heading 0 "
                 "= its +X); camera (x right, y up on the image, z towards the camera)")
    speed: Distribution = fld(uni(0.02, 0.08), "Constant velocity: metres per frame", min=0.0)
    heading: Distribution = fld(uni(0, 360), "Constant velocity: direction in the x-y plane of `frame` "
                                             "(degrees from +x towards +y)")
    climb: Distribution = fld(const(0.0), "Constant velocity: angle above the x-y plane (degrees)",
                              min=-90, max=90)
    step: Distribution = fld(const(0.02), "Random walk: standard deviation of one frame's step per axis (m)",
                             min=0.0)
    vertical: bool = fld(False, "Random walk and spline: move along z too (else in the x-y plane)")
    extent: Distribution = fld(uni(0.5, 1.5), "Spline: waypoints lie within this distance of the start (m)",
                               min=0.0)
    waypoints: int = fld(3, "Spline: random waypoints after the start", min=1, max=64)
    spin: Distribution = fld(const(0.0), "Turn about z, degrees per frame")

    def sample(self, rng, ctx):
        keys, length = clip_span(ctx)
        out: dict[str, Any] = {}
        for name in ctx.targets:        # every object draws the same amount, hidden or not: streams stay aligned
            drawn: dict[str, Any] = {}
            offsets = self._offsets(rng, keys, length, drawn)
            spin = deg(self.spin, rng)
            out[name] = {"frames": list(keys), "frame": self.frame, "offset": offsets,
                         "spin": [spin * t + 0.0 for t in keys], "drawn": drawn | {"spin": spin}}
        return out

    def _offsets(self, rng, keys, length, drawn: dict) -> list[list[float]]:
        """Offsets (in `frame` axes) at the clip frames ``keys``; the draws they come from go in ``drawn``."""
        if self.model == "constant_velocity":
            speed, heading, climb = self.speed.sample(rng), deg(self.heading, rng), deg(self.climb, rng)
            v = speed * np.array([math.cos(climb) * math.cos(heading), math.cos(climb) * math.sin(heading),
                                  math.sin(climb)])
            drawn["velocity"] = [float(x) for x in v]
            return [[float(x) + 0.0 for x in v * t] for t in keys]
        if self.model == "random_walk":
            s = drawn["step"] = self.step.sample(rng)
            walk = random_walk(rng, length, np.array([s, s, s if self.vertical else 0.0]))
            return [[float(x) + 0.0 for x in walk[min(max(t, -1), length) + 1]] for t in keys]
        extent = drawn["extent"] = self.extent.sample(rng)
        pts = [np.zeros(3)]
        for _ in range(self.waypoints):
            d = rng.normal(size=3)
            if not self.vertical:
                d[2] = 0.0
            d /= max(np.linalg.norm(d), 1e-12)
            pts.append(d * extent * rng.uniform(0.3, 1.0) ** (1 / 3))
        points = np.array(pts)
        per = self.waypoints / max(length - 1, 1)
        return [[float(x) for x in catmull_rom(points, t * per)] for t in keys]


@dataclass
class CameraMotion(Randomizer):
    """The camera moves through a clip from its drawn start pose: an orbit about a point, a dolly along
    its view axis, a handheld wobble, or a spline path through random waypoints (orientation kept)."""
    TYPE: ClassVar[str] = "camera_motion"
    GROUP: ClassVar[str] = "camera"
    PHASE: ClassVar[int | None] = 24     # after the camera's start pose, before occluders (25) aim at it
    TARGETS: ClassVar[str] = "none"
    PER_OBJECT: ClassVar[bool] = False

    camera: str = fld("", "Camera object (empty: the scene camera)")
    model: Literal["orbit", "dolly", "handheld", "spline"] = fld("orbit", "Path: orbit, dolly, handheld, spline")
    target: str = fld("", "Orbit: object to orbit about (empty: the point `center`)")
    center: tuple[float, float, float] = fld((0.0, 0.0, 0.0), "Orbit: offset added to the target's location (m)")
    rate: Distribution = fld(uni(-1.5, 1.5), "Orbit: degrees per frame about the vertical axis")
    speed: Distribution = fld(uni(0.02, 0.1), "Dolly: metres per frame along the view axis (negative: back)")
    shake: Distribution = fld(const(0.01), "Handheld: wobble of the position (m)", min=0.0)
    shake_angle: Distribution = fld(const(0.3), "Handheld: wobble of the aim (degrees)", min=0.0)
    extent: Distribution = fld(uni(0.5, 1.5), "Spline: waypoints lie within this distance of the start (m)",
                               min=0.0)
    waypoints: int = fld(3, "Spline: random waypoints after the start", min=1, max=64)

    def sample(self, rng, ctx):
        keys, length = clip_span(ctx)
        out: dict[str, Any] = {"model": self.model, "frames": list(keys)}
        if self.model == "orbit":
            rate = out["rate"] = deg(self.rate, rng)
            out["angle"] = [rate * t + 0.0 for t in keys]
        elif self.model == "dolly":
            speed = out["speed"] = self.speed.sample(rng)
            out["distance"] = [speed * t + 0.0 for t in keys]
        elif self.model == "handheld":
            out["shake"], out["shake_angle"] = self.shake.sample(rng), deg(self.shake_angle, rng)
            move, turn = smooth_shake(rng, out["shake"], 3), smooth_shake(rng, out["shake_angle"], 3)
            out["offset"], out["rotation"] = [move(t) for t in keys], [turn(t) for t in keys]
        else:
            extent = out["extent"] = self.extent.sample(rng)
            pts = np.vstack([np.zeros(3), rng.uniform(-extent, extent, size=(self.waypoints, 3))])
            per = self.waypoints / max(length - 1, 1)
            out["offset"] = [[float(x) for x in catmull_rom(pts, t * per)] for t in keys]
        return out


@dataclass
class LightMotion(Randomizer):
    """Lights change through a clip: a flicker (random dips each frame, per light) or day to night (the
    energy of every selected light, and with `world` the world's strength, falls geometrically to `end` of
    its start value over the clip)."""
    TYPE: ClassVar[str] = "light_motion"
    GROUP: ClassVar[str] = "lighting"
    PHASE: ClassVar[int | None] = 48     # after lighting and environment (night, 45) set the start energies
    TARGETS: ClassVar[str] = "lights"
    PER_OBJECT: ClassVar[bool] = False   # {"lights": {name: ...}, "world": ...}

    model: Literal["flicker", "day_to_night"] = fld("flicker", "Change: flicker or day_to_night")
    depth: Distribution = fld(uni(0.2, 0.6), "Flicker: the deepest dip, as a share of the energy",
                              min=0.0, max=1.0)
    end: Distribution = fld(uni(0.02, 0.2), "Day to night: energy at the clip's last frame, as a share of "
                                            "the first", min=0.0)
    world: bool = fld(False, "Day to night: the world (HDRI, sky or colour) dims by the same factor")

    def sample(self, rng, ctx):
        keys, length = clip_span(ctx)
        out: dict[str, Any] = {"frames": list(keys), "lights": {}}
        if self.model == "day_to_night":
            end = out["end"] = max(self.end.sample(rng), 1e-6)
            factors = [float(end ** (t / max(length - 1, 1))) for t in keys]
            out["lights"] = {name: factors for name in ctx.targets}
            if self.world:
                out["world"] = factors
            return out
        out["depth"] = {}
        for name in ctx.targets:
            depth = out["depth"][name] = self.depth.sample(rng)
            dips = rng.uniform(0.0, 1.0, size=length + 2)    # frames -1..length: drawn whole, read by t
            out["lights"][name] = [1.0 if t == 0 else float(1.0 - depth * dips[min(max(t, -1), length) + 1])
                                   for t in keys]
        return out

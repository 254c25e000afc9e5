"""Sensor: what the camera does to the light after the scene (issue 18). Drawn like every randomizer, applied
after the frame's one render in numpy (``core/sensor``): lens distortion first (the render is made wider and
every label follows it), then the linear-light effects, then the display effects, each in stack order."""

from __future__ import annotations

GROUP_DOC = """\
Applied to the frame's one render, in numpy, after Cycles (`core/sensor`): lens distortion first (the frame is
rendered wider and every label follows the warp), then the linear-light effects, then the display effects, each
in stack order. Every draw is in the frame record; a frame with no enabled sensor randomizer (or only `defocus`,
below) is byte-identical to a plain render. *Render Preview* (the button beside Preview Frame) renders the
previewed frame as the dataset stores it, effects included. The dataset report plots each drawn field over the
frames and shows clean renders beside the stored images: up to 48 frames of a job (every frame of a small one)
keep a small thumbnail of the render before the stack in `clean/` (`files.clean` in the record). Cost: the
`dashcam.yaml` stack takes about 180 ms of one core at 640x480, about 3% of a 16-sample frame (5.9 s on 2 cores;
`benchmarks/bench_sensor.py`), plus the wider render a lens needs. A lens whose coefficients are fixed (a
calibrated camera) is solved once.

`sensor_noise` draws exact Poisson counts where they matter: where the shot plus read noise is less skewed than
0.2 (skewness lam / (lam + r^2)^1.5 for lam electrons, read noise r) it draws one Gaussian of the same mean and
variance: every pixel, once the read noise is 2 electrons or more.

`defocus` is the one type that acts before the render: it sets Cycles' depth of field on the scene camera
(f-stop, focus on a labelled target or at a distance, a focus error), after the camera group (it overrides
`camera_shell`'s `dof`). The blur is Cycles' own; masks and boxes are the render's Object Index pass as always.

Not sensor draws:
- **Motion blur** is Cycles' own: `render.motion_blur`, along the motion keyed around a clip job's frame, and
  off while `output.flow` is on (Cycles then writes an empty vector pass). The shutter is not drawn per frame yet.
- **Rolling shutter** is out of scope for now: it needs the scene at several times within one exposure (a
  render per band of rows), which a single-render pipeline does not have.
"""

from dataclasses import dataclass
from typing import ClassVar, Literal

from ..params.distributions import Distribution, parse
from ..params.schema import fld
from .base import Randomizer, const, uni


@dataclass
class _Sensor(Randomizer):
    GROUP: ClassVar[str] = "sensor"
    TARGETS: ClassVar[str] = "none"
    PER_OBJECT: ClassVar[bool] = False
    PER_VIEW: ClassVar[bool] = True       # each view is its own exposure


@dataclass
class LensDistortion(_Sensor):
    """Lens distortion, OpenCV conventions: Brown-Conrady (k1 k2 k3 radial, p1 p2 tangential) or fisheye
    (equidistant, k1..k4 = k1 k2 k3 k4). The render is made wider first so the warp never reads past its
    edge; masks, depth, normals, flow, boxes, amodal boxes, keypoints and visibility follow the warp, and the
    record's camera.distortion holds the model and coefficients next to K."""
    TYPE: ClassVar[str] = "lens_distortion"

    model: Literal["brown_conrady", "fisheye"] = fld("brown_conrady", "brown_conrady: OpenCV's [k1, k2, p1, p2, "
                                                     "k3]; fisheye: cv2.fisheye's equidistant [k1, k2, k3, k4]")
    k1: Distribution = fld(uni(-0.25, 0.05), "First radial coefficient (< 0: barrel, > 0: pincushion)",
                           min=-2.0, max=2.0)
    k2: Distribution = fld(const(0.0), "Second radial coefficient", min=-2.0, max=2.0)
    k3: Distribution = fld(const(0.0), "Third radial coefficient", min=-2.0, max=2.0)
    k4: Distribution = fld(const(0.0), "Fourth radial coefficient (fisheye only)", min=-2.0, max=2.0)
    p1: Distribution = fld(const(0.0), "First tangential coefficient (brown_conrady only)", min=-0.1, max=0.1)
    p2: Distribution = fld(const(0.0), "Second tangential coefficient (brown_conrady only)", min=-0.1, max=0.1)
    max_overscan: float = fld(2.0, "Largest render size over the output size the warp may ask for (per axis)",
                              min=1.0, max=4.0)

    def sample(self, rng, ctx):
        k1, k2, k3, k4, p1, p2 = (d.sample(rng) for d in (self.k1, self.k2, self.k3, self.k4, self.p1, self.p2))
        coefficients = [k1, k2, p1, p2, k3] if self.model == "brown_conrady" else [k1, k2, k3, k4]
        return {"model": self.model, "coefficients": [float(c) for c in coefficients],
                "max_overscan": float(self.max_overscan)}


@dataclass
class SensorNoise(_Sensor):
    """Poisson-Gaussian sensor noise in linear light, per channel: a pixel of linear value x collects
    x * full_well * sensitivity / (iso / 100) electrons (shot noise), plus Gaussian read noise in electrons.
    Salt and pepper (dead and hot pixels) as a share of pixels, usually a rare event."""
    TYPE: ClassVar[str] = "sensor_noise"

    iso: Distribution = fld(parse({"log_uniform": [100, 3200]}), "ISO: gain = iso / 100 (fewer electrons per "
                                                                 "signal level: more shot noise)", min=1.0)
    full_well: float = fld(8000.0, "Electrons that make full white at ISO 100", min=1.0)
    read_noise: Distribution = fld(uni(1.5, 4.0), "Read noise (electrons, standard deviation)", min=0.0)
    sensitivity: tuple[float, float, float] = fld((0.6, 1.0, 0.5), "Relative sensitivity of R, G, B (a Bayer "
                                                                   "sensor's blue collects fewest photons)",
                                                  min=0.01, max=1.0)
    salt_pepper: Distribution = fld(parse({"constant": 0.0, "rare": {"p": 0.05, "uniform": [0.0005, 0.005]}}),
                                    "Share of pixels stuck black or white (by default a rare event)",
                                    min=0.0, max=0.5)

    def sample(self, rng, ctx):
        return {"iso": self.iso.sample(rng), "full_well": float(self.full_well),
                "read_noise": self.read_noise.sample(rng), "sensitivity": [float(s) for s in self.sensitivity],
                "salt_pepper": self.salt_pepper.sample(rng), "seed": int(rng.integers(0, 2**31 - 1))}


@dataclass
class Blur(_Sensor):
    """Gaussian blur in linear light (a soft lens, missed focus over the whole frame)."""
    TYPE: ClassVar[str] = "blur"

    sigma: Distribution = fld(uni(0.0, 1.5), "Standard deviation of the Gaussian (output pixels)", min=0.0, max=20.0)

    def sample(self, rng, ctx):
        return {"sigma": self.sigma.sample(rng)}


@dataclass
class Exposure(_Sensor):
    """Exposure compensation: linear light times 2^ev, clipped at white."""
    TYPE: ClassVar[str] = "exposure"

    ev: Distribution = fld(parse({"normal": [0.0, 0.5], "clip": [-2.0, 2.0]}), "Exposure change in stops", min=-10, max=10)

    def sample(self, rng, ctx):
        return {"ev": self.ev.sample(rng)}


@dataclass
class WhiteBalance(_Sensor):
    """A colour cast: the scene's light at `temperature` seen by a camera balanced for daylight (6504 K), and a
    green-magenta tint. Gains keep the mean brightness."""
    TYPE: ClassVar[str] = "white_balance"

    temperature: Distribution = fld(uni(4500, 8500), "Colour temperature of the cast (K; lower is warmer)",
                                    min=1667, max=25000)
    tint: Distribution = fld(uni(-0.05, 0.05), "Green (> 0) or magenta (< 0) shift of the green gain",
                             min=-0.5, max=0.5)

    def sample(self, rng, ctx):
        return {"temperature": self.temperature.sample(rng), "tint": self.tint.sample(rng)}


@dataclass
class Tone(_Sensor):
    """Gamma and contrast of the camera's processing, on the display image: y = x^gamma, then contrast about
    mid grey."""
    TYPE: ClassVar[str] = "tone"

    gamma: Distribution = fld(uni(0.8, 1.25), "Power applied to display values (> 1: darker mid-tones)",
                              min=0.1, max=10.0)
    contrast: Distribution = fld(uni(0.85, 1.2), "Contrast about mid grey (1: unchanged)", min=0.0, max=5.0)

    def sample(self, rng, ctx):
        return {"gamma": self.gamma.sample(rng), "contrast": self.contrast.sample(rng)}


@dataclass
class Vignetting(_Sensor):
    """Light fall-off towards the corners: linear light times 1 - strength * (r / r_corner)^2 about the
    principal point."""
    TYPE: ClassVar[str] = "vignetting"

    strength: Distribution = fld(uni(0.0, 0.4), "Loss of light at the farthest corner (0..1)", min=0.0, max=1.0)

    def sample(self, rng, ctx):
        return {"strength": self.strength.sample(rng)}


@dataclass
class ChromaticAberration(_Sensor):
    """Lateral chromatic aberration: red magnified and blue shrunk about the principal point (per-channel scale),
    green left where the labels are."""
    TYPE: ClassVar[str] = "chromatic_aberration"

    shift: Distribution = fld(uni(0.0, 1.5), "Red/blue displacement at the farthest corner (pixels)",
                              min=0.0, max=50.0)

    def sample(self, rng, ctx):
        return {"shift": self.shift.sample(rng)}


@dataclass
class Jpeg(_Sensor):
    """JPEG compression at a drawn quality: the stored image is the compressed one (a JPEG output is written at
    this quality; a PNG output holds the decoded JPEG)."""
    TYPE: ClassVar[str] = "jpeg"

    quality: Distribution = fld(uni(40, 95), "JPEG quality (rounded to an integer)", min=1, max=100)

    def sample(self, rng, ctx):
        return {"quality": int(round(self.quality.sample(rng)))}


@dataclass
class Resize(_Sensor):
    """Down-scaling then up-scaling back to the output size: the detail of a smaller sensor or a re-encoded
    stream."""
    TYPE: ClassVar[str] = "resize"

    factor: Distribution = fld(uni(0.4, 1.0), "Size of the intermediate image over the output size", min=0.05,
                               max=1.0)

    def sample(self, rng, ctx):
        return {"factor": self.factor.sample(rng)}


@dataclass
class Defocus(_Sensor):
    """Depth of field as a sensor draw: Cycles renders through an aperture of a drawn f-stop, focused on a
    labelled target picked per frame (or at a drawn distance), missing it by a drawn share. Unlike the other
    sensor types it acts on the render itself (set on the scene camera before Cycles runs, after the camera
    group, whose `dof` it overrides); labels are the render's as always."""
    TYPE: ClassVar[str] = "defocus"         # in core.sensor's SCENE_SIDE: it changes the render, not the image

    fstop: Distribution = fld(parse({"log_uniform": [1.4, 8.0]}), "Aperture f-stop (smaller: shallower focus)",
                              min=0.1, max=128.0)
    focus: Literal["target", "distance"] = fld("target", "target: a labelled target in front of the camera, "
                                                         "picked per frame; distance: at `distance`")
    distance: Distribution = fld(uni(1.0, 10.0), "Focus distance when focus is distance, or no target is in "
                                                 "front of the camera (m)", min=0.01)
    focus_error: Distribution = fld(parse({"normal": [0.0, 0.03], "clip": [-0.2, 0.2]}),
                                    "Missed focus: the focus distance times 1 + this", min=-0.9, max=10.0)

    def sample(self, rng, ctx):
        return {"fstop": self.fstop.sample(rng), "distance": self.distance.sample(rng),
                "focus_error": self.focus_error.sample(rng), "pick": float(rng.random())}

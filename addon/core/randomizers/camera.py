"""Camera: shell around a target, look-at, lens, depth of field, several cameras, targets visible."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from ..params.distributions import Distribution
from ..params.schema import SchemaError, fld
from .base import Randomizer, const, deg, names, uni


@dataclass
class CameraShell(Randomizer):
    """Camera on a spherical shell around a target, looking at it, with roll, lens and depth of field."""
    TYPE: ClassVar[str] = "camera_shell"
    GROUP: ClassVar[str] = "camera"
    TARGETS: ClassVar[str] = "none"
    PER_OBJECT: ClassVar[bool] = False
    # Each view of a multi-view job (camera_select mode each) gets its own pose; the scene stays shared.
    PER_VIEW: ClassVar[bool] = True

    camera: str = fld("", "Camera object (empty: the scene camera, e.g. the one camera_select chose)")
    target: str = fld("", "Object to look at (empty: the point `look_at`)")
    look_at: tuple[float, float, float] = fld((0.0, 0.0, 0.0), "Offset added to the target's location (m)")
    jitter: Distribution = fld(const(0.0), "Offset of the look-at point, drawn per axis (m)")
    distance: Distribution = fld(uni(1.0, 2.0), "Distance to the target (m)", min=0.0)
    elevation: Distribution = fld(uni(20, 60), "Elevation above the target's horizon (degrees)", min=-90, max=90)
    azimuth: Distribution = fld(uni(0, 360), "Azimuth around the target (degrees)")
    roll: Distribution = fld(const(0.0), "Roll about the viewing axis (degrees)")
    focal_length: Distribution = fld(const(35.0), "Lens focal length (mm)", min=1.0)
    sensor_width: Distribution = fld(const(36.0), "Sensor width (mm)", min=1.0)
    dof: bool = fld(False, "Depth of field, focused on the (jittered) look-at point")
    fstop: Distribution = fld(uni(1.8, 8.0), "Aperture f-stop when dof is on (smaller: more blur)", min=0.1)
    min_visible: int = fld(0, "Targets visible: at least this many labelled targets must be visible (0: off)",
                           min=0, max=65535)
    min_visibility: float = fld(0.5, "Targets visible: fraction of a target's area that must be seen",
                                min=0.0, max=1.0)
    max_tries: int = fld(10, "Targets visible: candidate poses tried per frame (the best is kept if none passes)",
                         min=1, max=1000)

    def tries(self) -> int:
        return self.max_tries if self.min_visible > 0 else 1

    def sample(self, rng, ctx):
        """All candidate poses are drawn up front, so the record is pure data and the bridge only picks."""
        poses = []
        for _ in range(self.tries()):
            pose: dict[str, Any] = {
                "distance": self.distance.sample(rng), "elevation": deg(self.elevation, rng),
                "azimuth": deg(self.azimuth, rng), "roll": deg(self.roll, rng),
                "jitter": [float(self.jitter.sample(rng)) for _ in range(3)],
                "focal_length": self.focal_length.sample(rng), "sensor_width": self.sensor_width.sample(rng)}
            if self.dof:
                pose["fstop"] = self.fstop.sample(rng)
            poses.append(pose)
        return {"poses": poses}


@dataclass
class CameraSelect(Randomizer):
    """Which camera renders: one picked per frame (weighted), or each in turn over the same scene sample."""
    TYPE: ClassVar[str] = "camera_select"
    GROUP: ClassVar[str] = "camera"
    TARGETS: ClassVar[str] = "none"
    PHASE: ClassVar[int | None] = 19        # before the rest of the camera group, which acts on scene.camera
    PER_OBJECT: ClassVar[bool] = False
    PER_VIEW: ClassVar[bool] = True

    cameras: Distribution = fld(names("Camera"), "Camera objects: {choice: [CamA, CamB], weights: [1, 3]}",
                                subtype="names")
    mode: Literal["pick", "each"] = fld("pick", "pick: one camera per frame (weights apply); each: every camera "
                                                "renders the same scene sample, one frame each")

    def views(self) -> int:
        return len(self.cameras.choices) if self.mode == "each" else 1

    def check(self, path):
        if len(set(self.cameras.choices)) != len(self.cameras.choices):
            raise SchemaError("a camera is listed twice", path + ("cameras",), self.cameras.choices,
                              "distinct camera names")

    def sample(self, rng, ctx):
        if self.mode == "each":
            return {"camera": self.cameras.choices[ctx.frame.index % len(self.cameras.choices)]}
        return {"camera": self.cameras.sample(rng)}

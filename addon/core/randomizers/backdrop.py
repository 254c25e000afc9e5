"""Real photos as backgrounds (environment group): seen by camera rays only, with a shadow-catcher ground."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from ..params.distributions import Distribution
from ..params.schema import fld
from .base import Randomizer, const

PHOTO_SUFFIXES = (".jpg", ".jpeg", ".png", ".exr", ".hdr", ".tif", ".tiff", ".webp")


def cover_fit(photo_size, render_size, zoom: float = 1.0, offset=(0.5, 0.5)):
    """Mapping scale and location that crop a photo to fill the frame (Window coordinates 0..1) keeping
    its aspect: the largest crop that fits (divided by ``zoom``), placed at ``offset`` (0..1) of the slack
    on each axis. Returns ((sx, sy, 1), (ox, oy, 0)): photo uv = window uv * s + o."""
    pa = photo_size[0] / max(photo_size[1], 1)
    ra = render_size[0] / max(render_size[1], 1e-9)
    sx, sy = min(1.0, ra / pa) / zoom, min(1.0, pa / ra) / zoom
    return (sx, sy, 1.0), ((1.0 - sx) * offset[0], (1.0 - sy) * offset[1], 0.0)


@dataclass
class BackgroundPhoto(Randomizer):
    """A photo from a folder behind the scene: camera rays see it, lighting still comes from the world."""
    TYPE: ClassVar[str] = "background_photo"
    GROUP: ClassVar[str] = "environment"
    TARGETS: ClassVar[str] = "none"
    PER_OBJECT: ClassVar[bool] = False

    folder: str = fld("builtin:asset_library/backgrounds", "Folder of photos (.jpg, .png, ...; absolute, "
                      "builtin:..., or relative to the .blend / working folder)", subtype="DIR_PATH")
    probability: float = fld(1.0, "Share of frames that show a photo (the others show the world)", min=0.0, max=1.0)
    zoom: Distribution = fld(const(1.0), "Zoom into the photo beyond the cover fit (1: the largest crop)",
                             min=1.0, max=20.0)
    shadow_catcher: str = fld("", "Ground object made a shadow catcher: it shows the photo with the shadows "
                              "of the objects on it (empty: none)")

    def sample(self, rng, ctx):
        photos = ctx.data.get("photos") or []
        show = bool(rng.random() < self.probability) and bool(photos)
        k = int(rng.integers(len(photos))) if photos else 0
        return {"photo": photos[k] if show else "", "zoom": self.zoom.sample(rng),
                "offset": [float(rng.random()), float(rng.random())]}

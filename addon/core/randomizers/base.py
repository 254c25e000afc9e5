"""The randomizer contract (DESIGN §1): a typed, named unit with ``sample(rng, ctx) -> values``.

``values`` are plain JSON data that go into the frame record, so any frame can be re-applied (and
re-rendered) from its record alone. The bridge holds the matching ``apply``. Angles in parameters are
degrees; in values, radians.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from ..params.distributions import Distribution
from ..params.schema import fld, path_str

GROUPS = ("objects", "materials", "camera", "lighting", "environment", "sensor")   # sensor: after the render


def const(v: float) -> Distribution:
    return Distribution.constant(v)


def uni(lo: float, hi: float) -> Distribution:
    return Distribution.uniform(lo, hi)


def names(*choices: str) -> Distribution:
    """A choice of names (for fields declared with ``subtype="names"``)."""
    return Distribution(kind="choice", choices=list(choices))


def deg(d: Distribution, rng: np.random.Generator) -> float:
    """One draw of a parameter written in degrees, as radians."""
    return math.radians(d.sample(rng))


@dataclass
class Selector:
    """Which objects a rule or randomizer acts on. Every given condition must hold; empty = all targets."""
    collection: str = fld("", "Objects in this collection (and its children)")
    names: list[str] = fld([], "Object names; shell-style patterns allowed (Mug*, Can.00?)")
    category: str = fld("", "Objects labelled with this category")

    def is_empty(self) -> bool:
        return not (self.collection or self.names or self.category)


@dataclass
class FrameState:
    """What the randomizers of one frame share, filled in application order (pure, rebuilt per frame).

    Later randomizers see what earlier ones decided: objects hidden by a count randomizer are not
    placed, footprints placed on a surface are avoided by the next scatter on it."""
    index: int = 0                                   # the dataset frame index
    scene_index: int = 0                             # what scene draws are keyed by (multi-view: index // views)
    balance: dict[str, dict[str, float]] = field(default_factory=dict)   # attribute -> normalised shares
    hidden: set[str] = field(default_factory=set)    # objects hidden this frame by an earlier randomizer
    placed: dict[str, list] = field(default_factory=dict)   # surface name -> [(x, y, z, radius), ...]
    shapes: dict[str, list] = field(default_factory=dict)   # object -> local box corners this frame (pool assets)
    clip: int = -1                                   # clip jobs: the clip index (-1: a still)
    clip_frame: int = 0                              # clip jobs: the frame t within the clip
    clip_length: int = 0                             # clip jobs: frames per clip (0: a still)
    clip_keys: tuple[int, ...] = ()                  # clip frames motion is evaluated at (default t-1, t, t+1)

    def motion_frames(self) -> tuple[int, ...]:
        """The clip frames a motion type keys: t-1, t, t+1 (so the Vector pass and motion blur see real
        motion around the rendered frame), or every frame of the clip for a preview."""
        if self.clip_keys:
            return self.clip_keys
        t = self.clip_frame
        return (t - 1, t, t + 1)


@dataclass
class Context:
    """What a sampler may know about the scene: resolved, sorted target names and static geometry
    (measured once per job by the bridge), plus the frame's shared state."""
    targets: list[str] = field(default_factory=list)
    footprints: dict[str, float] = field(default_factory=dict)   # footprint radius per object (m)
    bounds: tuple[float, float, float, float] | None = None      # surface top: xmin, xmax, ymin, ymax
    data: dict[str, Any] = field(default_factory=dict)           # anything else a type needs (meshes, files)
    frame: FrameState = field(default_factory=FrameState)


@dataclass
class Randomizer:
    REGISTRY: ClassVar[dict[str, type]] = {}
    TYPE: ClassVar[str] = ""
    GROUP: ClassVar[str] = ""
    TARGETS: ClassVar[str] = "objects"   # what `select` picks: labelled objects, any objects, lights, or none
    SWAPS_MESHES: ClassVar[bool] = False  # puts other meshes in objects per frame (render: keeps the light tree)
    PHASE: ClassVar[int | None] = None   # application order; None: its group's place (objects 0 ... environment 40)
    PER_OBJECT: ClassVar[bool] = True    # values are {object name: {...}} (may carry "attributes")
    PER_VIEW: ClassVar[bool] = False     # draws keyed by the frame index even when views share a scene

    name: str = fld("", "Stable name: keys this randomizer's random stream (unique in the recipe)")
    enabled: bool = fld(True, "A muted randomizer draws nothing and changes nothing")
    select: Selector = fld(Selector(), "Which objects it acts on")

    def __init_subclass__(cls, **kw):
        super().__init_subclass__(**kw)
        if cls.TYPE:
            Randomizer.REGISTRY[cls.TYPE] = cls

    def key(self) -> str:
        return f"{self.GROUP}/{self.name or self.TYPE}"

    def where(self) -> str:
        """Its field path for messages (``randomizers.objects[0]``), known once its recipe was checked;
        the CLI turns it into the preset's file and line."""
        path = getattr(self, "_path", None)
        return path_str(path) if path else self.key()

    @classmethod
    def phase(cls) -> int:
        return cls.PHASE if cls.PHASE is not None else GROUPS.index(cls.GROUP) * 10

    def balances(self) -> dict[str, Any]:
        """Attributes whose recipe balance targets this randomizer follows, each with a check of a value
        name (or None: any). The recipe refuses a balance target that nothing follows."""
        return {}

    def views(self) -> int:
        """How many consecutive frames render one scene sample (from different cameras)."""
        return 1

    def sample(self, rng: np.random.Generator, ctx: Context) -> dict[str, Any]:
        raise NotImplementedError

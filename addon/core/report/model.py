"""What a dataset report holds, independent of how it is drawn: ``stats``/``real``/``compare`` fill it
from a dataset folder (and a real COCO file), ``plots``/``sheet``/``page`` draw it. Plain data only,
so the drawing side can be tested with hand-made reports and the data side without matplotlib."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .sensor import SensorSummary
from .tracks import TrackStats

SYNTHETIC, REAL = "synthetic", "real"


@dataclass(frozen=True)
class Statistic:
    """A numeric per-box or per-image statistic: how to title it, its unit, and how to plot it."""
    key: str
    title: str
    unit: str
    per: str            # "box" or "image": what one sample is
    log: bool = False   # plot on a log x axis (sizes and ratios span decades)
    bounds: tuple[float, float] | None = None   # the statistic's whole range (shares): the plot's x axis


# The numeric statistics, in the order the report shows them. A dataset has a sample array for each key it
# can say something about (real COCO has no visibility or depth; brightness needs the images).
STATISTICS: tuple[Statistic, ...] = (
    Statistic("box_size", "Box size", "√(box area / image area)", "box", log=True),
    Statistic("aspect", "Box aspect ratio", "width / height", "box", log=True),
    Statistic("visibility", "Visibility", "visible share of the object's silhouette", "box", bounds=(0.0, 1.0)),
    Statistic("truncation", "Truncation", "share of the object outside the image", "box", bounds=(0.0, 1.0)),
    Statistic("depth", "Object depth", "m from the camera (camera-space z)", "box"),
    Statistic("objects_per_image", "Objects per image", "visible instances", "image"),
    Statistic("brightness", "Image brightness", "mean luma of the stored sRGB values, 0-1", "image",
              bounds=(0.0, 1.0)),
)
BY_KEY = {s.key: s for s in STATISTICS}


@dataclass
class Stats:
    """One dataset's statistics, synthetic or real, in the shape every plot and table reads."""
    label: str                                      # SYNTHETIC or REAL (legends, table headers)
    images: int
    instances: int                                  # visible instances (boxes) counted below
    categories: dict[str, int]                      # instances per category name, in the dataset's order
    attributes: dict[str, dict[str, int]]           # attribute -> value -> instances ({} for real data)
    numeric: dict[str, np.ndarray]                  # Statistic.key -> 1-D float samples; absent = unknown
    centres: np.ndarray                             # (n, 2) box centres, image-relative [0, 1], x right, y down


def summary(samples: np.ndarray | None) -> dict[str, float | int | None]:
    """n, mean, median, p5 and p95 of a statistic's finite samples (None where there are none)."""
    a = np.asarray(samples if samples is not None else (), np.float64).ravel()
    a = a[np.isfinite(a)]
    if not a.size:
        return {"n": 0, "mean": None, "median": None, "p5": None, "p95": None}
    p5, median, p95 = np.percentile(a, [5, 50, 95])
    return {"n": int(a.size), "mean": float(a.mean()), "median": float(median), "p5": float(p5), "p95": float(p95)}


@dataclass
class Gap:
    """How far the synthetic data is from the real data on one statistic (compare mode)."""
    key: str                    # a Statistic.key, or "categories" for the category shares
    title: str
    distance: float             # KS statistic (numeric) or total variation (categories): 0 same, 1 disjoint
    measure: str                # "KS" or "TV"
    wasserstein: float | None   # 1-D Wasserstein distance in the statistic's unit (numeric only)
    synthetic_median: float | None
    real_median: float | None
    n_synthetic: int
    n_real: int


@dataclass
class FrameRow:
    """One frame's figures: what "worst frames" ranks by, and what the contact sheet captions."""
    index: int
    image: str                  # path relative to the dataset folder
    objects: int                # visible instances
    min_visibility: float | None
    mean_visibility: float | None
    brightness: float | None
    smallest_box: float | None  # the smallest box_size in the frame


@dataclass
class RareRow:
    """How often one randomized parameter took its rare-event branch, against the recipe's ``rare.p``."""
    parameter: str              # "<group>/<name>.<field>", e.g. "lighting/key.energy"
    p: float                    # configured probability
    draws: int
    hits: int

    @property
    def share(self) -> float:
        return self.hits / self.draws if self.draws else 0.0


@dataclass
class RealFrame:
    """A real image for the real-data contact sheet, with its COCO boxes (crowd regions left out)."""
    image: Path                                  # where it was found (--images REAL_DIR / file_name)
    name: str                                    # its file_name in the COCO file
    boxes: list[tuple[str, list[float]]]         # (category name, [x, y, w, h])


@dataclass
class JobInfo:
    """What the job was: for the report's header and its "job" section."""
    frames_done: int
    frames_planned: int
    seed: int
    recipe_hash: str
    created: str
    blender: str
    version: str
    resolution: tuple[int, int] | None
    shards: list[dict[str, Any]]                # core.dataset.status ShardStatus rows as dicts (may be empty)
    seconds_per_frame: np.ndarray               # per rendered frame, where heartbeats recorded it (may be empty)
    constraint_failures: dict[str, int]         # randomizer key -> frames where its constraint failed
    failed_shards: list[int]


@dataclass
class Report:
    root: Path                                  # the dataset folder
    title: str
    job: JobInfo
    synthetic: Stats
    real: Stats | None = None                   # with --compare
    real_source: str | None = None              # the real COCO file, as given
    gaps: list[Gap] = field(default_factory=list)          # largest distance first
    balance: list[dict[str, Any]] = field(default_factory=list)   # attribute, value, target, achieved, instances
    rare: list[RareRow] = field(default_factory=list)
    frames: list[FrameRow] = field(default_factory=list)   # every frame, in index order
    sample_frames: list[int] = field(default_factory=list)  # indices for the contact sheet
    real_frames: list[RealFrame] = field(default_factory=list)  # real images for theirs (--images)
    worst_metric: str = "min_visibility"        # a FrameRow field; lower is worse for every metric
    worst_frames: list[int] = field(default_factory=list)   # indices, worst first
    notes: list[str] = field(default_factory=list)          # things the reader should know (e.g. no images)
    sensor: SensorSummary = field(default_factory=SensorSummary)  # sensor draws, clean thumbnails (issue 18)
    tracks: TrackStats | None = None                        # a clip job's track statistics (report/tracks.py)

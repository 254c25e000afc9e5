"""SynthKiln's Python API: load and edit a recipe, render it, read the dataset, export and check it.

Import it as ``import synthkiln``; every public name is listed in ``synthkiln.__all__`` and documented in
``docs/api.md``. Everything else in the package (``synthkiln.addon``, ``synthkiln.headless.*``) is internal
and may change between versions.

Rendering never runs in the caller's process: Blender's state (the ``bpy`` module) is global to a process,
a crash in it would take the caller down, and its memory grows over long jobs. ``render`` starts
``python -m synthkiln render`` child processes instead (the CLI's worker pool), watches their frame records
for progress, and returns when the job or shard is done. Everything else here (``load_recipe``,
``open_dataset``, ``export``, ``check``) needs no Blender at all.

Errors a user can cause raise ``UserError`` (or its kinds ``PresetError``, ``DatasetError``) with one clear
message; a Ctrl-C during ``render`` stops every child and raises ``KeyboardInterrupt``.
"""

from __future__ import annotations

import functools
import os
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

import numpy as np

from ..addon.core import VERSION
from ..addon.core.dataset import check as _check
from ..addon.core.dataset import layout as _layout
from ..addon.core.dataset.job import read_manifest as _read_manifest
from ..addon.core.dataset.records import read_record as _read_record
from ..addon.core.errors import DatasetError, PresetError, SynthKilnError, UserError
from ..addon.core.exports import build as _exports
from ..addon.core.exports.common import Split
from ..addon.core.images import exr as _exr
from ..addon.core.images.pillow import import_pillow as _import_pillow
from ..addon.core.params.schema import SchemaError as _SchemaError
from ..addon.core.params.schema import from_data as _from_data
from ..addon.core.params.schema import path_str as _path_str
from ..addon.core.params.schema import to_data as _to_data
from ..addon.core.recipe import preset as _preset
from ..addon.core.recipe.model import Recipe, recipe_from_data as _recipe_from_data
from . import options as _options
from . import rendering as _rendering
from . import workers as _workers
from .progress import Pace as _Pace

__version__ = VERSION

__all__ = [
    "__version__", "Recipe", "load_recipe", "save_recipe", "render", "Progress", "open_dataset", "Dataset",
    "Frame", "export", "check", "CheckResult", "SynthKilnError", "UserError", "PresetError", "DatasetError",
]

PathLike = str | os.PathLike


# -- recipes ---------------------------------------------------------------------------------------------

def load_recipe(path: PathLike, overrides: dict[str, Any] | None = None) -> Recipe:
    """Read a YAML preset (with everything it ``extends:``) into a ``Recipe``, checked against the schema.

    ``overrides`` is recipe-shaped data merged on top, e.g. ``{"output": {"frames": 100}}``. The ``Recipe``
    is a tree of plain dataclasses (``recipe.output.frames``, ``recipe.render.resolution``,
    ``recipe.randomizers.camera[0]``...): edit it, then ``render`` it or ``save_recipe`` it. Relative input
    paths (asset library, texture folders) come back absolute, so the recipe works from any folder.

    Raises ``PresetError`` (file, line, field path, value and what was expected) or ``UserError``."""
    return _preset.load_preset(Path(path), overrides)


def _checked(recipe: Recipe) -> Recipe:
    """A checked copy of an edited recipe: the schema's own check of every field, as a preset's."""
    if not isinstance(recipe, Recipe):
        raise UserError(f"expected a synthkiln.Recipe, got {type(recipe).__name__}")
    try:
        return _from_data(Recipe, _to_data(recipe))
    except _SchemaError as e:
        raise UserError(f"recipe: {_path_str(e.path)}: {e}") from None


def save_recipe(recipe: Recipe, path: PathLike) -> Path:
    """Check ``recipe`` against the schema and write it as a YAML preset (atomically); returns the path.

    The file is an ordinary preset: ``synthkiln render``, ``synthkiln farm`` and ``load_recipe`` read it."""
    path = Path(path)
    _preset.save_preset(_checked(recipe), path)
    return path


# -- rendering -------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Progress:
    """What ``render`` tells its ``progress`` callback after each frame: ``frame``, the index of the frame
    just finished; ``done`` of ``total``, the finished frames of this render's scope (the job, or its
    shard); ``elapsed``, seconds since ``render`` started; ``eta``, seconds left at this run's pace (frames
    finished before it, on a resume, are not in the pace)."""
    frame: int
    done: int
    total: int
    elapsed: float
    eta: float


def _number(name: str, value: int | None, lo: int, hi: int | None = None) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < lo or (hi is not None and value > hi):
        expected = f"an integer in {lo}..{hi}" if hi is not None else f"an integer >= {lo}"
        raise UserError(f"{name}={value!r}: expected {expected}")


def _shard_text(shard: str | tuple[int, int] | None) -> str | None:
    if shard is None or isinstance(shard, str):
        return shard
    try:
        k, n = shard
    except (TypeError, ValueError):
        raise UserError(f"shard={shard!r}: expected 'K/N' or a pair (K, N)") from None
    return f"{k}/{n}"


def render(source: Recipe | PathLike, out: PathLike, *, preset: PathLike | None = None, frames: int | None = None,
           seed: int | None = None, shard: str | tuple[int, int] | None = None, workers: int | str = "auto",
           recycle: int = _workers.DEFAULT_RECYCLE, resolution: str | tuple[int, int] | None = None,
           samples: int | None = None, progress: Callable[[Progress], None] | None = None,
           python: PathLike | None = None) -> "Dataset":
    """Render a dataset into the folder ``out`` and return it, opened.

    ``source`` is a ``Recipe``, a preset ``.yaml``, or a ``.blend`` whose scene holds a recipe (``preset``:
    a YAML applied over it). ``frames``, ``seed``, ``resolution`` (``(w, h)`` or ``"WxH"``) and ``samples``
    override the recipe. ``shard`` (``(k, n)`` or ``"k/n"``, where ``k`` may name an environment variable)
    renders only that share of the frames. Resumes: frames that already have a record are skipped.

    The frames render in ``workers`` child processes (``python -m synthkiln render`` with ``python``, by
    default this interpreter), each restarted after ``recycle`` frames so memory stays bounded: the same
    pool as the CLI's ``--workers``, and the same files as a single process. ``"auto"`` (the default) sizes
    the pool as the CLI's ``--workers auto`` does: by the cores, the memory and the frame size.
    ``progress`` is called in this process after each frame with a ``Progress``. Once every frame of the
    job is there, the recipe's exports are written.

    Raises ``UserError`` before anything is written for a bad input, or with the failing child's message."""
    _number("frames", frames, 1)
    _number("seed", seed, 0, 2**31 - 1)
    _number("samples", samples, 1)
    if workers != "auto" and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        raise UserError(f"workers={workers!r}: expected an integer >= 1 or 'auto'")
    _number("recycle", recycle, 1)
    size = _options.parse_resolution(resolution, "resolution")
    with tempfile.TemporaryDirectory(prefix="synthkiln-recipe-") as tmp:
        if isinstance(source, Recipe):
            recipe = _checked(source)
            # relative input paths are relative to the working folder, as they were when edited here
            _preset.anchor_paths(recipe, Path.cwd())
            source = Path(tmp) / "recipe.yaml"
            _preset.save_preset(recipe, source)
        req = _rendering.prepare(Path(source), preset, frames, seed, Path(out).resolve(), size, samples,
                                 _shard_text(shard), out_name="out")
        exe = os.fspath(python) if python is not None else sys.executable
        recipe = req.recipe if req.recipe is not None else _rendering.blend_job(req, exe)[0]
        total = recipe.output.frames
        if total == 0:
            raise UserError(f"{req.source}: the job has 0 frames: nothing to render")
        req.shard = req.shard.of(recipe)     # a clip job: whole clips per chunk, as the CLI's pool splits them
        slots = None
        if workers == "auto":
            slots = _workers.auto_slots(recipe, max(1, _workers.frames_left(req.out, req.shard, total)), exe)[0]
            workers = len(slots)
        pace = _Pace()

        def feed(frame: int, done: int, scope: int) -> None:
            if progress is not None:
                progress(Progress(frame, done, scope, pace.elapsed(), pace.eta(done, scope)))

        _workers.run_workers(req.args(), req.out, total, shard=req.shard, workers=workers, recycle=recycle,
                             python=exe, progress=feed, recipe=recipe, slots=slots)
    return open_dataset(req.out)


# -- datasets --------------------------------------------------------------------------------------------

def _read_image(path: Path, kind: str) -> np.ndarray:
    """A PNG/JPEG as a numpy array (8-bit RGB, or 16-bit ids for masks), or an EXR's float32 channels."""
    if not path.is_file():
        raise DatasetError(f"{path}: missing")
    if path.suffix.lower() == ".exr":
        try:
            channels = _exr.read_channels(path)
        except ValueError as e:
            raise DatasetError(str(e)) from None
        arrays = [channels[name] for name in sorted(channels)]
        return arrays[0] if len(arrays) == 1 else np.stack(arrays, axis=-1)
    image = _import_pillow(f"reading a dataset's {kind}")[0]
    try:
        with image.open(path) as im:
            return np.asarray(im)
    except OSError as e:
        raise DatasetError(f"{path}: cannot be read as an image ({e})") from None


class Frame:
    """One finished frame of a dataset: its ``index`` and dataset folder ``root``. Nothing is read until
    asked for, and each file only once:
    ``record`` (the frame record, a dict), ``objects`` (its labelled objects, dicts: category, bbox, rle,
    visibility, pose...), ``camera``, and the images as numpy arrays: ``image`` (H×W×3 uint8), ``mask``
    (H×W uint16 instance ids, 0 = background), ``semantic`` (H×W uint16 category ids), ``depth`` (H×W
    float32 metres); ``load(name)`` reads any file the record lists (``normals``, ``flow``, ...)."""

    def __init__(self, root: Path, index: int):
        self.root = root
        self.index = index
        self._arrays: dict[str, np.ndarray] = {}

    def __repr__(self) -> str:
        return f"<synthkiln.Frame {self.index} of {self.root}>"

    @functools.cached_property
    def record(self) -> dict[str, Any]:
        """The frame record ``frames/NNNNNN.json``: seed, sampled values, camera, objects and their labels."""
        return _read_record(self.root, self.index)

    @property
    def objects(self) -> list[dict[str, Any]]:
        """The frame's objects with their labels (``instance_id`` is the object's value in ``mask``)."""
        return self.record.get("objects", [])

    @property
    def camera(self) -> dict[str, Any]:
        """The camera: name, intrinsics ``K`` (3×3), ``world_to_camera`` (4×4)."""
        return self.record.get("camera", {})

    @property
    def files(self) -> dict[str, Path]:
        """The frame's files by name (``image``, ``mask``, ``semantic``, ``depth``...), as absolute paths."""
        return {name: self.root / rel for name, rel in (self.record.get("files") or {}).items()}

    def load(self, name: str) -> np.ndarray:
        """The file ``name`` of ``files`` as an array: PNG/JPEG as stored, EXR as float32 (H×W for one
        channel, else H×W×C in channel-name order). Raises ``DatasetError`` if the record has no such file."""
        if name not in self._arrays:
            files = self.files
            if name not in files:
                raise DatasetError(f"frame {self.index} has no {name!r} file (it has {', '.join(files) or 'none'})")
            self._arrays[name] = _read_image(files[name], name)
        return self._arrays[name]

    @property
    def image(self) -> np.ndarray:
        """The RGB image, H×W×3 uint8."""
        return self.load("image")

    @property
    def mask(self) -> np.ndarray:
        """Instance ids, H×W uint16 (0: background; an object's ``instance_id`` otherwise)."""
        return self.load("mask")

    @property
    def semantic(self) -> np.ndarray | None:
        """Category ids, H×W uint16 (0: background), or None where the recipe wrote none."""
        return self.load("semantic") if "semantic" in self.files else None

    @property
    def depth(self) -> np.ndarray | None:
        """Z-depth in metres along the optical axis, H×W float32, or None where the recipe wrote none."""
        return self.load("depth") if "depth" in self.files else None


class Dataset:
    """A dataset folder: its manifest, categories and recipe, and its finished frames.

    A sequence of ``Frame``: ``len(ds)`` counts the finished frames (the ones with a record), ``ds[k]`` is
    the k-th of them (negative ``k`` from the end) and ``for frame in ds`` walks them in frame order;
    ``ds.frame(i)`` is the frame with index ``i``. Attributes: ``path``, ``manifest`` (``synthkiln.json``:
    the job, its seed and resolved recipe) and ``indices`` (the finished frames' indices), read when the
    dataset is opened (``refresh()`` reads the frames again, e.g. while a render is running)."""

    def __init__(self, path: PathLike):
        self.path = Path(path)
        self.manifest: dict[str, Any] = _read_manifest(self.path)
        self.refresh()

    def refresh(self) -> None:
        """Read again which frames are finished."""
        self.indices: list[int] = _layout.record_indices(self.path)

    def __repr__(self) -> str:
        return f"<synthkiln.Dataset {self.path}: {len(self)}/{self.planned} frames>"

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, k: int) -> Frame:
        return Frame(self.path, self.indices[k])

    def __iter__(self) -> Iterator[Frame]:
        return (Frame(self.path, i) for i in self.indices)

    def frame(self, index: int) -> Frame:
        """The frame with index ``index``; ``DatasetError`` if it is not finished."""
        if index not in self.indices:
            raise DatasetError(f"{self.path}: frame {index} is not finished")
        return Frame(self.path, index)

    @property
    def planned(self) -> int:
        """Frames the job plans (its ``output.frames``)."""
        return int(self.manifest.get("frames") or 0)

    @property
    def categories(self) -> list[dict[str, Any]]:
        """The categories: ``id`` (from 1, as in masks and exports), ``name``, ``supercategory``, ``color``."""
        return self.manifest.get("categories", [])

    @functools.cached_property
    def recipe(self) -> Recipe:
        """The recipe the dataset was rendered with (resolved: every layer and override applied)."""
        try:
            return _recipe_from_data(self.manifest.get("recipe"))
        except _SchemaError as e:
            raise DatasetError(f"{self.path / _layout.MANIFEST}: recipe.{_path_str(e.path)}: {e}") from None


def open_dataset(path: PathLike) -> Dataset:
    """Open a dataset folder (one with ``synthkiln.json``); raises ``DatasetError`` for any other folder."""
    return Dataset(path)


def _root(dataset: Dataset | PathLike) -> Path:
    return dataset.path if isinstance(dataset, Dataset) else Path(dataset)


def export(dataset: Dataset | PathLike, formats: Iterable[str] | str | None = None, *, previews: int | None = None,
           split: str | None = None, log: Callable[[str], None] | None = None) -> list[Path]:
    """Write exports from the dataset's frame records (no Blender needed); returns the main file of each.

    ``formats``: some of ``coco``, ``yolo``, ``yolo-seg``, ``voc``, ``kitti`` (a list, or comma-separated);
    None: the recipe's ``output.exports``. ``previews``: box/mask overlays to draw into
    ``exports/preview`` (None: the recipe's ``output.previews``). ``split``: the subsets and their shares,
    e.g. ``"train,val,test=0.8,0.1,0.1"`` (None: train/val by the recipe's ``output.val_fraction``); a
    frame's subset depends only on the job seed and the frame, so it never changes as the job grows. Each
    export is built aside and swapped in whole. ``log`` gets one line per notable fact."""
    root = _root(dataset)
    _read_manifest(root)
    wanted = _exports.parse_formats(formats, "formats") if formats is not None else None
    if wanted == []:
        raise UserError("formats: name at least one format")
    subsets = Split.parse(split, "split") if split is not None else None
    return _exports.write_exports(root, wanted, previews, report=log, split=subsets)


@dataclass(frozen=True)
class CheckResult:
    """What ``check`` found: ``problems`` (one line each; empty when the dataset is consistent) and a
    one-line ``summary``. ``ok`` is True when there are no problems. ``removed``: the frames ``repair``
    removed (re-rendered by the next render of the job)."""
    problems: list[str]
    summary: str
    removed: list[int] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when there are no problems."""
        return not self.problems


def check(dataset: Dataset | PathLike, *, repair: bool = False) -> CheckResult:
    """Check a dataset against its own files: every record's files exist and decode, masks agree with the
    records, boxes lie inside the image, ids are unique (no Blender needed). With ``repair``, the damaged
    frames found are removed (``CheckResult.removed``), so the next render re-renders exactly those."""
    checker = _check.Checker(_root(dataset)).run()
    removed = _check.repair(checker.root, checker.damaged) if repair else []
    return CheckResult(checker.problems, checker.summary(), removed)

"""Rendering a job, below both front ends (internal: the public API is ``synthkiln.render``).

``prepare`` makes every check that needs no Blender, so a mistake fails in milliseconds and before anything
is written. ``render_here`` renders in this process: it starts the ``bpy`` module, opens the .blend or an
empty scene with the preset, and runs the add-on's own operator (``bpy.ops.synthkiln.render_dataset``). That
is what a single-process ``synthkiln render`` does and what every worker-pool child runs; the Python API
never renders in its caller's process (bpy's state is global), it always goes through the pool."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from ..addon.core.dataset.job import Shard, claim_job, parse_shard
from ..addon.core.errors import Interrupted, UserError
from ..addon.core.recipe.model import Recipe, recipe_from_data, recipe_to_data
from ..addon.core.recipe.preset import load_layers, load_preset, origin_of, resolve_path
from . import options
from . import status
from .progress import FrameCallback, LogFeed


@dataclass
class Request:
    """A checked render request: the ``synthkiln render`` arguments, what they resolve to, and the preset's
    recipe (None for a .blend alone, whose recipe only Blender can read)."""
    source: Path
    preset: Path | None = None
    frames: int | None = None
    seed: int | None = None
    out: Path | None = None
    resolution: tuple[int, int] | None = None
    samples: int | None = None
    shard_text: str | None = None
    shard: Shard = Shard()
    overrides: dict = field(default_factory=dict)
    recipe: Recipe | None = None
    origins: dict = field(default_factory=dict)
    device: str | None = None            # --device: render.device for this job
    clips: int | None = None             # --clips / --clip-length: a clip job (issue 19)
    clip_length: int | None = None

    @property
    def blend(self) -> Path | None:
        return self.source if self.source.suffix.lower() == ".blend" else None

    @property
    def yaml_path(self) -> Path | None:
        return self.preset if self.blend is not None else self.source

    def args(self) -> list[str]:
        """The ``render`` command's arguments for this request, less ``--shard`` (what a pool child gets)."""
        out = [str(self.source)]
        for flag, value in (("--preset", self.preset), ("--frames", self.frames), ("--out", self.out),
                            ("--seed", self.seed), ("--resolution", self.resolution), ("--samples", self.samples),
                            ("--device", self.device), ("--clips", self.clips),
                            ("--clip-length", self.clip_length)):
            if value is not None:
                out += [flag, "x".join(map(str, value)) if isinstance(value, tuple) else str(value)]
        return out


def prepare(source: Path, preset: Path | None = None, frames: int | None = None, seed: int | None = None,
            out: Path | None = None, resolution: tuple[int, int] | None = None, samples: int | None = None,
            shard: str | None = None, *, out_name: str = "--out", device: str | None = None,
            clips: int | None = None, clip_length: int | None = None) -> Request:
    """Check a render request before Blender starts: the files exist, the preset fits the schema (with the
    overrides), the shard parses, the output folder can be written. ``out_name`` names ``out`` in messages."""
    req = Request(Path(source), Path(preset) if preset is not None else None, frames, seed,
                  Path(out) if out is not None else None, resolution, samples, shard, device=device, clips=clips,
                  clip_length=clip_length)
    if req.blend is None and preset is not None:
        raise UserError("--preset goes with a .blend SOURCE; with a preset SOURCE, use `extends:` to layer presets")
    if req.blend is not None and not req.blend.is_file():
        raise UserError(f"{req.blend}: file not found")
    req.overrides = options.overrides(frames, seed, out, resolution, samples, device, clips, clip_length)
    req.shard = parse_shard(shard, dict(os.environ))
    if req.yaml_path is not None:
        req.recipe = load_preset(req.yaml_path, req.overrides, options.OVERRIDE_FLAGS)   # fail fast, before Blender
        req.origins = load_layers(req.yaml_path)[1]
        if out is None and req.blend is None:   # unsaved scene: relative to the working folder
            check_output(Path(req.recipe.output.directory), out_name)
    if out is not None:
        check_output(req.out, out_name)
    return req


def check_output(out: Path, name: str = "--out") -> None:
    """Fail before rendering if the folder cannot be made or written (writes nothing if it can't)."""
    probe = out
    while not probe.exists():
        probe = probe.parent
    if not probe.is_dir():
        raise UserError(f"{name} {out}: {probe} is not a folder")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise UserError(f"{name} {out}: cannot write to {probe}")


def bpy_error(e: RuntimeError, origins: dict | None = None) -> UserError:
    """bpy.ops raises RuntimeError('Error: <report>') when an operator reports an error."""
    text = str(e).strip()
    for prefix in ("Error:", "error:"):
        if text.startswith(prefix):
            text = text[len(prefix):].strip()
    if "Traceback" in text:
        return UserError(text)
    text = text.splitlines()[0] if text else "the render failed"
    return UserError(locate(text, origins or {}))


_FIELD_PATH = re.compile(r"([A-Za-z_]\w*(?:\.[A-Za-z_]\w*|\[\d+\])*): ")


def locate(text: str, origins: dict) -> str:
    """Prefix ``file:line:`` to a message that starts with a field path of the preset (``scene.objects: ...``)."""
    m = _FIELD_PATH.match(text)
    if not m or not origins:
        return text
    path = tuple(int(p[1:-1]) if p.startswith("[") else p
                 for p in re.findall(r"[A-Za-z_]\w*|\[\d+\]", m.group(1)))
    if path[:1] not in origins:      # not written in the preset (e.g. a .blend's own recipe)
        return text
    file, line = origin_of(path, origins, "")
    return f"{file}:{line}: {text}"


def open_scene(req: Request) -> tuple[Recipe, Path]:
    """Start Blender in this process and load the request's scene: the .blend (with the preset imported over
    its recipe) or an empty scene with the preset. Returns the recipe the render operator will read, with
    the overrides, and its output folder."""
    import bpy
    from . import runtime
    runtime.start()
    if req.blend is not None:
        runtime.open_blend(req.blend)
    else:
        bpy.ops.wm.read_factory_settings(use_empty=True)
        runtime.register()
    try:
        with runtime.one_message():
            if req.yaml_path is not None:
                bpy.ops.synthkiln.import_preset(filepath=str(req.yaml_path.resolve()))
            recipe = runtime.scene_recipe(json.dumps(req.overrides))
    except RuntimeError as e:
        raise bpy_error(e, req.origins) from None
    out_dir = runtime.output_dir(recipe)
    check_output(out_dir)
    return recipe, out_dir


def render_here(req: Request, before: Callable[[Path, Recipe], bool], progress: FrameCallback) -> Path:
    """Render the request in this process; returns the dataset folder. ``before(out_dir, recipe)`` runs once
    the scene is loaded: True means it rendered the job itself (a worker pool) and nothing is left to do.
    ``progress(frame, done, total)`` follows each frame."""
    import bpy
    recipe, out_dir = open_scene(req)
    claim_job(out_dir, recipe)      # a folder of another job is refused before its heartbeat is touched
    if before(out_dir, recipe):
        return out_dir
    from . import runtime
    try:
        with LogFeed(progress), status.heartbeat(out_dir, req.shard, recipe.output.frames), stop_between_frames(), \
                runtime.one_message():
            bpy.ops.synthkiln.render_dataset(shard=req.shard_text or "", overrides=json.dumps(req.overrides))
    except RuntimeError as e:
        raise bpy_error(e, req.origins) from None
    return out_dir


@contextlib.contextmanager
def stop_between_frames():
    """Ctrl-C and SIGTERM (what Slurm, Kubernetes and Deadline send first) end the render after the frame
    in hand, then raise ``Interrupted``: the heartbeat says interrupted, scratch is removed, and the exit
    status is 130 or 143. Without this, Blender's own SIGINT handler swallows Ctrl-C and SIGTERM kills the
    process with its heartbeat still "running"."""
    from ..addon.bridge.pipeline import StopRequest
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    StopRequest.clear()
    old = {s: signal.signal(s, lambda signum, _frame: StopRequest.request(signum))
           for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, handler in old.items():
            signal.signal(s, handler)
    if StopRequest.signum:
        signum = StopRequest.signum
        StopRequest.clear()
        raise Interrupted(f"interrupted by {signal.Signals(signum).name}; finished frames are kept, "
                          "render again to resume", signum)


# -- a .blend's job, read in a child process (a pool's parent and the API's caller never import bpy) -------

_PROBE = "from synthkiln.headless.rendering import probe_main; probe_main()"


def probe_main() -> None:
    """In a child process: print the resolved recipe and output folder of the request given as JSON in
    ``argv[1]`` (last line), or ``Error: <message>`` on stderr and exit 1."""
    kw = json.loads(sys.argv[1])
    try:
        recipe, out_dir = open_scene(prepare(**{k: v for k, v in kw.items() if k != "resolution"},
                                             resolution=tuple(kw["resolution"]) if kw.get("resolution") else None))
    except UserError as e:
        print(f"Error: {e}", file=sys.stderr)
        sys.exit(1)
    print(json.dumps({"recipe": recipe_to_data(recipe), "out": str(out_dir)}))


def preset_job(req: Request) -> tuple[Recipe, Path]:
    """``blend_job`` for a .blend with ``--preset``, without Blender: the preset replaces the scene's recipe,
    and the output folder is resolved as ``files.output_dir`` does (``//`` and relative: the .blend's folder).
    Saves a pool the 1.5 s of a probing child (issue 16); tests/test_pool_start.py checks both agree."""
    directory = req.recipe.output.directory
    blend_dir = req.blend.resolve().parent
    out = blend_dir / directory[2:] if directory.startswith("//") else resolve_path(directory, blend_dir)
    return req.recipe, out


def blend_job(req: Request, python: str = sys.executable) -> tuple[Recipe, Path]:
    """The recipe (with the overrides) and output folder of a .blend request, read by a child process that
    opens the scene, so the caller can plan and supervise a pool without importing bpy."""
    kw = {"source": str(req.source), "preset": str(req.preset) if req.preset else None, "frames": req.frames,
          "seed": req.seed, "out": str(req.out) if req.out else None, "resolution": req.resolution,
          "samples": req.samples, "shard": req.shard_text, "device": req.device}
    p = subprocess.run([python, "-c", _PROBE, json.dumps(kw)], capture_output=True, text=True,
                       stdin=subprocess.DEVNULL)
    errors = [ln.removeprefix("Error:").strip() for ln in p.stderr.splitlines() if ln.startswith("Error:")]
    if p.returncode or errors:
        tail = (p.stderr or p.stdout).strip().splitlines()
        raise UserError(errors[-1] if errors else f"cannot read {req.source}: {tail[-1] if tail else p.returncode}")
    data = json.loads(p.stdout.strip().splitlines()[-1])
    return recipe_from_data(data["recipe"]), Path(data["out"])

"""``synthkiln``: render, export and validate from a shell or a farm job.

Rendering goes through the add-on's operators (``bpy.ops.synthkiln.*``) in the ``bpy`` module — never a
parallel code path. Everything that needs no Blender (validate, export) runs without importing ``bpy``,
and every input is checked before ``bpy`` is imported, so a mistake fails in milliseconds.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
import time
from pathlib import Path

import click

from ..addon.core.dataset import check as check_mod
from ..addon.core.exports import build as exports
from ..addon.core.dataset import jobreport
from ..addon.core.errors import UserError
from ..addon.core.dataset.job import parse_shard, read_manifest
from ..addon.core.recipe.preset import load_layers, load_preset, origin_of
from ..addon.core.report import build as report_build
from . import farm
from . import status as status_cmd
from . import workers as pool


class _Group(click.Group):
    """Turns a ``UserError`` anywhere into one message and exit status 1, never a traceback."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except UserError as e:
            raise click.ClickException(str(e)) from None


@click.group(cls=_Group)
@click.version_option("0.1.0", prog_name="synthkiln")
def main() -> None:
    """SynthKiln: turn a 3D scene into labelled training images."""


def _overrides(frames, seed, out, resolution, samples) -> dict:
    o: dict = {}
    if frames is not None:
        o.setdefault("output", {})["frames"] = frames
    if seed is not None:
        o.setdefault("output", {})["seed"] = seed
    if out is not None:
        o.setdefault("output", {})["directory"] = str(Path(out).resolve())
    if resolution is not None:
        o.setdefault("render", {})["resolution"] = list(resolution)
    if samples is not None:
        o.setdefault("render", {})["samples"] = samples
    return o


def _resolution(ctx, param, value):
    if value is None:
        return None
    try:
        w, h = (int(x) for x in value.lower().split("x"))
    except ValueError:
        raise UserError(f"--resolution {value!r}: expected WxH, e.g. 640x480") from None
    if not (1 <= w <= 16384 and 1 <= h <= 16384):
        raise UserError(f"--resolution {value!r}: expected width and height in 1..16384")
    return w, h


def _check_output(out: Path) -> None:
    """Fail before rendering if the folder cannot be made or written (writes nothing if it can't)."""
    probe = out
    while not probe.exists():
        probe = probe.parent
    if not probe.is_dir():
        raise UserError(f"--out {out}: {probe} is not a folder")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise UserError(f"--out {out}: cannot write to {probe}")


def _bpy_error(e: RuntimeError, origins: dict | None = None) -> UserError:
    """bpy.ops raises RuntimeError('Error: <report>') when an operator reports an error."""
    text = str(e).strip()
    for prefix in ("Error:", "error:"):
        if text.startswith(prefix):
            text = text[len(prefix):].strip()
    if "Traceback" in text:
        return UserError(text)
    text = text.splitlines()[0] if text else "the render failed"
    return UserError(_locate(text, origins or {}))


_FIELD_PATH = re.compile(r"([A-Za-z_]\w*(?:\.[A-Za-z_]\w*|\[\d+\])*): ")


def _locate(text: str, origins: dict) -> str:
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


class _ProgressHandler(logging.Handler):
    """Feeds the pipeline's per-frame progress events into a progress bar with ETA on a terminal, or one
    line per frame (``frames 3/20 ...``) when stderr is a file or a pipe (a farm log), where click's bar
    would print only its label."""

    def __init__(self):
        super().__init__()
        self.bar = None
        self.tty = sys.stderr.isatty()
        self.t0 = time.perf_counter()
        self.first_done = None

    def emit(self, record):
        done, total = getattr(record, "sk_done", None), getattr(record, "sk_total", None)
        if done is None:
            return
        if not self.tty:
            if self.first_done is None:
                self.first_done = done - 1
            rendered = done - self.first_done
            eta = (time.perf_counter() - self.t0) / rendered * (total - done)
            click.echo(f"frames {done}/{total}  (frame {getattr(record, 'sk_frame', '?')}, "
                       f"ETA {eta:.0f}s)", err=True)
            return
        if self.bar is None:
            self.bar = click.progressbar(length=total, label="frames", show_eta=True, show_pos=True,
                                         file=sys.stderr)
            self.bar.__enter__()
            self.bar.update(done - 1)
        self.bar.update(1)

    def close(self):
        if self.bar is not None:
            self.bar.__exit__(None, None, None)
        super().close()


@main.command()
@click.argument("source", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--preset", type=click.Path(dir_okay=False, path_type=Path),
              help="Preset YAML applied over the .blend's own recipe.")
@click.option("--frames", type=click.IntRange(min=0), help="Frames in the job.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), help="Dataset folder.")
@click.option("--seed", type=click.IntRange(0, 2**31 - 1), help="Job seed.")
@click.option("--shard", help="K/N: render only shard K (from 0) of N; K may name an env variable, "
                              "e.g. SLURM_ARRAY_TASK_ID/8.")
@click.option("--resolution", callback=_resolution, help="WxH, e.g. 320x240.")
@click.option("--samples", type=click.IntRange(min=1), help="Cycles samples per pixel.")
@pool.options
@click.pass_context
def render(ctx, source: Path, preset, frames, out, seed, shard, resolution, samples, workers, recycle):
    """Render a dataset from SOURCE: a preset .yaml, a .blend, or a .blend with --preset.

    Resumes by default: frames that already have a record are skipped."""
    blend, yaml_path = (source, preset) if source.suffix.lower() == ".blend" else (None, source)
    if blend is None and preset is not None:
        raise UserError("--preset goes with a .blend SOURCE; with a preset SOURCE, use `extends:` to layer presets")
    if blend is not None and not blend.is_file():
        raise UserError(f"{blend}: file not found")
    overrides = _overrides(frames, seed, out, resolution, samples)
    the_shard = parse_shard(shard, dict(os.environ))
    origins: dict = {}
    if yaml_path is not None:
        recipe = load_preset(yaml_path, overrides)   # fail fast, before Blender starts
        origins = load_layers(yaml_path)[1]
        if out is None and blend is None:   # unsaved scene: relative to the working folder
            _check_output(Path(recipe.output.directory))
    if out is not None:
        _check_output(out)
    t0 = time.perf_counter()
    if blend is None and not recipe.output.directory.startswith("//"):     # a pool needs no Blender here
        out_dir = Path(recipe.output.directory)
        if pool.dispatch(ctx, out_dir, recipe.output.frames, the_shard, workers, recycle):
            return _report(out_dir, t0)

    import bpy
    from . import runtime
    runtime.start()
    if blend is not None:
        runtime.open_blend(blend)
    else:
        bpy.ops.wm.read_factory_settings(use_empty=True)
        runtime.register()
    try:
        if yaml_path is not None:
            bpy.ops.synthkiln.import_preset(filepath=str(yaml_path.resolve()))
        recipe = runtime.scene_recipe(json.dumps(overrides))
        out_dir = runtime.output_dir(recipe)
        _check_output(out_dir)
        t0 = time.perf_counter()
        if pool.dispatch(ctx, out_dir, recipe.output.frames, the_shard, workers, recycle):
            return _report(out_dir, t0)
        handler = _ProgressHandler()
        logging.getLogger("synthkiln.progress").addHandler(handler)
        logging.getLogger("synthkiln.progress").setLevel(logging.INFO)
        try:
            with status_cmd.heartbeat(out_dir, the_shard, recipe.output.frames):
                bpy.ops.synthkiln.render_dataset(shard=shard or "", overrides=json.dumps(overrides))
        finally:
            handler.close()
            logging.getLogger("synthkiln.progress").removeHandler(handler)
    except RuntimeError as e:
        raise _bpy_error(e, origins) from None
    _report(out_dir, t0)


def _report(out_dir: Path, t0: float) -> None:
    click.echo(f"done in {time.perf_counter() - t0:.1f}s", err=True)
    click.echo(jobreport.format_summary(jobreport.summarize(out_dir)), err=True)


@main.command()
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--format", "formats", default=None,
              help=f"Comma-separated export formats ({', '.join(exports.FORMATS)}); default: the recipe's "
                   "output.exports.")
@click.option("--previews", type=click.IntRange(min=0), default=None,
              help="Box/mask preview overlays to draw into exports/preview (0: none); default: the recipe's "
                   "output.previews.")
def export(directory: Path, formats: str | None, previews: int | None):
    """Write dataset exports from the frame records (no Blender needed)."""
    read_manifest(directory)
    wanted = exports.parse_formats(formats) if formats is not None else None
    if wanted == []:
        raise UserError("--format: name at least one format")
    written = exports.write_exports(directory, wanted, previews, report=lambda line: click.echo(line, err=True))
    drawn = [p for p in written if p.parent.name == "preview"]
    for path in written:
        if path not in drawn:
            click.echo(path)
    if drawn:
        click.echo(f"{len(drawn)} previews in {directory / 'exports' / 'preview'}")


@main.command()
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
def check(directory: Path):
    """Check a dataset: every record's files exist, masks agree with the records, ids are unique.

    Prints one line per problem and exits 1, or a one-line summary and exits 0."""
    problems, summary = check_mod.check_dataset(directory)
    if problems:
        for line in problems:
            click.echo(line)
        raise click.ClickException(f"{len(problems)} problem{'s' if len(problems) != 1 else ''} in {directory}")
    click.echo(summary)


@main.command()
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--compare", type=click.Path(dir_okay=False, path_type=Path), default=None, metavar="REAL_COCO.json",
              help="A human-labelled COCO file: its statistics go beside the synthetic ones, with the gaps ranked.")
@click.option("--images", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None,
              metavar="REAL_DIR", help="The real COCO file's image folder (for image brightness).")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Report folder (default: DIRECTORY/report); replaced whole when the new report is ready.")
@click.option("--worst", type=click.Choice(report_build.WORST_METRICS), default="min_visibility", show_default=True,
              help="What ranks the worst frames (the lowest first).")
@click.option("--samples", type=click.IntRange(min=0), default=12, show_default=True,
              help="Frames in the contact sheet, spread over the dataset.")
def report(directory: Path, compare: Path | None, images: Path | None, out: Path | None, worst: str, samples: int):
    """Write an HTML report of a dataset: counts, balance, histograms, box heat map, rare events,
    contact sheets and the job; with --compare, side by side with real data and the largest gaps first.

    Prints the path of the report's index.html (open it in any browser; no server needed)."""
    index = report_build.build_report(directory, out, compare, images, worst=worst, samples=samples,
                                      report=lambda line: click.echo(line, err=True))
    click.echo(index)


@main.command()
@click.argument("preset", type=click.Path(dir_okay=False, path_type=Path))
def validate(preset: Path):
    """Check a preset (and what it extends) against the schema."""
    recipe = load_preset(preset)
    click.echo(f"{preset}: ok ({len(recipe.categories)} categories, {len(recipe.randomizers.all())} randomizers, "
               f"{recipe.output.frames} frames)")


main.add_command(status_cmd.status)
main.add_command(status_cmd.merge)
main.add_command(farm.farm)

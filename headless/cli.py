"""``synthkiln``: render, export and validate from a shell or a farm job.

A thin layer over the Python API (``headless/api.py``) and the runner's internals below it: each command
parses its options, calls the same functions a script would, and prints. Rendering goes through the add-on's
operators (``bpy.ops.synthkiln.*``) in the ``bpy`` module — never a parallel code path. Everything that needs
no Blender (validate, export, check) runs without importing ``bpy``, and every input is checked before
``bpy`` is imported, so a mistake fails in milliseconds.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import click

from ..addon.core import VERSION
from ..addon.core.dataset import jobreport
from ..addon.core.errors import UserError
from ..addon.bridge.envvars import STRICT_ASSETS
from ..addon.core.exports import build as exports
from ..addon.core.exports.common import Split
from ..addon.core.report import build as report_build
from . import api
from . import assets as assets_cmd
from . import farm
from . import rendering
from . import status as status_cmd
from . import workers as pool
from .options import DEVICE_CHOICES, Group, resolution_option
from .progress import Display


@click.group(cls=Group)
@click.version_option(VERSION, prog_name="synthkiln")
def main() -> None:
    """SynthKiln: turn a 3D scene into labelled training images."""


@main.command()
@click.argument("source", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--preset", type=click.Path(dir_okay=False, path_type=Path),
              help="Preset YAML applied over the .blend's own recipe.")
@click.option("--frames", type=click.IntRange(min=0), help="Frames in the job.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), help="Dataset folder.")
@click.option("--seed", type=click.IntRange(0, 2**31 - 1), help="Job seed.")
@click.option("--shard", help="K/N: render only shard K (from 0) of N; K may name an env variable, "
                              "e.g. SLURM_ARRAY_TASK_ID/8.")
@click.option("--resolution", callback=resolution_option, help="WxH, e.g. 320x240.")
@click.option("--samples", type=click.IntRange(min=1), help="Cycles samples per pixel.")
@click.option("--device", type=click.Choice(DEVICE_CHOICES), help="render.device: CPU, GPU or auto.")
@click.option("--clips", type=click.IntRange(min=0), help="A clip job of C clips (output.clips; 0: stills).")
@click.option("--clip-length", type=click.IntRange(min=1), help="Frames per clip (output.clip_length).")
@click.option("--strict", is_flag=True, help="A model file an asset pool cannot import stops the job "
                                             "(default: skipped, and named in the job report).")
@pool.options
def render(source: Path, preset, frames, out, seed, shard, resolution, samples, workers, recycle, device=None,
           strict=False, clips=None, clip_length=None):
    """Render a dataset from SOURCE: a preset .yaml, a .blend, or a .blend with --preset.

    Resumes by default: frames that already have a record are skipped."""
    if strict:      # read by the bridge; worker processes inherit it
        os.environ[STRICT_ASSETS] = "1"
    req = rendering.prepare(source, preset, frames, seed, out, resolution, samples, shard, device=device,
                            clips=clips, clip_length=clip_length)
    display = Display()
    t0 = time.perf_counter()

    asked = False

    def through_pool(out_dir: Path, recipe) -> bool:
        """The worker pool when --workers or --recycle ask for it (then it has rendered the job); decided once."""
        nonlocal t0, asked
        if asked:
            return False
        asked, t0 = True, time.perf_counter()
        return pool.dispatch(req.args(), out_dir, recipe, req.shard, workers, recycle, display.update)

    try:
        if req.blend is None and not req.recipe.output.directory.startswith("//"):   # a pool needs no Blender here
            out_dir = Path(req.recipe.output.directory)
            if through_pool(out_dir, req.recipe):
                return _report(out_dir, t0)
        elif req.blend is not None and pool.may_pool(workers, recycle, req.shard, req.frames):
            # a preset replaces the .blend's recipe (import_preset): known here; else read in a child, as the
            # pool's parent never loads bpy
            recipe, out_dir = rendering.preset_job(req) if req.recipe is not None else rendering.blend_job(req)
            if through_pool(out_dir, recipe):
                return _report(out_dir, t0)
        out_dir = rendering.render_here(req, through_pool, display.update)
    except pool.Interrupted as e:
        display.close()
        click.echo(str(e), err=True)
        raise SystemExit(128 + e.signum) from None
    finally:
        display.close()
    _report(out_dir, t0)


def _report(out_dir: Path, t0: float) -> None:
    click.echo(f"done in {time.perf_counter() - t0:.1f}s", err=True)
    if os.environ.get(pool.CHILD) != "1":   # a pool child: its pool reports once (summarizing reads every record)
        click.echo(jobreport.format_summary(jobreport.summarize(out_dir)), err=True)


@main.command()
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--format", "formats", default=None,
              help=f"Comma-separated export formats ({', '.join(exports.FORMATS)}); default: the recipe's "
                   "output.exports.")
@click.option("--previews", type=click.IntRange(min=0), default=None,
              help="Box/mask preview overlays to draw into exports/preview (0: none); default: the recipe's "
                   "output.previews.")
@click.option("--split", default=None, metavar="NAMES=SHARES",
              help="Subsets and their shares, e.g. train,val,test=0.8,0.1,0.1; default: train/val by the recipe's "
                   "output.val_fraction. A frame's subset depends only on the job seed and the frame.")
def export(directory: Path, formats: str | None, previews: int | None, split: str | None):
    """Write dataset exports from the frame records (no Blender needed)."""
    api.open_dataset(directory)
    wanted = exports.parse_formats(formats) if formats is not None else None
    if wanted == []:
        raise UserError("--format: name at least one format")
    if split is not None:
        Split.parse(split)      # named after the flag: --split '...'
    written = api.export(directory, wanted, previews=previews, split=split,
                         log=lambda line: click.echo(line, err=True))
    drawn = [p for p in written if p.parent.name == "preview"]
    for path in written:
        if path not in drawn:
            click.echo(path)
    if drawn:
        click.echo(f"{len(drawn)} previews in {directory / 'exports' / 'preview'}")


@main.command()
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--repair", is_flag=True,
              help="Remove the damaged frames found (record and files), so a render re-renders exactly those.")
def check(directory: Path, repair: bool):
    """Check a dataset: every record's files exist and decode, masks agree with the records, ids are unique.

    Prints one line per problem and exits 1, or a one-line summary and exits 0. With --repair, the frames
    with a problem are removed and it exits 0 when that fixed everything else too."""
    result = api.check(directory, repair=repair)
    if result.removed:
        shown = ", ".join(map(str, result.removed[:20])) + (", ..." if len(result.removed) > 20 else "")
        click.echo(f"removed {len(result.removed)} damaged frame{'s' if len(result.removed) != 1 else ''} "
                   f"({shown}); render the job again to re-render them", err=True)
        result = api.check(directory)
    if not result.ok:
        for line in result.problems:
            click.echo(line)
        n = len(result.problems)
        raise click.ClickException(f"{n} problem{'s' if n != 1 else ''} in {directory}")
    click.echo(result.summary)


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
    recipe = api.load_recipe(preset)
    click.echo(f"{preset}: ok ({len(recipe.categories)} categories, {len(recipe.randomizers.all())} randomizers, "
               f"{recipe.output.frames} frames)")


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def devices(as_json: bool):
    """List the GPUs Blender sees here (per Cycles backend) and what render.device auto would pick."""
    import json
    from .runtime import render_devices
    found = render_devices()
    if as_json:
        click.echo(json.dumps(found))
        return
    click.echo(f"Blender {found['blender']}; CPU: {found['cpu']}")
    for backend, gpus in found["gpus"].items():
        click.echo(f"{backend}: " + (", ".join(f"{g['name']} [{g['id']}]" for g in gpus) or "none"))
    click.echo(f"render.device auto picks: {found['auto']}")


main.add_command(status_cmd.status)
main.add_command(status_cmd.merge)
main.add_command(farm.farm)
main.add_command(assets_cmd.assets)

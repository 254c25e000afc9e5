"""``synthkiln assets``: build a Blender asset library from model files, and list one.

Blender starts only after the arguments are checked; every file is imported with Blender's own importer and
normalised the way a recipe's asset source is, so what the Asset Browser shows is what a pool renders.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from ..addon.core.errors import UserError
from ..addon.core.params.schema import SchemaError, from_data
from ..addon.core.recipe.assets import AssetSource


@click.group()
def assets() -> None:
    """Model files as a Blender asset library (Asset Browser)."""


@assets.command("import")
@click.argument("sources", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--library", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Library .blend to create or update.")
@click.option("--category-from", type=click.Choice(["folder", "fixed", "pattern"]), default="folder",
              show_default=True, help="Category of each file: its folder's name, --category, or --pattern.")
@click.option("--category", default="", help="Category for --category-from fixed (and files with none).")
@click.option("--pattern", default="", help="Regular expression on the file name, group 1 is the category.")
@click.option("--units", type=click.Choice(["auto", "m", "cm", "mm", "in", "ft"]), default="auto", show_default=True)
@click.option("--fit-size", type=click.FloatRange(min=0.0), default=0.0, help="Largest side in metres (0: keep).")
@click.option("--up-axis", type=click.Choice(["auto", "Z", "Y", "-Y", "X", "-X", "-Z"]), default="auto")
def import_(sources, library, category_from, category, pattern, units, fit_size, up_axis):
    """Import SOURCE files, folders or globs into LIBRARY as marked assets (one per file, catalogs from
    categories, labels on the asset). A file that cannot be imported is named; the others go in."""
    try:
        src = from_data(AssetSource, {"name": "library", "category_from": category_from, "category": category,
                                      "pattern": pattern, "units": units, "fit_size": fit_size, "up_axis": up_axis})
    except SchemaError as e:
        raise click.UsageError(f"{'.'.join(map(str, e.path))}: {e}") from None
    from .runtime import start
    start()
    from ..addon.bridge import assets as A
    try:
        report = A.build_library(list(sources), library, src)
    except UserError as e:
        raise click.ClickException(str(e)) from None
    for item in report["imported"]:
        click.echo(f"imported {item['name']} ({item['category']}) from {item['file']}")
    for w in report["warnings"]:
        click.echo(f"warning: {w}", err=True)
    for f in report["failed"]:
        click.echo(f"failed: {f}", err=True)
    click.echo(f"{library}: {len(report['imported'])} imported, {len(report['failed'])} failed")
    if report["failed"] and not report["imported"]:
        raise SystemExit(1)


@assets.command("list")
@click.argument("library", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def list_(library, as_json):
    """Print the assets LIBRARY holds, with their categories and source files."""
    from .runtime import start
    start()
    from ..addon.bridge import assets as A
    try:
        items = A.list_library(library)
    except UserError as e:
        raise click.ClickException(str(e)) from None
    if as_json:
        click.echo(json.dumps(items, indent=1))
        return
    for it in items:
        click.echo(f"{it['name']:<24} {it['category'] or '-':<14} {it['faces']:>8} faces  {it['file']}")
    click.echo(f"{len(items)} assets")

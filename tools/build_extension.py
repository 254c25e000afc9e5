#!/usr/bin/env python3
"""Validate and build the extension zip with Blender's own tool, ``blender_ext.py`` from the bpy wheel.

    python tools/build_extension.py                    # dist/synthkiln-<version>.zip (all platforms)
    python tools/build_extension.py --split-platforms  # dist/synthkiln-<version>-<platform>.zip, one each
    python tools/build_extension.py --output-dir DIR --no-fetch

Steps: fetch the manifest's wheels (tools/fetch_wheels.py), ``validate`` the source folder, ``build``,
then ``validate`` each zip built. These are the checks ``blender --command extension validate|build``
makes: run standalone, ``blender_ext.py`` skips the tag check unless given Blender's tag list, so this
passes the list shipped in the same wheel.
"""

from __future__ import annotations

import argparse
import importlib.util
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MANIFEST = ROOT / "blender_manifest.toml"
DIST = ROOT / "dist"

_CLI = Path("scripts", "addons_core", "bl_pkg", "cli", "blender_ext.py")
_TAGS = Path("scripts", "modules", "_bpy_internal", "extensions", "tags.py")


class BuildError(Exception):
    """Validation or building failed; the message carries the tool's output."""


def _version_key(path: Path) -> tuple[int, ...]:
    return tuple(int(p) for p in path.name.split(".") if p.isdigit())


def find_blender_ext() -> tuple[Path, Path]:
    """Locate ``blender_ext.py`` and Blender's valid-tags file inside the installed bpy wheel.

    Uses ``find_spec``, so bpy is found but not imported (importing it starts Blender).
    """
    spec = importlib.util.find_spec("bpy")
    if spec is None or not spec.submodule_search_locations:
        raise BuildError("the bpy module is not installed here; run `make venv` and use .venv/bin/python")
    bpy_dir = Path(next(iter(spec.submodule_search_locations)))
    # bpy/<major.minor>/scripts/...; a wheel holds exactly one such folder.
    version_dirs = sorted((d for d in bpy_dir.iterdir() if (d / _CLI).is_file()), key=_version_key)
    if not version_dirs:
        raise BuildError(f"no {_CLI.as_posix()} under {bpy_dir}: is this a full bpy wheel?")
    base = version_dirs[-1]
    tags = base / _TAGS
    if not tags.is_file():
        raise BuildError(f"Blender's tag list is missing: {tags}")
    return base / _CLI, tags


def run_blender_ext(*args: str) -> subprocess.CompletedProcess[str]:
    """Run ``blender_ext.py`` with this interpreter; return the finished process (output captured)."""
    cli, _ = find_blender_ext()
    return subprocess.run([sys.executable, str(cli), *args], capture_output=True, text=True, cwd=ROOT)


def _check(proc: subprocess.CompletedProcess[str], what: str) -> str:
    output = (proc.stdout + proc.stderr).strip()
    if proc.returncode != 0:
        raise BuildError(f"{what} failed (exit {proc.returncode}):\n{output}")
    return output


def validate(path: Path) -> str:
    """Validate a source folder or a built zip, with Blender's tag list; return the tool's output."""
    _, tags = find_blender_ext()
    return _check(run_blender_ext("validate", "--valid-tags", str(tags), str(path)), f"validate {path}")


def expected_zips(output_dir: Path, *, split_platforms: bool, manifest: Path = MANIFEST) -> list[Path]:
    """The file names the builder gives its output (it derives them from the manifest's id and version)."""
    with manifest.open("rb") as fh:
        data = tomllib.load(fh)
    stem = f"{data['id']}-{data['version']}"
    if not split_platforms:
        return [output_dir / f"{stem}.zip"]
    return [output_dir / f"{stem}-{platform.replace('-', '_')}.zip" for platform in data["platforms"]]


def build(output_dir: Path, *, split_platforms: bool = False, source_dir: Path = ROOT) -> list[Path]:
    """Build the zip(s) into ``output_dir`` and validate each; return their paths.

    The builder reads every file the manifest's ``[build]`` keeps plus the listed wheels, so fetch
    the wheels first.
    """
    _, tags = find_blender_ext()
    output_dir.mkdir(parents=True, exist_ok=True)
    args = ["build", "--source-dir", str(source_dir), "--output-dir", str(output_dir), "--valid-tags", str(tags)]
    if split_platforms:
        args.append("--split-platforms")
    _check(run_blender_ext(*args), "build")
    zips = expected_zips(output_dir, split_platforms=split_platforms, manifest=source_dir / MANIFEST.name)
    missing = [z for z in zips if not z.is_file()]
    if missing:
        raise BuildError("the builder reported success but did not write: " + ", ".join(map(str, missing)))
    for z in zips:
        validate(z)
    return zips


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--output-dir", type=Path, default=DIST, help="where the zip goes (default: dist/)")
    parser.add_argument("--split-platforms", action="store_true", help="one zip per platform in the manifest")
    parser.add_argument("--no-fetch", action="store_true", help="do not download missing wheels first")
    args = parser.parse_args(argv)

    # Imported here (not at the top) so tests can load this file without tools/ on sys.path.
    import fetch_wheels

    try:
        if not args.no_fetch:
            fetch_wheels.fetch_wheels(MANIFEST)
        print(validate(ROOT))
        for z in build(args.output_dir.resolve(), split_platforms=args.split_platforms):
            print(f"built and validated: {z} ({z.stat().st_size / 1e6:.1f} MB)")
    except (BuildError, fetch_wheels.FetchError) as ex:
        print(f"build_extension: error: {ex}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Download the Python wheels that the extension bundles, exactly as ``blender_manifest.toml`` lists them.

The manifest's ``wheels`` list is the one source of truth: each entry is a PyPI file name, and the name
itself says what to ask pip for (distribution, version, Python, ABI, platform). Files already present are
kept; afterwards every listed file must exist, else this exits non-zero and says which are missing.

    python tools/fetch_wheels.py            # into ./wheels/ (gitignored), next to the manifest
    python tools/fetch_wheels.py --verbose  # show pip's own output

Wheels must reach the extension unmodified from PyPI (Blender's extension rules), so this only ever runs
``pip download --only-binary=:all: --no-deps`` and never builds or repacks anything.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tomllib
import zipfile
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MANIFEST = ROOT / "blender_manifest.toml"


class FetchError(Exception):
    """A wheel could not be named, downloaded or found; the message says which and why."""


@dataclass(frozen=True)
class WheelName:
    """The parts of a wheel file name (``name-version[-build]-python-abi-platform.whl``)."""

    filename: str
    distribution: str
    version: str
    python_tags: tuple[str, ...]
    abi_tags: tuple[str, ...]
    platform_tags: tuple[str, ...]

    @property
    def requirement(self) -> str:
        return f"{self.distribution}=={self.version}"

    def pip_target_args(self) -> list[str]:
        """The ``pip download`` options that select this wheel's interpreter and platform."""
        if self.platform_tags == ("any",):
            # A pure wheel: pip accepts it whatever platform it is asked for, so keep pip's defaults.
            return []
        python = self.python_tags[0]
        if not (python.startswith("cp") and python[2:].isdigit() and len(python) >= 4):
            raise FetchError(f"{self.filename}: cannot tell the CPython version from the tag {python!r}")
        args = ["--implementation", "cp", "--python-version", f"{python[2]}.{python[3:]}"]
        for abi in self.abi_tags:
            args += ["--abi", abi]
        for platform in self.platform_tags:
            args += ["--platform", platform]
        return args


def parse_wheel_filename(filename: str) -> WheelName:
    """Split a wheel file name into its tags (compressed tag sets such as ``a.b`` become tuples)."""
    if not filename.endswith(".whl"):
        raise FetchError(f"{filename}: not a wheel file name (expected it to end with .whl)")
    parts = filename[: -len(".whl")].split("-")
    if len(parts) not in (5, 6):
        raise FetchError(f"{filename}: not a wheel file name (expected name-version[-build]-python-abi-platform.whl)")
    distribution, version = parts[0], parts[1]
    python, abi, platform = parts[-3:]
    return WheelName(
        filename=filename,
        distribution=distribution,
        version=version,
        python_tags=tuple(python.split(".")),
        abi_tags=tuple(abi.split(".")),
        platform_tags=tuple(platform.split(".")),
    )


def manifest_wheel_paths(manifest: Path = MANIFEST) -> list[Path]:
    """The absolute paths of the wheels the manifest lists (relative entries resolve next to it)."""
    try:
        with manifest.open("rb") as fh:
            data = tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError) as ex:
        raise FetchError(f"{manifest}: cannot read the manifest: {ex}") from ex
    entries = data.get("wheels", [])
    if not isinstance(entries, list) or not all(isinstance(e, str) for e in entries):
        raise FetchError(f"{manifest}: 'wheels' must be a list of paths")
    return [manifest.parent / entry for entry in entries]


def _is_complete(path: Path) -> bool:
    return path.is_file() and zipfile.is_zipfile(path)


def missing_wheels(manifest: Path = MANIFEST) -> list[Path]:
    """The listed wheels that are not (complete) files yet."""
    return [path for path in manifest_wheel_paths(manifest) if not _is_complete(path)]


def fetch_wheels(manifest: Path = MANIFEST, *, verbose: bool = False) -> list[Path]:
    """Download every wheel the manifest lists that is not there yet; return all of their paths.

    Raises ``FetchError`` when pip fails or a listed file is still missing afterwards.
    """
    paths = manifest_wheel_paths(manifest)
    todo = [path for path in paths if not _is_complete(path)]

    # One pip call per folder and target: pip picks one file per requirement and target.
    groups: dict[tuple[Path, tuple[str, ...]], list[WheelName]] = defaultdict(list)
    for path in todo:
        if path.exists():
            path.unlink()  # a truncated file from an interrupted download
        wheel = parse_wheel_filename(path.name)
        groups[(path.parent, tuple(wheel.pip_target_args()))].append(wheel)

    for (dest, target_args), wheels in groups.items():
        dest.mkdir(parents=True, exist_ok=True)
        cmd = [
            sys.executable, "-m", "pip", "download",
            "--disable-pip-version-check", "--no-input",
            "--only-binary=:all:", "--no-deps",
            *target_args,
            "--dest", str(dest),
            *sorted({w.requirement for w in wheels}),
        ]
        if verbose:
            print("+", " ".join(cmd), flush=True)
        proc = subprocess.run(cmd, capture_output=not verbose, text=True)
        if proc.returncode != 0:
            output = "" if verbose else (proc.stdout + proc.stderr).strip()
            raise FetchError(
                "pip download failed for " + ", ".join(w.filename for w in wheels)
                + (f":\n{output}" if output else "")
            )

    still_missing = [path for path in paths if not _is_complete(path)]
    if still_missing:
        names = "\n  ".join(str(p.relative_to(manifest.parent)) for p in still_missing)
        raise FetchError(
            "these wheels listed in the manifest are missing after pip ran "
            "(PyPI may serve a different file name; correct the manifest to the exact name):\n  " + names
        )
    print(f"fetch_wheels: {len(paths)} wheels present ({len(todo)} downloaded)")
    return paths


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--manifest", type=Path, default=MANIFEST, help="path to blender_manifest.toml")
    parser.add_argument("--verbose", "-v", action="store_true", help="show the pip commands and their output")
    args = parser.parse_args(argv)
    try:
        fetch_wheels(args.manifest.resolve(), verbose=args.verbose)
    except FetchError as ex:
        print(f"fetch_wheels: error: {ex}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

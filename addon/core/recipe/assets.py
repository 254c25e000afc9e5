"""Asset sources: files a recipe brings in (scans, CAD exports, downloaded models) and how to label and
normalise them. Pure: lists files and reads manifests; the bridge imports them with Blender's importers.

An asset's id is ``<source name>/<path relative to the source's folder>``: stable across machines and
clones, so frame records and the pool's draws never depend on where the library lives.
"""

from __future__ import annotations

import csv
import glob
import io
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from ..errors import UserError
from ..fsio import UnreadableFile, read_regular
from ..params.schema import SchemaError, fld, path_str

# Formats Blender imports itself (bridge/compat.py maps each to its operator).
FORMATS = (".glb", ".gltf", ".obj", ".ply", ".stl", ".fbx", ".usd", ".usda", ".usdc", ".usdz")
UNITS = {"auto": 1.0, "m": 1.0, "cm": 0.01, "mm": 0.001, "in": 0.0254, "ft": 0.3048}
MAX_MANIFEST_BYTES = 64 << 20
MAX_ASSETS = 1_000_000


@dataclass
class AssetSource:
    """Files to import as target objects: one asset per file, one labelled object per asset."""
    name: str = fld("assets", "Source name: asset ids start with it; a pool picks sources by name")
    path: str = fld("", "A file, a folder (searched recursively) or a glob (*, **) of model files, or an asset "
                        "library .blend made by `synthkiln assets import` (its assets, with their stored labels)",
                    subtype="FILE_PATH")
    formats: list[str] = fld([], "File extensions taken from a folder or glob (empty: every importable one: "
                                 + ", ".join(FORMATS) + ")")
    category_from: Literal["fixed", "folder", "pattern"] = fld(
        "folder", "fixed: `category`; folder: the file's sub-folder name; pattern: group 1 of `pattern` "
                  "matched on the file name")
    category: str = fld("", "Category for category_from fixed, and for files the rule does not name")
    pattern: str = fld("", "Regular expression on the file name for category_from pattern, e.g. ^([a-z]+)_")
    attributes: dict[str, Any] = fld({}, "Attributes written with every instance of these assets")
    manifest: str = fld("", "CSV, JSON or YAML file: per file its category, attributes and size (m)",
                        subtype="FILE_PATH")
    units: Literal["auto", "m", "cm", "mm", "in", "ft"] = fld(
        "auto", "Unit of the file's numbers (auto: what the importer makes of it; OBJ, PLY, STL have none)")
    fit_size: float = fld(0.0, "Scale each asset so its largest side is this long (m; 0: keep the units)", min=0.0)
    up_axis: Literal["auto", "Z", "Y", "-Y", "X", "-X", "-Z"] = fld(
        "auto", "The file's up axis (auto: the format's convention, as Blender's importer reads it)")
    origin: Literal["base", "center", "keep"] = fld(
        "base", "Move the origin to the bottom centre (base: rests on surfaces), the box centre, or keep it")
    max_faces: int = fld(2_000_000, "Refuse assets with more faces than this (memory and speed)", min=1)

    def check(self, path):
        if not self.name or "/" in self.name:
            raise SchemaError(f"a source needs a name without '/', got {self.name!r}", path + ("name",),
                              self.name, "a name")
        for i, f in enumerate(self.formats):
            ext = f if f.startswith(".") else "." + f
            if ext.lower() not in FORMATS:
                raise SchemaError(f"{f!r} is not a format Blender imports: expected some of "
                                  f"{', '.join(x[1:] for x in FORMATS)}", path + ("formats", i), f, "a format")
        if self.category_from == "pattern":
            try:
                rx = re.compile(self.pattern)
            except re.error as e:
                raise SchemaError(f"{self.pattern!r} is not a regular expression ({e})", path + ("pattern",),
                                  self.pattern, "a regular expression") from None
            if rx.groups < 1:
                raise SchemaError(f"{self.pattern!r} has no group: expected one, e.g. ^([a-z]+)_",
                                  path + ("pattern",), self.pattern, "a group")
        if self.category_from == "fixed" and not self.category:
            raise SchemaError("category_from fixed needs a `category`", path + ("category",), "", "a category")

    def extensions(self) -> tuple[str, ...]:
        return tuple(sorted({(f if f.startswith(".") else "." + f).lower() for f in self.formats})) or FORMATS


@dataclass
class Asset:
    """One file of a source, labelled: what the pool draws from and the bridge imports."""
    id: str
    path: str                      # absolute path of the file
    file: str                      # path relative to the source folder (what records carry)
    category: str
    attributes: dict = field(default_factory=dict)
    size: float = 0.0              # largest side in metres from a manifest (0: the source's rule)
    source: str = ""
    object: str = ""               # in a library .blend: the asset object's name (path is the .blend)


LIBRARY = ".blend"


def is_library(path: Path) -> bool:
    """A source path naming an asset library .blend (its assets are listed by the bridge, with Blender)."""
    return Path(path).suffix.lower() == LIBRARY and not _is_glob(str(path))


def library_assets(src: AssetSource, library: Path, entries: list[dict], where: tuple = ("assets",)) -> list[Asset]:
    """The assets of a library .blend from its marked objects (``entries``: name, category, attributes as
    stored on each by ``synthkiln assets import``), sorted by id; ``file`` is the object's name. The stored
    category wins unless the source's rule is ``fixed``; the source's attributes are under the stored ones."""
    out = []
    for e in entries:
        cat = src.category if src.category_from == "fixed" else (str(e.get("category") or "") or src.category)
        if not cat:
            raise UserError(f"{path_str(where)}: {library}: asset {e['name']!r} has no stored category and the "
                            "source has no `category`: expected one of them")
        attrs = {**src.attributes, **(e.get("attributes") or {})}
        out.append(Asset(f"{src.name}/{e['name']}", str(library), e["name"], cat, attrs, 0.0, src.name, e["name"]))
    return sorted(out, key=lambda a: a.id)


def _is_glob(text: str) -> bool:
    return any(c in text for c in "*?[")


def source_files(src: AssetSource, resolved: Path, where: tuple) -> tuple[Path, list[Path]]:
    """(root folder, sorted files) of a source whose ``path`` resolved to ``resolved``."""
    text = str(resolved)
    exts = src.extensions()
    if _is_glob(text):
        root = Path(text)
        while _is_glob(str(root)):
            root = root.parent
        files = [Path(p) for p in glob.glob(text, recursive=True)]
        files = [p for p in files if p.is_file() and p.suffix.lower() in exts]
    elif resolved.is_dir():
        root = resolved
        files = [Path(d) / f for d, _, names in os.walk(resolved) for f in names
                 if Path(f).suffix.lower() in exts]
    elif resolved.is_file():
        if is_library(resolved):
            raise UserError(f"{path_str(where)}: {resolved} is a library .blend: its assets are listed with Blender "
                            "(the render and the sidebar do it)")
        if resolved.suffix.lower() not in FORMATS:
            raise UserError(f"{path_str(where)}: {resolved}: unsupported file type {resolved.suffix or '(none)'!r}: "
                            f"expected one of {', '.join(FORMATS)}")
        root, files = resolved.parent, [resolved]
    else:
        raise UserError(f"{path_str(where)}: {resolved} does not exist: expected a model file, a folder or a glob")
    if len(files) > MAX_ASSETS:
        raise UserError(f"{path_str(where)}: {len(files)} files: at most {MAX_ASSETS} assets per source")
    return root, sorted(files, key=lambda p: p.relative_to(root).as_posix())


def category_of(src: AssetSource, rel: Path) -> str:
    if src.category_from == "folder" and len(rel.parts) > 1:
        return rel.parts[-2]
    if src.category_from == "pattern":
        m = re.search(src.pattern, rel.name)
        if m and m.group(1):
            return m.group(1)
    return src.category


def list_assets(src: AssetSource, resolved: Path, where: tuple = ("assets",),
                manifest: Path | None = None) -> list[Asset]:
    """The assets of one source, sorted by id; a manifest's rows override category, attributes and size."""
    root, files = source_files(src, resolved, where)
    rows = read_manifest(manifest, where + ("manifest",)) if manifest else {}
    out = []
    for p in files:
        rel = p.relative_to(root)
        row = rows.get(rel.as_posix()) or rows.get(p.name) or {}
        cat = str(row.get("category") or category_of(src, rel))
        if not cat:
            raise UserError(f"{path_str(where)}: {p}: no category (category_from {src.category_from} found none and "
                            "`category` is empty): expected a category for every file")
        attrs = {**src.attributes, **(row.get("attributes") or {})}
        out.append(Asset(f"{src.name}/{rel.as_posix()}", str(p), rel.as_posix(), cat, attrs,
                         float(row.get("size") or 0.0), src.name))
    return out


def read_manifest(path: Path, where: tuple) -> dict[str, dict]:
    """file -> {category, attributes, size} from a CSV (columns file, category, size, any others are
    attributes), JSON or YAML (a list of such mappings, or a mapping file -> mapping)."""
    try:
        data = read_regular(Path(path), MAX_MANIFEST_BYTES).decode("utf-8-sig")
    except UnreadableFile as e:
        raise UserError(f"{path_str(where)}: cannot read {path} ({e.reason or e.kind}): expected a CSV, JSON or "
                        "YAML file") from None
    except UnicodeDecodeError:
        raise UserError(f"{path_str(where)}: {path} is not UTF-8 text: expected a CSV, JSON or YAML file") from None
    suffix = Path(path).suffix.lower()
    try:
        if suffix == ".csv":
            rows: Any = list(csv.DictReader(io.StringIO(data)))
        elif suffix == ".json":
            rows = json.loads(data)
        elif suffix in (".yaml", ".yml"):
            rows = yaml.safe_load(data)
        else:
            raise UserError(f"{path_str(where)}: {path}: unknown manifest type {suffix!r}: expected .csv, .json, "
                            ".yaml")
    except (ValueError, yaml.YAMLError, csv.Error) as e:
        raise UserError(f"{path_str(where)}: {path} cannot be parsed ({str(e).splitlines()[0]})") from None
    if isinstance(rows, dict):
        rows = [{"file": k, **(v if isinstance(v, dict) else {"category": v})} for k, v in rows.items()]
    if not isinstance(rows, list):
        raise UserError(f"{path_str(where)}: {path}: expected a list of rows with a `file` each")
    out: dict[str, dict] = {}
    for i, row in enumerate(rows):
        if not isinstance(row, dict) or not row.get("file"):
            raise UserError(f"{path_str(where)}: {path}: row {i + 1} has no `file`: expected file, category, "
                            "size and attributes")
        row = {str(k): v for k, v in row.items() if v not in (None, "")}
        attrs = dict(row.pop("attributes", None) or {})
        entry = {"category": row.pop("category", ""), "attributes": attrs}
        size = row.pop("size", 0)
        try:
            entry["size"] = float(size)
        except (TypeError, ValueError):
            raise UserError(f"{path_str(where)}: {path}: row {i + 1}: size {size!r} is not a number of metres") \
                from None
        f = str(row.pop("file")).replace("\\", "/")
        for k, v in row.items():       # any other column is an attribute
            attrs[k] = _number(v)
        out[f] = entry
    return out


def _number(v: Any) -> Any:
    if isinstance(v, str):
        for cast in (int, float):
            try:
                return cast(v)
            except ValueError:
                pass
    return v

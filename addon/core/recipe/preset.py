"""YAML presets: safe loading with line numbers, ``extends:`` layering, strict checking, dumping.

Presets are data, never code: ``yaml`` is only composed and read through the safe constructor.
Layering: a preset may say ``extends: base.yaml`` (a path relative to itself, or the name of a bundled
preset); mappings merge key by key, anything else (numbers, lists) is replaced by the later layer.

Limits, so that a hostile or mistaken file fails at once with a message instead of exhausting memory:
a preset file is a regular file (not a folder, device such as ``/dev/zero``, pipe or socket) of at most
``MAX_PRESET_BYTES`` (1 MiB; the bundled presets are a few KB); it holds at most ``MAX_VALUES`` values
with every use of a YAML alias counted again (an "alias bomb" expands to billions), nested at most
``MAX_DEPTH`` deep; ``extends`` chains are at most ``MAX_EXTENDS`` long and never loop. An empty preset
is refused: it is nearly always the wrong file, and it would render the scene unchanged.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from ..errors import PresetError
from ..fsio import UnreadableFile, atomic_write_bytes, read_regular
from .model import Recipe
from ..params.schema import SchemaError, field_specs, from_data, path_str, to_data

PACKAGE_ROOT = Path(__file__).resolve().parents[3]      # the extension root (repo root in a checkout)
BUILTIN_PRESETS = PACKAGE_ROOT / "presets"
BUILTIN_PREFIX = "builtin:"

MAX_PRESET_BYTES = 1 << 20     # parsing YAML in pure Python takes seconds per MB
MAX_VALUES = 100_000           # values after alias expansion (a real preset has hundreds)
MAX_DEPTH = 64                 # nesting (the schema needs about 8)
MAX_EXTENDS = 16               # extends steps in a chain (a preset and up to 16 it builds on)

Origins = dict[tuple, tuple[str, int]]
_PLAIN_TAGS = ("tag:yaml.org,2002:map", "tag:yaml.org,2002:seq")
SECTIONS = "categories, labels, scene, assets, randomizers, balance, render, output"


def resolve_path(value: str, base_dir: str | Path) -> Path:
    """A path as written in a preset: ``builtin:x`` is inside SynthKiln, relative is against the preset."""
    if value.startswith(BUILTIN_PREFIX):
        return PACKAGE_ROOT / value[len(BUILTIN_PREFIX):]
    p = Path(value).expanduser()
    return p if p.is_absolute() else Path(base_dir) / p


class _Budget:
    """Counts the values built from a YAML node graph, where an alias is a second reference to a node:
    walking it expands every reference, so the count (not the file size) bounds time and memory."""

    def __init__(self, file: str):
        self.file, self.left = file, MAX_VALUES

    def spend(self, node: yaml.Node, path: tuple) -> None:
        self.left -= 1
        if self.left < 0:
            raise PresetError(f"holds more than {MAX_VALUES} values (YAML aliases counted at every use): "
                              "expected a preset of plain sections; is an alias used inside itself or many "
                              "times over?", file=self.file, line=node.start_mark.line + 1, path=path_str(path))
        if len(path) > MAX_DEPTH:
            raise PresetError(f"nested more than {MAX_DEPTH} deep (an alias used inside itself?): expected "
                              "the sections of a preset", file=self.file, line=node.start_mark.line + 1,
                              path=path_str(path[:8]) + "...")


def _to_python(node: yaml.Node, path: tuple, file: str, origins: Origins, constructor, budget: _Budget) -> Any:
    budget.spend(node, path)
    origins[path] = (file, node.start_mark.line + 1)
    if not isinstance(node, yaml.ScalarNode) and node.tag not in _PLAIN_TAGS:
        raise PresetError(f"unsupported YAML value: tag {node.tag!r} (presets are plain data)", file=file,
                          line=node.start_mark.line + 1, path=path_str(path))
    if isinstance(node, yaml.MappingNode):
        out: dict = {}
        for key_node, value_node in node.value:
            key = _scalar(key_node, path, file, constructor) if isinstance(key_node, yaml.ScalarNode) else None
            if not isinstance(key, (str, int)) or isinstance(key, bool):
                shown = key if key is not None else f"a {key_node.id}"
                raise PresetError(f"keys must be names, got {shown!r}", file=file, line=key_node.start_mark.line + 1,
                                  path=path_str(path))
            if key in out:
                raise PresetError(f"{key!r} appears twice", file=file, line=key_node.start_mark.line + 1,
                                  path=path_str(path + (key,)))
            out[key] = _to_python(value_node, path + (key,), file, origins, constructor, budget)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_to_python(v, path + (i,), file, origins, constructor, budget) for i, v in enumerate(node.value)]
    return _scalar(node, path, file, constructor)


def _scalar(node: yaml.ScalarNode, path: tuple, file: str, constructor) -> Any:
    try:
        return constructor.construct_object(node)
    except ValueError as e:     # e.g. an integer of more than 4300 digits
        raise PresetError(f"unsupported YAML value: {str(e).split('; use ')[0]}", file=file,
                          line=node.start_mark.line + 1, path=path_str(path)) from None


def _read_text(path: Path, referrer: tuple[str, int | None] | None = None) -> str:
    """The text of a preset file, refused before reading unless it is a regular file of bounded size.
    Opened without blocking and checked on the open file, so a pipe cannot hang us and nothing can be
    swapped in between the check and the read. ``referrer``: the (file, line) whose ``extends`` named it;
    errors about opening are reported there."""
    file = str(path)

    def fail(what: str) -> PresetError:
        if referrer:
            return PresetError(f"{file}: {what}", file=referrer[0], line=referrer[1], path="extends")
        return PresetError(what, file=file)

    try:
        data = read_regular(path, MAX_PRESET_BYTES)
    except UnreadableFile as e:
        if e.kind == "missing":
            bundled = ", ".join(sorted(p.stem for p in BUILTIN_PRESETS.glob("*.yaml")))
            raise fail("file not found" + (": expected a preset file relative to the preset that extends it, or "
                                           f"the name of a bundled preset ({bundled})" if referrer else "")) from None
        size = f"is {e.size} bytes" if e.size is not None else f"is more than {MAX_PRESET_BYTES} bytes"
        raise fail({"folder": "is a folder: expected a preset file",
                    "special": "is not a regular file (a device, pipe or socket): expected a preset file",
                    "too_big": f"{size}: a preset may be at most {MAX_PRESET_BYTES} bytes (1 MiB)"}.get(
                        e.kind, f"cannot be read: {e.reason}")) from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise PresetError(f"cannot read: not UTF-8 text ({e.reason} at byte {e.start})", file=file) from None


def _read_yaml(path: Path, referrer: tuple[str, int | None] | None = None) -> tuple[Any, Origins]:
    file = str(path)
    text = _read_text(path, referrer)
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as e:
        line = e.problem_mark.line + 1 if e.problem_mark else None
        raise PresetError(f"not valid YAML: {e.problem}", file=file, line=line) from None
    except yaml.YAMLError as e:
        raise PresetError(f"not valid YAML: {e}", file=file) from None
    except RecursionError:
        raise PresetError(f"nested too deeply: expected the sections of a preset ({SECTIONS})", file=file) from None
    origins: Origins = {}
    constructor = yaml.SafeLoader("")
    try:
        data = None if node is None else _to_python(node, (), file, origins, constructor, _Budget(file))
    except yaml.constructor.ConstructorError as e:
        line = e.problem_mark.line + 1 if e.problem_mark else None
        raise PresetError(f"unsupported YAML value: {e.problem}", file=file, line=line) from None
    if data is None or data == {}:
        raise PresetError(f"the preset is empty: expected a mapping of sections ({SECTIONS}), or "
                          "extends: with the sections that change", file=file)
    if not isinstance(data, dict):
        raise PresetError(f"a preset is a mapping of sections ({SECTIONS}), got {type(data).__name__}",
                          file=file, line=1)
    return data, origins


def merge_data(base: Any, top: Any, base_o: Origins = None, top_o: Origins = None, path: tuple = (),
               out_o: Origins = None) -> Any:
    """Layer ``top`` over ``base``: mappings merge key by key, anything else is replaced.
    With origin maps, ``out_o`` learns the file and line of every value of the result."""
    base_o, top_o, out_o = base_o or {}, top_o or {}, out_o if out_o is not None else {}
    if isinstance(base, dict) and isinstance(top, dict):
        out = dict(base)
        for k, v in top.items():
            out[k] = merge_data(base[k], v, base_o, top_o, path + (k,), out_o) if k in base else v
            if k not in base:
                out_o.update({p: o for p, o in top_o.items() if p[:len(path) + 1] == path + (k,)})
        if path in top_o:
            out_o[path] = top_o[path]
        return out
    out_o.update({p: o for p, o in top_o.items() if p[:len(path)] == path})
    return top


def _find_extended(value: Any, here: Path, line: int) -> Path:
    if not isinstance(value, str) or not value:
        raise PresetError(f"expected a preset path or name, got {value!r}", file=str(here), line=line, path="extends")
    p = resolve_path(value, here.parent)
    if not p.exists() and "/" not in value and not value.endswith((".yaml", ".yml")):
        p = BUILTIN_PRESETS / f"{value}.yaml"
    return p


def load_layers(path: str | Path, _chain: tuple = (), _referrer: tuple[str, int | None] | None = None
                ) -> tuple[dict, Origins]:
    """The merged data of a preset and everything it extends, with the file and line of every value."""
    path = Path(path).resolve()
    if path in _chain:
        names = " -> ".join(p.name for p in _chain + (path,))
        raise PresetError(f"loops back to {path.name} ({names}): expected a chain of presets that ends",
                          file=_referrer[0], line=_referrer[1], path="extends")
    if len(_chain) > MAX_EXTENDS:
        raise PresetError(f"goes more than {MAX_EXTENDS} presets deep: expected a shorter chain",
                          file=_referrer[0], line=_referrer[1], path="extends")
    data, origins = _read_yaml(path, _referrer)
    if "extends" not in data:
        return data, origins
    line = origins.get(("extends",), ("", 0))[1]
    parent = _find_extended(data.pop("extends"), path, line)
    base, base_o = load_layers(parent, _chain + (path,), (str(path), line))
    merged_o: Origins = dict(base_o)
    merged = merge_data(base, data, base_o, {p: o for p, o in origins.items() if p[:1] != ("extends",)}, (), merged_o)
    return merged, merged_o


def origin_of(path: tuple, origins: Origins, default_file: str) -> tuple[str, int | None]:
    """File and line a field path was written on (its nearest ancestor that has one)."""
    while path and path not in origins:
        path = path[:-1]
    return origins.get(path, (default_file, None))


def error_at(e: SchemaError, origins: Origins, default_file: str) -> PresetError:
    file, line = origin_of(e.path, origins, default_file)
    return PresetError(str(e), file=file, line=line, path=path_str(e.path), value=e.value, expected=e.expected)


def load_preset(path: str | Path, overrides: dict | None = None,
                override_labels: dict[tuple, str] | None = None) -> Recipe:
    """Read, layer and check a preset; ``overrides`` (same shape) are merged on top (e.g. CLI flags). An
    error in an overridden value names where it came from (``override_labels``: field path -> e.g.
    ``"--frames"``; default ``"overrides"``), not the preset line it replaced."""
    data, origins = load_layers(path)
    blame = origins
    if overrides:
        data = merge_data(data, overrides, origins, {}, (), origins)
        blame = dict(origins)
        for leaf in _leaf_paths(overrides):
            blame = {k: v for k, v in blame.items() if k[:len(leaf)] != leaf}
            blame[leaf] = ((override_labels or {}).get(leaf, "overrides"), None)
    try:
        recipe = from_data(Recipe, data)
    except SchemaError as e:
        raise error_at(e, blame, str(path)) from None
    _anchor_paths(recipe, (), origins, str(path))
    return recipe


def _leaf_paths(data: Any, path: tuple = ()) -> list[tuple]:
    if isinstance(data, dict) and data:
        return [p for k, v in data.items() for p in _leaf_paths(v, path + (k,))]
    return [path]


def anchor_paths(recipe: Recipe, folder: str | Path) -> None:
    """Make an edited recipe's relative input paths absolute against ``folder`` (in place), as a preset's
    are against the layer that wrote them: the recipe can then be saved and rendered from anywhere."""
    _anchor_paths(recipe, (), {}, str(Path(folder) / "recipe"))


def _anchor_paths(obj: Any, path: tuple, origins: Origins, default_file: str) -> None:
    """Make relative input paths (library .blend, texture/photo/HDRI folders) relative to the preset layer
    that wrote them, so presets can be extended and run from any folder. The output folder stays
    relative to where the job runs."""
    for spec in field_specs(type(obj)):
        value, where = getattr(obj, spec.name), path + (spec.name,)
        if spec.kind == "str" and spec.subtype in ("FILE_PATH", "DIR_PATH") and where != ("output", "directory"):
            if value and not value.startswith((BUILTIN_PREFIX, "//")) and not Path(value).expanduser().is_absolute():
                layer = Path(origin_of(where, origins, default_file)[0]).parent
                setattr(obj, spec.name, str(resolve_path(value, layer).resolve()))
        elif spec.kind == "struct":
            _anchor_paths(value, where, origins, default_file)
        elif spec.kind in ("list_struct", "stack"):
            for i, item in enumerate(value):
                _anchor_paths(item, where + (i,), origins, default_file)


def dump_preset(recipe: Recipe) -> str:
    header = "# SynthKiln preset (schema version %d)\n" % recipe.version
    return header + yaml.safe_dump(to_data(recipe), sort_keys=False, default_flow_style=None, width=110)


def save_preset(recipe: Recipe, path: str | Path) -> None:
    atomic_write_bytes(Path(path), dump_preset(recipe).encode("utf-8"))

"""YAML presets: safe loading with line numbers, ``extends:`` layering, strict checking, dumping.

Presets are data, never code: ``yaml`` is only composed and read through the safe constructor.
Layering: a preset may say ``extends: base.yaml`` (a path relative to itself, or the name of a bundled
preset); mappings merge key by key, anything else (numbers, lists) is replaced by the later layer.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from ..errors import PresetError
from ..fsio import atomic_write_bytes
from .model import Recipe
from ..params.schema import SchemaError, field_specs, from_data, path_str, to_data

PACKAGE_ROOT = Path(__file__).resolve().parents[3]      # the extension root (repo root in a checkout)
BUILTIN_PRESETS = PACKAGE_ROOT / "presets"
BUILTIN_PREFIX = "builtin:"

Origins = dict[tuple, tuple[str, int]]
_PLAIN_TAGS = ("tag:yaml.org,2002:map", "tag:yaml.org,2002:seq")


def resolve_path(value: str, base_dir: str | Path) -> Path:
    """A path as written in a preset: ``builtin:x`` is inside SynthKiln, relative is against the preset."""
    if value.startswith(BUILTIN_PREFIX):
        return PACKAGE_ROOT / value[len(BUILTIN_PREFIX):]
    p = Path(value).expanduser()
    return p if p.is_absolute() else Path(base_dir) / p


def _to_python(node: yaml.Node, path: tuple, file: str, origins: Origins, constructor) -> Any:
    origins[path] = (file, node.start_mark.line + 1)
    if not isinstance(node, yaml.ScalarNode) and node.tag not in _PLAIN_TAGS:
        raise PresetError(f"unsupported YAML value: tag {node.tag!r} (presets are plain data)", file=file,
                          line=node.start_mark.line + 1, path=path_str(path))
    if isinstance(node, yaml.MappingNode):
        out: dict = {}
        for key_node, value_node in node.value:
            key = constructor.construct_object(key_node)
            if not isinstance(key, (str, int)):
                raise PresetError(f"keys must be names, got {key!r}", file=file, line=key_node.start_mark.line + 1,
                                  path=path_str(path))
            if key in out:
                raise PresetError(f"{key!r} appears twice", file=file, line=key_node.start_mark.line + 1,
                                  path=path_str(path + (key,)))
            out[key] = _to_python(value_node, path + (key,), file, origins, constructor)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_to_python(v, path + (i,), file, origins, constructor) for i, v in enumerate(node.value)]
    return constructor.construct_object(node)


def _read_yaml(path: Path) -> tuple[Any, Origins]:
    file = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PresetError("file not found", file=file) from None
    except (OSError, UnicodeDecodeError) as e:
        raise PresetError(f"cannot read: {e}", file=file) from None
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as e:
        line = e.problem_mark.line + 1 if e.problem_mark else None
        raise PresetError(f"not valid YAML: {e.problem}", file=file, line=line) from None
    except yaml.YAMLError as e:
        raise PresetError(f"not valid YAML: {e}", file=file) from None
    origins: Origins = {}
    if node is None:
        return {}, origins
    constructor = yaml.SafeLoader("")
    try:
        data = _to_python(node, (), file, origins, constructor)
    except yaml.constructor.ConstructorError as e:
        line = e.problem_mark.line + 1 if e.problem_mark else None
        raise PresetError(f"unsupported YAML value: {e.problem}", file=file, line=line) from None
    if not isinstance(data, dict):
        raise PresetError(f"a preset is a mapping of sections, got {type(data).__name__}", file=file, line=1)
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


def load_layers(path: str | Path, _chain: tuple = ()) -> tuple[dict, Origins]:
    """The merged data of a preset and everything it extends, with the file and line of every value."""
    path = Path(path).resolve()
    if path in _chain:
        raise PresetError(f"extends loops back to {path.name}", file=str(_chain[-1]), path="extends")
    data, origins = _read_yaml(path)
    if "extends" not in data:
        return data, origins
    parent = _find_extended(data.pop("extends"), path, origins.get(("extends",), ("", 0))[1])
    base, base_o = load_layers(parent, _chain + (path,))
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


def load_preset(path: str | Path, overrides: dict | None = None) -> Recipe:
    """Read, layer and check a preset; ``overrides`` (same shape) are merged on top (e.g. CLI flags)."""
    data, origins = load_layers(path)
    if overrides:
        data = merge_data(data, overrides, origins, {}, (), origins)
    try:
        recipe = from_data(Recipe, data)
    except SchemaError as e:
        raise error_at(e, origins, str(path)) from None
    _anchor_paths(recipe, (), origins, str(path))
    return recipe


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

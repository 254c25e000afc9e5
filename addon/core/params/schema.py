"""The schema machinery: typed dataclass fields with defaults, ranges and help, and the one generic
walk that turns YAML data into checked dataclasses and back.

The recipe (``recipe.py``) is written once with ``fld``; the YAML view (``preset.py``) and the scene's
PropertyGroups (``ui/props.py``) are both derived from it through ``field_specs``, so the three views of
a recipe cannot drift apart.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import typing
from dataclasses import dataclass
from typing import Any, Literal, get_args, get_origin

from .distributions import Distribution, DistributionSyntaxError, f32, parse

Path = tuple  # a field path: ("randomizers", "objects", 0, "scale")


def fld(default: Any, help: str = "", *, min: float | None = None, max: float | None = None,
        subtype: str = "") -> Any:
    """A schema field: default, help text (becomes the UI tooltip and the docs) and an allowed range.

    ``min``/``max`` bound numbers, tuples' items and a distribution's support."""
    meta = {"help": help, "min": min, "max": max, "subtype": subtype}
    if isinstance(default, (list, dict)) or dataclasses.is_dataclass(default):
        proto = default
        return dataclasses.field(default_factory=lambda: _copy(proto), metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


def _copy(value: Any) -> Any:
    import copy
    return copy.deepcopy(value)


class SchemaError(Exception):
    """A value that does not fit the schema, with the field path where it was found."""

    def __init__(self, message: str, path: Path, value: Any = None, expected: str = ""):
        super().__init__(message)
        self.path, self.value, self.expected = tuple(path), value, expected


def path_str(path: Path) -> str:
    out = ""
    for p in path:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out


# -- type introspection -----------------------------------------------------------------------------

@dataclass(frozen=True)
class FieldSpec:
    name: str
    kind: str            # bool int float str enum dist struct list_struct list_str dict int2 float3 stack
    type: Any            # the element/struct type where relevant
    default: Any
    help: str
    min: float | None
    max: float | None
    subtype: str
    options: tuple = ()  # enum values


def _kind(tp: Any) -> tuple[str, Any, tuple]:
    origin, args = get_origin(tp), get_args(tp)
    if tp is bool:
        return "bool", tp, ()
    if tp is int:
        return "int", tp, ()
    if tp is float:
        return "float", tp, ()
    if tp is str:
        return "str", tp, ()
    if tp is Distribution:
        return "dist", tp, ()
    if origin is Literal:
        return "enum", str, tuple(args)
    if origin is tuple:
        if args == (int, int):
            return "int2", int, ()
        if args == (float, float, float):
            return "float3", float, ()
    if origin is list:
        (item,) = args
        if item is str:
            return "list_str", str, ()
        if dataclasses.is_dataclass(item):
            return ("stack" if hasattr(item, "REGISTRY") else "list_struct"), item, ()
    if origin is dict:
        return "dict", Any, ()
    if dataclasses.is_dataclass(tp):
        return "struct", tp, ()
    raise TypeError(f"unsupported schema type {tp!r}")


_SPEC_CACHE: dict[type, tuple[FieldSpec, ...]] = {}


def field_specs(cls: type) -> tuple[FieldSpec, ...]:
    """The fields of a schema dataclass with their kinds, in declaration order."""
    if cls not in _SPEC_CACHE:
        hints = typing.get_type_hints(cls)
        specs = []
        for f in dataclasses.fields(cls):
            if not f.init:
                continue
            kind, tp, options = _kind(hints[f.name])
            default = f.default if f.default is not dataclasses.MISSING else f.default_factory()
            m = f.metadata
            specs.append(FieldSpec(f.name, kind, tp, default, m.get("help", ""), m.get("min"), m.get("max"),
                                   m.get("subtype", ""), options))
        _SPEC_CACHE[cls] = tuple(specs)
    return _SPEC_CACHE[cls]


# -- data -> dataclass (validating) ---------------------------------------------------------------

def _type_name(spec: FieldSpec) -> str:
    return {"bool": "true or false", "int": "an integer", "float": "a number", "str": "a string",
            "list_str": "a list of strings", "dict": "a mapping of names to values",
            "int2": "a list of two integers", "float3": "a list of three numbers",
            "list_struct": "a list of mappings", "stack": "a list of randomizers",
            "struct": "a mapping", "dist": "a distribution"}.get(spec.kind, spec.kind)


def _range_text(spec: FieldSpec) -> str:
    if spec.min is not None and spec.max is not None:
        return f"{spec.min}..{spec.max}"
    if spec.min is not None:
        return f">= {spec.min}"
    return f"<= {spec.max}"


def _check_range(spec: FieldSpec, x: float, path: Path) -> None:
    if (spec.min is not None and x < spec.min) or (spec.max is not None and x > spec.max):
        raise SchemaError(f"{x!r} is out of range: expected {_range_text(spec)}", path, x, _range_text(spec))


def _scalar(spec: FieldSpec, value: Any, path: Path) -> Any:
    k = spec.kind
    bad = SchemaError(f"expected {_type_name(spec)}, got {value!r}", path, value, _type_name(spec))
    if k == "bool":
        if not isinstance(value, bool):
            raise bad
        return value
    if k == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            raise bad
        _check_range(spec, value, path)
        return value
    if k == "float":
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise bad
        _check_range(spec, value, path)
        return f32(value)
    if k == "str":
        if not isinstance(value, str):
            raise bad
        return value
    if k == "enum":
        if value not in spec.options:
            close = difflib.get_close_matches(str(value), [str(o) for o in spec.options], n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise SchemaError(f"{value!r} is not allowed: expected one of {', '.join(map(str, spec.options))}{hint}",
                              path, value, f"one of {spec.options}")
        return value
    raise AssertionError(k)


def _vector(spec: FieldSpec, value: Any, path: Path, n: int, item_kind: str) -> tuple:
    if not isinstance(value, (list, tuple)) or len(value) != n:
        raise SchemaError(f"expected {_type_name(spec)}, got {value!r}", path, value, _type_name(spec))
    item = dataclasses.replace(spec, kind=item_kind)
    return tuple(_scalar(item, v, path + (i,)) for i, v in enumerate(value))


def _distribution(spec: FieldSpec, value: Any, path: Path) -> Distribution:
    try:
        d = parse(value)
    except DistributionSyntaxError as e:
        sub = tuple(p for p in e.subpath.split(".") if p) if e.subpath else ()
        raise SchemaError(str(e), path + sub, value, "a distribution") from None
    has_strings = d.kind == "choice" and any(isinstance(c, str) for c in d.choices)
    if spec.subtype == "names" and (d.kind != "choice" or d.rare_p > 0):
        raise SchemaError(f"expected {{choice: [name, ...]}}, got {value!r}", path, value, "a choice of names")
    if spec.subtype == "names":     # a number here is never found by name: refuse it now, not at render
        for k, c in enumerate(d.choices):
            if not isinstance(c, str):
                raise SchemaError(f"{c!r} is not a name: expected a string (quote it, '{c}', if that is "
                                  "the name)", path + ("choice", k), c, "a name")
    if spec.subtype != "names" and has_strings:
        raise SchemaError(f"expected numbers, got a choice of strings {d.choices!r}", path, value, "numbers")
    lo_hi = d.support()
    if lo_hi is not None and (spec.min is not None or spec.max is not None):
        lo, hi = lo_hi
        if (spec.min is not None and lo < spec.min) or (spec.max is not None and hi > spec.max):
            raise SchemaError(f"draws can reach {lo}..{hi}, outside the allowed range {_range_text(spec)}",
                              path, value, _range_text(spec))
    return d


def from_data(cls: type, data: Any, path: Path = ()) -> Any:
    """Build and check a schema dataclass from YAML-like data (dicts, lists, scalars)."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise SchemaError(f"expected a mapping, got {data!r}", path, data, "a mapping")
    specs = {s.name: s for s in field_specs(cls)}
    unknown = [k for k in data if k not in specs]
    if unknown:
        key = unknown[0]
        close = difflib.get_close_matches(str(key), list(specs), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise SchemaError(f"unknown field {key!r}{hint}: expected one of {', '.join(specs)}",
                          path + (key,), data[key], f"one of {list(specs)}")
    kwargs = {}
    for name, value in data.items():
        kwargs[name] = _value(specs[name], value, path + (name,))
    obj = cls(**kwargs)
    check = getattr(obj, "check", None)
    if check:
        check(path)
    return obj


def _value(spec: FieldSpec, value: Any, path: Path) -> Any:
    k = spec.kind
    if k in ("bool", "int", "float", "str", "enum"):
        return _scalar(spec, value, path)
    if k == "int2":
        return _vector(spec, value, path, 2, "int")
    if k == "float3":
        return _vector(spec, value, path, 3, "float")
    if k == "dist":
        return _distribution(spec, value, path)
    if k == "struct":
        return from_data(spec.type, value, path)
    if k == "list_str":
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise SchemaError(f"expected a list of strings, got {value!r}", path, value, "a list of strings")
        return list(value)
    if k == "dict":
        if not isinstance(value, dict):
            raise SchemaError(f"expected a mapping, got {value!r}", path, value, "a mapping")
        for key, v in value.items():
            if not isinstance(key, str) or not (isinstance(v, (str, int, float, bool))):
                raise SchemaError(f"expected name: value with a string, number or boolean value, got {key!r}: {v!r}",
                                  path + (str(key),), v, "a string, number or boolean")
        return {k2: (f32(v) if isinstance(v, float) else v) for k2, v in value.items()}
    if k in ("list_struct", "stack"):
        if not isinstance(value, list):
            raise SchemaError(f"expected a list, got {value!r}", path, value, "a list")
        return [(_stack_item if k == "stack" else from_data)(spec.type, v, path + (i,)) for i, v in enumerate(value)]
    raise AssertionError(k)


def _stack_item(base: type, data: Any, path: Path) -> Any:
    """A polymorphic list item: its ``type`` key picks the dataclass from ``base.REGISTRY``."""
    registry = base.REGISTRY
    if not isinstance(data, dict) or "type" not in data:
        raise SchemaError(f"expected a mapping with a 'type' (one of {', '.join(registry)}), got {data!r}",
                          path, data, f"one of {list(registry)}")
    t = data["type"]
    if t not in registry:
        close = difflib.get_close_matches(str(t), list(registry), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise SchemaError(f"unknown randomizer type {t!r}{hint}: expected one of {', '.join(registry)}",
                          path + ("type",), t, f"one of {list(registry)}")
    rest = {k: v for k, v in data.items() if k != "type"}
    return from_data(registry[t], rest, path)


# -- dataclass -> data ------------------------------------------------------------------------------

def to_data(obj: Any) -> Any:
    """The YAML form of a schema dataclass (every field, in declaration order)."""
    if isinstance(obj, Distribution):
        return obj.to_data()
    if dataclasses.is_dataclass(obj):
        out = {}
        if hasattr(type(obj), "TYPE"):
            out["type"] = type(obj).TYPE
        for spec in field_specs(type(obj)):
            out[spec.name] = to_data(getattr(obj, spec.name))
        return out
    if isinstance(obj, (list, tuple)):
        return [to_data(v) for v in obj]
    if isinstance(obj, dict):
        return {k: to_data(v) for k, v in obj.items()}
    return obj

#!/usr/bin/env python3
"""Write docs/randomizers.md from the schema (every randomizer type, its fields, defaults and help) and
docs/api.md from the Python API's docstrings (``headless/api.py``, every name in ``synthkiln.__all__``).

The schema and the docstrings are the one source of truth (DESIGN §1); these pages are generated from them
so they can never drift. tests/core/test_docs.py fails when a page is stale: run this script and commit
the result.

    .venv/bin/python tools/gen_docs.py
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import sys
from pathlib import Path

import yaml

from synthkiln.addon.core.randomizers import GROUPS, Randomizer
from synthkiln.addon.core.params.schema import field_specs, to_data
from synthkiln.headless import api

ROOT = Path(__file__).resolve().parent.parent

OUT = ROOT / "docs" / "randomizers.md"
API_OUT = ROOT / "docs" / "api.md"
BASE_FIELDS = {"name", "enabled", "select"}


def _default(spec) -> str:
    value = to_data(spec.default)
    if spec.kind == "struct":
        return "—"
    text = yaml.safe_dump(value, default_flow_style=True, width=1000).strip().removesuffix("...").strip()
    text = text.replace("|", "\\|")
    return f"`{text}`" if text not in ("''", "[]", "{}") else "—"


def render() -> str:
    out = ["# Randomizers", "",
           "Generated from the schema by `tools/gen_docs.py`; do not edit by hand.", "",
           "Every randomizer also has `name` (keys its random stream), `enabled` (mute) and `select` "
           "(`collection`, `names`, `category`). Any numeric parameter shown as a distribution takes "
           "`3.0`, `{uniform: [a, b]}`, `{normal: [mean, std], clip: [lo, hi]}`, `{log_uniform: [a, b]}` or "
           "`{choice: [...], weights: [...]}`, each with an optional `rare: {p: 0.02, uniform: [lo, hi]}`. "
           "Angles are degrees, lengths metres.", ""]
    for group in GROUPS:
        types = sorted((t, c) for t, c in Randomizer.REGISTRY.items() if c.GROUP == group)
        out += [f"## {group}", ""]
        intro = getattr(sys.modules[types[0][1].__module__], "GROUP_DOC", "") if types else ""
        out += [intro.strip(), ""] if intro else []      # a group's own page intro (its scope), where it has one
        for t, cls in types:
            doc = " ".join((cls.__doc__ or "").split())
            out += [f"### `{t}`", "", doc, "", "| field | kind | default | meaning |", "|---|---|---|---|"]
            for spec in field_specs(cls):
                if spec.name in BASE_FIELDS:
                    continue
                kind = "names" if spec.subtype == "names" else spec.kind
                rng = ""
                if spec.min is not None or spec.max is not None:
                    rng = f" ({spec.min if spec.min is not None else ''}..{spec.max if spec.max is not None else ''})"
                out.append(f"| `{spec.name}` | {kind}{rng} | {_default(spec)} | {spec.help} |")
            out.append("")
    return "\n".join(out)


# -- docs/api.md ---------------------------------------------------------------------------------------

def _doc(obj) -> str:
    """The object's own docstring, dedented (a dataclass's generated ``Name(field=...)`` one is not a doc)."""
    doc = obj.__dict__.get("__doc__") if isinstance(obj, type) else obj.__doc__
    if not doc or (isinstance(obj, type) and dataclasses.is_dataclass(obj) and doc.startswith(obj.__name__ + "(")):
        return ""
    return inspect.cleandoc(doc)


def _signature(name: str, fn) -> str:
    """``name(a: T, *, b: U = 1) -> R`` from the annotations as written (they are strings here)."""
    sig = inspect.signature(fn)
    parts, star = [], False
    for p in sig.parameters.values():
        if p.name == "self":
            continue
        if p.kind is p.KEYWORD_ONLY and not star:
            parts.append("*")
            star = True
        text = p.name + (f": {p.annotation}" if p.annotation is not p.empty else "")
        if p.default is not p.empty:
            text += f" = {p.default!r}"
        parts.append(text)
    ret = f" -> {sig.return_annotation}" if sig.return_annotation is not sig.empty else ""
    return f"{name}({', '.join(parts)}){ret}".replace("'", "")


def _members(cls) -> list[str]:
    """A class's public methods and properties, in source order, with their docstrings."""
    out = []
    for name, member in cls.__dict__.items():
        if name.startswith("_"):
            continue
        if isinstance(member, (property, functools.cached_property)):
            fn = member.fget if isinstance(member, property) else member.func
            ret = inspect.signature(fn).return_annotation
            head = f"`{cls.__name__}.{name}`" + (f" → `{ret}`" if ret is not inspect.Signature.empty else "")
        elif inspect.isfunction(member):
            fn, head = member, f"`{cls.__name__}.{_signature(name, member)}`"
        else:
            continue
        out += [f"- {head}: {' '.join(_doc(fn).split())}"]
    return out


def _fields(cls) -> list[str]:
    """A dataclass's fields: from the schema's help where it has one (the recipe), else the field list."""
    try:
        return [f"- `{spec.name}`: {spec.help}" for spec in field_specs(cls)]
    except (TypeError, KeyError, AttributeError):
        return [f"- `{f.name}`: `{f.type}`" for f in dataclasses.fields(cls)]


def render_api() -> str:
    out = ["# Python API", "",
           "Generated from the docstrings of `headless/api.py` by `tools/gen_docs.py`; do not edit by hand.", "",
           inspect.cleandoc(api.__doc__), "",
           "The names below are the public API, all importable from `synthkiln` (`synthkiln.__all__`). Every "
           "other module, class and function in the package (`synthkiln.addon.*`, `synthkiln.headless.*`, "
           "names starting with `_`) is **internal**: it may change in any release.", ""]
    for name in api.__all__:
        obj = getattr(api, name)
        if name == "__version__":
            out += ["## `synthkiln.__version__`", "", f"The package's version, `{obj!r}`.", ""]
        elif isinstance(obj, type) and issubclass(obj, BaseException):
            bases = ", ".join(b.__name__ for b in obj.__bases__)
            out += [f"## `synthkiln.{name}({bases})`", "", _doc(obj), ""]
        elif isinstance(obj, type):
            out += [f"## `synthkiln.{name}`", ""]
            doc = _doc(obj)
            if doc:
                out += [doc, ""]
            if dataclasses.is_dataclass(obj):
                if name == "Recipe":
                    out += ["The recipe: a tree of dataclasses, one per section of a preset (see "
                            "[randomizers.md](randomizers.md) for the stacks). Edit fields in place; "
                            "`save_recipe` and `render` check every field against the schema. Its sections:", ""]
                out += _fields(obj) + [""]
            members = _members(obj) if obj.__module__ == api.__name__ else []   # the recipe's methods are internal
            if members:
                out += members + [""]
        else:
            out += [f"## `synthkiln.{_signature(name, obj)}`", "", _doc(obj), ""]
    return "\n".join(out)


def main() -> None:
    OUT.parent.mkdir(exist_ok=True)
    OUT.write_text(render())
    print(OUT)
    API_OUT.write_text(render_api())
    print(API_OUT)


if __name__ == "__main__":
    main()

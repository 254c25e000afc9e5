"""The import rules of docs/architecture.md, checked on the source: layers only import downwards, core's
packages only import packages below them, and no module imports itself back through others (a cycle
hidden in a function-level import counts too)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = "synthkiln"

# What each layer may import (besides itself and the Python world outside the package).
LAYERS = {
    "addon.core": set(),
    "addon.bridge": {"addon.core"},
    "addon.ui": {"addon.bridge", "addon.core"},
    "addon": {"addon.ui", "addon.bridge", "addon.core"},          # addon/__init__.py: registration
    "headless": {"addon", "addon.bridge", "addon.core"},        # the runner registers the add-on, drives operators
    "": {"addon", "headless"},                                  # the root: extension entry and public API
}
# Core's packages, bottom first: each may import only those before it (and itself).
CORE_ORDER = ["errors", "fsio", "devices", "params", "labels", "images", "sensor", "randomizers", "recipe", "dataset", "exports",
              "report"]
BLENDER_MODULES = {"bpy", "mathutils", "bmesh", "bpy_extras", "gpu", "blf", "aud"}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join([PACKAGE, *parts])


MODULES = {_module_name(p): p for d in ("addon", "headless") for p in (ROOT / d).rglob("*.py")}
MODULES.update({f"{PACKAGE}": ROOT / "__init__.py", f"{PACKAGE}.__main__": ROOT / "__main__.py"})


def _imports(name: str, path: Path) -> set[str]:
    """Every package module ``name`` imports, at any depth of the file (function-level ones too)."""
    is_pkg = path.name == "__init__.py"
    package = name.split(".") if is_pkg else name.split(".")[:-1]
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package[: len(package) - node.level + 1] + ([base] if base else []))
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base for a in node.names]
        else:
            continue
        out |= {t for t in targets if t == PACKAGE or t.startswith(PACKAGE + ".")}
        out |= {t for t in targets if t.split(".")[0] in BLENDER_MODULES}
    return out


GRAPH = {name: _imports(name, path) for name, path in MODULES.items()}


def _layer(module: str) -> str:
    rel = module[len(PACKAGE) + 1:] if module != PACKAGE else ""
    for layer in sorted(LAYERS, key=len, reverse=True):
        if rel == layer or rel.startswith(layer + ".") or layer == "" and rel in ("", "__main__"):
            return layer
    raise AssertionError(f"{module} is in no layer")


def test_every_module_is_in_a_layer_and_core_package_in_the_order():
    for name in MODULES:
        layer = _layer(name)
        if layer == "addon.core" and name.count(".") > 2:
            assert name.split(".")[3] in CORE_ORDER, f"{name}: core package missing from CORE_ORDER"


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_point_down(module):
    layer = _layer(module)
    for target in GRAPH[module]:
        if target.split(".")[0] in BLENDER_MODULES:
            assert layer != "addon.core", f"{module} imports {target}: core never imports Blender"
            continue
        other = _layer(target)
        assert other == layer or other in LAYERS[layer], f"{module} ({layer or 'root'}) imports {target} ({other})"
        if layer == other == "addon.core" and target.count(".") > 2 and module.count(".") > 2:
            mine, theirs = CORE_ORDER.index(module.split(".")[3]), CORE_ORDER.index(target.split(".")[3])
            assert theirs <= mine, (f"{module} imports {target}: core/{CORE_ORDER[theirs]} sits above "
                                    f"core/{CORE_ORDER[mine]} (docs/architecture.md)")


def test_no_import_cycles():
    """Tarjan's strongly connected components over the module graph: any component of two or more is a cycle."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    cycles: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in GRAPH.get(v, ()):
            if w not in GRAPH:
                continue
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                cycles.append(sorted(comp))

    for v in sorted(GRAPH):
        if v not in index:
            visit(v)
    assert not cycles, f"import cycles: {cycles}"

"""Static rules: core never imports Blender; nobody uses global random state."""

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SOURCES = [p for d in ("addon", "headless", "benchmarks", "asset_library") for p in (ROOT / d).rglob("*.py")]


def imported_modules(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_core_never_imports_blender():
    core = list((ROOT / "addon" / "core").rglob("*.py"))
    assert core
    for path in core:
        bad = imported_modules(path) & {"bpy", "mathutils", "bmesh", "bpy_extras", "gpu"}
        assert not bad, f"{path.relative_to(ROOT)} imports {bad}"


def test_no_global_random_state():
    """Every draw comes from an explicit numpy Generator (DESIGN §3), never the global streams."""
    banned = [
        (re.compile(r"^\s*(import random\b|from random import)", re.M), "stdlib random has global state"),
        (re.compile(r"\bnp\.random\.(?!Generator\b|PCG64\b|SeedSequence\b|default_rng\b)\w+"),
         "np.random.<fn> uses the global stream"),
        (re.compile(r"\bnumpy\.random\.(?!Generator\b|PCG64\b|SeedSequence\b)\w+"), "global numpy stream"),
        (re.compile(r"\bdefault_rng\(\s*\)"), "unseeded generator"),
    ]
    assert SOURCES
    for path in SOURCES:
        text = path.read_text()
        for pattern, why in banned:
            m = pattern.search(text)
            assert not m, f"{path.relative_to(ROOT)}: {m.group(0)!r}: {why}"


def test_version_checks_live_in_compat():
    """Blender version differences are handled in one module (bridge/compat.py)."""
    for path in (ROOT / "addon").rglob("*.py"):
        if path.name == "compat.py":
            continue
        assert "bpy.app.version" not in path.read_text(), f"{path.relative_to(ROOT)} checks the Blender version"


def test_core_and_cli_front_matter_load_without_blender():
    """`synthkiln validate/export` and the core run where bpy is absent (and never pay its start-up)."""
    import subprocess
    import sys
    code = ("import sys; sys.modules['bpy'] = None; sys.modules['mathutils'] = None\n"
            "import synthkiln.addon.core.recipe.preset, synthkiln.addon.core.exports.build\n"
            "import synthkiln.headless.cli\n")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)

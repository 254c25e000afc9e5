"""Pretend a module is missing, as in a Blender's Python that lacks it (Pillow, matplotlib)."""

from __future__ import annotations

import builtins


def hide_module(monkeypatch, module: str) -> None:
    """Imports of ``module`` (and its submodules) fail, as in a Python that lacks it (e.g. a Blender's)."""
    real_import = builtins.__import__

    def without(name, *args, **kwargs):
        if name == module or name.startswith(f"{module}."):
            raise ImportError(f"No module named {module!r}")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", without)

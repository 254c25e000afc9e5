"""Photo backgrounds, Blender half."""

from __future__ import annotations

"""Occluders, Blender half."""

from __future__ import annotations

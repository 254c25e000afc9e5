"""Occluders (objects group): clutter placed between the camera and its targets, run after the camera."""

from __future__ import annotations

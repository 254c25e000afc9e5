"""Blender-tier helpers (need the bpy module; import them from tests that run with it)."""

from __future__ import annotations

# The datablock kinds a randomizer or a frame could create; DESIGN §3: their counts stay flat over a run.
DATABLOCKS = ("objects", "meshes", "materials", "images", "lights", "cameras", "worlds", "node_groups", "textures",
              "collections")


def datablock_counts() -> dict[str, int]:
    """How many of each kind of datablock ``bpy.data`` holds now."""
    import bpy
    return {name: len(getattr(bpy.data, name)) for name in DATABLOCKS}

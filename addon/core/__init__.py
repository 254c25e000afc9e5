"""Blender-free core: recipe schema, distributions, samplers, annotation maths, writers, dataset layout.

Nothing under this package may import ``bpy`` or ``mathutils`` (tests/core/test_layering.py enforces it),
so all of it runs and is tested on plain Python.
"""

# The one version string of the Python side: pyproject.toml reads it (dynamic version), the CLI, records and
# farm images use it; blender_manifest.toml must repeat it for Blender (tests/test_packaging.py checks).
VERSION = "0.1.0"

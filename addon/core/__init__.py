"""Blender-free core: recipe schema, distributions, samplers, annotation maths, writers, dataset layout.

Nothing under this package may import ``bpy`` or ``mathutils`` (tests/core/test_layering.py enforces it),
so all of it runs and is tested on plain Python.
"""

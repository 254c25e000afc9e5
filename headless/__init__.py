"""The headless runner: a click CLI that drives the add-on's own operators in the ``bpy`` module."""

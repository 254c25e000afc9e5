"""SynthKiln add-on: registration only. Properties and operators are registered everywhere (the
headless runner drives the same operators); panels only when Blender has a UI."""

import bpy

from .ui import operators, panels, props


def register() -> None:
    props.register()
    operators.register()
    if not bpy.app.background:
        panels.register()


def unregister() -> None:
    if not bpy.app.background:
        panels.unregister()
    operators.unregister()
    props.unregister()

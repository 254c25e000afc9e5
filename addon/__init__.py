"""SynthKiln add-on: registration only. Properties and operators are registered everywhere (the
headless runner drives the same operators); panels only when Blender has a UI.

Nothing Blender-related is imported at module level, so ``addon.core`` stays importable (and fast)
without Blender: ``synthkiln validate``/``export`` and the core tests never load ``bpy``.
"""


def register() -> None:
    import bpy
    from .ui import operators, panels, props
    props.register()
    operators.register()
    if not bpy.app.background:
        panels.register()


def unregister() -> None:
    import bpy
    from .ui import operators, panels, props
    if not bpy.app.background:
        panels.unregister()
    operators.unregister()
    props.unregister()

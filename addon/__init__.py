"""SynthKiln add-on: registration only. Properties, preferences and operators are registered everywhere
(the headless runner drives the same operators); panels, lists and menus only when Blender has a UI.

Nothing Blender-related is imported at module level, so ``addon.core`` stays importable (and fast)
without Blender: ``synthkiln validate``/``export`` and the core tests never load ``bpy``.
"""

_ui_registered = False


def register(ui: bool | None = None) -> None:
    """``ui``: also register the panels (default: when Blender has a UI; tests force it in the bpy module)."""
    global _ui_registered
    import bpy
    from .ui import operators, panels, prefs, props, stack_ops
    props.register()
    prefs.register()
    operators.register()
    stack_ops.register()
    if ui if ui is not None else not bpy.app.background:
        panels.register()
        _ui_registered = True


def unregister() -> None:
    global _ui_registered
    from .ui import operators, panels, prefs, props, stack_ops
    if _ui_registered:
        panels.unregister()
        _ui_registered = False
    stack_ops.unregister()
    operators.unregister()
    prefs.unregister()
    props.unregister()

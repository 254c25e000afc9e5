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
    from .ui import background, clips, operators, overlay, panels, prefs, props, stack_ops
    props.register()
    prefs.register()
    operators.register()
    clips.register()
    background.register()
    stack_ops.register()
    ui = ui if ui is not None else not bpy.app.background
    overlay.register(ui)
    if ui:
        panels.register()
        _ui_registered = True


def unregister() -> None:
    global _ui_registered
    from .ui import background, clips, operators, overlay, panels, prefs, props, stack_ops
    if _ui_registered:
        panels.unregister()
        _ui_registered = False
    overlay.unregister()
    stack_ops.unregister()
    background.unregister()
    clips.unregister()
    operators.unregister()
    prefs.unregister()
    props.unregister()

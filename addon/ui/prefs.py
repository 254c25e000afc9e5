"""Add-on preferences: where assets and datasets go by default, and how many local workers to use.

The preferences belong to the add-on's own module name, which differs by how it is loaded: an
extension is ``bl_ext.<repository>.synthkiln`` (the root ``__init__`` forwards to ``addon/``), the
``bpy`` module and the headless runner import it as ``synthkiln.addon`` and never enable it in the
preferences, so ``get`` falls back to the defaults whenever Blender has no entry for it.
"""

from dataclasses import dataclass

import bpy
from bpy.props import IntProperty, StringProperty

from ..bridge import asset_libraries, compat


def addon_name(package: str = __package__) -> str:
    """The module name Blender knows the add-on by: the package above ``addon/`` when there is one."""
    pkg = package.rpartition(".")[0]          # "bl_ext.<repo>.synthkiln.addon" or "synthkiln.addon"
    return pkg[: -len(".addon")] if pkg.endswith(".addon") else pkg


@dataclass(frozen=True)
class Defaults:
    asset_library: str = ""
    output_directory: str = ""
    workers: int = 1


class SYNTHKILN_AP_preferences(bpy.types.AddonPreferences):
    bl_idname = addon_name()

    asset_library: StringProperty(name="Asset Library", subtype='DIR_PATH', options=compat.path_property_options(),
                                  description="Your folder of .blend asset libraries: shown in Blender's Asset "
                                              "Browser as \"SynthKiln (your library)\"",
                                  update=lambda self, _context: asset_libraries.register(self.asset_library))
    output_directory: StringProperty(name="Output Folder", subtype='DIR_PATH', options=compat.path_property_options(),
                                     description="Dataset folder of new recipes (empty: next to the .blend)")
    workers: IntProperty(name="Local Workers", default=Defaults.workers, min=1, max=256,
                         description="Blender processes a local render job runs side by side")

    def draw(self, context):
        col = self.layout.column()
        col.prop(self, "asset_library")
        col.prop(self, "output_directory")
        col.prop(self, "workers")


def get(context=None) -> Defaults:
    """The user's preferences, or the defaults where the add-on is not enabled in them."""
    context = context or bpy.context
    entry = context.preferences.addons.get(addon_name())
    p = getattr(entry, "preferences", None)
    if p is None:
        return Defaults()
    return Defaults(p.asset_library, p.output_directory, p.workers)


def local_workers(context=None) -> int:
    """How many Blender processes a local render from the sidebar runs side by side (Preferences' Local
    Workers; 1 where the add-on has no preferences entry, as in the ``bpy`` module)."""
    return max(1, int(get(context).workers))


def asset_library(context=None) -> str:
    """The folder of the user's asset libraries (Preferences' Asset Library), absolute; "" when unset. The
    Assets panel imports into a library .blend there by default."""
    folder = get(context).asset_library
    return bpy.path.abspath(folder) if folder else ""


classes = (SYNTHKILN_AP_preferences,)
_register_classes, _unregister_classes = bpy.utils.register_classes_factory(classes)


def register() -> None:
    _register_classes()
    asset_libraries.register(get().asset_library)


def unregister() -> None:
    asset_libraries.unregister()
    _unregister_classes()

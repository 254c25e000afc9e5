"""SynthKiln extension entry point.

Blender loads an extension from the folder that holds ``blender_manifest.toml``; here that folder is the
repository root, so the root must be a Python package too. The add-on itself lives in ``addon/`` (which the
headless runner imports directly), and this module only hands Blender's ``register``/``unregister`` calls
on to it. The import is relative because Blender imports the extension under a name it chooses
(``bl_ext.<repository>.synthkiln``). There is no ``bl_info``: the manifest replaces it.

The import happens inside the functions, not at module level, because pytest imports this file too:
every test lives below the repository root, and pytest imports a package's ``__init__.py`` before running
the tests under it (looking for ``setup_module``), whatever ``--import-mode`` says. Importing ``addon``
there would load it (and bpy) a second time under another package name.
"""


def register() -> None:
    from .addon import register as register_addon

    register_addon()


def unregister() -> None:
    from .addon import unregister as unregister_addon

    unregister_addon()

"""SynthKiln: the Blender extension's entry point, and the ``synthkiln`` package's public Python API.

Blender loads an extension from the folder that holds ``blender_manifest.toml``; here that folder is the
repository root, so the root must be a Python package too. The add-on itself lives in ``addon/``, and this
module only hands Blender's ``register``/``unregister`` calls on to it. The import is relative because
Blender imports the extension under a name it chooses (``bl_ext.<repository>.synthkiln``). There is no
``bl_info``: the manifest replaces it.

Installed with pip, the same folder is the ``synthkiln`` package, and ``import synthkiln`` gives the Python
API (``headless/api.py``, documented in ``docs/api.md``): ``load_recipe``, ``render``, ``open_dataset``,
``export``, ``check`` and the rest of ``__all__``. Those names are loaded on first use (PEP 562), because
this module must stay import-light: pytest imports it (every test lives below the repository root, and
pytest imports a package's ``__init__.py`` before the tests under it, looking for ``setup_module``), and
Blender imports it where ``headless/`` is not even shipped. Importing ``addon`` or the API here would load
them (and bpy) a second time under another package name.
"""

# For type checkers and IDEs only (mypy and pyright read a module-level ``TYPE_CHECKING = False`` as
# typing's); at run time ``__getattr__`` loads these. No ``typing`` import: the root imports only relatively.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from .headless.api import (CheckResult, Dataset, DatasetError, Frame, PresetError, Progress, Recipe,
                               SynthKilnError, UserError, __version__, check, export, load_recipe, open_dataset,
                               render, save_recipe)

__all__ = [
    "__version__", "Recipe", "load_recipe", "save_recipe", "render", "Progress", "open_dataset", "Dataset",
    "Frame", "export", "check", "CheckResult", "SynthKilnError", "UserError", "PresetError", "DatasetError",
]


def __getattr__(name: str) -> object:
    """The public API's names, imported from ``headless/api.py`` on first use; any other name is missing."""
    if name not in __all__:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from .headless import api
    value = getattr(api, name)
    globals()[name] = value         # once loaded, a plain module attribute
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


def register() -> None:
    from .addon import register as register_addon

    register_addon()


def unregister() -> None:
    from .addon import unregister as unregister_addon

    unregister_addon()

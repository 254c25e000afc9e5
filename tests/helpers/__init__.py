"""What several test modules share, in one place: test modules never import other test modules.

- ``cli``: run the ``synthkiln`` CLI as a real subprocess (``sk``) and check its outcome (``ok``, ``one_error``)
- ``known_dataset``: a dataset folder whose every label is known (writers, ``check``, the export contract)
- ``grey_dataset``: a small dataset of flat grey frames (previews, the report)
- ``report``: hand-built reports and the HTML parser the report tests read pages with
- ``coco``: ``load_coco``, pycocotools' reader without its chatter
- ``modules``: ``hide_module``, an import that fails as in a Python that lacks the module
- ``blender``: ``datablock_counts`` (needs bpy; imported only by Blender-tier tests)
- ``browser``: headless Chromium for the report page (Playwright over Debian's chromium)

Import them as ``from tests.helpers.cli import sk``. That works without a conftest and without touching
``sys.path``: pytest runs in importlib mode (pyproject ``addopts``) and names each test module after its
path under the rootdir (``tests.core.test_check``); before importing it, pytest imports the parents
``tests`` and ``tests.core`` by path (namespace packages: ``tests/`` has no ``__init__.py``), so
``tests`` in ``sys.modules`` is this checkout's folder and ``tests.helpers``, a regular package, is found
in it whatever the working directory. The same mechanism serves ``tests.tiny`` and ``tests.bpy.*``.
Nothing here is shipped: ``tests/`` is outside the Python package and outside the extension zip.
"""

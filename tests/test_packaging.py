"""The two packages made from this repository: the Python package (the root installs as ``synthkiln``, nothing
else at the top level of site-packages) and the extension, where Blender's own validator and builder
(``blender_ext.py`` from the bpy wheel) run on this repository, and the zip they make holds the add-on and its
wheels and none of the developer files.

The wheels are downloaded from PyPI into ``wheels/`` (gitignored, the same cache ``make extension`` uses);
zips are built into temporary folders. Those tests skip only when PyPI cannot be reached outside CI. Tests of
Blender's tools skip, saying why, where the bpy module is not installed (they ship inside its wheel).
"""

from __future__ import annotations

import ast
import email.parser
import json
import importlib.util
import os
import shutil
import socket
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path, PurePosixPath

import pytest

ROOT = Path(__file__).resolve().parent.parent
MANIFEST_PATH = ROOT / "blender_manifest.toml"

# CPython of the Blender releases the manifest supports: 4.2-5.0 embed 3.11, 5.1+ embed 3.13, and 3.14 for
# Blenders built on it (distribution packages use the system Python).
SUPPORTED_PYTHONS = {(3, 11), (3, 13), (3, 14)}
# The only bundled distribution: EXR I/O is pure numpy (addon/core/images/exr.py), because importing an OpenEXR
# wheel crashes a Blender that links an older system OpenEXR.
BUNDLED = {"pyyaml"}
# Everything the zip may hold at its top level; anything else is a developer file leaking in.
ALLOWED_TOP_LEVEL = {
    "__init__.py", "blender_manifest.toml", "LICENSE", "README.md",
    "addon", "presets", "asset_library", "wheels",
}
MUST_NOT_SHIP = ("headless", "tests", "benchmarks", "tools", ".ci", "pyproject.toml", "Makefile", "dist")


def _load_script(path: Path, name: str):
    """Import a standalone script (tools/*.py, blender_ext.py) as a module without touching sys.path."""
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up here
    spec.loader.exec_module(module)
    return module


fetch_wheels = _load_script(ROOT / "tools" / "fetch_wheels.py", "synthkiln_tools_fetch_wheels")
build_extension = _load_script(ROOT / "tools" / "build_extension.py", "synthkiln_tools_build_extension")


def _why_no_blender_tools() -> str | None:
    """Why Blender's validator and builder can't run here (they come inside the bpy wheel), or None."""
    try:
        build_extension.find_blender_ext()      # finds bpy without importing it (that would start Blender)
    except build_extension.BuildError as ex:
        return f"Blender's extension tools ship inside the bpy wheel: {ex}"
    return None


NO_BLENDER_TOOLS = _why_no_blender_tools()
needs_blender_tools = pytest.mark.skipif(NO_BLENDER_TOOLS is not None, reason=NO_BLENDER_TOOLS or "")


@pytest.fixture(scope="module")
def manifest() -> dict:
    with MANIFEST_PATH.open("rb") as fh:
        return tomllib.load(fh)


@pytest.fixture(scope="module")
def blender_ext():
    """Blender's extension tool as a module, to reuse its own wheel-name logic."""
    cli, _ = build_extension.find_blender_ext()
    return _load_script(cli, "synthkiln_tests_blender_ext")


def _pypi_reachable() -> bool:
    try:
        socket.create_connection(("pypi.org", 443), timeout=5).close()
    except OSError:
        return False
    return True


def _fail_or_skip_offline(ex: Exception) -> None:
    if not os.environ.get("CI") and not _pypi_reachable():
        pytest.skip(f"PyPI (pypi.org:443) is unreachable, so the manifest's wheels cannot be fetched: {ex}")
    pytest.fail(f"fetching the manifest's wheels failed: {ex}")


@pytest.fixture(scope="session")
def wheel_paths() -> list[Path]:
    try:
        return fetch_wheels.fetch_wheels(MANIFEST_PATH)
    except fetch_wheels.FetchError as ex:
        _fail_or_skip_offline(ex)


@pytest.fixture(scope="module")
def built_zip(wheel_paths, tmp_path_factory) -> Path:
    (zip_path,) = build_extension.build(tmp_path_factory.mktemp("dist"))
    return zip_path


def _zip_names(path: Path) -> set[str]:
    with zipfile.ZipFile(path) as zf:
        return set(zf.namelist())


# -- the Python package -------------------------------------------------------------------------------------

def _pyproject() -> dict:
    with (ROOT / "pyproject.toml").open("rb") as fh:
        return tomllib.load(fh)


def _source_folders() -> list[Path]:
    """addon/, headless/ and every folder below them that holds Python files."""
    return sorted({p.parent for top in ("addon", "headless") for p in (ROOT / top).rglob("*.py")
                   if "__pycache__" not in p.parts})


def test_setuptools_packages_are_the_folders_with_an_init():
    """``[tool.setuptools] packages`` lists ``synthkiln`` (the root) and every folder under addon/ and headless/
    that has an ``__init__.py``, as ``synthkiln.*``; and every folder there with Python files has one (a
    folder without it would be left out of the wheel: only listed packages are installed)."""
    config = _pyproject()["tool"]["setuptools"]
    assert config["package-dir"] == {"synthkiln": "."}
    assert (ROOT / "__init__.py").is_file()
    missing = [d.relative_to(ROOT).as_posix() for d in _source_folders() if not (d / "__init__.py").is_file()]
    assert not missing, f"Python files in folders without an __init__.py: {missing}"
    folders = {"synthkiln"} | {"synthkiln." + ".".join(d.relative_to(ROOT).parts) for d in _source_folders()}
    listed = config["packages"]
    assert len(listed) == len(set(listed)), f"listed twice: {sorted(p for p in listed if listed.count(p) > 1)}"
    assert set(listed) == folders, f"listed, no such folder: {sorted(set(listed) - folders)}; " \
                                   f"a package folder not listed: {sorted(folders - set(listed))}"


def test_wheel_contents_have_only_synthkiln_at_the_top_level(tmp_path):
    """What ``pip wheel`` would put in site-packages: setuptools' ``build_py`` (the step that lays out a wheel's
    files) run on a copy of the source, so nothing is written into the checkout. Only ``synthkiln/``, holding
    every module of addon/ and headless/, the presets and the console script's module."""
    developer = {"build", "dist", "wheels", "demo", "out", "gui_artifacts"}     # outputs, gitignored

    def skip(folder: str, names: list[str]) -> list[str]:
        top = Path(folder) == ROOT
        return [n for n in names if n == "__pycache__" or n.endswith(".egg-info")
                or top and (n.startswith(".") or n in developer)]

    source, lib = tmp_path / "src", tmp_path / "lib"
    shutil.copytree(ROOT, source, ignore=skip)
    proc = subprocess.run([sys.executable, "-c", "import setuptools; setuptools.setup()", "-q", "build_py",
                           "--build-lib", str(lib)], cwd=source, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert sorted(p.name for p in lib.iterdir()) == ["synthkiln"]
    built = {p.relative_to(lib / "synthkiln").as_posix() for p in lib.rglob("*") if p.is_file()}
    modules = {p.relative_to(ROOT).as_posix() for d in _source_folders() for p in d.glob("*.py")}
    assert modules <= built, f"modules left out of the wheel: {sorted(modules - built)}"
    assert {"__init__.py", "__main__.py", "blender_manifest.toml", "presets/tabletop.yaml"} <= built
    module, _, _ = _pyproject()["project"]["scripts"]["synthkiln"].partition(":")
    assert module.removeprefix("synthkiln.").replace(".", "/") + ".py" in built


# -- the manifest -------------------------------------------------------------------------------------------

def test_manifest_version_equals_the_package_version(manifest):
    """One version string (addon/core/__init__.py) that pyproject reads; Blender's manifest repeats it."""
    import importlib.metadata

    from synthkiln.addon.core import VERSION
    with (ROOT / "pyproject.toml").open("rb") as fh:
        pyproject = tomllib.load(fh)
    assert pyproject["project"]["dynamic"] == ["version"]
    assert manifest["version"] == VERSION == importlib.metadata.version("synthkiln")


def test_manifest_text_follows_extension_platform_rules(manifest):
    assert manifest["id"] == "synthkiln"
    assert manifest["type"] == "add-on"
    assert "blender" not in manifest["name"].lower()  # extensions.blender.org terms of service
    assert manifest["license"] == ["SPDX:GPL-3.0-or-later"]
    tagline = manifest["tagline"]
    assert len(tagline) <= 64, f"tagline is {len(tagline)} characters, the limit is 64"
    assert tagline[-1].isalnum(), "the tagline must not end with punctuation"
    for key, reason in manifest["permissions"].items():
        assert len(reason) <= 64, f"permissions.{key}: {len(reason)} characters, the limit is 64"
        assert reason[-1].isalnum(), f"permissions.{key} must not end with punctuation"


@needs_blender_tools
def test_manifest_wheels_cover_each_platform_and_python_once(manifest, blender_ext):
    """Per distribution: exactly one wheel for every (platform, CPython) that the manifest supports."""
    found: dict[str, dict[tuple[str, tuple[int, int]], list[str]]] = {}
    for entry in manifest["wheels"]:
        assert entry.startswith("./wheels/") and "\\" not in entry, entry
        name = PurePosixPath(entry).name
        wheel = fetch_wheels.parse_wheel_filename(name)
        (python,) = blender_ext.python_versions_from_wheel(name)
        assert python in SUPPORTED_PYTHONS, f"{name}: CPython {python} is not one Blender embeds"
        platforms = {p for tag in wheel.platform_tags for p in blender_ext.blender_platforms_from_wheel_platform(tag)}
        for platform in platforms:
            found.setdefault(wheel.distribution, {}).setdefault((platform, python), []).append(name)

    assert set(found) == BUNDLED
    expected = {(platform, python) for platform in manifest["platforms"] for python in SUPPORTED_PYTHONS}
    for distribution, targets in found.items():
        assert set(targets) == expected, f"{distribution}: wheels for {sorted(set(targets) ^ expected)} differ"
        duplicates = {t: names for t, names in targets.items() if len(names) > 1}
        assert not duplicates, f"{distribution}: more than one wheel for {duplicates}"


# -- the root package ---------------------------------------------------------------------------------------

def test_root_init_forwards_to_addon_with_relative_imports_only():
    tree = ast.parse((ROOT / "__init__.py").read_text(encoding="utf-8"))
    assert ast.get_docstring(tree), "the root __init__.py should say why it exists"
    for node in ast.walk(tree):
        assert not isinstance(node, ast.Import), f"line {node.lineno}: absolute import in the extension root"
        if isinstance(node, ast.ImportFrom):
            assert node.level >= 1, f"line {node.lineno}: 'from {node.module} import' must be relative"
        if isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            assert not any(isinstance(t, ast.Name) and t.id == "bl_info" for t in targets), "bl_info is obsolete"
    functions = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}
    # Blender's two calls, plus the Python API's lazy loading (PEP 562) when it is the synthkiln package
    assert {"register", "unregister"} <= set(functions) <= {"register", "unregister", "__getattr__", "__dir__"}
    for name in ("register", "unregister"):
        forwarded = [n for n in ast.walk(functions[name]) if isinstance(n, ast.ImportFrom)]
        assert [(n.level, n.module, n.names[0].name) for n in forwarded] == [(1, "addon", name)]


def test_root_init_imports_nothing_at_module_level():
    """pytest imports the root __init__.py before every test below it (Package.setup), and Blender imports it
    where headless/ is not shipped: at module level only the docstring, functions, constants and an
    ``if TYPE_CHECKING:`` block (for type checkers; ``TYPE_CHECKING = False`` at run time)."""
    tree = ast.parse((ROOT / "__init__.py").read_text(encoding="utf-8"))
    body = tree.body[1:] if ast.get_docstring(tree) else tree.body
    for node in body:
        if isinstance(node, ast.Assign):
            ast.literal_eval(node.value)        # a constant: raises on anything that runs code
            if any(isinstance(t, ast.Name) and t.id == "TYPE_CHECKING" for t in node.targets):
                assert ast.literal_eval(node.value) is False, f"line {node.lineno}: TYPE_CHECKING must be False"
        elif isinstance(node, ast.If):
            assert isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING" and not node.orelse, \
                f"line {node.lineno}: only 'if TYPE_CHECKING:' blocks at module level"
        else:
            assert isinstance(node, ast.FunctionDef), \
                f"line {node.lineno}: only the docstring, functions and constants at module level"


def test_addon_package_defines_register_and_unregister():
    """The root forwards to these, so the zip is a broken add-on without them."""
    init = ROOT / "addon" / "__init__.py"
    assert init.is_file(), "addon/__init__.py is missing: the root __init__.py imports register/unregister from it"
    tree = ast.parse(init.read_text(encoding="utf-8"))
    defined = {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
    defined |= {a.asname or a.name for n in tree.body if isinstance(n, ast.ImportFrom) for a in n.names}
    assert {"register", "unregister"} <= defined


# -- wheels -------------------------------------------------------------------------------------------------

def test_every_listed_wheel_is_a_real_wheel_after_fetching(manifest, wheel_paths):
    assert [p.relative_to(ROOT).as_posix() for p in wheel_paths] == [e.removeprefix("./") for e in manifest["wheels"]]
    for path in wheel_paths:
        wheel = fetch_wheels.parse_wheel_filename(path.name)
        with zipfile.ZipFile(path) as zf:
            metadata = [n for n in zf.namelist() if n.endswith(".dist-info/METADATA")]
            assert len(metadata) == 1, path.name
            fields = email.parser.HeaderParser().parsestr(zf.read(metadata[0]).decode("utf-8"))
            assert zf.testzip() is None, f"{path.name} is corrupt"
        assert fields["Name"].lower() == wheel.distribution, path.name
        assert fields["Version"] == wheel.version, path.name


def test_fetch_fails_clearly_when_pypi_serves_another_file_name(tmp_path):
    # pip accepts the macosx_11_0 wheel for a macosx_12_0 target, so the listed name never appears.
    wrong = "pyyaml-6.0.3-cp311-cp311-macosx_12_0_arm64.whl"
    manifest = tmp_path / "blender_manifest.toml"
    manifest.write_text(f'wheels = ["./wheels/{wrong}"]\n', encoding="utf-8")
    try:
        fetch_wheels.fetch_wheels(manifest)
    except fetch_wheels.FetchError as ex:
        if "missing after pip ran" not in str(ex):
            _fail_or_skip_offline(ex)
        assert wrong in str(ex)
    else:
        pytest.fail("fetch_wheels accepted a manifest whose wheel file never appeared")
    assert fetch_wheels.main(["--manifest", str(manifest)]) == 1


def test_fetch_rejects_a_name_that_is_not_a_wheel(tmp_path, capsys):
    manifest = tmp_path / "blender_manifest.toml"
    manifest.write_text('wheels = ["./wheels/PyYAML.tar.gz"]\n', encoding="utf-8")
    assert fetch_wheels.main(["--manifest", str(manifest)]) == 1
    assert "PyYAML.tar.gz: not a wheel file name" in capsys.readouterr().err


# -- Blender's validator and builder ------------------------------------------------------------------------

@needs_blender_tools
def test_source_folder_passes_blenders_validator():
    output = build_extension.validate(ROOT)
    assert "Success" in output


@needs_blender_tools
def test_validator_rejects_a_tag_outside_blenders_list(tmp_path):
    """Proves the tag list is really passed (blender_ext.py alone skips the check)."""
    text = MANIFEST_PATH.read_text(encoding="utf-8").replace('tags = ["Render"', 'tags = ["Rendering"', 1)
    assert "Rendering" in text
    (tmp_path / "blender_manifest.toml").write_text(text, encoding="utf-8")
    (tmp_path / "__init__.py").write_text("", encoding="utf-8")
    with pytest.raises(build_extension.BuildError, match="Rendering"):
        build_extension.validate(tmp_path)


@needs_blender_tools
def test_built_zip_holds_the_addon_and_wheels_only(manifest, built_zip):
    names = _zip_names(built_zip)
    assert {"__init__.py", "blender_manifest.toml", "LICENSE"} <= names
    assert any(n.startswith("addon/") for n in names)
    assert {e.removeprefix("./") for e in manifest["wheels"]} == {n for n in names if n.startswith("wheels/")}

    top_level = {n.split("/", 1)[0] for n in names}
    assert top_level <= ALLOWED_TOP_LEVEL, f"developer files in the zip: {sorted(top_level - ALLOWED_TOP_LEVEL)}"
    for forbidden in MUST_NOT_SHIP:
        assert not any(n == forbidden or n.startswith(forbidden + "/") for n in names), forbidden
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
    assert not [n for n in names if any(part.startswith(".") for part in n.split("/"))]


@needs_blender_tools
def test_built_zip_holds_every_addon_file(built_zip):
    names = _zip_names(built_zip)
    on_disk = {
        p.relative_to(ROOT).as_posix()
        for p in (ROOT / "addon").rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and not any(s.startswith(".") for s in p.parts)
    }
    assert on_disk, "addon/ holds no files"
    assert on_disk <= names, f"missing from the zip: {sorted(on_disk - names)}"


@needs_blender_tools
def test_built_zip_passes_blenders_validator(built_zip):
    assert "Success" in build_extension.validate(built_zip)


@needs_blender_tools
def test_split_platform_zips_hold_only_their_platforms_wheels(manifest, wheel_paths, tmp_path, blender_ext):
    zips = build_extension.build(tmp_path, split_platforms=True)
    assert [z.name for z in zips] == [f"synthkiln-{manifest['version']}-{p.replace('-', '_')}.zip" for p in manifest["platforms"]]
    for platform, zip_path in zip(manifest["platforms"], zips):
        wheels = [n for n in _zip_names(zip_path) if n.startswith("wheels/")]
        assert len(wheels) == len(BUNDLED) * len(SUPPORTED_PYTHONS), (platform, wheels)
        for name in wheels:
            assert blender_ext.blender_platform_compatible_with_wheel_platform_from_filepath(platform, name), name


@needs_blender_tools
def test_build_script_end_to_end(wheel_paths, tmp_path, manifest):
    proc = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "build_extension.py"), "--no-fetch", "--output-dir", str(tmp_path)],
        capture_output=True, text=True, cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (tmp_path / f"synthkiln-{manifest['version']}.zip").is_file()


_INSTALL_SCRIPT = """
import json, os, sys
from pathlib import Path
import bpy
module = "bl_ext.user_default.synthkiln"
site = Path(os.environ["BLENDER_USER_RESOURCES"], "extensions", ".local", "lib",
            "python{}.{}".format(*sys.version_info[:2]), "site-packages")
wheels = lambda: sorted(p.name for p in site.glob("*.dist-info"))
result = bpy.ops.extensions.package_install_files(filepath=sys.argv[1], repo="user_default", enable_on_install=True)
enabled = module in bpy.context.preferences.addons
ops = sorted(dir(bpy.ops.synthkiln))
wheels_enabled = wheels()
bpy.ops.preferences.addon_disable(module=module)
print("RESULT " + json.dumps({"result": sorted(result), "enabled": enabled, "ops": ops, "wheels": wheels_enabled,
                              "disabled": module not in bpy.context.preferences.addons}))
"""


@pytest.mark.bpy
@needs_blender_tools
def test_built_zip_installs_enables_and_disables_in_blender(manifest, built_zip, tmp_path):
    """Install from Disk as a user would (Blender's own operator), in a throw-away user folder."""
    pytest.importorskip("bpy")      # installed is not enough here: the script below starts Blender
    script = tmp_path / "install.py"
    script.write_text(_INSTALL_SCRIPT, encoding="utf-8")
    home = tmp_path / "blender-user"
    home.mkdir()
    proc = subprocess.run(
        [sys.executable, str(script), str(built_zip)],
        capture_output=True, text=True, timeout=300,
        env={**os.environ, "BLENDER_USER_RESOURCES": str(home)},
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output
    (line,) = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
    result = json.loads(line.removeprefix("RESULT "))
    assert result["result"] == ["FINISHED"], output
    assert result["enabled"] and result["disabled"], output
    assert result["ops"], "the extension registered no bpy.ops.synthkiln operators"

    # Blender picked the wheels for this platform and Python out of all listed, one per distribution.
    listed = [fetch_wheels.parse_wheel_filename(PurePosixPath(e).name) for e in manifest["wheels"]]
    assert result["wheels"] == sorted({f"{w.distribution}-{w.version}.dist-info" for w in listed}), output

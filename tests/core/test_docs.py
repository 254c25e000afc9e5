"""docs/randomizers.md (from the schema) and docs/api.md (from the Python API's docstrings) are generated
and must be current."""

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def gen():
    spec = importlib.util.spec_from_file_location("gen_docs", ROOT / "tools" / "gen_docs.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_randomizer_reference_is_current(gen):
    assert gen.OUT.read_text() == gen.render(), "docs/randomizers.md is stale: run .venv/bin/python tools/gen_docs.py"


def test_api_reference_is_current(gen):
    assert gen.API_OUT.read_text() == gen.render_api(), "docs/api.md is stale: run .venv/bin/python tools/gen_docs.py"


def test_api_reference_covers_every_public_name(gen):
    import synthkiln
    page = gen.API_OUT.read_text()
    for name in synthkiln.__all__:
        assert f"`synthkiln.{name}" in page, f"{name} is in synthkiln.__all__ but not in docs/api.md"

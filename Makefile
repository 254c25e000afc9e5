# SynthKiln developer commands. On a fresh clone: `make demo` renders a small dataset, `make test` runs the tests.
#
#   make venv        .venv with Python 3.11 (bpy 5.0.1 is built for exactly that) and `pip install -e '.[test]'`
#   make test        pytest on bpy 5.0.1, then the Blender tests again on bpy 4.2 LTS (the extension's minimum),
#                    then the interop tier; extra arguments in PYTEST_ARGS, e.g. make test PYTEST_ARGS='-k packaging -x'
#   make test-core   the fast tier: tests/core only (pure Python, no Blender started; about 20 s); the same
#                    PYTEST_ARGS, e.g. make test-core PYTEST_ARGS='-k contracts'
#   make test-42     only the Blender tests on bpy 4.2 LTS (.venv-blender42, made on first use)
#   make test-interop  every export loaded by other people's readers (pycocotools, Datumaro, supervision,
#                    OpenCV) in .venv-interop, made on first use from pyproject's `interop` extra
#   make demo        render presets/tabletop.yaml, 20 frames, into demo/, and its report (demo/report/index.html)
#   make extension   Blender's validator and builder: dist/synthkiln-<version>.zip
#   make clean       remove build outputs, downloaded wheels and demo/ (keeps .venv)

# The interpreter that creates .venv: python3.11 where there is one, else python3 (checked to be 3.11).
PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
# Written after a successful install; re-installs when pyproject.toml is newer.
STAMP := $(VENV)/.installed

# Blender 4.2 LTS as a module, for the compatibility tier: its wheel wants numpy 1.x, and the project is
# installed without dependencies (its own pin is bpy 5.0.1).
VENV42 := .venv-blender42
STAMP42 := $(VENV42)/.installed
DEPS42 := bpy==4.2.23 "numpy<2" PyYAML Pillow OpenEXR click pytest pycocotools matplotlib

# The interop readers want numpy 2 (bpy 5.0.1 pins 1.26): their own venv, without the project, which they
# never import (the datasets are rendered by .venv's CLI).
VENVIO := .venv-interop
STAMPIO := $(VENVIO)/.installed

.PHONY: venv test test-core test-42 test-interop demo extension clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	@if [ ! -x $(PY) ]; then \
	  "$(PYTHON)" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' || { \
	    echo "error: $(PYTHON) is Python $$("$(PYTHON)" -c 'import platform; print(platform.python_version())'); bpy 5.0.1 needs 3.11: run make PYTHON=/path/to/python3.11" >&2; \
	    exit 1; }; \
	  echo "creating $(VENV) with $(PYTHON)"; \
	  "$(PYTHON)" -m venv $(VENV); \
	fi
	$(PY) -m pip install --disable-pip-version-check -e '.[test]'
	@touch $@

test: venv $(STAMP42)
	$(PY) -m pytest -q $(PYTEST_ARGS)
	$(MAKE) --no-print-directory test-42
	$(MAKE) --no-print-directory test-interop

test-core: venv
	$(PY) -m pytest -q tests/core $(PYTEST_ARGS)

$(STAMP42): pyproject.toml
	@if [ ! -x $(VENV42)/bin/python ]; then "$(PYTHON)" -m venv $(VENV42); fi
	$(VENV42)/bin/python -m pip install --disable-pip-version-check -q $(DEPS42)
	$(VENV42)/bin/python -m pip install --disable-pip-version-check -q --no-deps -e .
	@touch $@

test-42: $(STAMP42)
	$(VENV42)/bin/python -m pytest -q -p no:cacheprovider tests/bpy $(PYTEST_ARGS) || [ $$? -eq 5 ]   # 5: none selected

$(STAMPIO): pyproject.toml
	@if [ ! -x $(VENVIO)/bin/python ]; then "$(PYTHON)" -m venv $(VENVIO); fi
	$(VENVIO)/bin/python -m pip install --disable-pip-version-check -q $$("$(PYTHON)" -c 'import tomllib; print(" ".join(tomllib.load(open("pyproject.toml", "rb"))["project"]["optional-dependencies"]["interop"]))')
	@touch $@

test-interop: venv $(STAMPIO)
	SYNTHKILN_PYTHON=$(abspath $(PY)) $(VENVIO)/bin/python -m pytest -q -p no:cacheprovider tests/interop $(PYTEST_ARGS)

demo: venv
	$(VENV)/bin/synthkiln render presets/tabletop.yaml --frames 20 --out demo
	$(VENV)/bin/synthkiln report demo

extension: venv
	$(PY) tools/build_extension.py

clean:
	rm -rf dist build wheels demo .pytest_cache *.egg-info
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -exec rm -rf {} +

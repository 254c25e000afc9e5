# SynthKiln developer commands. On a fresh clone: `make demo` renders a small dataset, `make test` runs the tests.
#
#   make venv        .venv with Python 3.11 (bpy 5.0.1 is built for exactly that) and `pip install -e '.[test]'`
#   make test        pytest; extra arguments in PYTEST_ARGS, e.g. make test PYTEST_ARGS='-k packaging -x'
#   make demo        render presets/tabletop.yaml, 20 frames, into demo/
#   make extension   Blender's validator and builder: dist/synthkiln-<version>.zip
#   make clean       remove build outputs, downloaded wheels and demo/ (keeps .venv)

# The interpreter that creates .venv: python3.11 where there is one, else python3 (checked to be 3.11).
PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
# Written after a successful install; re-installs when pyproject.toml is newer.
STAMP := $(VENV)/.installed

.PHONY: venv test demo extension clean

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

test: venv
	$(PY) -m pytest -q $(PYTEST_ARGS)

demo: venv
	$(VENV)/bin/synthkiln render presets/tabletop.yaml --frames 20 --out demo

extension: venv
	$(PY) tools/build_extension.py

clean:
	rm -rf dist build wheels demo .pytest_cache *.egg-info
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -exec rm -rf {} +

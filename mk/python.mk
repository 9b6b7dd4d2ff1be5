# The Python binding (bindings-python/): `make test-python`, `make python-wheel`.
#
# test-python makes a venv in $(BUILD_DIR)/venv, installs the test tools, builds
# and installs the package with `pip install ./bindings-python` (maturin, through
# the exported CARGO_TARGET_DIR), checks the stubs against the built module, and
# runs pytest against the installed package. pytest exits 5 when it collects no
# test; like any non-zero exit, that fails the target.

PY_VENV := $(BUILD_DIR)/venv
PY := $(PY_VENV)/bin/python
PY_REQUIREMENTS := bindings-python/tests/requirements.txt
PY_TESTS := bindings-python/tests

PART_TESTS += test-python
.PHONY: test-python python-wheel python-venv

# Debian's python3 needs python3-venv for ensurepip; install it when missing.
$(PY_VENV)/.installed: $(PY_REQUIREMENTS)
	@python3 -c 'import ensurepip' 2>/dev/null || \
		{ apt-get update -qq && apt-get install -y -qq python3-venv; }
	python3 -m venv $(PY_VENV)
	$(PY) -m pip install -q --disable-pip-version-check -r $(PY_REQUIREMENTS)
	touch $@

python-venv: $(PY_VENV)/.installed

# The type checks run from $(BUILD_DIR), outside the source tree, so they see the
# installed package and leave their caches there.
test-python: export MYPY_CACHE_DIR := $(BUILD_DIR)/mypy-cache
test-python: $(PY_VENV)/.installed
	$(PY) -m pip install -q --disable-pip-version-check --force-reinstall --no-deps ./bindings-python
	cd $(BUILD_DIR) && $(PY) -m mypy.stubtest ssecast --allowlist $(CURDIR)/bindings-python/stubtest-allowlist.txt
	cd $(BUILD_DIR) && $(PY) -m mypy --strict -p ssecast
	$(PY) -m mypy --strict examples/fastapi/app.py
	cd $(PY_TESTS) && $(PY) -m pytest

# One abi3 wheel (CPython 3.9+) for this platform, in dist/.
python-wheel: $(PY_VENV)/.installed
	$(PY) -m maturin build --release --manifest-path bindings-python/Cargo.toml --out dist

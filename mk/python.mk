# The Python binding (bindings-python/): `make lint-python`, `make test-python`,
# `make python-wheel`.
#
# Both make a venv in $(BUILD_DIR)/venv with the pinned tools. lint-python (part
# of `make lint`) runs ruff (ruff.toml at the root) over every Python file and
# mypy --strict over the package source with its stubs, the tests, the example
# and the benchmark scripts; it needs no build. test-python builds and installs
# the package with `pip install ./bindings-python` (maturin, through the exported
# CARGO_TARGET_DIR), checks the stubs against the built module, and runs pytest
# against the installed package. pytest exits 5 when it collects no test; like
# any non-zero exit, that fails the target.

PY_VENV := $(BUILD_DIR)/venv
PY := $(PY_VENV)/bin/python
PY_REQUIREMENTS := bindings-python/tests/requirements.txt
PY_TESTS := bindings-python/tests

PART_TESTS += test-python
PART_LINTS += lint-python
.PHONY: lint-python test-python python-wheel python-venv python-nginx

# Debian's python3 needs python3-venv for ensurepip; install it when missing.
$(PY_VENV)/.installed: $(PY_REQUIREMENTS)
	@python3 -c 'import ensurepip' 2>/dev/null || \
		{ apt-get update -qq && apt-get install -y -qq python3-venv; }
	python3 -m venv $(PY_VENV)
	$(PY) -m pip install -q --disable-pip-version-check -r $(PY_REQUIREMENTS)
	touch $@

python-venv: $(PY_VENV)/.installed

# The package source with its stubs, and the Python code that imports it, which
# is type-checked against that source (MYPYPATH wins over an installed copy).
PY_TYPED_FILES := bindings-python/python/ssecast $(PY_TESTS) examples/fastapi/app.py \
	examples/fastapi/inapp.py bench/publish_cost/publish_cost.py bindings-python/bench/publish.py \
	bindings-python/bench/inapp_wakeup.py

# The tools keep their caches in $(BUILD_DIR), never in the source tree.
lint-python: export RUFF_CACHE_DIR := $(BUILD_DIR)/ruff-cache
lint-python: export MYPY_CACHE_DIR := $(BUILD_DIR)/mypy-cache
lint-python: $(PY_VENV)/.installed
	$(PY_VENV)/bin/ruff check
	$(PY_VENV)/bin/ruff format --check
	MYPYPATH=bindings-python/python $(PY) -m mypy --strict $(PY_TYPED_FILES)

# The proxy tests start Debian's nginx themselves (own prefix, port and config);
# the package's system service is never used.
python-nginx:
	@command -v nginx >/dev/null || test -x /usr/sbin/nginx || { apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nginx >/dev/null; }

# stubtest runs from $(BUILD_DIR), outside the source tree, so it sees the
# installed package and leaves its cache there.
test-python: export MYPY_CACHE_DIR := $(BUILD_DIR)/mypy-cache
# The backplane tests also run the standalone hub (the release `ssecast`) as cluster nodes.
test-python: $(PY_VENV)/.installed python-nginx release
	$(PY) -m pip install -q --disable-pip-version-check --force-reinstall --no-deps ./bindings-python
	cd $(BUILD_DIR) && $(PY) -m mypy.stubtest ssecast --allowlist $(CURDIR)/bindings-python/stubtest-allowlist.txt
	cd $(PY_TESTS) && SSECAST_BIN=$(RELEASE_DIR)/ssecast $(PY) -m pytest

# One abi3 wheel (CPython 3.9+) for this platform, in dist/.
python-wheel: $(PY_VENV)/.installed
	$(PY) -m maturin build --release --manifest-path bindings-python/Cargo.toml --out dist

# ssecast — the project's front door.
#   make demo    the standalone server with its live demo page on http://127.0.0.1:8080
#                (make demo DEMO_PORT=9000 for another port; the first build takes minutes)
#   make test    every suite (what CI runs); installs what the tests need
# Parts add their targets in mk/*.mk.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

CARGO ?= cargo
# One target dir for every crate and binding, so core is compiled once per profile.
export CARGO_TARGET_DIR ?= $(CURDIR)/target
export CARGO_INCREMENTAL ?= 0
export CARGO_PROFILE_DEV_DEBUG ?= line-tables-only
RELEASE_DIR := $(CARGO_TARGET_DIR)/release
# Scratch space for venvs, scratch npm apps and test output; never committed.
BUILD_DIR := $(CURDIR)/build
PREFIX ?= /usr/local
DEMO_PORT ?= 8080

.PHONY: help demo release test test-rust lint lint-rust

help:
	@echo "make demo          run ssecast --demo on http://127.0.0.1:$(DEMO_PORT) (DEMO_PORT=9000 for another port)"
	@echo "make test          run every test suite (installs what the tests need)"
	@echo "make lint          formatting, clippy on every crate, ruff + mypy, tsc (part of make test)"
	@echo "make install       install libssecast, ssecast.h and ssecast.pc under PREFIX=$(PREFIX)"
	@echo "make header        regenerate include/ssecast.h"
	@echo "make python-wheel  build the Python wheel into dist/"
	@echo "make node-package  pack the Node package into dist/"
	@echo "make bench         run the benchmarks (minutes; not part of make test)"

# The release artifacts every suite shares: the CLI and the C library, built once.
release:
	$(CARGO) build --release --locked -p ssecast-cli -p ssecast-ffi

# The notice comes first: on a fresh machine the release build takes minutes.
demo:
	@test -x $(RELEASE_DIR)/ssecast || echo "make demo: building the release binaries first;" \
		"on a fresh machine this takes a few minutes"
	@$(MAKE) --no-print-directory release
	$(RELEASE_DIR)/ssecast --demo --bind 127.0.0.1 --port $(DEMO_PORT)

# Every crate of the workspace, the bindings and the bench included, in one
# clippy run: the bindings' build scripts need only python3 and node, and the
# shared target dir keeps the run to seconds once core is checked.
lint-rust:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --locked --workspace --all-targets -- -D warnings

test-rust:
	$(CARGO) test --locked --no-fail-fast -p ssecast -p ssecast-cli -p ssecast-ffi

# Each mk/*.mk adds its suite to PART_TESTS (C, Python, Node, browser), its
# static checks to PART_LINTS (Python, Node) and its own artifact targets.
PART_TESTS :=
PART_LINTS :=
include $(sort $(wildcard mk/*.mk))

# Static checks only, no test run: seconds once the tools are installed.
lint: lint-rust $(PART_LINTS)
	@echo "make lint: every check passed"

test: lint test-rust $(PART_TESTS)
	@echo "make test: every suite passed"

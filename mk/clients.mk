# The client matrix (tests/clients, issue 17): SSE clients written by other people,
# each run against the release `ssecast` binary on a free port. The shared wire
# vectors, small events handed over at once, frames that carry no event, and a
# resume through a proxy that cuts a stream in the middle of an event.
#   make test-clients   installs the clients under build/clients, runs pytest there
# Clients: sseclient-py (+ requests) and httpx-sse (+ httpx) in a venv; eventsource
# (4.x, the last major that runs on Node 20) and @microsoft/fetch-event-source from
# npm; reqwest-eventsource in a Rust program of its own (tests/clients/rust). The
# HTTP/2 attacks on the binary (test_http2_attacks.py) use the h2 library from the venv.

CLIENTS_SRC := tests/clients
CLIENTS_BUILD := $(BUILD_DIR)/clients
CLIENTS_VENV := $(CLIENTS_BUILD)/venv
CLIENTS_PY := $(CLIENTS_VENV)/bin/python
CLIENTS_NODE := $(CLIENTS_BUILD)/node
CLIENTS_RUST_MANIFEST := $(CLIENTS_SRC)/rust/Cargo.toml
CLIENTS_RUST_BIN := $(RELEASE_DIR)/reqwest-eventsource-client

PART_TESTS += test-clients
.PHONY: test-clients clients-rust

$(CLIENTS_VENV)/.installed: $(CLIENTS_SRC)/requirements.txt
	@python3 -c 'import ensurepip' 2>/dev/null || \
		{ apt-get update -qq && apt-get install -y -qq python3-venv; }
	rm -rf $(CLIENTS_VENV)
	python3 -m venv $(CLIENTS_VENV)
	$(CLIENTS_PY) -m pip install -q --disable-pip-version-check -r $<
	touch $@

$(CLIENTS_NODE)/node_modules/.package-lock.json: $(CLIENTS_SRC)/node/package.json $(CLIENTS_SRC)/node/package-lock.json
	mkdir -p $(CLIENTS_NODE)
	cp $^ $(CLIENTS_NODE)/
	cd $(CLIENTS_NODE) && npm ci --no-audit --no-fund --loglevel=error
	touch $@

# Its own workspace and lock file; cargo decides whether anything is stale.
clients-rust:
	$(CARGO) build --release --locked --manifest-path $(CLIENTS_RUST_MANIFEST)

# pytest exits non-zero when a test fails and when it collects none (exit 5).
test-clients: release clients-rust $(CLIENTS_VENV)/.installed $(CLIENTS_NODE)/node_modules/.package-lock.json
	cd $(CLIENTS_SRC) && SSECAST_BIN=$(RELEASE_DIR)/ssecast \
		CLIENTS_NODE_MODULES=$(CLIENTS_NODE)/node_modules \
		REQWEST_EVENTSOURCE_CLIENT=$(CLIENTS_RUST_BIN) \
		$(CLIENTS_PY) -m pytest -p no:cacheprovider

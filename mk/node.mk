# Node binding (bindings-node/, issue 5).
#   make node-package  build the addon (release) and pack dist/ssecast-<version>.tgz with the
#                      prebuilt .node for this platform (installs with no Rust, no install script)
#   make node-types    regenerate the committed bindings-node/index.d.ts from the Rust doc comments
#   make client-script regenerate the committed core/assets/ssecast.js: the browser client
#                      (bindings-node/client/) as a classic script with a global `ssecast`
#   make test-node     pack, install the tarball into a scratch app under build/, run the
#                      node:test suites there (plus the index.d.ts and ssecast.js drift checks)
#   make lint-node     tsc --noEmit over index.d.ts and the JavaScript that uses it
#                      (bindings-node/lint/tsconfig.json); part of `make lint`, no build

NODE_SRC := bindings-node
NODE_PACKAGE_JSON := $(NODE_SRC)/package.json
node_json = $(shell node -p "require('./$(NODE_PACKAGE_JSON)').$(1)")
NODE_VERSION := $(call node_json,version)
NAPI_CLI_VERSION := $(call node_json,devDependencies['@napi-rs/cli'])
ESBUILD_VERSION := $(call node_json,devDependencies.esbuild)
NODE_TARBALL := dist/ssecast-$(NODE_VERSION).tgz
# The napi CLI and esbuild live in build/, never in the source tree.
NODE_TOOLS := $(BUILD_DIR)/node-tools
NODE_TOOLS_STAMP := $(NODE_TOOLS)/.napi-cli-$(NAPI_CLI_VERSION)-esbuild-$(ESBUILD_VERSION)
NAPI := $(NODE_TOOLS)/node_modules/.bin/napi
ESBUILD := $(NODE_TOOLS)/node_modules/.bin/esbuild
# The package is assembled here, then packed; the scratch app installs the tarball.
NODE_STAGE := $(BUILD_DIR)/node-package
NODE_APP := $(BUILD_DIR)/node-app
NODE_PACKAGE_FILES := package.json README.md index.js index.mjs binding.js platform.js stream.js subscription.js \
	$(patsubst $(NODE_SRC)/%,%,$(wildcard $(NODE_SRC)/client/*.mjs $(NODE_SRC)/client/*.d.mts))
# The browser client as one classic script (global `ssecast`), committed for the engine to
# serve at /ssecast.js; test-node rebuilds it here and fails when the committed one differs.
CLIENT_SCRIPT := core/assets/ssecast.js
CLIENT_SCRIPT_BUILD := $(BUILD_DIR)/client-script/ssecast.js
CLIENT_SCRIPT_BANNER := /* ssecast browser client: connect() as the global ssecast.connect. \
	Generated from bindings-node/client/ by make client-script; do not edit. */

.PHONY: node-package node-types client-script test-node lint-node

$(NODE_TOOLS_STAMP):
	rm -rf $(NODE_TOOLS) && mkdir -p $(NODE_TOOLS)
	echo '{"private": true}' > $(NODE_TOOLS)/package.json
	npm install --prefix $(NODE_TOOLS) --no-audit --no-fund --loglevel=error \
		@napi-rs/cli@$(NAPI_CLI_VERSION) esbuild@$(ESBUILD_VERSION)
	touch $@

# Minified, for browsers from 2020 on (fetch streams, EventSource, AbortController).
$(CLIENT_SCRIPT_BUILD): $(NODE_TOOLS_STAMP) $(wildcard $(NODE_SRC)/client/*.mjs)
	mkdir -p $(dir $@)
	$(ESBUILD) $(NODE_SRC)/client/index.mjs --bundle --format=iife --global-name=ssecast \
		--target=es2020 --minify --legal-comments=none --log-level=warning \
		'--banner:js=$(CLIENT_SCRIPT_BANNER)' --outfile=$@

client-script: $(CLIENT_SCRIPT_BUILD)
	mkdir -p $(dir $(CLIENT_SCRIPT)) && cp $(CLIENT_SCRIPT_BUILD) $(CLIENT_SCRIPT)

# napi names the build ssecast.node; the loader (binding.js) looks for
# ssecast.<platform>.node, the napi-rs per-platform name, so rename it here.
node-package: $(NODE_TOOLS_STAMP)
	rm -rf $(NODE_STAGE) && mkdir -p $(NODE_STAGE) dist
	cd $(NODE_SRC) && $(NAPI) build --release --target-dir $(CARGO_TARGET_DIR) \
		--output-dir $(NODE_STAGE) --dts index.d.ts -- --locked
	platform=$$(node -p "require('./$(NODE_SRC)/platform.js').platformName()") && \
		mv $(NODE_STAGE)/ssecast.node $(NODE_STAGE)/ssecast.$$platform.node && \
		strip --strip-debug $(NODE_STAGE)/ssecast.$$platform.node
	mkdir -p $(NODE_STAGE)/client
	for file in $(NODE_PACKAGE_FILES); do cp $(NODE_SRC)/$$file $(NODE_STAGE)/$$file; done
	rm -f $(NODE_TARBALL)
	cd $(NODE_STAGE) && npm pack --ignore-scripts --loglevel=error --pack-destination $(CURDIR)/dist
	@echo "packed $(NODE_TARBALL)"

node-types: node-package
	cp $(NODE_STAGE)/index.d.ts $(NODE_SRC)/index.d.ts

PART_TESTS += test-node
test-node: node-package $(CLIENT_SCRIPT_BUILD)
	@cargo_version=$$(sed -n 's/^version = "\(.*\)"$$/\1/p' Cargo.toml | head -n 1); \
		[ "$$cargo_version" = "$(NODE_VERSION)" ] || { echo "$(NODE_PACKAGE_JSON) has version \
		$(NODE_VERSION) but Cargo.toml has $$cargo_version"; exit 1; }
	@diff -u $(NODE_SRC)/index.d.ts $(NODE_STAGE)/index.d.ts || \
		{ echo "bindings-node/index.d.ts is stale: run make node-types"; exit 1; }
	@diff -q $(CLIENT_SCRIPT) $(CLIENT_SCRIPT_BUILD) >/dev/null || \
		{ echo "$(CLIENT_SCRIPT) is stale: run make client-script"; exit 1; }
	rm -rf $(NODE_APP) && mkdir -p $(NODE_APP)
	cp $(NODE_SRC)/test/app-package.json $(NODE_APP)/package.json
	cp -r $(NODE_SRC)/test $(NODE_APP)/test
	mkdir -p $(NODE_APP)/example && tar -C examples/express --exclude=node_modules -cf - . | tar -C $(NODE_APP)/example -xf -
	cp tests/vectors/events.json $(NODE_APP)/test/vectors.json
	cd $(NODE_APP) && npm install --no-audit --no-fund --loglevel=error $(CURDIR)/$(NODE_TARBALL)
	@# 1,000 clients and their 1,000 server ends in one process need more than 1,024 descriptors.
	cd $(NODE_APP) && { ulimit -n 8192 2>/dev/null || true; } && node --test --test-reporter=spec test/*.test.js test/*.test.mjs \
		2>&1 | tee $(NODE_APP)/test-output.txt
	@grep -Eq '^ℹ tests [1-9]' $(NODE_APP)/test-output.txt || { echo "test-node: no test ran"; exit 1; }

# The pinned compiler and type packages of bindings-node/lint, installed in build/.
NODE_LINT_SRC := $(NODE_SRC)/lint
NODE_LINT := $(BUILD_DIR)/node-lint
NODE_LINT_STAMP := $(NODE_LINT)/node_modules/.package-lock.json

$(NODE_LINT_STAMP): $(NODE_LINT_SRC)/package.json $(NODE_LINT_SRC)/package-lock.json
	mkdir -p $(NODE_LINT)
	cp $^ $(NODE_LINT)/
	cd $(NODE_LINT) && npm ci --no-audit --no-fund --loglevel=error
	touch $@

PART_LINTS += lint-node
lint-node: $(NODE_LINT_STAMP)
	$(NODE_LINT)/node_modules/.bin/tsc -p $(NODE_LINT_SRC)

# Browser tests (tests/browser): Debian's Chromium, headless, driven through
# playwright-core from node:test. Pages come from another origin than the engine,
# so CORS, reconnection and resumption are what a real browser does.
#   make test-browser     installs Chromium and playwright-core if missing, runs the suite
# Screenshots and the TAP log go to $(BUILD_DIR)/test-output.

BROWSER_BUILD := $(BUILD_DIR)/browser
BROWSER_MODULES := $(BROWSER_BUILD)/node_modules
BROWSER_OUTPUT := $(BUILD_DIR)/test-output
CHROMIUM_BIN := /usr/bin/chromium
# The emoji font only makes the screenshots show emoji instead of boxes.
BROWSER_FONTS := fonts-noto-color-emoji

PART_TESTS += test-browser
.PHONY: test-browser browser-chromium

browser-chromium:
	@missing=""; \
	test -x $(CHROMIUM_BIN) || missing="chromium"; \
	for pkg in $(BROWSER_FONTS); do \
	  [ "$$(dpkg-query -W -f='$${db:Status-Status}' $$pkg 2>/dev/null)" = installed ] || missing="$$missing $$pkg"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "apt-get install$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi

$(BROWSER_MODULES)/.package-lock.json: tests/browser/package.json tests/browser/package-lock.json
	mkdir -p $(BROWSER_BUILD)
	cp tests/browser/package.json tests/browser/package-lock.json $(BROWSER_BUILD)/
	cd $(BROWSER_BUILD) && npm ci --no-audit --no-fund --loglevel=error
	touch $@

# node:test prints the spec report and writes TAP; the run fails on any failure
# and when no test passed at all.
test-browser: release browser-chromium $(BROWSER_MODULES)/.package-lock.json
	mkdir -p $(BROWSER_OUTPUT)
	cd tests/browser && \
	  SSECAST_BIN=$(RELEASE_DIR)/ssecast SSECAST_TEST_OUTPUT=$(BROWSER_OUTPUT) \
	  CHROMIUM_PATH=$(CHROMIUM_BIN) NODE_PATH=$(BROWSER_MODULES) \
	  node --test --test-concurrency=1 --test-timeout=120000 \
	    --test-reporter=spec --test-reporter-destination=stdout \
	    --test-reporter=tap --test-reporter-destination=$(BROWSER_OUTPUT)/browser.tap \
	    test/*.test.js
	@grep -Eq '^# pass [1-9]' $(BROWSER_OUTPUT)/browser.tap || { echo "test-browser: no test passed"; exit 1; }
	@grep -Eq '^# fail 0$$' $(BROWSER_OUTPUT)/browser.tap

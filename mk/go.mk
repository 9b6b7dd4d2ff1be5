# The Go example (examples/go): a net/http server streaming in-app subscriptions
# through cgo. `make test-go` installs Debian's golang-go when missing, installs
# libssecast into $(BUILD_DIR)/go/prefix, and runs gofmt, go vet and go test.

GO_BUILD := $(BUILD_DIR)/go
GO_PREFIX := $(GO_BUILD)/prefix
GO_ENV := GOPATH=$(GO_BUILD)/gopath GOCACHE=$(GO_BUILD)/cache GOFLAGS=-mod=mod \
	PKG_CONFIG_PATH=$(GO_PREFIX)/lib/pkgconfig CGO_LDFLAGS="-Wl,-rpath,$(GO_PREFIX)/lib"

PART_TESTS += test-go
.PHONY: test-go

test-go: release $(C_NATIVE_LIBS)
	@command -v go >/dev/null && command -v pkg-config >/dev/null \
		|| { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq golang-go pkg-config >/dev/null; }
	rm -rf $(GO_PREFIX)
	$(call install-c,$(GO_PREFIX))
	@unformatted=$$(gofmt -l examples/go); [ -z "$$unformatted" ] || { echo "gofmt: $$unformatted"; exit 1; }
	cd examples/go && $(GO_ENV) go vet . && $(GO_ENV) go test -count=1 -v .

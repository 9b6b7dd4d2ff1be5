# The C library: `make install PREFIX=...`, `make header`, and the C suite `make test-c`.
# Included by the root Makefile (CARGO, CARGO_TARGET_DIR, RELEASE_DIR, BUILD_DIR, PREFIX).

.PHONY: install header test-c
PART_TESTS += test-c

C_VERSION := $(shell sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)
# The soname's version: major.minor while the major is 0 (every 0.x minor may break
# the ABI), else the major. Must agree with ffi/build.rs.
C_SOVERSION := $(shell echo $(C_VERSION) | awk -F. '{ print ($$1 == 0) ? $$1 "." $$2 : $$1 }')
C_BUILD := $(BUILD_DIR)/c
C_TEST_PREFIX := $(BUILD_DIR)/prefix
C_NATIVE_LIBS := $(C_BUILD)/native-static-libs
C_CFLAGS := -Wall -Wextra -Werror -Wpedantic -O1 -g
C_VALGRIND := valgrind --quiet --fair-sched=yes --error-exitcode=99 --leak-check=full \
	--errors-for-leak-kinds=definite --show-leak-kinds=definite

# The system libraries a static link of libssecast.a needs, as rustc reports them.
# (Runs rustc on the small ffi crate once more; about a second.)
$(C_NATIVE_LIBS): release
	@mkdir -p $(@D)
	$(CARGO) rustc --release --locked -p ssecast-ffi --lib -- --print native-static-libs 2>&1 \
		| sed -n 's/.*native-static-libs: //p' | tail -n 1 > $@.tmp
	@test -s $@.tmp || { echo "cargo rustc printed no native-static-libs" >&2; exit 1; }
	mv $@.tmp $@

# install-c PREFIX[,DESTDIR]: the shared library (real file, soname link and
# development link), the static library, the header and ssecast.pc.
define install-c
	install -d $(2)$(1)/lib/pkgconfig $(2)$(1)/include
	install -m 644 $(RELEASE_DIR)/libssecast.a $(2)$(1)/lib/libssecast.a
	install -m 755 $(RELEASE_DIR)/libssecast.so $(2)$(1)/lib/libssecast.so.$(C_VERSION)
	ln -sf libssecast.so.$(C_VERSION) $(2)$(1)/lib/libssecast.so.$(C_SOVERSION)
	ln -sf libssecast.so.$(C_SOVERSION) $(2)$(1)/lib/libssecast.so
	install -m 644 include/ssecast.h $(2)$(1)/include/ssecast.h
	sed -e 's|@PREFIX@|$(1)|' -e 's|@VERSION@|$(C_VERSION)|' \
		-e "s|@NATIVE_LIBS@|$$(cat $(C_NATIVE_LIBS))|" ffi/ssecast.pc.in > $(2)$(1)/lib/pkgconfig/ssecast.pc
endef

install: release $(C_NATIVE_LIBS)
	$(call install-c,$(abspath $(PREFIX)),$(DESTDIR))
	@echo "installed libssecast $(C_VERSION) under $(PREFIX); build with: cc app.c \$$(pkg-config --cflags --libs ssecast)"
	@case "$(abspath $(PREFIX))" in \
	  /usr|/usr/local) echo "run ldconfig (as root) so the dynamic loader finds the new library" ;; \
	  *) echo "$(PREFIX) is outside the system paths: export PKG_CONFIG_PATH=$(abspath $(PREFIX))/lib/pkgconfig" \
	       "and link with -Wl,-rpath,$(abspath $(PREFIX))/lib (or run with LD_LIBRARY_PATH=$(abspath $(PREFIX))/lib)" ;; \
	esac

header:
	SSECAST_BLESS_HEADER=1 $(CARGO) test --locked -p ssecast-ffi --test header
	@echo "include/ssecast.h regenerated"

# ---- the C test suite ----

C_PKG := PKG_CONFIG_PATH=$(C_TEST_PREFIX)/lib/pkgconfig pkg-config
C_TEST_SOURCES := tests/c/test_ssecast.c tests/c/test_subscription.c tests/c/harness.c tests/c/sse_reader.c

test-c: release $(C_NATIVE_LIBS)
	@command -v pkg-config >/dev/null && command -v valgrind >/dev/null \
		|| { apt-get update -qq && apt-get install -y -qq pkg-config valgrind >/dev/null; }
	rm -rf $(C_TEST_PREFIX)
	mkdir -p $(C_BUILD)
	$(call install-c,$(C_TEST_PREFIX))
	python3 tests/c/vectors_to_text.py tests/vectors/events.json > $(C_BUILD)/vectors.txt
	python3 tests/c/tokens_to_text.py core/src/auth/fixtures > $(C_BUILD)/tokens.txt
	@# Dynamic link through the installed pkg-config file, as the README tells users.
	gcc $(C_CFLAGS) $(C_TEST_SOURCES) $$($(C_PKG) --cflags --libs ssecast) -lpthread \
		-Wl,-rpath,$(C_TEST_PREFIX)/lib -o $(C_BUILD)/test_dynamic
	@# Static link: libssecast.a plus Libs.private from the same pkg-config file.
	gcc $(C_CFLAGS) $(C_TEST_SOURCES) $$($(C_PKG) --cflags ssecast) \
		$$($(C_PKG) --static --libs ssecast | sed 's/-lssecast\b/-l:libssecast.a/') -lpthread \
		-o $(C_BUILD)/test_static
	@! ldd $(C_BUILD)/test_static | grep -q libssecast || { echo "test_static links libssecast.so" >&2; exit 1; }
	gcc $(C_CFLAGS) examples/c/ticker.c $$($(C_PKG) --cflags --libs ssecast) \
		-Wl,-rpath,$(C_TEST_PREFIX)/lib -o $(C_BUILD)/ticker
	gcc $(C_CFLAGS) tests/c/test_example.c tests/c/sse_reader.c -o $(C_BUILD)/test_example
	@# The complete programs of ffi/README.md and README.md must compile as written.
	awk '/^```c$$/ { on = 1; next } /^```$$/ { if (on) exit } on' ffi/README.md > $(C_BUILD)/readme_hello.c
	gcc $(C_CFLAGS) $(C_BUILD)/readme_hello.c $$($(C_PKG) --cflags --libs ssecast) -o $(C_BUILD)/readme_hello
	awk '/^```c$$/ { on = 1; next } /^```$$/ { if (on) exit } on' README.md > $(C_BUILD)/readme_app.c
	gcc $(C_CFLAGS) $(C_BUILD)/readme_app.c $$($(C_PKG) --cflags --libs ssecast) \
		-Wl,-rpath,$(C_TEST_PREFIX)/lib -o $(C_BUILD)/readme_app
	@echo "== README.md's program: runs on the port PORT names; a bad or busy port fails with exit 1, nothing leaked"
	PORT=0 $(C_VALGRIND) $(C_BUILD)/readme_app
	status=0; PORT=http $(C_VALGRIND) $(C_BUILD)/readme_app 2> $(C_BUILD)/readme_app.err || status=$$?; \
		test $$status -eq 1 && grep -q '^ssecast: port' $(C_BUILD)/readme_app.err
	status=0; python3 tests/c/with_busy_port.py $(C_VALGRIND) $(C_BUILD)/readme_app 2> $(C_BUILD)/readme_app.err \
		|| status=$$?; test $$status -eq 1 && grep -q '^ssecast: ' $(C_BUILD)/readme_app.err
	@echo "== the ticker example"
	$(C_BUILD)/test_example $(C_BUILD)/ticker
	@echo "== C suite, linked statically"
	$(C_BUILD)/test_static $(C_BUILD)/vectors.txt $(C_BUILD)/tokens.txt
	@echo "== C suite, linked dynamically, under valgrind (no errors, no definite leaks)"
	$(C_VALGRIND) $(C_BUILD)/test_dynamic $(C_BUILD)/vectors.txt $(C_BUILD)/tokens.txt

# Benchmarks (issue 7): ssecast against Nchan, Express, FastAPI and axum+broadcast.
# Not part of `make test`. Servers are pinned to cpu 0 and the load tool to cpu 1.
#   make bench            every scenario (about 15 minutes, stops by itself)
#   make bench-fanout     1,000 subscribers, rising publish rates
#   make bench-capacity   10,000 and ~19,000 idle connections
#   make bench-latency    10 subscribers at fixed high rates
#   make bench-publish    publish cost per call from Rust, C, Python and Node
#   make bench-connect    new streams per second, authorization off vs HS256 vs ES256
#   make bench-inapp      in-app streams: FastAPI + ssecast vs sse-starlette vs FastAPI,
#                         Express + ssecast vs better-sse vs Express (fan-out, then idle memory)
#   make bench-durable    history_dir (batch, none, always) against memory only: publish
#                         cost, fan-out, start-up with 1,000,000 events (HISTORY_DIR=... to
#                         put the history on another disk; default build/bench/history)
#   make bench-metrics    fan-out in process, /metrics scraped every second, against the
#                         engine at BASELINE_REF (main before metrics), pairs alternated
#   make bench-redis      the Redis backplane: three engines on one redis-server (started by
#                         the tool on a free port) against one engine without, in one process
#                         pinned to cpus 0-1: publish rate, Redis commands per publish,
#                         fan-out and publish-to-receive latency across nodes
# Results: $(BUILD_DIR)/bench/results.txt (RESULT lines) and a markdown summary on stdout.
# Limit the peers with BENCH_SERVERS="ssecast axum".

BENCH_SERVERS ?= ssecast axum nchan express fastapi
BENCH_ENV = RELEASE_DIR=$(RELEASE_DIR) BUILD_DIR=$(BUILD_DIR) SERVERS="$(BENCH_SERVERS)"

.PHONY: bench bench-build bench-fanout bench-capacity bench-latency bench-publish bench-connect bench-inapp bench-durable bench-metrics bench-redis

bench-build: release
	$(CARGO) build --release --locked -p ssecast-bench

# The publish-cost programs use the packed bindings, as users install them.
BENCH_BINDINGS := node-package python-wheel

bench: bench-build $(BENCH_BINDINGS)
	$(BENCH_ENV) bench/run.sh fanout capacity latency publish
	$(MAKE) --no-print-directory bench-connect

bench-publish: bench-build $(BENCH_BINDINGS)
	$(BENCH_ENV) bench/run.sh publish

# Only ssecast takes part: no peer is installed for them.
bench-durable bench-metrics: BENCH_SERVERS = ssecast

bench-fanout bench-capacity bench-latency bench-durable bench-metrics: bench-%: bench-build
	$(BENCH_ENV) bench/run.sh $*

# In process: one engine per mode, its worker on cpu 0, the clients on cpu 1.
bench-connect: bench-build
	$(RELEASE_DIR)/ssecast-bench connect-rate --server-cpu 0 --client-cpu 1

# In-app streams and the libraries their users would pick otherwise, in one run.
BENCH_INAPP_SERVERS := fastapi fastapi-inapp sse-starlette express express-inapp better-sse

bench-inapp: bench-build $(BENCH_BINDINGS)
	$(BENCH_ENV) SERVERS="$(BENCH_INAPP_SERVERS)" bench/run.sh fanout capacity

# One process (engines, load and publishers) pinned to the two cpus; redis-server on them too.
bench-redis: bench-build redis-server
	mkdir -p $(BUILD_DIR)/bench
	taskset -c 0,1 $(RELEASE_DIR)/ssecast-bench backplane | tee $(BUILD_DIR)/bench/backplane.txt

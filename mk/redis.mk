# Redis for the backplane tests (core/src/backplane, core/src/cluster_tests.rs,
# bindings-python/tests/test_backplane_*.py, bindings-node/test/cluster.test.js): Debian's redis-server,
# installed if missing. The tests run the binary themselves on a free loopback
# port with a temporary directory; the system service is never started.
#   make redis-server   install it (idempotent)

REDIS_SERVER_BIN := /usr/bin/redis-server

.PHONY: redis-server
redis-server:
	@test -x $(REDIS_SERVER_BIN) || { \
	  echo "apt-get install redis-server"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends redis-server; \
	}

test-rust test-python test-node: redis-server

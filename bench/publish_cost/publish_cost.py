"""Publish cost per call from Python, with subscribers attached by ssecast-bench.

Protocol (see bench/src/publish_cost.rs): print "port N", wait for a line, time
engine.publish(), print "result ...", "published K", "done", stop when stdin closes.
Run: ssecast-bench publish-cost --lang python -- python publish_cost.py
"""

import sys
import time

import ssecast

ISOLATED_CALLS, BURSTS, BURST_LEN = 1000, 100, 50
DATA = "hello from the publish-cost benchmark"


def main() -> None:
    engine = ssecast.Engine(port=0, worker_threads=1)
    print(f"port {engine.port}", flush=True)
    sys.stdin.readline()
    publish, clock = engine.publish, time.perf_counter_ns
    isolated = []
    for _ in range(ISOLATED_CALLS):
        t = clock()
        publish("bench", DATA)
        isolated.append(clock() - t)
        time.sleep(0.002)
    burst_total = 0
    for _ in range(BURSTS):
        t = clock()
        for _ in range(BURST_LEN):
            publish("bench", DATA)
        burst_total += clock() - t
        time.sleep(0.05)
    isolated.sort()
    print(
        f"result isolated_median_ns={isolated[len(isolated) // 2]}"
        f" isolated_p90_ns={isolated[len(isolated) * 9 // 10]}"
        f" burst_mean_ns={burst_total / (BURSTS * BURST_LEN):.0f}",
        flush=True,
    )
    print(f"published {ISOLATED_CALLS + BURSTS * BURST_LEN}\ndone", flush=True)
    sys.stdin.read()
    engine.stop()


if __name__ == "__main__":
    main()

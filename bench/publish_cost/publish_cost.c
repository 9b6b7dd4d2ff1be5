/* Publish cost per call from C, with subscribers attached by ssecast-bench.
 * Protocol (see bench/src/publish_cost.rs): print "port N", wait for a line,
 * time ssecast_publish(), print "result ...", "published K", "done", then stop
 * when stdin closes.
 * Run: ssecast-bench publish-cost --lang c -- ./publish_cost_c */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "ssecast.h"

enum { ISOLATED_CALLS = 1000, BURSTS = 100, BURST_LEN = 50 };

static long long now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void pause_ms(long ms) {
    struct timespec ts = {0, ms * 1000000L};
    nanosleep(&ts, NULL);
}

static int cmp_ll(const void *a, const void *b) {
    long long x = *(const long long *)a, y = *(const long long *)b;
    return (x > y) - (x < y);
}

static void check(ssecast_result r, const char *what) {
    if (r != SSECAST_OK) {
        const char *why = ssecast_last_error();
        fprintf(stderr, "%s failed: %s\n", what, why ? why : "?");
        exit(1);
    }
}

int main(void) {
    static const char data[] = "hello from the publish-cost benchmark";
    static long long isolated[ISOLATED_CALLS];
    char line[64];
    ssecast_config *cfg = ssecast_config_new();
    ssecast_engine *engine = NULL;
    check(ssecast_config_set(cfg, "port", "0"), "config port");
    check(ssecast_config_set(cfg, "worker_threads", "1"), "config worker_threads");
    check(ssecast_engine_start(cfg, &engine), "start");
    ssecast_config_free(cfg);
    printf("port %u\n", (unsigned)ssecast_engine_port(engine));
    fflush(stdout);
    if (!fgets(line, sizeof line, stdin)) return 1;

    for (int i = 0; i < ISOLATED_CALLS; i++) {
        long long t = now_ns();
        check(ssecast_publish(engine, "bench", data, sizeof data - 1), "publish");
        isolated[i] = now_ns() - t;
        pause_ms(2);
    }
    long long burst_total = 0;
    for (int b = 0; b < BURSTS; b++) {
        long long t = now_ns();
        for (int i = 0; i < BURST_LEN; i++)
            check(ssecast_publish(engine, "bench", data, sizeof data - 1), "publish");
        burst_total += now_ns() - t;
        pause_ms(50);
    }
    qsort(isolated, ISOLATED_CALLS, sizeof isolated[0], cmp_ll);
    printf("result isolated_median_ns=%lld isolated_p90_ns=%lld burst_mean_ns=%.0f\n",
           isolated[ISOLATED_CALLS / 2], isolated[ISOLATED_CALLS * 9 / 10],
           (double)burst_total / (BURSTS * BURST_LEN));
    printf("published %d\ndone\n", ISOLATED_CALLS + BURSTS * BURST_LEN);
    fflush(stdout);
    while (fgets(line, sizeof line, stdin)) {}
    ssecast_engine_stop(engine);
    ssecast_engine_free(engine);
    return 0;
}

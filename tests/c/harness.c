#include "harness.h"

#include <stdio.h>
#include <string.h>

int check_failures;

void check_rc(ssecast_result got, ssecast_result want, const char *expr, const char *file, int line) {
    const char *message = ssecast_last_error();
    if (got != want) {
        fprintf(stderr, "    %s:%d: %s returned %s, expected %s (last error: %s)\n", file, line, expr,
                ssecast_result_code(got), ssecast_result_code(want), message ? message : "NULL");
        check_failures++;
    } else if ((want == SSECAST_OK) != (message == NULL)) {
        fprintf(stderr, "    %s:%d: %s: last error is %s after %s\n", file, line, expr,
                message ? message : "NULL", ssecast_result_code(got));
        check_failures++;
    }
}

int last_error_mentions(const char *part) {
    const char *message = ssecast_last_error();
    return message != NULL && strstr(message, part) != NULL;
}

ssecast_engine *start_engine(const char *const *pairs) {
    ssecast_config *cfg = ssecast_config_new();
    CHECK(cfg != NULL);
    CHECK_RC(ssecast_config_set(cfg, "port", "0"), SSECAST_OK);
    CHECK_RC(ssecast_config_set(cfg, "worker_threads", "2"), SSECAST_OK);
    CHECK_RC(ssecast_config_set(cfg, "keepalive_ms", "0"), SSECAST_OK);
    for (; pairs != NULL && pairs[0] != NULL; pairs += 2)
        CHECK_RC(ssecast_config_set(cfg, pairs[0], pairs[1]), SSECAST_OK);
    ssecast_engine *engine = NULL;
    CHECK_RC(ssecast_engine_start(cfg, &engine), SSECAST_OK);
    ssecast_config_free(cfg);
    CHECK(engine != NULL);
    return engine;
}

uint64_t published_count(ssecast_engine *engine) {
    ssecast_stats stats = {0};
    CHECK_RC(ssecast_engine_stats(engine, &stats), SSECAST_OK);
    return stats.published;
}

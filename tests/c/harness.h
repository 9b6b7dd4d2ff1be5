/*
 * The tiny test harness the C suite shares: checks that count failures, and
 * engines started for one test.
 */
#ifndef HARNESS_H
#define HARNESS_H

#include <stdint.h>

#include <ssecast.h>

/* Failed checks of the test running now; the runner resets it per test. */
extern int check_failures;

#define CHECK(cond)                                                                    \
    do {                                                                               \
        if (!(cond)) {                                                                 \
            fprintf(stderr, "    %s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
            check_failures++;                                                          \
        }                                                                              \
    } while (0)

/* Checks that `expr` returns `want` and, for failures, that a message is set. */
#define CHECK_RC(expr, want) check_rc((expr), (want), #expr, __FILE__, __LINE__)

void check_rc(ssecast_result got, ssecast_result want, const char *expr, const char *file, int line);

/* The last error message contains `part`. */
int last_error_mentions(const char *part);

/* An engine on a free port with 2 threads, no keep-alive, and the key/value
 * `pairs` (NULL-terminated, may be NULL) set. */
ssecast_engine *start_engine(const char *const *pairs);

/* Events published so far. */
uint64_t published_count(ssecast_engine *engine);

/* One test of the suite. */
struct test {
    const char *name;
    void (*run)(void);
};

/* The in-app subscription tests (test_subscription.c). */
extern const struct test subscription_tests[];
extern const int subscription_test_count;

#endif

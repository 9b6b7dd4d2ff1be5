/*
 * The C test suite of libssecast: real engines, real sockets, every misuse.
 *
 * Build and run (what `make test-c` does, dynamically and statically linked,
 * then under valgrind):
 *   gcc -Wall -Wextra -Werror -Wpedantic test_ssecast.c test_subscription.c harness.c \
 *       sse_reader.c $(pkg-config --cflags --libs ssecast) -lpthread -o test_ssecast
 *   ./test_ssecast vectors.txt tokens.txt
 * (vectors.txt: vectors_to_text.py events.json; tokens.txt: tokens_to_text.py
 * core/src/auth/fixtures, the JWT fixtures PyJWT and openssl made).
 *
 * Prints one line per test and a summary line "N passed, N failed"; exits 1 if
 * any test failed or none ran.
 */
#include <pthread.h>
#include <time.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ssecast.h>

#include "harness.h"
#include "sse_reader.h"

static const char *vectors_path;
static const char *tokens_path;

/* ---- helpers ---- */

static int subscribe(sse_reader *reader, ssecast_engine *engine, const char *target) {
    uint16_t port = ssecast_engine_port(engine);
    CHECK(port != 0);
    int rc = sse_open(reader, port, target);
    CHECK(rc == 0);
    return rc;
}

/* Reads the next frame and compares it with `want`. */
static void expect_frame(sse_reader *reader, const char *want, size_t want_len) {
    const char *frame;
    size_t len;
    if (sse_next_frame(reader, &frame, &len) != 0) {
        fprintf(stderr, "    no frame; expected %.*s\n", (int)want_len, want);
        check_failures++;
        return;
    }
    if (len != want_len || memcmp(frame, want, len) != 0) {
        fprintf(stderr, "    frame %.*s\n    expected %.*s\n", (int)len, frame, (int)want_len, want);
        check_failures++;
    }
}

/* ---- tests ---- */

static void test_version_and_result_codes(void) {
    const char *version = ssecast_version();
    CHECK(version != NULL && version[0] >= '0' && version[0] <= '9');
    CHECK(SSECAST_OK == 0 && SSECAST_NULL_PARAMETER == 1 && SSECAST_INVALID_CONFIG == 2);
    CHECK(SSECAST_INVALID_ID == 5 && SSECAST_STOPPED == 8 && SSECAST_INTERNAL == 10);
    CHECK(SSECAST_UNAVAILABLE == 11);
    CHECK(SSECAST_BUFFER_TOO_SMALL == 100 && SSECAST_PANIC == 101);
    CHECK(SSECAST_TOO_MANY_CONNECTIONS == 13 && SSECAST_AGAIN == 102 && SSECAST_END == 103 && SSECAST_BUSY == 104);
    CHECK(strcmp(ssecast_result_code(SSECAST_END), "END") == 0);
    CHECK(strcmp(ssecast_result_code(SSECAST_TOO_MANY_CONNECTIONS), "TOO_MANY_CONNECTIONS") == 0);
    CHECK(strcmp(ssecast_result_code(SSECAST_INVALID_ID), "INVALID_ID") == 0);
    CHECK(strcmp(ssecast_result_code(SSECAST_BUFFER_TOO_SMALL), "BUFFER_TOO_SMALL") == 0);
    CHECK(strcmp(ssecast_result_str(SSECAST_OK), "success") == 0);
    CHECK(strcmp(ssecast_result_str(SSECAST_STOPPED), "engine is stopped") == 0);
    CHECK(strcmp(ssecast_result_str(12345), "unknown result code") == 0);
    CHECK(strcmp(ssecast_result_code(0xffffffffu), "unknown result code") == 0);
}

static void test_publish_and_read_back(void) {
    ssecast_engine *engine = start_engine(NULL);
    sse_reader reader;
    if (subscribe(&reader, engine, "/events?topic=prices") == 0) {
        CHECK_RC(ssecast_publish(engine, "prices", "AAPL 187.5", 10), SSECAST_OK);
        char id[SSECAST_ENGINE_ID_MAX_LEN + 1];
        const uint8_t payload[] = "line 1\nline 2";
        ssecast_event event = {"prices", "tick", NULL, payload, sizeof payload - 1, 2500};
        memset(id, 'x', sizeof id);
        CHECK_RC(ssecast_publish_event(engine, &event, id, sizeof id), SSECAST_OK);
        CHECK(memchr(id, '\0', sizeof id) != NULL && strlen(id) > 0);

        const char *frame;
        size_t len;
        CHECK(sse_next_frame(&reader, &frame, &len) == 0);
        CHECK(len > 4 && memcmp(frame, "id: ", 4) == 0);
        CHECK(strstr(frame, "\ndata: AAPL 187.5\n\n") != NULL);

        char want[256];
        int n = snprintf(want, sizeof want, "id: %s\nevent: tick\nretry: 2500\ndata: line 1\ndata: line 2\n\n", id);
        expect_frame(&reader, want, (size_t)n);

        ssecast_stats stats = {0};
        CHECK_RC(ssecast_engine_stats(engine, &stats), SSECAST_OK);
        CHECK(stats.connections == 1);
        CHECK(stats.published == 2);
        CHECK(stats.topics >= 1);

        /* Free stops the engine and ends the stream. */
        ssecast_engine_free(engine);
        CHECK(sse_wait_end(&reader) == 0);
    } else {
        ssecast_engine_free(engine);
    }
    sse_close(&reader);
}

static void test_default_topic_and_empty_payload(void) {
    ssecast_engine *engine = start_engine(NULL);
    sse_reader reader;
    if (subscribe(&reader, engine, "/events") == 0) {
        ssecast_event event = {NULL, NULL, "e-1", NULL, 0, 0};
        CHECK_RC(ssecast_publish_event(engine, &event, NULL, 0), SSECAST_OK);
        expect_frame(&reader, "id: e-1\ndata: \n\n", 16);
        const uint8_t with_nul[] = {'a', 0, 'b'};
        ssecast_event nul = {NULL, NULL, "e-2", with_nul, 3, 0};
        CHECK_RC(ssecast_publish_event(engine, &nul, NULL, 0), SSECAST_OK);
        expect_frame(&reader, "id: e-2\ndata: a\0b\n\n", 19);
    }
    sse_close(&reader);
    ssecast_engine_free(engine);
}

enum { PUBLISHERS = 8, EVENTS_PER_PUBLISHER = 250 };

struct publisher {
    ssecast_engine *engine;
    int index;
    int failures;
};

static void *publish_many(void *arg) {
    struct publisher *p = arg;
    for (int n = 0; n < EVENTS_PER_PUBLISHER; n++) {
        char data[32];
        int len = snprintf(data, sizeof data, "%d:%d", p->index, n);
        if (ssecast_publish(p->engine, "load", data, (size_t)len) != SSECAST_OK)
            p->failures++;
    }
    return NULL;
}

static void test_concurrent_publishers_deliver_every_event_once(void) {
    const char *const options[] = {"history_size", "10000", NULL};
    ssecast_engine *engine = start_engine(options);
    sse_reader reader;
    if (subscribe(&reader, engine, "/events?topic=load") == 0) {
        pthread_t threads[PUBLISHERS];
        struct publisher publishers[PUBLISHERS];
        for (int i = 0; i < PUBLISHERS; i++) {
            publishers[i] = (struct publisher){engine, i, 0};
            CHECK(pthread_create(&threads[i], NULL, publish_many, &publishers[i]) == 0);
        }
        static int seen[PUBLISHERS][EVENTS_PER_PUBLISHER];
        int next[PUBLISHERS] = {0};
        memset(seen, 0, sizeof seen);
        int total = 0, out_of_order = 0, malformed = 0;
        while (total < PUBLISHERS * EVENTS_PER_PUBLISHER) {
            const char *frame;
            size_t len;
            if (sse_next_frame(&reader, &frame, &len) != 0)
                break;
            const char *data = strstr(frame, "\ndata: ");
            int index, n;
            if (data == NULL || sscanf(data, "\ndata: %d:%d", &index, &n) != 2 || index < 0 ||
                index >= PUBLISHERS || n < 0 || n >= EVENTS_PER_PUBLISHER) {
                malformed++;
                continue;
            }
            seen[index][n]++;
            if (n != next[index])
                out_of_order++;
            next[index] = n + 1;
            total++;
        }
        for (int i = 0; i < PUBLISHERS; i++) {
            CHECK(pthread_join(threads[i], NULL) == 0);
            CHECK(publishers[i].failures == 0);
        }
        int missing_or_duplicated = 0;
        for (int i = 0; i < PUBLISHERS; i++)
            for (int n = 0; n < EVENTS_PER_PUBLISHER; n++)
                missing_or_duplicated += seen[i][n] != 1;
        CHECK(total == PUBLISHERS * EVENTS_PER_PUBLISHER);
        CHECK(missing_or_duplicated == 0);
        CHECK(out_of_order == 0);
        CHECK(malformed == 0);
        CHECK(published_count(engine) == PUBLISHERS * EVENTS_PER_PUBLISHER);
    }
    sse_close(&reader);
    ssecast_engine_free(engine);
}

static void test_null_arguments(void) {
    ssecast_engine *engine = start_engine(NULL);
    ssecast_config *cfg = ssecast_config_new();
    ssecast_stats stats = {.connections = 7, .topics = 7, .published = 7, .slow_consumers_dropped = 7};
    ssecast_engine *untouched = (ssecast_engine *)&stats;

    CHECK_RC(ssecast_config_set(NULL, "port", "0"), SSECAST_NULL_PARAMETER);
    CHECK(last_error_mentions("cfg"));
    CHECK_RC(ssecast_config_set(cfg, NULL, "0"), SSECAST_NULL_PARAMETER);
    CHECK_RC(ssecast_config_set(cfg, "port", NULL), SSECAST_NULL_PARAMETER);
    CHECK_RC(ssecast_engine_start(NULL, &untouched), SSECAST_NULL_PARAMETER);
    CHECK(untouched == (ssecast_engine *)&stats);
    CHECK_RC(ssecast_engine_start(cfg, NULL), SSECAST_NULL_PARAMETER);
    CHECK_RC(ssecast_publish(NULL, "t", "x", 1), SSECAST_NULL_PARAMETER);
    CHECK(last_error_mentions("engine"));
    CHECK_RC(ssecast_publish(engine, "t", NULL, 5), SSECAST_NULL_PARAMETER);
    CHECK(last_error_mentions("data"));
    CHECK_RC(ssecast_publish_event(engine, NULL, NULL, 0), SSECAST_NULL_PARAMETER);
    ssecast_event null_data = {"t", NULL, NULL, NULL, 3, 0};
    CHECK_RC(ssecast_publish_event(engine, &null_data, NULL, 0), SSECAST_NULL_PARAMETER);
    CHECK_RC(ssecast_engine_stats(NULL, &stats), SSECAST_NULL_PARAMETER);
    CHECK_RC(ssecast_engine_stats(engine, NULL), SSECAST_NULL_PARAMETER);
    CHECK(stats.connections == 7 && stats.published == 7);
    CHECK_RC(ssecast_engine_stop(NULL), SSECAST_NULL_PARAMETER);
    CHECK(ssecast_engine_port(NULL) == 0);
    CHECK(last_error_mentions("engine"));
    /* NULL data with length 0 is an empty payload, and NULL topic is "default". */
    CHECK_RC(ssecast_publish(engine, NULL, NULL, 0), SSECAST_OK);
    CHECK(published_count(engine) == 1);
    ssecast_config_free(NULL);
    ssecast_engine_free(NULL);
    ssecast_config_free(cfg);
    ssecast_engine_free(engine);
}

static void test_bad_utf8_in_every_string(void) {
    static const char bad[] = "bad\xff\xfe";
    ssecast_engine *engine = start_engine(NULL);
    ssecast_config *cfg = ssecast_config_new();
    CHECK_RC(ssecast_config_set(cfg, bad, "1"), SSECAST_INVALID_CONFIG);
    CHECK(last_error_mentions("UTF-8"));
    CHECK_RC(ssecast_config_set(cfg, "bind", bad), SSECAST_INVALID_CONFIG);
    CHECK(last_error_mentions("bind"));
    CHECK_RC(ssecast_publish(engine, bad, "x", 1), SSECAST_INVALID_TOPIC);
    CHECK_RC(ssecast_publish(engine, "t", bad, sizeof bad - 1), SSECAST_INVALID_DATA);
    ssecast_event event = {NULL, bad, NULL, (const uint8_t *)"x", 1, 0};
    CHECK_RC(ssecast_publish_event(engine, &event, NULL, 0), SSECAST_INVALID_EVENT_NAME);
    event.event = NULL;
    event.id = bad;
    CHECK_RC(ssecast_publish_event(engine, &event, NULL, 0), SSECAST_INVALID_ID);
    CHECK(published_count(engine) == 0);
    ssecast_config_free(cfg);
    ssecast_engine_free(engine);
}

static void test_bad_configuration(void) {
    ssecast_config *cfg = ssecast_config_new();
    CHECK_RC(ssecast_config_set(cfg, "no_such_key", "1"), SSECAST_INVALID_CONFIG);
    CHECK(last_error_mentions("no_such_key"));
    CHECK_RC(ssecast_config_set(cfg, "port", "http"), SSECAST_INVALID_CONFIG);
    CHECK(last_error_mentions("port"));
    CHECK_RC(ssecast_config_set(cfg, "port", "65536"), SSECAST_INVALID_CONFIG);
    CHECK_RC(ssecast_config_set(cfg, "history_size", "-1"), SSECAST_INVALID_CONFIG);
    CHECK_RC(ssecast_config_set(cfg, "port", "0"), SSECAST_OK);
    CHECK_RC(ssecast_config_set(cfg, "bind", "not-an-address"), SSECAST_OK);
    ssecast_engine *engine = NULL;
    CHECK_RC(ssecast_engine_start(cfg, &engine), SSECAST_INVALID_CONFIG);
    CHECK(engine == NULL);
    CHECK(last_error_mentions("bind"));
    ssecast_config_free(cfg);
}

static void test_port_in_use_is_a_bind_error(void) {
    ssecast_engine *first = start_engine(NULL);
    char port[8];
    snprintf(port, sizeof port, "%u", (unsigned)ssecast_engine_port(first));
    ssecast_config *cfg = ssecast_config_new();
    CHECK_RC(ssecast_config_set(cfg, "port", port), SSECAST_OK);
    ssecast_engine *second = NULL;
    CHECK_RC(ssecast_engine_start(cfg, &second), SSECAST_BIND);
    CHECK(second == NULL);
    ssecast_config_free(cfg);
    ssecast_engine_free(first);
}

static void test_invalid_fields_publish_nothing(void) {
    const char *const options[] = {"max_event_bytes", "16", NULL};
    ssecast_engine *engine = start_engine(options);
    CHECK_RC(ssecast_publish(engine, "", "x", 1), SSECAST_INVALID_TOPIC);
    CHECK_RC(ssecast_publish(engine, "a\nb", "x", 1), SSECAST_INVALID_TOPIC);
    CHECK_RC(ssecast_publish(engine, "t", "0123456789abcdefX", 17), SSECAST_TOO_LARGE);
    ssecast_event event = {"t", "a\rb", NULL, (const uint8_t *)"x", 1, 0};
    CHECK_RC(ssecast_publish_event(engine, &event, NULL, 0), SSECAST_INVALID_EVENT_NAME);
    event.event = NULL;
    event.id = "1\n2";
    CHECK_RC(ssecast_publish_event(engine, &event, NULL, 0), SSECAST_INVALID_ID);
    CHECK(published_count(engine) == 0);
    ssecast_engine_free(engine);
}

static void test_too_small_id_buffer_publishes_nothing(void) {
    ssecast_engine *engine = start_engine(NULL);
    char small[8];
    memset(small, 'z', sizeof small);
    ssecast_event event = {"t", NULL, "order-17", (const uint8_t *)"x", 1, 0};
    CHECK_RC(ssecast_publish_event(engine, &event, small, sizeof small), SSECAST_BUFFER_TOO_SMALL);
    CHECK(memcmp(small, "zzzzzzzz", 8) == 0);
    CHECK_RC(ssecast_publish_event(engine, &event, small, 0), SSECAST_BUFFER_TOO_SMALL);
    event.id = NULL;
    CHECK_RC(ssecast_publish_event(engine, &event, small, sizeof small), SSECAST_BUFFER_TOO_SMALL);
    CHECK(published_count(engine) == 0);
    char exact[9];
    event.id = "order-17";
    CHECK_RC(ssecast_publish_event(engine, &event, exact, sizeof exact), SSECAST_OK);
    CHECK(strcmp(exact, "order-17") == 0);
    char any[SSECAST_ID_BUFFER_SIZE];
    event.id = NULL;
    CHECK_RC(ssecast_publish_event(engine, &event, any, sizeof any), SSECAST_OK);
    CHECK(strlen(any) > 0 && strlen(any) <= SSECAST_ENGINE_ID_MAX_LEN);
    CHECK(published_count(engine) == 2);
    ssecast_engine_free(engine);
}

static void test_calls_after_stop(void) {
    ssecast_engine *engine = start_engine(NULL);
    uint16_t port = ssecast_engine_port(engine);
    sse_reader reader;
    int subscribed = subscribe(&reader, engine, "/events?topic=t") == 0;
    CHECK_RC(ssecast_publish(engine, "t", "before", 6), SSECAST_OK);
    CHECK_RC(ssecast_engine_stop(engine), SSECAST_OK);
    if (subscribed) {
        /* What was published before stop is delivered, then the stream ends. */
        const char *frame;
        size_t len;
        CHECK(sse_next_frame(&reader, &frame, &len) == 0 && strstr(frame, "data: before\n") != NULL);
        CHECK(sse_wait_end(&reader) == 0);
    }
    sse_close(&reader);
    CHECK_RC(ssecast_engine_stop(engine), SSECAST_OK);
    CHECK_RC(ssecast_publish(engine, "t", "after", 5), SSECAST_STOPPED);
    CHECK(last_error_mentions("stopped"));
    ssecast_event event = {"t", NULL, "x", (const uint8_t *)"x", 1, 0};
    char id[16] = "unchanged";
    CHECK_RC(ssecast_publish_event(engine, &event, id, sizeof id), SSECAST_STOPPED);
    CHECK(strcmp(id, "unchanged") == 0);
    CHECK(ssecast_engine_port(engine) == port);
    CHECK(published_count(engine) == 1);
    ssecast_engine_free(engine);
}

static void test_drain_and_counters(void) {
    const char *const pairs[] = {"reconnect_jitter_ms", "2000", NULL};
    ssecast_engine *engine = start_engine(pairs);
    sse_reader reader;
    if (subscribe(&reader, engine, "/events?topic=d") == 0) {
        CHECK_RC(ssecast_publish(engine, "d", "x", 1), SSECAST_OK);
        const char *frame;
        size_t len;
        CHECK(sse_next_frame(&reader, &frame, &len) == 0 && strstr(frame, "data: x\n") != NULL);
        /* The stream's turn comes within 200 ms: a jittered retry, then the end. */
        CHECK_RC(ssecast_engine_drain(engine, 200), SSECAST_OK);
        CHECK(sse_wait_end(&reader) == 0);
        const char *retry = reader.body + reader.consumed;
        CHECK(strncmp(retry, "retry: ", 7) == 0 && strtoul(retry + 7, NULL, 10) <= 2000);
    }
    sse_close(&reader);
    ssecast_stats stats = {0};
    CHECK_RC(ssecast_engine_stats(engine, &stats), SSECAST_OK);
    CHECK(stats.connections == 0 && stats.streams_opened == 1 && stats.events_delivered == 1);
    CHECK(stats.bytes_delivered > 0 && stats.streams_refused == 0 && stats.resets_sent == 0);
    CHECK_RC(ssecast_engine_drain(engine, 60000), SSECAST_OK); /* the same drain, over */
    CHECK_RC(ssecast_publish(engine, "d", "still", 5), SSECAST_OK);
    CHECK_RC(ssecast_engine_drain(NULL, 0), SSECAST_NULL_PARAMETER);
    CHECK_RC(ssecast_engine_stop(engine), SSECAST_OK);
    CHECK_RC(ssecast_engine_drain(engine, 0), SSECAST_STOPPED);
    CHECK(last_error_mentions("stopped"));
    ssecast_engine_free(engine);
}

struct racer {
    ssecast_engine *engine;
    int ok, stopped, other;
};

/* Publishes until the engine reports it is stopped; bounded by time, not by a
 * count, since under valgrind the stop can take longer than any fixed number of
 * publishes. */
static void *publish_until_stopped(void *arg) {
    struct racer *r = arg;
    time_t deadline = time(NULL) + 120;
    for (int n = 0; (n & 1023) != 0 || time(NULL) < deadline; n++) {
        ssecast_result rc = ssecast_publish(r->engine, "race", "x", 1);
        if (rc == SSECAST_OK) {
            r->ok++;
        } else if (rc == SSECAST_STOPPED) {
            r->stopped++;
            break;
        } else {
            r->other++;
        }
    }
    return NULL;
}

static void test_stop_while_threads_publish(void) {
    ssecast_engine *engine = start_engine(NULL);
    enum { RACERS = 4 };
    pthread_t threads[RACERS];
    struct racer racers[RACERS];
    for (int i = 0; i < RACERS; i++) {
        racers[i] = (struct racer){engine, 0, 0, 0};
        CHECK(pthread_create(&threads[i], NULL, publish_until_stopped, &racers[i]) == 0);
    }
    /* Stop once the publishers are demonstrably running. */
    for (int spins = 0; spins < 1000000 && published_count(engine) < 100; spins++)
        sched_yield();
    CHECK_RC(ssecast_engine_stop(engine), SSECAST_OK);
    uint64_t total = 0;
    for (int i = 0; i < RACERS; i++) {
        CHECK(pthread_join(threads[i], NULL) == 0);
        if (racers[i].stopped != 1)
            fprintf(stderr, "    racer %d: ok %d, stopped %d, other %d\n", i, racers[i].ok, racers[i].stopped,
                    racers[i].other);
        CHECK(racers[i].stopped == 1);
        CHECK(racers[i].other == 0);
        total += (uint64_t)racers[i].ok;
    }
    CHECK(published_count(engine) == total);
    ssecast_engine_free(engine);
}

static void *fail_then_report(void *arg) {
    int *saw_clean = arg;
    *saw_clean = ssecast_last_error() == NULL;
    return NULL;
}

static void test_last_error_is_per_thread(void) {
    CHECK_RC(ssecast_engine_stop(NULL), SSECAST_NULL_PARAMETER);
    int saw_clean = 0;
    pthread_t thread;
    CHECK(pthread_create(&thread, NULL, fail_then_report, &saw_clean) == 0);
    CHECK(pthread_join(thread, NULL) == 0);
    CHECK(saw_clean);
    CHECK(ssecast_last_error() != NULL);
}

static void test_start_stop_free_cycles(void) {
    for (int cycle = 0; cycle < 12; cycle++) {
        ssecast_engine *engine = start_engine(NULL);
        sse_reader reader;
        if (subscribe(&reader, engine, "/events") == 0) {
            char data[16];
            int len = snprintf(data, sizeof data, "cycle %d", cycle);
            CHECK_RC(ssecast_publish(engine, NULL, data, (size_t)len), SSECAST_OK);
            const char *frame;
            size_t frame_len;
            CHECK(sse_next_frame(&reader, &frame, &frame_len) == 0 && strstr(frame, data) != NULL);
        }
        if (cycle % 2 == 0)
            CHECK_RC(ssecast_engine_stop(engine), SSECAST_OK);
        ssecast_engine_free(engine); /* stops first when still running */
        CHECK(sse_wait_end(&reader) == 0);
        sse_close(&reader);
    }
}

/* ---- the shared wire vectors ---- */

/* Decodes a field of vectors.txt: "-" absent (NULL), "=" empty, else hex. */
static char *decode_field(const char *field, size_t *len) {
    *len = 0;
    if (strcmp(field, "-") == 0)
        return NULL;
    size_t n = strcmp(field, "=") == 0 ? 0 : strlen(field) / 2;
    char *out = calloc(n + 1, 1);
    for (size_t i = 0; i < n; i++) {
        unsigned byte;
        sscanf(field + 2 * i, "%2x", &byte);
        out[i] = (char)byte;
    }
    *len = n;
    return out;
}

struct buffer {
    char *bytes;
    size_t len;
};

static void append(struct buffer *b, const char *bytes, size_t len) {
    b->bytes = realloc(b->bytes, b->len + len + 1);
    memcpy(b->bytes + b->len, bytes, len);
    b->len += len;
}

/* Appends `wire` with each "{id}" replaced by `id`. */
static void append_wire(struct buffer *b, const char *wire, size_t len, const char *id) {
    const char *end = wire + len;
    while (wire < end) {
        const char *mark = strstr(wire, "{id}");
        size_t plain = mark != NULL && mark < end ? (size_t)(mark - wire) : (size_t)(end - wire);
        append(b, wire, plain);
        wire += plain;
        if (wire < end) {
            append(b, id, strlen(id));
            wire += 4;
        }
    }
}

struct error_code {
    char name[64];
    int number;
};

static int error_code_named(const struct error_code *codes, int count, const char *name) {
    for (int i = 0; i < count; i++)
        if (strcmp(codes[i].name, name) == 0)
            return codes[i].number;
    return -1;
}

static void test_wire_vectors(void) {
    FILE *file = fopen(vectors_path, "r");
    CHECK(file != NULL);
    if (file == NULL)
        return;
    ssecast_config *cfg = ssecast_config_new();
    CHECK_RC(ssecast_config_set(cfg, "port", "0"), SSECAST_OK);
    struct error_code codes[32];
    int code_count = 0;
    static char line[1 << 16];
    long vectors_start = 0;
    while (fgets(line, sizeof line, file) != NULL) {
        char kind[16], a[256], b[256];
        if (sscanf(line, "%15s %255s %255s", kind, a, b) != 3)
            continue;
        if (strcmp(kind, "config") == 0)
            CHECK_RC(ssecast_config_set(cfg, a, b), SSECAST_OK);
        else if (strcmp(kind, "code") == 0 && code_count < 32) {
            snprintf(codes[code_count].name, sizeof codes[code_count].name, "%.63s", a);
            codes[code_count].number = atoi(b);
            code_count++;
        } else if (strcmp(kind, "vector") == 0)
            break;
        vectors_start = ftell(file);
    }
    /* The engine's codes are the same numbers as the shared vocabulary. */
    for (int i = 0; i < code_count; i++)
        CHECK(strcmp(ssecast_result_code((uint32_t)codes[i].number), codes[i].name) == 0);

    ssecast_engine *engine = NULL;
    CHECK_RC(ssecast_engine_start(cfg, &engine), SSECAST_OK);
    ssecast_config_free(cfg);
    if (engine == NULL) {
        fclose(file);
        return;
    }
    /* One stream subscribed to every topic the vectors use, over HTTP and in
     * app: both must carry exactly the same bytes. */
    char target[8192] = "/events?topic=default";
    char *topics[64] = {"default"};
    size_t topic_count = 1;
    fseek(file, vectors_start, SEEK_SET);
    while (fgets(line, sizeof line, file) != NULL) {
        char tag[16], name[512], topic[1024];
        if (sscanf(line, "%15s %511s %1023s", tag, name, topic) != 3 || strcmp(tag, "vector") != 0)
            continue;
        size_t len;
        char *decoded = decode_field(topic, &len);
        if (decoded != NULL && len > 0 && strlen(decoded) == len && strchr(decoded, '\n') == NULL &&
            len < 200 && topic_count < 64) {
            char encoded[1024];
            sse_url_encode(decoded, encoded, sizeof encoded);
            strcat(target, "&topic=");
            strcat(target, encoded);
            topics[topic_count++] = decoded;
        } else {
            free(decoded);
        }
    }
    ssecast_subscription *in_app = NULL;
    CHECK_RC(ssecast_subscription_open(engine, (const char *const *)topics, topic_count, NULL, &in_app),
             SSECAST_OK);
    for (size_t i = 1; i < topic_count; i++)
        free(topics[i]);
    sse_reader reader;
    if (subscribe(&reader, engine, target) != 0) {
        sse_close(&reader);
        ssecast_subscription_free(in_app);
        ssecast_engine_free(engine);
        fclose(file);
        return;
    }

    struct buffer expected = {NULL, 0};
    int vectors = 0, not_expressible = 0, wire_frames = 0;
    fseek(file, vectors_start, SEEK_SET);
    while (fgets(line, sizeof line, file) != NULL) {
        char *fields[9];
        int count = 0;
        for (char *token = strtok(line, " \n"); token != NULL && count < 9; token = strtok(NULL, " \n"))
            fields[count++] = token;
        if (count != 9 || strcmp(fields[0], "vector") != 0)
            continue;
        size_t name_len, topic_len, data_len, event_len, id_len, wire_len;
        char *name = decode_field(fields[1], &name_len);
        char *topic = decode_field(fields[2], &topic_len);
        char *data = decode_field(fields[3], &data_len);
        char *event_name = decode_field(fields[4], &event_len);
        char *id = decode_field(fields[5], &id_len);
        char *wire = decode_field(fields[7], &wire_len);
        vectors++;
        /* A C string ends at its first NUL: a topic, event or id holding one
         * cannot be passed through this API at all. */
        if ((topic && strlen(topic) != topic_len) || (event_name && strlen(event_name) != event_len) ||
            (id && strlen(id) != id_len)) {
            not_expressible++;
        } else {
            ssecast_event event = {topic, event_name, id, (const uint8_t *)data, data_len,
                                   strcmp(fields[6], "-") == 0 ? 0u : (uint32_t)atol(fields[6])};
            char assigned[SSECAST_ID_BUFFER_SIZE];
            ssecast_result rc = ssecast_publish_event(engine, &event, assigned, sizeof assigned);
            if (wire != NULL) {
                if (rc != SSECAST_OK)
                    fprintf(stderr, "    vector \"%s\": %s (%s)\n", name, ssecast_result_code(rc),
                            ssecast_last_error());
                CHECK(rc == SSECAST_OK);
                append_wire(&expected, wire, wire_len, assigned);
                wire_frames++;
            } else {
                int want = error_code_named(codes, code_count, fields[8]);
                if ((int)rc != want)
                    fprintf(stderr, "    vector \"%s\": got %s, expected %s\n", name, ssecast_result_code(rc),
                            fields[8]);
                CHECK((int)rc == want);
            }
        }
        free(name);
        free(topic);
        free(data);
        free(event_name);
        free(id);
        free(wire);
    }
    fclose(file);
    /* A last event marks the end: everything before it must match exactly. */
    ssecast_event sentinel = {NULL, NULL, "sentinel", (const uint8_t *)"end", 3, 0};
    CHECK_RC(ssecast_publish_event(engine, &sentinel, NULL, 0), SSECAST_OK);
    append(&expected, "id: sentinel\ndata: end\n\n", 24);
    wire_frames++;

    struct buffer received = {NULL, 0};
    for (int i = 0; i < wire_frames; i++) {
        const char *frame;
        size_t len;
        if (sse_next_frame(&reader, &frame, &len) != 0)
            break;
        append(&received, frame, len);
    }
    /* Only the three NUL-in-a-string vectors may be skipped. */
    CHECK(vectors > 0 && not_expressible <= 3);
    CHECK(received.len == expected.len);
    if (received.len == expected.len)
        CHECK(memcmp(received.bytes, expected.bytes, expected.len) == 0);
    for (size_t i = 0; i < received.len && i < expected.len; i++)
        if (received.bytes[i] != expected.bytes[i]) {
            fprintf(stderr, "    streams differ at byte %zu: got \"%.40s\", expected \"%.40s\"\n", i,
                    received.bytes + i, expected.bytes + i);
            break;
        }
    /* The in-app stream: the opening frame, then the same bytes. */
    struct buffer in_app_bytes = {NULL, 0};
    while (in_app != NULL && in_app_bytes.len < expected.len + 5) {
        const uint8_t *data;
        size_t len;
        ssecast_result rc = ssecast_subscription_read(in_app, 20000, &data, &len);
        CHECK_RC(rc, SSECAST_OK);
        if (rc != SSECAST_OK)
            break;
        append(&in_app_bytes, (const char *)data, len);
    }
    CHECK(in_app_bytes.len == expected.len + 5);
    CHECK(in_app_bytes.len >= 5 && memcmp(in_app_bytes.bytes, ": ok\n", 5) == 0);
    if (in_app_bytes.len == expected.len + 5)
        CHECK(memcmp(in_app_bytes.bytes + 5, expected.bytes, expected.len) == 0);
    printf("    %d wire vectors checked over HTTP and in app (%d not expressible as C strings: a NUL inside a "
           "topic, event or id)\n",
           vectors - not_expressible, not_expressible);
    free(expected.bytes);
    free(received.bytes);
    free(in_app_bytes.bytes);
    sse_close(&reader);
    ssecast_subscription_free(in_app);
    ssecast_engine_free(engine);
}

/* ---- access control: fixture tokens and minted tokens ---- */

/* One value of tokens.txt: the rest of the line starting with `kind name `
 * (`name` NULL for `secret`), in `out`. Returns 0 when found. */
static int fixture(const char *kind, const char *name, char *out, size_t cap) {
    FILE *file = fopen(tokens_path, "r");
    CHECK(file != NULL);
    if (file == NULL)
        return -1;
    char line[8192], prefix[128];
    snprintf(prefix, sizeof prefix, name ? "%s %s " : "%s ", kind, name);
    int found = -1;
    while (found != 0 && fgets(line, sizeof line, file) != NULL) {
        size_t n = strlen(prefix), len = strcspn(line, "\n");
        if (strncmp(line, prefix, n) == 0 && len - n < cap) {
            memcpy(out, line + n, len - n);
            out[len - n] = '\0';
            found = 0;
        }
    }
    fclose(file);
    CHECK(found == 0);
    return found;
}

/* The status of `GET target` on the engine. */
static int get_status(ssecast_engine *engine, const char *target) {
    char request[8192];
    snprintf(request, sizeof request, "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", target);
    return sse_http_status(ssecast_engine_port(engine), request);
}

/* Subscribes with `token` and checks that an event published then arrives. */
static void expect_stream(ssecast_engine *engine, const char *topic, const char *token) {
    char target[8192];
    snprintf(target, sizeof target, "/events?topic=%s&token=%s", topic, token);
    sse_reader reader;
    if (subscribe(&reader, engine, target) == 0) {
        CHECK_RC(ssecast_publish(engine, topic, "granted", 7), SSECAST_OK);
        const char *frame;
        size_t len;
        CHECK(sse_next_frame(&reader, &frame, &len) == 0 && strstr(frame, "data: granted\n") != NULL);
    }
    sse_close(&reader);
}

static void test_fixture_tokens_from_every_key(void) {
    char secret[256], key[1024], token[4096];
    if (fixture("secret", NULL, secret, sizeof secret) != 0)
        return;
    /* Each key kind verifies the token PyJWT signed with its private half. */
    const char *cases[][3] = {
        {"jwt_secret", NULL, "hs256"},
        {"jwt_public_key", "rsa", "rs256"},
        {"jwt_public_key", "ec", "es256"},
        {"jwt_public_key", "ed25519", "eddsa"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        if (cases[i][1] == NULL)
            strcpy(key, secret);
        else if (fixture("key", cases[i][1], key, sizeof key) != 0)
            continue;
        const char *pairs[] = {cases[i][0], key, NULL};
        ssecast_engine *engine = start_engine(pairs);
        if (fixture("token", cases[i][2], token, sizeof token) == 0) {
            expect_stream(engine, "user/42/notifications", token);
            /* The grant is user/{sub}/notifications with sub 42: not user 43. */
            char target[8192];
            snprintf(target, sizeof target, "/events?topic=user/43/notifications&token=%s", token);
            CHECK(get_status(engine, target) == 403);
        }
        CHECK(get_status(engine, "/events?topic=user/42/notifications") == 401);
        ssecast_engine_free(engine);
    }
    /* Refused tokens, against an RSA key: an HMAC token made with the key's PEM
     * (algorithm confusion), alg none, an expired one. */
    if (fixture("key", "rsa", key, sizeof key) != 0)
        return;
    const char *pairs[] = {"jwt_public_key", key, NULL};
    ssecast_engine *engine = start_engine(pairs);
    const char *refused[] = {"confusion_rsa", "none", "rs256_expired", "hs256"};
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        char target[8192];
        if (fixture("token", refused[i], token, sizeof token) != 0)
            continue;
        snprintf(target, sizeof target, "/events?topic=news/a&token=%s", token);
        int status = get_status(engine, target);
        if (status != 401)
            fprintf(stderr, "    %s: status %d\n", refused[i], status);
        CHECK(status == 401);
    }
    ssecast_engine_free(engine);
}

static const char *const SECURED[] = {"jwt_secret", "c-test-secret-0123456789abcdef-0123", NULL};

static void test_minted_tokens(void) {
    ssecast_engine *engine = start_engine(SECURED);
    const char *topics[] = {"user/{sub}/inbox", "news/*"};
    /* The size first, then the token into a buffer that large. */
    size_t size = 0;
    CHECK_RC(ssecast_subscriber_token(engine, topics, 2, 60, "7", NULL, 0, &size), SSECAST_BUFFER_TOO_SMALL);
    CHECK(size > 100 && size < 1024);
    char *token = malloc(size);
    size_t written = 0;
    CHECK_RC(ssecast_subscriber_token(engine, topics, 2, 60, "7", token, size, &written), SSECAST_OK);
    CHECK(written == size && strlen(token) + 1 == size);
    expect_stream(engine, "user/7/inbox", token);
    char target[2048];
    snprintf(target, sizeof target, "/events?topic=user/8/inbox&token=%s", token);
    CHECK(get_status(engine, target) == 403);
    /* One byte short: BUFFER_TOO_SMALL, the buffer untouched, the size told. */
    memset(token, 'x', size);
    size_t told = 0;
    CHECK_RC(ssecast_subscriber_token(engine, topics, 2, 60, "7", token, size - 1, &told), SSECAST_BUFFER_TOO_SMALL);
    CHECK(told == size && token[0] == 'x' && token[size - 2] == 'x');
    CHECK(last_error_mentions("needs"));
    free(token);

    /* A publisher token publishes over HTTP on its topics only. */
    const char *chat[] = {"chat/*"};
    char publisher[1024];
    CHECK_RC(ssecast_publisher_token(engine, chat, 1, 60, publisher, sizeof publisher, NULL), SSECAST_OK);
    const char *bodies[][2] = {{"chat/1", "200"}, {"news/1", "403"}};
    for (int i = 0; i < 2; i++) {
        char body[64], request[2048];
        int body_len = snprintf(body, sizeof body, "{\"topic\":\"%s\",\"data\":\"hi\"}", bodies[i][0]);
        snprintf(request, sizeof request,
                 "POST /publish HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer %s\r\n"
                 "Content-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s",
                 publisher, body_len, body);
        CHECK(sse_http_status(ssecast_engine_port(engine), request) == atoi(bodies[i][1]));
    }
    CHECK(published_count(engine) == 2); /* the stream's event and chat/1 */
    ssecast_engine_free(engine);
}

static void test_minting_misuse(void) {
    ssecast_engine *plain = start_engine(NULL);
    const char *topics[] = {"a"};
    char out[1024] = "unchanged";
    size_t size = 12345;
    CHECK_RC(ssecast_subscriber_token(plain, topics, 1, 60, NULL, out, sizeof out, &size), SSECAST_INVALID_CONFIG);
    CHECK(last_error_mentions("jwt_secret"));
    CHECK(strcmp(out, "unchanged") == 0 && size == 12345);
    ssecast_engine_free(plain);

    ssecast_engine *engine = start_engine(SECURED);
    CHECK_RC(ssecast_subscriber_token(NULL, topics, 1, 60, NULL, out, sizeof out, NULL), SSECAST_NULL_PARAMETER);
    CHECK(last_error_mentions("engine"));
    CHECK_RC(ssecast_subscriber_token(engine, NULL, 1, 60, NULL, out, sizeof out, NULL), SSECAST_NULL_PARAMETER);
    CHECK(last_error_mentions("topics"));
    const char *with_null[] = {"a", NULL};
    CHECK_RC(ssecast_subscriber_token(engine, with_null, 2, 60, NULL, out, sizeof out, NULL), SSECAST_NULL_PARAMETER);
    CHECK(last_error_mentions("topics[1]"));
    CHECK_RC(ssecast_subscriber_token(engine, NULL, 0, 60, NULL, out, sizeof out, NULL), SSECAST_INVALID_TOPIC);
    CHECK_RC(ssecast_subscriber_token(engine, topics, 1, 60, NULL, NULL, 16, NULL), SSECAST_NULL_PARAMETER);
    CHECK(last_error_mentions("token_out"));
    const char *bad[] = {"a/../b"};
    CHECK_RC(ssecast_subscriber_token(engine, bad, 1, 60, NULL, out, sizeof out, NULL), SSECAST_INVALID_TOPIC);
    const char *per_user[] = {"user/{sub}"};
    CHECK_RC(ssecast_subscriber_token(engine, per_user, 1, 60, NULL, out, sizeof out, NULL), SSECAST_INVALID_TOPIC);
    CHECK(last_error_mentions("{sub}"));
    CHECK_RC(ssecast_subscriber_token(engine, per_user, 1, 60, "*", out, sizeof out, NULL), SSECAST_INVALID_DATA);
    CHECK_RC(ssecast_subscriber_token(engine, per_user, 1, 60, "a/b", out, sizeof out, NULL), SSECAST_INVALID_DATA);
    CHECK_RC(ssecast_subscriber_token(engine, per_user, 1, 60, "\xff", out, sizeof out, NULL), SSECAST_INVALID_DATA);
    CHECK(last_error_mentions("UTF-8"));
    CHECK_RC(ssecast_subscriber_token(engine, topics, 1, 0, NULL, out, sizeof out, NULL), SSECAST_INVALID_DATA);
    CHECK(last_error_mentions("ttl"));
    const char *not_utf8[] = {"\xc3\x28"};
    CHECK_RC(ssecast_publisher_token(engine, not_utf8, 1, 60, out, sizeof out, NULL), SSECAST_INVALID_TOPIC);
    CHECK(strcmp(out, "unchanged") == 0);
    /* A stopped engine still mints. */
    CHECK_RC(ssecast_engine_stop(engine), SSECAST_OK);
    CHECK_RC(ssecast_publisher_token(engine, topics, 1, 60, out, sizeof out, NULL), SSECAST_OK);
    CHECK(strchr(out, '.') != NULL);
    ssecast_engine_free(engine);
}

/* ---- runner ---- */

static const struct test tests[] = {
    {"version and result codes", test_version_and_result_codes},
    {"publish and read back over a socket", test_publish_and_read_back},
    {"default topic, empty payload, NUL in payload", test_default_topic_and_empty_payload},
    {"8 concurrent publishers, every event once", test_concurrent_publishers_deliver_every_event_once},
    {"NULL arguments", test_null_arguments},
    {"bad UTF-8 in every string", test_bad_utf8_in_every_string},
    {"bad configuration", test_bad_configuration},
    {"port in use is a bind error", test_port_in_use_is_a_bind_error},
    {"invalid fields publish nothing", test_invalid_fields_publish_nothing},
    {"too-small id buffer publishes nothing", test_too_small_id_buffer_publishes_nothing},
    {"calls after stop", test_calls_after_stop},
    {"drain, and the operations counters", test_drain_and_counters},
    {"stop while 4 threads publish", test_stop_while_threads_publish},
    {"last error is per thread", test_last_error_is_per_thread},
    {"start/stop/free cycles", test_start_stop_free_cycles},
    {"shared wire vectors", test_wire_vectors},
    {"fixture tokens from every kind of key", test_fixture_tokens_from_every_key},
    {"minted subscriber and publisher tokens", test_minted_tokens},
    {"minting misuse", test_minting_misuse},
};

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: %s vectors.txt tokens.txt\n", argv[0]);
        return 2;
    }
    vectors_path = argv[1];
    tokens_path = argv[2];
    alarm(600); /* a hung engine fails the suite instead of blocking CI */
    int passed = 0, failed = 0;
    const struct test *suites[] = {tests, subscription_tests};
    const int counts[] = {(int)(sizeof tests / sizeof tests[0]), subscription_test_count};
    for (int suite = 0; suite < 2; suite++)
        for (int i = 0; i < counts[suite]; i++) {
            check_failures = 0;
            suites[suite][i].run();
            printf("%s - %s\n", check_failures == 0 ? "ok  " : "FAIL", suites[suite][i].name);
            fflush(stdout);
            if (check_failures == 0)
                passed++;
            else
                failed++;
        }
    printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 && passed > 0 ? 0 : 1;
}

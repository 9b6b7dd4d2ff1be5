#define _GNU_SOURCE /* memmem */
/*
 * In-app subscriptions from C: ssecast_subscription_open / _read / _fd / _free.
 * The wire vectors through a subscription are checked in test_ssecast.c, beside
 * the same vectors over HTTP.
 */
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <ssecast.h>

#include "harness.h"

/* Bytes read from a subscription, NUL-terminated. */
struct text {
    char *bytes;
    size_t len;
};

static void text_append(struct text *t, const uint8_t *data, size_t len) {
    t->bytes = realloc(t->bytes, t->len + len + 1);
    memcpy(t->bytes + t->len, data, len);
    t->len += len;
    t->bytes[t->len] = '\0';
}

static int count(const char *haystack, const char *needle) {
    int n = 0;
    for (const char *at = strstr(haystack, needle); at != NULL; at = strstr(at + 1, needle))
        n++;
    return n;
}

/* Reads until `needle` appears `times` times (each read waits up to 20 s). */
static void read_until(ssecast_subscription *sub, struct text *t, const char *needle, int times) {
    while (t->bytes == NULL || count(t->bytes, needle) < times) {
        const uint8_t *data;
        size_t len;
        ssecast_result rc = ssecast_subscription_read(sub, 20000, &data, &len);
        CHECK_RC(rc, SSECAST_OK);
        if (rc != SSECAST_OK)
            return;
        CHECK(len > 0);
        text_append(t, data, len);
    }
}

static ssecast_subscription *open_one(ssecast_engine *engine, const char *topic, const char *last_id) {
    ssecast_subscription *sub = NULL;
    CHECK_RC(ssecast_subscription_open(engine, &topic, 1, last_id, &sub), SSECAST_OK);
    CHECK(sub != NULL);
    return sub;
}

static int readable(int fd, int timeout_ms) {
    struct pollfd p = {fd, POLLIN, 0};
    return poll(&p, 1, timeout_ms) == 1 && (p.revents & POLLIN);
}

static void test_resume_with_last_event_id(void) {
    ssecast_engine *engine = start_engine(NULL);
    char ids[5][SSECAST_ID_BUFFER_SIZE];
    for (int i = 0; i < 5; i++) {
        char data[8];
        int len = snprintf(data, sizeof data, "e%d", i);
        ssecast_event event = {"r", NULL, NULL, (const uint8_t *)data, (size_t)len, 0};
        CHECK_RC(ssecast_publish_event(engine, &event, ids[i], sizeof ids[i]), SSECAST_OK);
    }
    ssecast_subscription *sub = open_one(engine, "r", ids[1]);
    CHECK_RC(ssecast_publish(engine, "r", "live", 4), SSECAST_OK);
    struct text got = {NULL, 0};
    read_until(sub, &got, "data: live\n", 1);
    char want[4 * SSECAST_ID_BUFFER_SIZE];
    snprintf(want, sizeof want, ": ok\nid: %s\ndata: e2\n\nid: %s\ndata: e3\n\nid: %s\ndata: e4\n\n", ids[2],
             ids[3], ids[4]);
    CHECK(got.bytes != NULL && strncmp(got.bytes, want, strlen(want)) == 0);
    CHECK(got.bytes != NULL && count(got.bytes, "data: ") == 4);
    ssecast_subscription_free(sub);
    free(got.bytes);

    /* An id the engine never gave: the reset signal, then live events. */
    sub = open_one(engine, "r", "not-an-id");
    struct text reset = {NULL, 0};
    read_until(sub, &reset, ": ok\n", 1);
    const char *signal = "event: ssecast-reset\ndata: {\"reason\":\"unknown-id\",\"lastEventId\":\"not-an-id\"}\n\n";
    CHECK(reset.bytes != NULL && strncmp(reset.bytes, signal, strlen(signal)) == 0);
    CHECK(reset.bytes != NULL && strcmp(reset.bytes + strlen(signal), ": ok\n") == 0);
    ssecast_subscription_free(sub);
    free(reset.bytes);
    ssecast_engine_free(engine);
}

struct delayed_publish {
    ssecast_engine *engine;
    const char *topic;
};

static void *publish_after_a_moment(void *arg) {
    struct delayed_publish *p = arg;
    struct timespec pause = {0, 50 * 1000 * 1000};
    nanosleep(&pause, NULL);
    CHECK_RC(ssecast_publish(p->engine, p->topic, "woke", 4), SSECAST_OK);
    return NULL;
}

static void test_poll_on_the_descriptor(void) {
    ssecast_engine *engine = start_engine(NULL);
    ssecast_subscription *sub = open_one(engine, "fd", NULL);
    int fd = ssecast_subscription_fd(sub);
    CHECK(fd >= 0);
    const uint8_t *data = NULL;
    size_t len = 0;
    CHECK_RC(ssecast_subscription_read(sub, 0, &data, &len), SSECAST_OK);
    CHECK(len == 5 && memcmp(data, ": ok\n", 5) == 0);
    const uint8_t *untouched = (const uint8_t *)"x";
    data = untouched;
    CHECK_RC(ssecast_subscription_read(sub, 0, &data, &len), SSECAST_AGAIN);
    CHECK(data == untouched && len == 5);
    CHECK(!readable(fd, 30));

    pthread_t thread;
    struct delayed_publish publish = {engine, "fd"};
    CHECK(pthread_create(&thread, NULL, publish_after_a_moment, &publish) == 0);
    CHECK(readable(fd, 20000));
    CHECK(pthread_join(thread, NULL) == 0);
    CHECK_RC(ssecast_subscription_read(sub, 0, &data, &len), SSECAST_OK);
    CHECK(len > 0 && strstr((const char *)data, "data: woke\n\n") != NULL);
    CHECK_RC(ssecast_subscription_read(sub, 0, &data, &len), SSECAST_AGAIN);
    CHECK(!readable(fd, 0));

    /* A blocking read waits for the publish itself. */
    CHECK(pthread_create(&thread, NULL, publish_after_a_moment, &publish) == 0);
    CHECK_RC(ssecast_subscription_read(sub, -1, &data, &len), SSECAST_OK);
    CHECK(len > 0 && memmem(data, len, "data: woke\n\n", 12) != NULL);
    CHECK(pthread_join(thread, NULL) == 0);
    CHECK_RC(ssecast_subscription_read(sub, 30, &data, &len), SSECAST_AGAIN);
    CHECK(last_error_mentions("30 ms"));

    ssecast_subscription_free(sub);
    ssecast_engine_free(engine);
}

static void test_bad_arguments(void) {
    const char *const options[] = {"max_topics_per_connection", "2", "max_connections", "1", NULL};
    ssecast_engine *engine = start_engine(options);
    ssecast_subscription *sub = (ssecast_subscription *)&engine; /* must stay untouched */
    ssecast_subscription *const untouched = sub;
    const char *topic = "t";
    CHECK_RC(ssecast_subscription_open(NULL, &topic, 1, NULL, &sub), SSECAST_NULL_PARAMETER);
    CHECK_RC(ssecast_subscription_open(engine, NULL, 1, NULL, &sub), SSECAST_NULL_PARAMETER);
    CHECK(last_error_mentions("topics"));
    const char *with_null[] = {"a", NULL};
    CHECK_RC(ssecast_subscription_open(engine, with_null, 2, NULL, &sub), SSECAST_NULL_PARAMETER);
    CHECK_RC(ssecast_subscription_open(engine, &topic, 1, NULL, NULL), SSECAST_NULL_PARAMETER);
    const char *empty = "", *control = "a\nb", *bad_utf8 = "bad\xff";
    CHECK_RC(ssecast_subscription_open(engine, &empty, 1, NULL, &sub), SSECAST_INVALID_TOPIC);
    CHECK_RC(ssecast_subscription_open(engine, &control, 1, NULL, &sub), SSECAST_INVALID_TOPIC);
    CHECK_RC(ssecast_subscription_open(engine, &bad_utf8, 1, NULL, &sub), SSECAST_INVALID_TOPIC);
    const char *three[] = {"a", "b", "c"};
    CHECK_RC(ssecast_subscription_open(engine, three, 3, NULL, &sub), SSECAST_INVALID_TOPIC);
    CHECK(last_error_mentions("max_topics_per_connection"));
    CHECK_RC(ssecast_subscription_open(engine, &topic, 1, "a\nb", &sub), SSECAST_INVALID_ID);
    CHECK_RC(ssecast_subscription_open(engine, &topic, 1, "bad\xfe", &sub), SSECAST_INVALID_ID);
    char long_id[1100];
    memset(long_id, 'i', sizeof long_id - 1);
    long_id[sizeof long_id - 1] = '\0';
    CHECK_RC(ssecast_subscription_open(engine, &topic, 1, long_id, &sub), SSECAST_INVALID_ID);
    CHECK(sub == untouched);

    /* No topic: the default one; then max_connections (1) is reached. */
    ssecast_subscription *held = NULL;
    CHECK_RC(ssecast_subscription_open(engine, NULL, 0, NULL, &held), SSECAST_OK);
    CHECK_RC(ssecast_subscription_open(engine, &topic, 1, NULL, &sub), SSECAST_TOO_MANY_CONNECTIONS);
    CHECK(last_error_mentions("max_connections"));
    CHECK(sub == untouched);

    const uint8_t *data;
    size_t len;
    CHECK_RC(ssecast_subscription_read(NULL, 0, &data, &len), SSECAST_NULL_PARAMETER);
    CHECK_RC(ssecast_subscription_read(held, 0, NULL, &len), SSECAST_NULL_PARAMETER);
    CHECK_RC(ssecast_subscription_read(held, 0, &data, NULL), SSECAST_NULL_PARAMETER);
    CHECK(ssecast_subscription_fd(NULL) == -1);
    CHECK(last_error_mentions("sub"));
    ssecast_subscription_free(NULL);
    ssecast_subscription_free(held);
    ssecast_engine_free(engine);
}

static void test_stats_count_it_and_free_releases_at_once(void) {
    ssecast_engine *engine = start_engine(NULL);
    const char *topics[] = {"x", "y"};
    ssecast_subscription *sub = NULL;
    CHECK_RC(ssecast_subscription_open(engine, topics, 2, NULL, &sub), SSECAST_OK);
    ssecast_stats stats = {0};
    CHECK_RC(ssecast_engine_stats(engine, &stats), SSECAST_OK);
    CHECK(stats.connections == 1 && stats.topics == 2);
    ssecast_subscription_free(sub);
    CHECK_RC(ssecast_engine_stats(engine, &stats), SSECAST_OK);
    CHECK(stats.connections == 0 && stats.topics == 0);
    ssecast_engine_free(engine);
}

static void test_read_after_stop_and_after_the_engine_is_freed(void) {
    ssecast_engine *engine = start_engine(NULL);
    ssecast_subscription *sub = open_one(engine, "s", NULL);
    CHECK_RC(ssecast_publish(engine, "s", "before", 6), SSECAST_OK);
    struct timespec before, after;
    clock_gettime(CLOCK_MONOTONIC, &before);
    CHECK_RC(ssecast_engine_stop(engine), SSECAST_OK);
    clock_gettime(CLOCK_MONOTONIC, &after);
    /* Stop does not wait for in-app readers (shutdown_timeout_ms is 5 s). */
    CHECK(after.tv_sec - before.tv_sec < 3);
    struct text got = {NULL, 0};
    read_until(sub, &got, "data: before\n", 1);
    const uint8_t *data;
    size_t len;
    /* The goodbye: a retry within reconnect_jitter_ms (default 5000), then the end. */
    CHECK_RC(ssecast_subscription_read(sub, 20000, &data, &len), SSECAST_OK);
    CHECK(len > 7 && memcmp(data, "retry: ", 7) == 0 && data[len - 1] == '\n');
    CHECK(strtoul((const char *)data + 7, NULL, 10) <= 5000);
    CHECK_RC(ssecast_subscription_read(sub, 20000, &data, &len), SSECAST_END);
    CHECK(last_error_mentions("stopped"));
    const char *topic = "s";
    ssecast_subscription *late = NULL;
    CHECK_RC(ssecast_subscription_open(engine, &topic, 1, NULL, &late), SSECAST_STOPPED);
    ssecast_engine_free(engine);
    CHECK_RC(ssecast_subscription_read(sub, 0, &data, &len), SSECAST_END);
    CHECK_RC(ssecast_subscription_read(sub, -1, &data, &len), SSECAST_END);
    ssecast_subscription_free(sub);
    free(got.bytes);
}

static void test_a_reader_behind_the_history_ends_as_a_slow_consumer(void) {
    const char *const options[] = {"history_size", "10", NULL};
    ssecast_engine *engine = start_engine(options);
    ssecast_subscription *sub = open_one(engine, "slow", NULL);
    for (int i = 0; i < 100; i++)
        CHECK_RC(ssecast_publish(engine, "slow", "x", 1), SSECAST_OK);
    const uint8_t *data;
    size_t len;
    ssecast_result rc = SSECAST_OK;
    for (int reads = 0; reads < 3 && rc == SSECAST_OK; reads++)
        rc = ssecast_subscription_read(sub, 20000, &data, &len);
    CHECK_RC(rc, SSECAST_END);
    CHECK(last_error_mentions("slow consumer"));
    ssecast_stats stats = {0};
    CHECK_RC(ssecast_engine_stats(engine, &stats), SSECAST_OK);
    CHECK(stats.slow_consumers_dropped == 1);
    ssecast_subscription_free(sub);
    ssecast_engine_free(engine);
}

struct racer {
    ssecast_subscription *sub;
    ssecast_result final;
    int busy;
};

/* Reads until it gets data (or the end), counting the times it found the
 * subscription busy. */
static void *read_until_data(void *arg) {
    struct racer *r = arg;
    const uint8_t *data;
    size_t len;
    do {
        r->final = ssecast_subscription_read(r->sub, 20000, &data, &len);
        if (r->final == SSECAST_BUSY)
            r->busy++;
    } while (r->final == SSECAST_BUSY || r->final == SSECAST_AGAIN);
    return NULL;
}

static void test_two_threads_reading_at_once(void) {
    ssecast_engine *engine = start_engine(NULL);
    ssecast_subscription *sub = open_one(engine, "b", NULL);
    const uint8_t *data;
    size_t len;
    CHECK_RC(ssecast_subscription_read(sub, 0, &data, &len), SSECAST_OK);
    struct racer racer = {sub, SSECAST_OK, 0};
    pthread_t thread;
    CHECK(pthread_create(&thread, NULL, read_until_data, &racer) == 0);
    /* Once the other thread waits inside its read, ours is refused. */
    ssecast_result rc = SSECAST_AGAIN;
    time_t deadline = time(NULL) + 60;
    while (rc != SSECAST_BUSY && time(NULL) < deadline) {
        rc = ssecast_subscription_read(sub, 0, &data, &len);
        sched_yield();
    }
    CHECK_RC(rc, SSECAST_BUSY);
    CHECK(last_error_mentions("another thread"));
    CHECK_RC(ssecast_publish(engine, "b", "release", 7), SSECAST_OK);
    CHECK(pthread_join(thread, NULL) == 0);
    CHECK(racer.final == SSECAST_OK);
    ssecast_subscription_free(sub);
    ssecast_engine_free(engine);
}

const struct test subscription_tests[] = {
    {"subscription: resume with Last-Event-ID, reset for an unknown id", test_resume_with_last_event_id},
    {"subscription: poll() on its descriptor, blocking read", test_poll_on_the_descriptor},
    {"subscription: bad arguments, max_connections", test_bad_arguments},
    {"subscription: counted in stats, released by free", test_stats_count_it_and_free_releases_at_once},
    {"subscription: read after stop and after the engine is freed", test_read_after_stop_and_after_the_engine_is_freed},
    {"subscription: slow consumer", test_a_reader_behind_the_history_ends_as_a_slow_consumer},
    {"subscription: two threads reading at once", test_two_threads_reading_at_once},
};

const int subscription_test_count = (int)(sizeof subscription_tests / sizeof subscription_tests[0]);

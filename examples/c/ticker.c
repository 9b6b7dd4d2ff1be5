/*
 * ticker: publish every line read from stdin as a Server-Sent Event - a price
 * feed, a log tail, anything line-based - to every browser subscribed to
 * http://127.0.0.1:PORT/events?topic=TOPIC.
 *
 * Build and run: see README.md beside this file. In short, after
 * `make install PREFIX=$HOME/.local` at the repository root:
 *   export PKG_CONFIG_PATH=$HOME/.local/lib/pkgconfig
 *   cc examples/c/ticker.c $(pkg-config --cflags --libs ssecast) -Wl,-rpath,$HOME/.local/lib -o ticker
 *   while sleep 1; do date; done | ./ticker 8080 clock
 * and watch it:  curl -N 'http://127.0.0.1:8080/events?topic=clock'
 * or in a page:  new EventSource('http://127.0.0.1:8080/events?topic=clock')
 *
 * Usage: ticker [PORT [TOPIC [CORS_ORIGINS]]]   (defaults: 8080 ticker, no CORS;
 * port 0 picks a free port). Stops at the end of input.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include <ssecast.h>

static int fail(const char *what) {
    fprintf(stderr, "ticker: %s: %s\n", what, ssecast_last_error());
    return 1;
}

int main(int argc, char **argv) {
    const char *port = argc > 1 ? argv[1] : "8080";
    const char *topic = argc > 2 ? argv[2] : "ticker";
    const char *cors = argc > 3 ? argv[3] : "";

    ssecast_config *cfg = ssecast_config_new();
    if (ssecast_config_set(cfg, "port", port) != SSECAST_OK ||
        ssecast_config_set(cfg, "cors_origins", cors) != SSECAST_OK) {
        ssecast_config_free(cfg);
        return fail("configuration");
    }
    ssecast_engine *engine = NULL;
    ssecast_result started = ssecast_engine_start(cfg, &engine);
    ssecast_config_free(cfg);
    if (started != SSECAST_OK)
        return fail("start");
    fprintf(stderr, "ticker: serving http://127.0.0.1:%u/events?topic=%s\n",
            (unsigned)ssecast_engine_port(engine), topic);

    char *line = NULL;
    size_t capacity = 0;
    ssize_t len;
    unsigned long published = 0;
    while ((len = getline(&line, &capacity, stdin)) >= 0) {
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            len--;
        if (ssecast_publish(engine, topic, line, (size_t)len) == SSECAST_OK)
            published++;
        else /* for example a line that is not UTF-8: report it and go on */
            fprintf(stderr, "ticker: line skipped: %s\n", ssecast_last_error());
    }
    free(line);
    ssecast_engine_free(engine); /* stops: subscribers get every line, then the stream ends */
    fprintf(stderr, "ticker: published %lu lines\n", published);
    return 0;
}

/*
 * Runs examples/c/ticker as a user would: lines on its stdin must reach a real
 * SSE subscriber, one event per line, and it must exit cleanly at end of input.
 *
 * Usage: test_example PATH_TO_TICKER
 * Prints "N passed, N failed"; exits 1 on any failure.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sse_reader.h"

static int failures;

#define CHECK(cond)                                                                    \
    do {                                                                               \
        if (!(cond)) {                                                                 \
            fprintf(stderr, "    %s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
            failures++;                                                                \
        }                                                                              \
    } while (0)

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s PATH_TO_TICKER\n", argv[0]);
        return 2;
    }
    alarm(120);
    int to_child[2], from_child[2];
    if (pipe(to_child) != 0 || pipe(from_child) != 0) {
        perror("pipe");
        return 1;
    }
    pid_t pid = fork();
    if (pid == 0) {
        dup2(to_child[0], STDIN_FILENO);
        dup2(from_child[1], STDERR_FILENO);
        close(to_child[1]);
        close(from_child[0]);
        execl(argv[1], argv[1], "0", "prices", (char *)NULL);
        perror("execl");
        _exit(127);
    }
    close(to_child[0]);
    close(from_child[1]);
    FILE *child_stderr = fdopen(from_child[0], "r");
    char line[512];
    unsigned port = 0;
    while (port == 0 && fgets(line, sizeof line, child_stderr) != NULL)
        sscanf(line, "ticker: serving http://127.0.0.1:%u/", &port);
    CHECK(port != 0);

    sse_reader reader;
    int subscribed = port != 0 && sse_open(&reader, (uint16_t)port, "/events?topic=prices") == 0;
    CHECK(subscribed);
    static const char input[] = "AAPL 187.50\nMSFT 402.10\r\nnot utf-8 \xff\nGOOG 141.80\n";
    CHECK(write(to_child[1], input, sizeof input - 1) == (ssize_t)(sizeof input - 1));
    close(to_child[1]);
    if (subscribed) {
        static const char *const want[] = {"data: AAPL 187.50\n\n", "data: MSFT 402.10\n\n", "data: GOOG 141.80\n\n"};
        for (int i = 0; i < 3; i++) {
            const char *frame;
            size_t len;
            int got = sse_next_frame(&reader, &frame, &len) == 0;
            CHECK(got && len > strlen(want[i]) && memcmp(frame + len - strlen(want[i]), want[i], strlen(want[i])) == 0);
        }
        CHECK(sse_wait_end(&reader) == 0);
        sse_close(&reader);
    }
    int skipped = 0, summary = 0;
    while (fgets(line, sizeof line, child_stderr) != NULL) {
        skipped += strstr(line, "line skipped") != NULL && strstr(line, "UTF-8") != NULL;
        summary += strstr(line, "published 3 lines") != NULL;
    }
    fclose(child_stderr);
    int status = 0;
    CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0);
    CHECK(skipped == 1);
    CHECK(summary == 1);
    printf("%s - ticker example publishes stdin lines to a subscriber\n", failures ? "FAIL" : "ok  ");
    printf("%d passed, %d failed\n", failures ? 0 : 1, failures ? 1 : 0);
    return failures ? 1 : 0;
}

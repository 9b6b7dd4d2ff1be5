#include "sse_reader.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

enum { READ_TIMEOUT_SECONDS = 30, FIRST_FRAME_MAX = 64 };

static void *grow(void *buffer, size_t needed) {
    void *bigger = realloc(buffer, needed);
    if (bigger == NULL) {
        perror("realloc");
        abort();
    }
    return bigger;
}

static const char *find(const char *haystack, size_t len, const char *needle, size_t needle_len) {
    for (size_t i = 0; i + needle_len <= len; i++)
        if (memcmp(haystack + i, needle, needle_len) == 0)
            return haystack + i;
    return NULL;
}

/* Reads once from the socket into raw; returns bytes read, 0 on EOF, -1 on error. */
static ssize_t receive(sse_reader *r) {
    char chunk[16384];
    ssize_t n;
    do {
        n = recv(r->fd, chunk, sizeof chunk, 0);
    } while (n < 0 && errno == EINTR);
    if (n > 0) {
        r->raw = grow(r->raw, r->raw_len + (size_t)n);
        memcpy(r->raw + r->raw_len, chunk, (size_t)n);
        r->raw_len += (size_t)n;
    }
    return n;
}

static void drop_raw(sse_reader *r, size_t n) {
    memmove(r->raw, r->raw + n, r->raw_len - n);
    r->raw_len -= n;
}

static void append_body(sse_reader *r, const char *bytes, size_t size) {
    r->body = grow(r->body, r->body_len + size + 1);
    memcpy(r->body + r->body_len, bytes, size);
    r->body_len += size;
    r->body[r->body_len] = '\0'; /* frames can be read as C strings */
}

/* Moves what was received from raw to body: every complete chunk of a chunked
 * response, or everything of a response delimited by closing the connection. */
static void dechunk(sse_reader *r) {
    if (!r->chunked) {
        append_body(r, r->raw, r->raw_len);
        r->raw_len = 0;
        return;
    }
    while (!r->ended) {
        const char *eol = find(r->raw, r->raw_len, "\r\n", 2);
        if (eol == NULL)
            return;
        size_t size = strtoul(r->raw, NULL, 16);
        size_t header = (size_t)(eol - r->raw) + 2;
        if (r->raw_len < header + size + 2)
            return;
        if (size == 0) {
            r->ended = 1;
            return;
        }
        append_body(r, r->raw + header, size);
        drop_raw(r, header + size + 2);
    }
}

/* Receives and de-chunks until the body holds a frame boundary past
 * `consumed`, or the stream ends. Returns the frame length, or 0. */
static size_t await_frame(sse_reader *r) {
    for (;;) {
        const char *end = find(r->body + r->consumed, r->body_len - r->consumed, "\n\n", 2);
        if (end != NULL)
            return (size_t)(end - (r->body + r->consumed)) + 2;
        if (r->ended || receive(r) <= 0) {
            r->ended = 1;
            return 0;
        }
        dechunk(r);
    }
}

int sse_open(sse_reader *r, uint16_t port, const char *target) {
    memset(r, 0, sizeof *r);
    r->fd = socket(AF_INET, SOCK_STREAM, 0);
    if (r->fd < 0) {
        perror("socket");
        return -1;
    }
    struct timeval timeout = {READ_TIMEOUT_SECONDS, 0};
    setsockopt(r->fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(r->fd, (struct sockaddr *)&addr, sizeof addr) != 0) {
        perror("connect");
        return -1;
    }
    char request[4096];
    int n = snprintf(request, sizeof request,
                     "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n", target);
    if (n < 0 || (size_t)n >= sizeof request || send(r->fd, request, (size_t)n, 0) != n) {
        fprintf(stderr, "sse_open: cannot send the request\n");
        return -1;
    }
    const char *headers_end;
    while ((headers_end = find(r->raw, r->raw_len, "\r\n\r\n", 4)) == NULL)
        if (receive(r) <= 0) {
            fprintf(stderr, "sse_open: no response headers\n");
            return -1;
        }
    size_t header_len = (size_t)(headers_end - r->raw) + 4;
    int ok = r->raw_len >= 12 && memcmp(r->raw, "HTTP/1.1 200", 12) == 0 &&
             find(r->raw, header_len, "text/event-stream", 17) != NULL;
    r->chunked = find(r->raw, header_len, "chunked", 7) != NULL;
    if (!ok) {
        fprintf(stderr, "sse_open: unexpected response: %.*s\n", (int)header_len, r->raw);
        return -1;
    }
    drop_raw(r, header_len);
    dechunk(r);
    /* The opening line `: ok` stands alone, without a blank line after it. */
    while (r->body_len < 5) {
        if (receive(r) <= 0) {
            fprintf(stderr, "sse_open: the stream ended before its opening line\n");
            return -1;
        }
        dechunk(r);
    }
    if (memcmp(r->body, ": ok\n", 5) != 0) {
        fprintf(stderr, "sse_open: the first line is not \": ok\"\n");
        return -1;
    }
    r->consumed = 5;
    return 0;
}

int sse_next_frame(sse_reader *r, const char **frame, size_t *len) {
    size_t n = await_frame(r);
    if (n == 0)
        return -1;
    *frame = r->body + r->consumed;
    *len = n;
    r->consumed += n;
    return 0;
}

/* True when `text` is one `retry:` line: what the engine sends a stream just
 * before it closes it on stop or drain (alone, so that no client dispatches
 * anything for it). */
static int is_retry_line(const char *text, size_t len) {
    return len > 8 && memcmp(text, "retry: ", 7) == 0 && memchr(text, '\n', len) == text + len - 1;
}

int sse_wait_end(sse_reader *r) {
    if (await_frame(r) != 0)
        return -1;
    size_t rest = r->body_len - r->consumed;
    return rest == 0 || is_retry_line(r->body + r->consumed, rest) ? 0 : -1;
}

void sse_close(sse_reader *r) {
    if (r->fd >= 0)
        close(r->fd);
    free(r->raw);
    free(r->body);
    memset(r, 0, sizeof *r);
    r->fd = -1;
}

void sse_url_encode(const char *text, char *out, size_t cap) {
    static const char hex[] = "0123456789ABCDEF";
    size_t o = 0;
    for (const unsigned char *p = (const unsigned char *)text; *p != '\0' && o + 4 < cap; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
            *p == '-' || *p == '_' || *p == '.' || *p == '~') {
            out[o++] = (char)*p;
        } else {
            out[o++] = '%';
            out[o++] = hex[*p >> 4];
            out[o++] = hex[*p & 15];
        }
    }
    out[o] = '\0';
}

int sse_http_status(uint16_t port, const char *request) {
    sse_reader r;
    memset(&r, 0, sizeof r);
    r.fd = socket(AF_INET, SOCK_STREAM, 0);
    if (r.fd < 0) {
        perror("socket");
        return -1;
    }
    struct timeval timeout = {READ_TIMEOUT_SECONDS, 0};
    setsockopt(r.fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int status = -1;
    size_t len = strlen(request);
    if (connect(r.fd, (struct sockaddr *)&addr, sizeof addr) == 0 &&
        send(r.fd, request, len, 0) == (ssize_t)len) {
        while (find(r.raw, r.raw_len, "\r\n", 2) == NULL && receive(&r) > 0) {
        }
        if (r.raw_len >= 12 && memcmp(r.raw, "HTTP/1.1 ", 9) == 0)
            status = atoi(r.raw + 9);
    }
    sse_close(&r);
    return status;
}

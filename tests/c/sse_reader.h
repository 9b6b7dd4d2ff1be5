/*
 * A minimal Server-Sent Events client for the tests: one HTTP/1.1 GET over a
 * real TCP socket, chunked or close-delimited bodies, frame-by-frame reading.
 * Every read has a timeout, so a broken engine fails a test instead of hanging.
 */
#ifndef SSE_READER_H
#define SSE_READER_H

#include <stddef.h>
#include <stdint.h>

typedef struct sse_reader {
    int fd;
    char *raw;          /* bytes received, not yet de-chunked */
    size_t raw_len;
    char *body;         /* de-chunked stream bytes, NUL-terminated */
    size_t body_len;
    size_t consumed;    /* body bytes already returned as frames */
    int chunked;        /* Transfer-Encoding: chunked (else the body ends at EOF) */
    int ended;          /* the terminating chunk or EOF was seen */
} sse_reader;

/* Connects to 127.0.0.1:port, sends `GET <target>`, checks the status line
 * and content type, and waits for the opening line `: ok\n`, which tells that
 * the subscription is live. Returns 0 on success, -1 with a message on stderr. */
int sse_open(sse_reader *reader, uint16_t port, const char *target);

/* Returns the next frame (up to and including its blank line) in *frame and
 * *len, valid until the next call; a NUL follows the stream's last byte, so a
 * frame can be searched as a C string. Returns 0, or -1 on end of stream/timeout. */
int sse_next_frame(sse_reader *reader, const char **frame, size_t *len);

/* Waits for the server to end the stream; returns 0 if it ended, -1 on timeout
 * or if another frame arrived first (a lone `retry:` line, the engine's goodbye
 * on stop and drain, may come last; it stays in `body` after `consumed`). */
int sse_wait_end(sse_reader *reader);

/* Closes the socket and frees the buffers. */
void sse_close(sse_reader *reader);

/* Sends the raw HTTP/1.1 `request` to 127.0.0.1:port and returns the answer's
 * status code, or -1 when there is none. */
int sse_http_status(uint16_t port, const char *request);

/* Percent-encodes `text` for a query string into `out` (capacity `cap`). */
void sse_url_encode(const char *text, char *out, size_t cap);

#endif

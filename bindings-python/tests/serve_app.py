"""Serves an app under uvicorn in a process of its own, on a free port of
127.0.0.1 that it prints first: `python serve_app.py module:app`. Stops on
SIGTERM or SIGINT. For tests that must not share a process (and a GIL) with
their clients."""

from __future__ import annotations

import socket
import sys

import uvicorn


def main(app: str) -> None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    print(sock.getsockname()[1], flush=True)
    config = uvicorn.Config(app, log_level="warning", backlog=4096, timeout_graceful_shutdown=5)
    uvicorn.Server(config).run(sockets=[sock])


if __name__ == "__main__":
    main(sys.argv[1])

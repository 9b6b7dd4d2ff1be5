"""Per-address limits behind a real nginx (`trusted_proxies`).

nginx (Debian's package, installed by `make test-python` when missing) runs as
the test's own process: a free loopback port, a temporary prefix and its own
configuration, never the system service. Clients connect to it from distinct
loopback addresses (127.0.0.11, 127.0.0.12...), which nginx passes on in
`X-Forwarded-For`; the engine trusts only nginx's address, so its per-address
limit counts each client, not nginx.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx
import pytest
from conftest import TIMEOUT, take, wait_until_healthy
from httpx_sse import connect_sse

import ssecast

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"

CONFIG = """
worker_processes 1;
daemon off;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 256; }}
http {{
    access_log off;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://127.0.0.1:{upstream};
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_buffering off;
            proxy_read_timeout 1h;
        }}
    }}
}}
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def nginx_in_front_of(upstream: int, directory: Path) -> Iterator[str]:
    """nginx on a free port proxying to `upstream`; yields its base URL."""
    if not Path(NGINX).exists():
        pytest.fail("nginx is not installed (make test-python installs it)")
    port = free_port()
    conf = directory / "nginx.conf"
    conf.write_text(CONFIG.format(dir=directory, port=port, upstream=upstream))
    process = subprocess.Popen(
        [NGINX, "-p", str(directory), "-c", str(conf), "-e", str(directory / "error.log")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(f"{base}/healthz", lambda: process.poll() is None)
        yield base
    finally:
        process.terminate()
        _, errors = process.communicate(timeout=15)
        assert process.returncode in (0, -15), errors.decode()


def client_from(address: str) -> httpx.Client:
    """A client whose connections leave from `address` (any 127.x.y.z is local)."""
    return httpx.Client(transport=httpx.HTTPTransport(local_address=address), timeout=TIMEOUT)


def test_limits_count_the_forwarded_client_not_nginx(tmp_path: Path) -> None:
    with (
        ssecast.Engine(
            port=0,
            keepalive_ms=0,
            max_connections_per_ip=2,
            trusted_proxies=["127.0.0.1"],
        ) as engine,
        nginx_in_front_of(engine.port, tmp_path) as base,
        ExitStack() as open_streams,
    ):
        events = f"{base}/events?topic=t"
        # Two clients, two streams each: four streams through one nginx.
        for address in ["127.0.0.11", "127.0.0.12"]:
            client = open_streams.enter_context(client_from(address))
            for _ in range(2):
                source = open_streams.enter_context(connect_sse(client, "GET", events))
                assert source.response.status_code == 200
        assert engine.stats()["connections"] == 4
        # The first client's third stream is over its limit, even with a forged hop.
        with client_from("127.0.0.11") as client:
            for headers in [{}, {"x-forwarded-for": "198.51.100.7"}]:
                refused = client.get(events, headers=headers)
                assert refused.status_code == 429, refused.text
                assert refused.json()["code"] == "TOO_MANY_CONNECTIONS_FROM_ADDRESS"
                assert refused.headers["retry-after"] == "5"
        # A third client still gets in, and events flow through nginx.
        with client_from("127.0.0.13") as client, connect_sse(client, "GET", events) as source:
            assert source.response.status_code == 200
            engine.publish("t", "through nginx")
            assert take(source.iter_sse(), 1)[0].data == "through nginx"


def test_without_trusted_proxies_nginx_is_the_client(tmp_path: Path) -> None:
    with (
        ssecast.Engine(port=0, keepalive_ms=0, max_connections_per_ip=2) as engine,
        nginx_in_front_of(engine.port, tmp_path) as base,
        ExitStack() as open_streams,
    ):
        events = f"{base}/events?topic=t"
        for address in ["127.0.0.21", "127.0.0.22"]:
            client = open_streams.enter_context(client_from(address))
            source = open_streams.enter_context(connect_sse(client, "GET", events))
            assert source.response.status_code == 200
        with client_from("127.0.0.23") as client:
            assert client.get(events).status_code == 429

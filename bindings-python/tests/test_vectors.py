"""The shared wire vectors (tests/vectors/events.json) through the Python API,
compared byte for byte on a real stream."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from conftest import REPO, TIMEOUT

import ssecast

VECTORS: dict[str, Any] = json.loads(
    (REPO / "tests" / "vectors" / "events.json").read_text(encoding="utf-8")
)
DEFAULT_TOPIC = "default"


class RawStream:
    """The body bytes of one event stream, read as far as a test needs."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self.chunks = chunks
        self.buffer = b""

    def read(self, size: int) -> bytes:
        while len(self.buffer) < size:
            self.buffer += next(self.chunks)
        head, self.buffer = self.buffer[:size], self.buffer[size:]
        return head


def topics() -> list[str]:
    named = {v["publish"].get("topic", DEFAULT_TOPIC) for v in VECTORS["vectors"]}
    return sorted(t for t in named if t and "\n" not in t and "\0" not in t and len(t) <= 256)


def publish(engine: ssecast.Engine, args: dict[str, Any]) -> str:
    data = bytes.fromhex(args["data_hex"]) if "data_hex" in args else args["data"]
    return engine.publish(
        args.get("topic", DEFAULT_TOPIC),
        data,
        event=args.get("event"),
        id=args.get("id"),
        retry=args.get("retry"),
    )


def publish_every_vector(engine: ssecast.Engine) -> bytes:
    """Publishes every vector (checking the failing ones fail with their code)
    and a sentinel; returns the bytes the stream must carry for them."""
    expected = b""
    for vector in VECTORS["vectors"]:
        if "error" in vector:
            with pytest.raises(ssecast.Error) as caught:
                publish(engine, vector["publish"])
            assert caught.value.code == vector["error"], vector["name"]
            continue
        event_id = publish(engine, vector["publish"])
        expected += vector["wire"].replace("{id}", event_id).encode("utf-8")
    # Failed vectors sent nothing: the sentinel's bytes follow the last success.
    assert engine.publish(DEFAULT_TOPIC, "end", id="sentinel") == "sentinel"
    return expected + b"id: sentinel\ndata: end\n\n"


def test_every_wire_vector() -> None:
    assert len(VECTORS["vectors"]) >= 40
    with ssecast.Engine(port=0, **VECTORS["config"]) as engine:
        url = f"http://127.0.0.1:{engine.port}/events"
        with (
            httpx.Client(timeout=TIMEOUT) as client,
            client.stream("GET", url, params=[("topic", t) for t in topics()]) as response,
        ):
            assert response.headers["content-type"].startswith("text/event-stream")
            stream = RawStream(response.iter_raw())
            assert stream.read(len(b": ok\n")) == b": ok\n"
            expected = publish_every_vector(engine)
            assert stream.read(len(expected)) == expected
            assert stream.buffer == b""


def test_every_wire_vector_in_app() -> None:
    """The same bytes through an in-app subscription."""

    async def read(subscription: ssecast.Subscription, size: int) -> bytes:
        received = b""
        async for chunk in subscription:
            received += chunk
            if len(received) >= size:
                break
        return received

    with ssecast.Engine(port=0, **VECTORS["config"]) as engine:
        subscription = engine.subscribe(topics())
        expected = b": ok\n" + publish_every_vector(engine)
        received = asyncio.run(asyncio.wait_for(read(subscription, len(expected)), 20))
        assert received == expected
        subscription.close()

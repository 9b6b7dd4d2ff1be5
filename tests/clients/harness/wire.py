"""The shared wire vectors (tests/vectors/events.json), and what the spec says
a client must hand over for each: the WHATWG event-stream interpretation,
written out here so that every client is held to the same reading."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Optional

from .engine import REPO

VECTORS: dict[str, Any] = json.loads(
    (REPO / "tests" / "vectors" / "events.json").read_text(encoding="utf-8")
)
DEFAULT_TOPIC = "default"


@dataclass(frozen=True)
class Expected:
    """One event as the spec dispatches it: its id, its type and its data
    lines (a client joins them with LF)."""

    id: str
    event: str
    data_lines: list[str]

    @property
    def data(self) -> str:
        return "\n".join(self.data_lines)


def interpret(wire: str) -> Expected:
    """Reads the bytes of one event the way the spec's parser does."""
    id_: Optional[str] = None
    event = ""
    data: list[str] = []
    lines = re.split(r"\r\n|\r|\n", wire)
    assert lines[-2:] == ["", ""], f"one event ends with a blank line: {wire!r}"
    for line in lines[:-2]:
        if line.startswith(":"):
            continue
        field, colon, value = line.partition(":")
        if colon and value.startswith(" "):
            value = value[1:]
        if field == "id" and "\0" not in value:
            id_ = value
        elif field == "event":
            event = value
        elif field == "data":
            data.append(value)
    assert id_ is not None and data, f"every vector has an id and data: {wire!r}"
    return Expected(id=id_, event=event or "message", data_lines=data)


def wire_vectors() -> list[dict[str, Any]]:
    """The vectors that produce bytes on a stream (the others are errors)."""
    return [v for v in VECTORS["vectors"] if "wire" in v]


def topics() -> list[str]:
    return sorted({v["publish"].get("topic", DEFAULT_TOPIC) for v in wire_vectors()})


def event_names() -> list[str]:
    """Every event type the vectors dispatch, for clients that only hand over
    the types they listen for."""
    names = {"message"} | {v["publish"]["event"] for v in wire_vectors() if "event" in v["publish"]}
    return sorted(names)

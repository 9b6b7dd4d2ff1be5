"""`python httpx_sse_client.py URL`: reads the stream at URL with httpx-sse as
its README shows (`connect_sse(client, "GET", url)`, then `iter_sse()`) and
prints what it hands over, one JSON line each (the protocol is in
harness/clients.py).

httpx-sse does not reconnect by itself; like its users, this program opens a
new stream after a short pause, with Last-Event-ID set to the id of the last
event it got.
"""

import json
import sys
import time

import httpx
from httpx_sse import connect_sse

RECONNECT_SECONDS = 0.2


def emit(**fields: object) -> None:
    print(json.dumps(fields), flush=True)


def main(url: str) -> None:
    last_id = None
    with httpx.Client(timeout=httpx.Timeout(5.0, read=None)) as client:
        while True:
            headers = {} if last_id is None else {"Last-Event-ID": last_id}
            try:
                with connect_sse(client, "GET", url, headers=headers) as source:
                    if source.response.status_code != 200:
                        emit(kind="error", message=f"HTTP {source.response.status_code}")
                        emit(kind="closed")
                        return
                    emit(kind="open")
                    for sse in source.iter_sse():
                        emit(kind="event", id=sse.id, event=sse.event, data=sse.data)
                        if sse.id:
                            last_id = sse.id
                emit(kind="error", message="the stream ended")
            except httpx.HTTPError as error:
                emit(kind="error", message=f"{type(error).__name__}: {error}")
            time.sleep(RECONNECT_SECONDS)


if __name__ == "__main__":
    main(sys.argv[1])

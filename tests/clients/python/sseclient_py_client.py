"""`python sseclient_py_client.py URL`: reads the stream at URL with sseclient-py
as its README shows (`requests.get(url, stream=True)`, then
`SSEClient(response).events()`) and prints what it hands over, one JSON line
each (the protocol is in harness/clients.py).

sseclient-py does not reconnect by itself; like its users, this program opens a
new stream after a short pause, with Last-Event-ID set to the id of the last
event it got.
"""

import json
import sys
import time

import requests
import sseclient

RECONNECT_SECONDS = 0.2


def emit(**fields: object) -> None:
    print(json.dumps(fields), flush=True)


def main(url: str) -> None:
    last_id = None
    while True:
        headers = {"Accept": "text/event-stream"}
        if last_id is not None:
            headers["Last-Event-ID"] = last_id
        try:
            response = requests.get(url, stream=True, headers=headers, timeout=(5, None))
            if response.status_code != 200:
                emit(kind="error", message=f"HTTP {response.status_code}")
                emit(kind="closed")
                return
            emit(kind="open")
            for event in sseclient.SSEClient(response).events():
                emit(kind="event", id=event.id, event=event.event, data=event.data)
                if event.id is not None:
                    last_id = event.id
            emit(kind="error", message="the stream ended")
        except requests.RequestException as error:
            emit(kind="error", message=f"{type(error).__name__}: {error}")
        time.sleep(RECONNECT_SECONDS)


if __name__ == "__main__":
    main(sys.argv[1])

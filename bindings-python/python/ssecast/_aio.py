"""asyncio glue of in-app subscriptions: the engine wakes each event loop
through one descriptor, never through a thread per stream.

Every event loop that reads subscriptions gets one :class:`ReadySet` (an
eventfd) registered with ``loop.add_reader``. When the engine has news for a
subscription, its waker (on an engine thread, without the GIL) queues the
subscription's token in the set and raises the descriptor once for any number
of tokens; the loop then resolves the futures of exactly those subscriptions.
"""

from __future__ import annotations

import asyncio
import weakref

from ._ssecast import ReadySet, Subscription


class _LoopWakeup:
    """The descriptor of one event loop and the readers waiting on it."""

    __slots__ = ("__weakref__", "ready", "waiting")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.ready = ReadySet()
        self.waiting: dict[int, asyncio.Future[None]] = {}
        loop.add_reader(self.ready.fd, self._dispatch)

    def _dispatch(self) -> None:
        waiting = self.waiting
        for token in self.ready.take():
            future = waiting.pop(token, None)
            if future is not None and not future.done():
                future.set_result(None)


_wakeups: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _LoopWakeup] = (
    weakref.WeakKeyDictionary()
)


def _wakeup_of(loop: asyncio.AbstractEventLoop) -> _LoopWakeup:
    wakeup = _wakeups.get(loop)
    if wakeup is None:
        wakeup = _wakeups[loop] = _LoopWakeup(loop)
    return wakeup


async def next_chunk(subscription: Subscription) -> bytes:
    """The next chunk of ``subscription``; ``StopAsyncIteration`` at its end.

    Raises ``RuntimeError`` when another task of the loop is already awaiting
    the same subscription.
    """
    loop = asyncio.get_running_loop()
    wakeup = _wakeup_of(loop)
    # Attached before the first read: from that read on, wakes reach this loop.
    token = subscription._attach(wakeup.ready)
    while True:
        chunk = subscription.read_nowait()
        if chunk is not None:
            return chunk
        if subscription.ended:
            raise StopAsyncIteration
        if token in wakeup.waiting:
            raise RuntimeError("this subscription is already being read by another task")
        future = wakeup.waiting[token] = loop.create_future()
        try:
            await future
        finally:
            if wakeup.waiting.get(token) is future:
                del wakeup.waiting[token]

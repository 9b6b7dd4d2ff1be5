"""asyncio glue of in-app subscriptions: the engine wakes each event loop
through one descriptor, never through a thread per stream.

Every event loop that reads subscriptions gets one :class:`ReadySet` (an
eventfd) registered with ``loop.add_reader``. When the engine has news for a
subscription, its waker (on an engine thread, without the GIL) queues the
subscription's token in the set and raises the descriptor once for any number
of tokens; the loop gathers the tokens for ``WAKE_BATCH_SECONDS``, then
resolves the futures of exactly those subscriptions.
"""

from __future__ import annotations

import asyncio
import weakref

from ._ssecast import ReadySet, Subscription

WAKE_BATCH_SECONDS = 0.005
"""How long wakes are gathered before the waiting readers run. One publish
request at a time reaches a FastAPI route: without this pause each event would
wake every reader on its own, and 1,000 readers would cost a whole fan-out per
event; with it, the events published meanwhile go out in the same chunks
(measured in the README, "How the loop is woken")."""


class _LoopWakeup:
    """The descriptor of one event loop and the readers waiting on it."""

    # No reference to the loop: `_wakeups` holds this object strongly, and the
    # loop it is keyed by must stay collectable.
    __slots__ = ("__weakref__", "flush_pending", "ready", "waiting", "woken")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.ready = ReadySet()
        self.waiting: dict[int, asyncio.Future[None]] = {}
        self.woken: list[int] = []
        self.flush_pending = False
        loop.add_reader(self.ready.fd, self._gather)

    def _gather(self) -> None:
        """The descriptor is readable: collects the woken tokens (lowering
        it) and wakes their readers after the batching pause."""
        self.woken.extend(self.ready.take())
        if not self.flush_pending:
            self.flush_pending = True
            asyncio.get_running_loop().call_later(WAKE_BATCH_SECONDS, self._flush)

    def _flush(self) -> None:
        self.flush_pending = False
        woken, self.woken = self.woken, []
        waiting = self.waiting
        for token in woken:
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

"""Deadlines of HTTP connections: one thread that ends what a slow sender drags out.

A socket timeout bounds each wait for bytes, not the whole: a sender that trickles a header
line every few seconds ("slowloris") would hold its connection, one of a bounded number, for as
long as it likes. :class:`Deadlines` gives each request a deadline for its headers and one for
its body; when one passes, the connection's read side is shut (``SHUT_RD``), so the blocked
read returns at once and the handler answers 408 and closes. The same thread closes, after a
short linger, connections refused because the server was full (see
:meth:`~.http_server.OTLPHTTPServer.process_request`), so they could read their 503 first.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import socket
import threading
import time
from collections.abc import Callable

_LINGER = 2.0  # seconds a refused connection has to read its 503 before it is closed
MAX_LINGERING = 1024  # refused connections waiting to be closed; beyond, closed at once


class Deadlines:
    """A heap of (when, action); a daemon thread runs each action when its time comes."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int]] = []
        self._actions: dict[int, Callable[[], None]] = {}  # by token, until run or cancelled
        self._lingering = 0
        self._order = itertools.count()
        self._cond = threading.Condition()
        self._stopped = False
        self._thread = threading.Thread(target=self._run, name="costledger-http-deadlines")
        self._thread.daemon = True
        self._thread.start()

    def expire(self, connection: socket.socket, seconds: float, note: Callable[[], None]) -> int:
        """After ``seconds``, call ``note`` and shut ``connection``'s read side; returns a token
        for :meth:`cancel`."""

        def shut() -> None:
            note()
            with contextlib.suppress(OSError):
                # socket.socket's own shutdown: an SSLSocket's would end the TLS session.
                socket.socket.shutdown(connection, socket.SHUT_RD)

        return self._add(seconds, shut)

    def cancel(self, token: int) -> None:
        with self._cond:
            self._actions.pop(token, None)

    def linger(self, connection: socket.socket) -> None:
        """Close ``connection`` (already answered, write side shut) in a little while."""
        with self._cond:
            full = self._lingering >= MAX_LINGERING
            if not full:
                self._lingering += 1
        if full:
            connection.close()
            return

        def close() -> None:
            with self._cond:
                self._lingering -= 1
            with contextlib.suppress(OSError):
                connection.setblocking(False)
                while connection.recv(65536):  # what it sent, so the close is not a reset
                    pass
            connection.close()

        self._add(_LINGER, close)

    def stop(self) -> None:
        with self._cond:
            self._stopped = True
            self._cond.notify_all()
        self._thread.join(5)

    def _add(self, seconds: float, action: Callable[[], None]) -> int:
        token = next(self._order)
        with self._cond:
            self._actions[token] = action
            heapq.heappush(self._heap, (time.monotonic() + seconds, token))
            self._cond.notify_all()
        return token

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._stopped:
                    now = time.monotonic()
                    if self._heap and self._heap[0][0] <= now:
                        break
                    self._cond.wait(self._heap[0][0] - now if self._heap else None)
                if self._stopped:  # connections left are closed when their objects go
                    self._heap.clear()
                    self._actions.clear()
                    return
                _, token = heapq.heappop(self._heap)
                action = self._actions.pop(token, None)
            if action is not None:
                with contextlib.suppress(Exception):
                    action()

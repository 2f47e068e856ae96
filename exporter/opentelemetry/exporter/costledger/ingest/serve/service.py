"""One export request, whatever the transport: authorize, admit, decode, store, answer.

:class:`ExportService` holds what the gRPC and the HTTP server share, so both answer the same
way; each server only maps an :class:`Answer` to its protocol:

=================== ===================================== =====================================
answer              gRPC                                  HTTP
=================== ===================================== =====================================
``OK``              OK, empty response                    200, empty response
``PARTIAL``         OK, ``partial_success``               200, ``partialSuccess``
``INVALID``         INVALID_ARGUMENT                      400 + ``google.rpc.Status``
``TOO_LARGE``       RESOURCE_EXHAUSTED (no RetryInfo)     413 + ``google.rpc.Status``
``UNSUPPORTED``     (not on gRPC)                         415 (content type or encoding)
``UNAUTHENTICATED`` UNAUTHENTICATED                       401 + ``WWW-Authenticate: Bearer``
``UNAVAILABLE``     UNAVAILABLE + ``RetryInfo``           503 + ``Retry-After``
=================== ===================================== =====================================

These follow the OTLP specification's rules for senders: only ``UNAVAILABLE`` / 503 (and
RESOURCE_EXHAUSTED *with* RetryInfo, which we never send) are retried, so every condition that
may pass — the database down, locked or slow, the queue full, the receiver shutting down, a bug
of ours — answers ``UNAVAILABLE``, and the Collector's queue keeps the data. Success is answered
only after the rows and counts are committed.

Back-pressure, and what bounds memory: a request is first **admitted** — it takes one of
``max_concurrent`` slots plus as many places in the waiting room, at once or never (a full house
answers ``UNAVAILABLE`` immediately) — and only then is its body read (HTTP: ``read``; gRPC reads
it before the handler runs, and the gRPC server bounds the RPCs it runs at once). So no more
than ``2 × max_concurrent`` request bodies are held at a time. An admitted request waits at most
``queue_timeout`` seconds (and never past the sender's deadline) for a processing slot, then is
refused with ``UNAVAILABLE``; only ``max_concurrent`` are decoded at once. With ``serialize``
(the receiver sets it for SQLite) there is one slot: requests are decoded and stored one at a
time. SQLite has one writer anyway, and a thread that releases the GIL in every ``sqlite3`` step
while another thread decodes would wait for the GIL at every step (the "convoy effect"), several
times slower than taking turns. Every exception
is caught here: none reaches grpcio (which would answer UNKNOWN, a code the Collector drops).
"""

from __future__ import annotations

import enum
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from ...errors import DatabaseError
from ...ledger.storable import repair_text
from .auth import BearerAuth
from .body import ClientGone, TooLarge, UnsupportedEncoding
from .decoded import DecodedRequest, DecodeError
from .metrics import Metrics
from .sink import Outcome, Sink

logger = logging.getLogger("opentelemetry.exporter.costledger.serve")

_MAX_MESSAGE = 1000
_ANSWER_MARGIN = 0.2  # seconds kept from a sender's deadline to answer it


class AnswerKind(enum.Enum):
    OK = "ok"
    PARTIAL = "partial"
    INVALID = "invalid"
    TOO_LARGE = "too_large"
    UNSUPPORTED = "unsupported"
    UNAUTHENTICATED = "unauthenticated"
    UNAVAILABLE = "unavailable"


@dataclass(frozen=True, slots=True)
class Answer:
    kind: AnswerKind
    message: str = ""
    rejected: int = 0
    retry_after: float = 0.0


class ExportService:
    """The transport-independent half of the receiver."""

    def __init__(
        self,
        sink: Sink,
        *,
        metrics: Metrics | None = None,
        auth: BearerAuth | None = None,
        max_concurrent: int = 8,
        queue_timeout: float = 1.0,
        retry_after: float = 5.0,
        serialize: bool = False,
    ) -> None:
        self.sink = sink
        self.metrics = metrics or Metrics()
        self._auth = auth
        slots = 1 if serialize else max_concurrent
        self._slots = threading.BoundedSemaphore(slots)
        # Requests admitted: being processed or waiting for a slot (each holds its body).
        self.admission_limit = slots + max_concurrent
        self._admitted = threading.BoundedSemaphore(self.admission_limit)
        self._queue_timeout = queue_timeout
        self._retry_after = retry_after
        self._draining = threading.Event()
        self._log_lock = threading.Lock()
        self._last_auth_log = 0.0
        self._auth_unlogged = 0

    @property
    def draining(self) -> bool:
        return self._draining.is_set()

    def drain(self) -> None:
        """Refuse new requests (retryably) from now on; those in flight finish."""
        self._draining.set()

    def authorize(self, transport: str, header: str | bytes | None, peer: str) -> Answer | None:
        """``None`` when the request may go on, else the refusal to send."""
        if self._auth is None or self._auth.accepts(header):
            return None
        self.metrics.add("costledger_receiver_auth_failures_total", transport=transport)
        self._log_refused_token(transport, peer, header is None)
        return self._answer(
            transport, Answer(AnswerKind.UNAUTHENTICATED, "missing or invalid bearer token")
        )

    def export(
        self,
        transport: str,
        decode: Callable[[], DecodedRequest],
        time_left: float | None = None,
        *,
        read: Callable[[], object] | None = None,
    ) -> Answer:
        """Run one export; ``decode`` decodes the request (may raise DecodeError/TooLarge).

        ``read`` (HTTP) reads the body once the request is admitted, before it waits for a slot
        (may raise TooLarge, DecodeError, or ClientGone when the sender is too slow or gone).
        ``time_left`` is what remains of the sender's deadline (gRPC): a request does not wait
        for a slot past it, so the sender hears "retry later" rather than its own timeout.
        """
        if self._draining.is_set():
            return self._unavailable(transport, "shutting_down", "the receiver is shutting down")
        if not self._admitted.acquire(blocking=False):
            return self._unavailable(transport, "overloaded", "the receiver is busy")
        try:
            if read is not None:
                refused = self._read(read)
                if refused is not None:
                    return self._answer(transport, refused)
            wait = self._queue_timeout
            if time_left is not None:
                wait = max(0.0, min(wait, time_left - _ANSWER_MARGIN))
            if not self._slots.acquire(timeout=wait):
                return self._unavailable(transport, "overloaded", "the receiver is busy")
            self.metrics.add("costledger_receiver_requests_in_flight", 1)
            try:
                return self._answer(transport, self._export(transport, decode))
            finally:
                self.metrics.add("costledger_receiver_requests_in_flight", -1)
                self._slots.release()
        finally:
            self._admitted.release()

    def _read(self, read: Callable[[], object]) -> Answer | None:
        try:
            read()
        except TooLarge as exc:
            return Answer(AnswerKind.TOO_LARGE, str(exc))
        except DecodeError as exc:
            return Answer(AnswerKind.INVALID, _clip(str(exc)))
        except ClientGone as exc:
            # Nobody waits for this answer; the connection is closed after it.
            logger.debug("costledger serve: %s", exc)
            return Answer(AnswerKind.UNAVAILABLE, str(exc), retry_after=self._retry_after)
        return None

    def _export(self, transport: str, decode: Callable[[], DecodedRequest]) -> Answer:
        try:
            request = decode()
        except TooLarge as exc:
            return Answer(AnswerKind.TOO_LARGE, str(exc))
        except UnsupportedEncoding as exc:
            return Answer(AnswerKind.UNSUPPORTED, str(exc))
        except DecodeError as exc:
            return Answer(AnswerKind.INVALID, _clip(str(exc)))
        except Exception:
            logger.exception("costledger serve: decoding a %s request failed", transport)
            return self._refusal("internal", "internal error while decoding; retry")
        self.metrics.add("costledger_receiver_spans_received_total", request.received)
        try:
            outcome = self.sink.write(request)
        except DatabaseError as exc:
            # The details (server, user, database name) are for the operator's log only.
            logger.warning("costledger serve: %s", exc)
            return self._refusal(
                "database", "the ledger database is unavailable (down, locked or slow); retry later"
            )
        except Exception:
            logger.exception("costledger serve: storing a %s request failed", transport)
            return self._refusal("internal", "internal error while storing; retry")
        return self._record(outcome)

    def _record(self, outcome: Outcome) -> Answer:
        m = self.metrics
        m.add("costledger_receiver_rows_written_total", outcome.inserted)
        m.add("costledger_receiver_duplicates_total", outcome.duplicates)
        m.add("costledger_receiver_spans_ignored_total", outcome.ignored)
        if not outcome.rejected:
            return Answer(AnswerKind.OK)
        m.add("costledger_receiver_spans_rejected_total", len(outcome.rejected))
        return Answer(AnswerKind.PARTIAL, rejected_message(outcome.rejected), len(outcome.rejected))

    def _refusal(self, reason: str, message: str) -> Answer:
        self.metrics.add("costledger_receiver_retryable_refusals_total", reason=reason)
        return Answer(AnswerKind.UNAVAILABLE, _clip(message), retry_after=self._retry_after)

    def _unavailable(self, transport: str, reason: str, message: str) -> Answer:
        return self._answer(transport, self._refusal(reason, message))

    def _answer(self, transport: str, answer: Answer) -> Answer:
        self.metrics.add(
            "costledger_receiver_requests_total", transport=transport, outcome=answer.kind.value
        )
        return answer

    def _log_refused_token(self, transport: str, peer: str, missing: bool) -> None:
        # At most one line per second: a misconfigured sender must not flood the log.
        now = time.monotonic()
        with self._log_lock:
            self._auth_unlogged += 1
            if now - self._last_auth_log < 1.0:
                return
            count, self._auth_unlogged, self._last_auth_log = self._auth_unlogged, 0, now
        logger.warning(
            "costledger serve: refused %s request from %s: %s bearer token (%d refused since the"
            " last message)",
            transport,
            peer,
            "no" if missing else "wrong",
            count,
        )


def rejected_message(reasons: list[str]) -> str:
    """The ``partial_success`` message: how many spans were refused and the first reasons."""
    shown = "; ".join(reasons[:5])
    more = f" (and {len(reasons) - 5} more)" if len(reasons) > 5 else ""
    return _clip(f"{len(reasons)} span(s) refused: {shown}{more}")


def _clip(text: str) -> str:
    # repair_text: a message quoting a sender's value must still encode (protobuf, UTF-8).
    text = repair_text(text)
    return text if len(text) <= _MAX_MESSAGE else text[: _MAX_MESSAGE - 1] + "…"

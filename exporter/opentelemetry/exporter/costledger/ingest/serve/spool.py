"""An optional durable spool (``--spool DIR``): no loss while the ledger database is away.

Senders that talk to ``costledger serve`` directly (the SDK's exporter, no Collector with a
persistent queue) retry for seconds, not minutes; an outage of the database longer than their
patience would lose spans. With a spool, :class:`SpoolingSink` answers a request "ok" once it is
either committed to the database, or — when the database cannot take it now — written to a
file in the spool directory and ``fsync``'d (the file, then the directory that names it). A
background thread drains the files, oldest first, into the database as soon as it is back,
deleting each after its rows and counts committed; while files wait, new requests join them
behind (so the ledger receives requests in the order they arrived). Draining is idempotent like
any retry (rows by key, counts by request identity): a crash between a commit and the delete
writes nothing twice. Senders are told "retry later" only when the spool holds ``max_bytes``.

Each file is the request's decompressed body (``NNNNNNNNNNNNNNNNNNNN.pb`` or ``.json``),
decoded again when drained; spans the receiver refused when it took the request were already
reported to the sender, and rows the database refuses while draining are logged. A file that no
longer decodes (it never should: it decoded once) is moved to ``DIR/bad/`` with an ERROR line.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from pathlib import Path

from ...errors import ConfigError, DatabaseError
from ...ledger.store import DatabaseUnavailable
from .body import TooLarge
from .decoded import DecodedRequest, DecodeError, Limits
from .metrics import Metrics
from .otlp_json import decode_json
from .otlp_proto import decode_protobuf
from .sink import Outcome, Sink

logger = logging.getLogger("opentelemetry.exporter.costledger.serve")

DEFAULT_MAX_BYTES = 1024**3
_SUFFIXES = {"protobuf": ".pb", "json": ".json"}
_DECODERS: dict[str, Callable[[bytes, Limits], DecodedRequest]] = {
    ".pb": decode_protobuf,
    ".json": decode_json,
}


class Spool:
    """Request bodies in files ``DIR/<sequence>.<pb|json>``, at most ``max_bytes`` in all."""

    def __init__(self, directory: str | os.PathLike[str], max_bytes: int) -> None:
        self.directory = Path(directory)
        self.max_bytes = max_bytes
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            for leftover in self.directory.glob("*.tmp"):  # a write cut short by a crash
                leftover.unlink()
            files = self.files()
        except OSError as exc:
            raise ConfigError(
                f"cannot use the spool directory {directory}: {exc.strerror}; give a writable"
                " directory on a local disk"
            ) from None
        self._lock = threading.Lock()
        self._bytes = sum(path.stat().st_size for path in files)
        self._next = int(files[-1].stem) + 1 if files else 0

    def files(self) -> list[Path]:
        """The spooled requests, oldest first."""
        found = [p for p in self.directory.iterdir() if p.suffix in _DECODERS and p.stem.isdigit()]
        return sorted(found, key=lambda path: int(path.stem))

    @property
    def size(self) -> int:
        with self._lock:
            return self._bytes

    def put(self, body: bytes, encoding: str) -> bool:
        """Write ``body`` durably; False when the spool has no room for it."""
        with self._lock:
            if self._bytes + len(body) > self.max_bytes:
                return False
            number, self._next = self._next, self._next + 1
            self._bytes += len(body)
        final = self.directory / f"{number:020d}{_SUFFIXES[encoding]}"
        temporary = final.with_suffix(".tmp")
        try:
            with open(temporary, "wb") as file:
                file.write(body)
                file.flush()
                os.fsync(file.fileno())
            os.replace(temporary, final)
            directory = os.open(self.directory, os.O_RDONLY)
            try:
                os.fsync(directory)  # the new name survives a crash too
            finally:
                os.close(directory)
        except OSError:
            with self._lock:
                self._bytes -= len(body)
            logger.exception("costledger serve: cannot write to the spool %s", self.directory)
            return False
        return True

    def remove(self, path: Path, size: int) -> None:
        path.unlink(missing_ok=True)
        with self._lock:
            self._bytes -= size


class SpoolingSink:
    """A :class:`~.sink.Sink` that spools what the database cannot take now (see the module)."""

    def __init__(
        self,
        inner: Sink,
        spool: Spool,
        *,
        limits: Limits,
        retry_after: float,
        metrics: Metrics,
    ) -> None:
        self._inner = inner
        self._spool = spool
        self._limits = limits
        self._retry_after = retry_after
        self._metrics = metrics
        self._waiting = threading.Event()  # files wait in the spool
        self._closed = threading.Event()
        if spool.files():
            self._waiting.set()
        self._thread = threading.Thread(target=self._drain, name="costledger-spool", daemon=True)
        self._thread.start()

    def write(self, request: DecodedRequest) -> Outcome:
        if not self._waiting.is_set():
            try:
                return self._inner.write(request)
            except DatabaseUnavailable as exc:
                logger.warning("costledger serve: %s; spooling", exc)
        if request.source is None or not self._spool.put(*request.source):
            raise DatabaseUnavailable(
                "the ledger database is unavailable and the spool is full"
                f" ({self._spool.size} bytes in {self._spool.directory})"
            )
        self._metrics.add("costledger_receiver_spooled_requests_total")
        self._waiting.set()
        return Outcome(received=request.received, rejected=list(request.invalid))

    def _drain(self) -> None:
        while not self._closed.is_set():
            if not self._waiting.wait(0.5):
                continue
            files = self._spool.files()
            if not files:
                self._waiting.clear()
                # A request may have been spooled between the listing and the clear.
                if self._spool.files():
                    self._waiting.set()
                continue
            try:
                drained = self._drain_one(files[0])
            except Exception:  # the drainer must live on: the files wait for it
                logger.exception("costledger serve: draining the spool failed; retrying")
                drained = False
            if not drained:
                self._closed.wait(self._retry_after)

    def _drain_one(self, path: Path) -> bool:
        """Write one spooled request; False when the database cannot take it yet."""
        try:
            body = path.read_bytes()
            request = _DECODERS[path.suffix](body, self._limits)
        except (OSError, DecodeError, TooLarge, ValueError) as exc:
            logger.error(
                "costledger serve: spooled request %s unreadable (%s); moved to bad/", path, exc
            )
            bad = self._spool.directory / "bad"
            bad.mkdir(exist_ok=True)
            size = path.stat().st_size if path.exists() else 0
            path.replace(bad / path.name)
            self._spool.remove(path, size)
            return True
        try:
            outcome = self._inner.write(request)
        except DatabaseUnavailable as exc:
            logger.info("costledger serve: the spool waits for the database: %s", exc)
            return False
        except DatabaseError as exc:
            logger.warning("costledger serve: the spool waits: %s", exc)
            return False
        except Exception:
            logger.exception("costledger serve: draining %s failed; retrying", path)
            return False
        if outcome.rejected:
            logger.warning(
                "costledger serve: spooled request %s: %d span(s) refused: %s",
                path.name,
                len(outcome.rejected),
                "; ".join(outcome.rejected[:5]),
            )
        self._spool.remove(path, len(body))
        self._metrics.add("costledger_receiver_rows_written_total", outcome.inserted)
        return True

    @property
    def pending(self) -> int:
        """Requests waiting in the spool."""
        return len(self._spool.files())

    def close(self) -> None:
        self._closed.set()
        self._thread.join(10)
        self._inner.close()

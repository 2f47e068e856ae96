"""``costledger ingest``: back-fill the ledger from the Collector's ``file`` exporter output.

The Collector's ``file`` exporter (``format: json``, the default) writes one OTLP/JSON
``TracesData`` per line — the same shape as an OTLP/HTTP JSON request body. :func:`ingest_files`
reads such files (plain, or gzip-compressed, e.g. rotated by logrotate; detected by content, not
by name), decodes each line with the receiver's JSON decoder and writes it through the same
:class:`~.sink.LedgerSink`: rows are idempotent per span and driver counts per line (a line's
identity is the set of spans it carries, the same as the request the Collector sent live), so
re-running an ingest, or ingesting what the receiver already took, adds nothing twice.

A line that cannot be read is reported (``file:line: reason``) and skipped; the other lines are
recorded. While the database is unavailable, a line is retried with backoff; after
``retries`` attempts the ingest stops with :class:`~..errors.DatabaseError` — run it again, it
resumes without counting anything twice. zstd-compressed files (the ``file`` exporter's
``compression: zstd``) must be decompressed first (``zstd -d``).
"""

from __future__ import annotations

import contextlib
import gzip
import os
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from ...errors import DatabaseError, InputError
from ...ledger.store import DatabaseUnavailable
from .config import MIB, price_book
from .database import open_store
from .decoded import DEFAULT_LIMITS, DecodeError, Limits
from .otlp_json import decode_json
from .sink import LedgerSink, Sink

_GZIP_MAGIC = b"\x1f\x8b"
_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"


@dataclass
class IngestReport:
    """What an ingest did, summed over its files."""

    files: int = 0
    lines: int = 0
    spans: int = 0
    inserted: int = 0
    duplicates: int = 0
    ignored: int = 0
    rejected: int = 0
    lines_already_counted: int = 0
    bad_lines: list[str] = field(default_factory=list)  # "file:line: reason"


def ingest_files(
    database: str | None,
    paths: Iterable[str | os.PathLike[str]],
    *,
    prices: str | None = None,
    limits: Limits = DEFAULT_LIMITS,
    max_line_size: int = 64 * MIB,
    retries: int = 5,
    on_progress: Callable[[int], None] | None = None,
    sink: Sink | None = None,
) -> IngestReport:
    """Ingest every line of ``paths`` into the ledger at ``database`` (a URL; ``None``: the
    default, as every job takes it); see the module docstring.

    ``on_progress`` is called with the number of (compressed) bytes read since the last call.
    """
    files = [Path(p) for p in paths]
    for path in files:
        if not path.is_file():
            raise InputError(f"{path} is not a file; give the Collector file exporter's output")
    own_sink = sink is None
    if sink is None:
        store = open_store(database, db_timeout=30.0, pool_size=1)
        store.ensure_schema()
        sink = LedgerSink(store, price_book(prices))
    report = IngestReport()
    try:
        for path in files:
            report.files += 1
            for number, line in _lines(path, max_line_size, on_progress):
                _ingest_line(sink, path, number, line, limits, retries, report)
    finally:
        if own_sink:
            sink.close()
            if isinstance(sink, LedgerSink):
                sink.store.engine.dispose()
    return report


def _ingest_line(
    sink: Sink,
    path: Path,
    number: int,
    line: bytes | None,
    limits: Limits,
    retries: int,
    report: IngestReport,
) -> None:
    if line is None:
        report.lines += 1
        report.bad_lines.append(f"{path}:{number}: the line is longer than the limit; skipped")
        return
    if not line.strip():
        return
    report.lines += 1
    try:
        request = decode_json(line, limits)
    except DecodeError as exc:
        report.bad_lines.append(f"{path}:{number}: {exc}")
        return
    for attempt in range(retries + 1):
        try:
            outcome = sink.write(request)
            break
        except DatabaseUnavailable as exc:
            if attempt == retries:
                raise DatabaseError(
                    f"{exc}; stopped at {path}:{number}. Run the same command again when the"
                    " database is back: what is recorded is not counted twice"
                ) from exc
            time.sleep(min(2**attempt, 30))
    report.spans += outcome.received
    report.inserted += outcome.inserted
    report.duplicates += outcome.duplicates
    report.ignored += outcome.ignored
    report.rejected += len(outcome.rejected)
    if not outcome.counted:
        report.lines_already_counted += 1
    for reason in outcome.rejected[:3]:
        report.bad_lines.append(f"{path}:{number}: {reason}")


def _lines(
    path: Path, max_line_size: int, on_progress: Callable[[int], None] | None
) -> Iterator[tuple[int, bytes | None]]:
    """``(line number, line)``; the line is None when longer than ``max_line_size``."""
    raw = path.open("rb")
    try:
        magic = raw.read(4)
        raw.seek(0)
        if magic.startswith(_ZSTD_MAGIC):
            raise InputError(
                f"{path} is zstd-compressed; decompress it first (zstd -d {path}) and ingest the"
                " result"
            )
        stream: IO[bytes] = (
            gzip.GzipFile(fileobj=raw) if magic.startswith(_GZIP_MAGIC) else raw  # type: ignore[assignment]
        )
        position = 0
        number = 0
        try:
            while True:
                line = stream.readline(max_line_size + 1)
                if not line:
                    break
                number += 1
                too_long = len(line) > max_line_size
                if too_long and not line.endswith(b"\n"):
                    while (rest := stream.readline(max_line_size)) and not rest.endswith(b"\n"):
                        pass  # skip the rest of the long line
                if on_progress is not None:
                    now = raw.tell()
                    on_progress(now - position)
                    position = now
                yield number, None if too_long else line
        except (OSError, EOFError, gzip.BadGzipFile) as exc:
            raise InputError(f"{path}: cannot read the file past line {number}: {exc}") from None
    finally:
        raw.close()


def file_sizes(paths: Iterable[str | os.PathLike[str]]) -> int:
    """The total size in bytes of ``paths`` (for a progress bar)."""
    total = 0
    for path in paths:
        with contextlib.suppress(OSError):
            total += os.stat(path).st_size
    return total

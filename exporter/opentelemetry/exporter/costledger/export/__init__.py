"""``costledger export``: the ledger of a period as CSV, Parquet or FinOps FOCUS 1.2.

Python API::

    from opentelemetry.exporter.costledger.export import export_ledger
    result = export_ledger("focus", "2025-05", out="may-focus.csv", database_url=None)
    result.rows, result.cost_nanos          # what was written, for a checksum

Formats:

``csv``
    Every ``ledger_entries`` column with its name, plus ``cost_usd`` (exact nine-place decimal
    string) after ``cost_nanos``. Date-times ISO 8601 UTC (``...Z``), booleans ``true``/``false``,
    NULL as an empty field. Allocated shares of shared bills are ledger rows of their own
    (``source`` = ``allocation``), so they are in the export too.
``parquet``
    The same columns, typed: ``int64`` counts and ``cost_nanos``, ``decimal128(38, 9)`` for
    ``cost_usd`` and ``quantity``, ``timestamp[us, UTC]``. Needs the ``parquet`` extra (pyarrow).
``focus``
    FOCUS 1.2 CSV: the 57 specification columns then ``x_`` custom columns; see
    :mod:`.focus` for how each column is filled.

Periods are spelled as for the jobs (``2025-05``, ``2025-W19``, ``2025-05-01..2025-05-15``,
``last-month``, ...; see ``jobs/periods.py``) in ``--tz`` (default UTC), or ``all``. Rows stream
from the database in time order; nothing holds the whole ledger in memory.
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, closing
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Literal

import sqlalchemy as sa

from ..db import create_engine
from ..errors import InputError
from ..jobs import periods
from .ledger_rows import UtcRange, iter_ledger_rows
from .writers import write_focus_csv, write_ledger_csv, write_ledger_parquet

ExportFormat = Literal["csv", "parquet", "focus"]
FORMATS: tuple[str, ...] = ("csv", "parquet", "focus")


ALL = "all"


@dataclass(frozen=True, slots=True)
class ExportResult:
    """What an export wrote: the row count and the exact sum of priced ``cost_nanos``."""

    format: str
    period: str
    rows: int
    cost_nanos: int
    unpriced_rows: int
    out: str


def resolve_range(
    period: str | periods.Period, time_zone: str | None = None
) -> tuple[str, UtcRange]:
    """``(label, utc_range)`` of a period spelling (see ``jobs/periods.py``) or ``all``."""
    if isinstance(period, periods.Period):
        return period.label, period.utc_range()
    if period.strip() == ALL:
        return ALL, None
    chosen = periods.parse_period(period, time_zone)
    return chosen.label, chosen.utc_range()


def export_ledger(
    fmt: str,
    period: str | periods.Period,
    *,
    out: str | Path | IO[Any] | None = None,
    database_url: str | None = None,
    engine: sa.Engine | None = None,
    time_zone: str | None = None,
    batch_size: int = 2000,
) -> ExportResult:
    """Write the period's ledger rows in ``fmt`` to ``out`` (a path, an open file, or stdout).

    A path is written to a temporary file beside it and renamed into place at the end, so a
    failed export never leaves a truncated file under the final name. ``parquet`` needs a path
    or a binary file. The database is ``engine``, else ``database_url`` (then
    ``COSTLEDGER_DATABASE_URL``, then the default file).
    """
    if fmt not in FORMATS:
        raise InputError(f"unknown export format {fmt!r}: use one of {', '.join(FORMATS)}")
    label, utc_range = resolve_range(period, time_zone)
    to_stdout = out is None or out == "-"
    if fmt == "parquet" and to_stdout:
        raise InputError("parquet is binary: give a file with --out FILE.parquet")
    own_engine = engine is None
    eng = engine if engine is not None else create_engine(database_url)
    count = nanos = unpriced = 0
    final: Path | None = Path(out) if isinstance(out, str | Path) and not to_stdout else None
    temp: Path | None = None
    try:
        with ExitStack() as stack:
            stream = iter_ledger_rows(eng, utc_range, batch_size=batch_size)
            rows = stack.enter_context(closing(stream))
            target: Any
            if final is not None:
                fd, name = tempfile.mkstemp(prefix=f".{final.name}.", dir=final.parent or ".")
                os.close(fd)
                temp = Path(name)
            if fmt == "parquet":
                target = str(temp) if temp is not None else out
                written: Iterator[dict[str, Any]] = write_ledger_parquet(
                    rows, target, batch_size=max(batch_size, 10_000)
                )
            else:
                if temp is not None:
                    target = stack.enter_context(open(temp, "w", encoding="utf-8", newline=""))
                else:
                    target = sys.stdout if to_stdout else out
                writer = write_focus_csv if fmt == "focus" else write_ledger_csv
                written = writer(rows, target)
            for row in written:
                count += 1
                if row["cost_nanos"] is None:
                    unpriced += 1
                else:
                    nanos += row["cost_nanos"]
        if temp is not None and final is not None:
            os.replace(temp, final)
            temp = None
    finally:
        if temp is not None:
            temp.unlink(missing_ok=True)
        if own_engine:
            eng.dispose()
    shown = "-" if to_stdout else str(final) if final is not None else "<file object>"
    return ExportResult(fmt, label, count, nanos, unpriced, shown)


__all__ = ["FORMATS", "ExportFormat", "ExportResult", "export_ledger", "resolve_range"]

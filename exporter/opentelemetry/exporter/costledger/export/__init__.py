"""``costledger export``: the ledger of a period as CSV, Parquet or FinOps FOCUS 1.2 / 1.3.

Python API::

    from opentelemetry.exporter.costledger.export import export_ledger
    result = export_ledger(None, fmt="focus", period="2025-05", out="may-focus.csv")
    export_ledger(None, fmt="focus", focus_version="1.3", period="2025-05", out="may-1.3.csv")
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
    FOCUS CSV, version ``focus_version`` (``1.2``, the default: the 57 specification columns;
    ``1.3``: 65, with the split cost allocation and service/host provider columns), then ``x_``
    custom columns; see :mod:`.focus` for how each column is filled.

``rates=`` of another currency (``--currency EUR``) adds ``cost_currency``, ``cost``,
``exchange_rate`` and ``exchange_rate_date`` after ``cost_usd``, each row converted at its UTC
day's rate (:mod:`.converted`); FOCUS bills in that currency (:func:`.focus.in_currency`).

Billing events (``costledger bill``: Stripe meter events, OpenMeter CloudEvents, Lago events,
each once with its idempotency key) are :mod:`.bill`, :mod:`.billing_events` and
:mod:`.billing_push`.

``dataset="allocations"`` (``--dataset allocations``, csv or parquet) exports the
``cost_allocations`` table instead: how each shared bill was split (bill, method, driver,
driver quantity and total, exact share, ``amount_nanos``/``amount_usd``, unallocated rows), for
the runs whose period overlaps the chosen one. See :mod:`.allocations`.

Periods are spelled as for the jobs (``2025-05``, ``2025-W19``, ``2025-05-01..2025-05-15``,
``last-month``, ...; see ``periods.py``) in ``--tz`` (default UTC), or ``all``. Rows stream
from the database in time order; nothing holds the whole ledger in memory.

May import: the shared modules, :mod:`..ledger`, :mod:`..ingest`, :mod:`..prices`,
:mod:`..imports` and :mod:`..jobs`. Never report, cli or demo.
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Generator, Iterator
from contextlib import ExitStack, closing
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Literal

from .. import periods
from ..currency import Rates
from ..errors import InputError
from ..ledger.open import Database, open_ledger
from .allocations import allocation_details, iter_allocations
from .converted import CONVERTED_NANOS, with_currency
from .focus import DEFAULT_FOCUS_VERSION, FOCUS_VERSIONS
from .ledger_rows import UtcRange, iter_ledger_rows
from .writers import allocations_dataset, ledger_dataset, write_csv, write_focus_csv, write_parquet

ExportFormat = Literal["csv", "parquet", "focus"]
FORMATS: tuple[str, ...] = ("csv", "parquet", "focus")
DATASETS: tuple[str, ...] = ("ledger", "allocations")


ALL = "all"


@dataclass(frozen=True, slots=True)
class ExportResult:
    """What an export wrote: rows, and the exact sum of their money (``cost_nanos`` of priced
    ledger rows, or ``amount_nanos`` of allocations); ``unpriced_rows`` have no amount."""

    format: str
    period: str
    rows: int
    cost_nanos: int
    unpriced_rows: int
    out: str
    currency: str = "USD"
    converted_nanos: int | None = None  # the sum in ``currency`` (nano-units), when not USD


def resolve_range(
    period: str | periods.Period, time_zone: str | None = None
) -> tuple[str, UtcRange]:
    """``(label, utc_range)`` of a period spelling (see ``periods.py``) or ``all``."""
    if isinstance(period, periods.Period):
        return period.label, period.utc_range()
    if period.strip() == ALL:
        return ALL, None
    chosen = periods.parse_period(period, time_zone)
    return chosen.label, chosen.utc_range()


def export_ledger(
    database: Database = None,
    *,
    fmt: str,
    period: str | periods.Period,
    dataset: str = "ledger",
    out: str | Path | IO[Any] | None = None,
    time_zone: str | None = None,
    batch_size: int = 2000,
    focus_version: str = DEFAULT_FOCUS_VERSION,
    rates: Rates | None = None,
) -> ExportResult:
    """Write the period's ledger rows (or ``dataset="allocations"``) in ``fmt`` to ``out``.

    ``out`` is a path, an open file, or stdout (``None``/``"-"``). A path is written to a
    temporary file beside it and renamed into place at the end, so a failed export never leaves
    a truncated file under the final name. ``parquet`` needs a path or a binary file.
    ``database`` is a URL, an engine, or None (``COSTLEDGER_DATABASE_URL``, then the default
    file), as for the jobs. ``focus_version`` (``1.2`` or ``1.3``) applies to ``fmt="focus"``.
    ``rates`` of another currency than USD add the currency columns (:mod:`.converted`; FOCUS:
    its ``BillingCurrency`` and cost columns, :mod:`.focus`).
    """
    if fmt not in FORMATS:
        raise InputError(f"unknown export format {fmt!r}: use one of {', '.join(FORMATS)}")
    if focus_version not in FOCUS_VERSIONS:
        raise InputError(
            f"unknown FOCUS version {focus_version!r}: use one of {', '.join(FOCUS_VERSIONS)}"
        )
    if dataset not in DATASETS:
        raise InputError(f"unknown dataset {dataset!r}: use one of {', '.join(DATASETS)}")
    if dataset == "allocations" and fmt == "focus":
        raise InputError(
            "FOCUS exports the ledger, whose allocation rows carry x_Allocation* columns: "
            "use --dataset ledger with --format focus, or csv/parquet for --dataset allocations"
        )
    convert = rates is not None and not rates.is_identity
    if convert and dataset == "allocations":
        raise InputError(
            "--dataset allocations is in USD (how each bill was split); --currency converts"
            " the ledger's rows: use --dataset ledger"
        )
    label, utc_range = resolve_range(period, time_zone)
    to_stdout = out is None or out == "-"
    if fmt == "parquet" and to_stdout:
        raise InputError("parquet is binary: give a file with --out FILE.parquet")
    final: Path | None = Path(out) if isinstance(out, str | Path) and not to_stdout else None
    if final is not None and not final.parent.is_dir():
        raise InputError(f"cannot write {final}: there is no directory {final.parent}")
    with open_ledger(database, create=False, migrate=False) as eng:
        shape = allocations_dataset() if dataset == "allocations" else ledger_dataset(convert)
        money = shape.dollars[1]
        count = nanos = unpriced = converted = 0
        temp: Path | None = None
        try:
            with ExitStack() as stack:
                source: Generator[dict[str, Any], None, None]
                if dataset == "allocations":
                    source = iter_allocations(eng, utc_range, batch_size=batch_size)
                else:
                    source = iter_ledger_rows(eng, utc_range, batch_size=batch_size)
                rows: Iterator[dict[str, Any]] = stack.enter_context(closing(source))
                if convert:
                    assert rates is not None
                    rows = with_currency(rows, rates)
                if final is not None:
                    fd, name = tempfile.mkstemp(prefix=f".{final.name}.", dir=final.parent)
                    os.close(fd)
                    temp = Path(name)
                target: Any
                written: Iterator[dict[str, Any]]
                if fmt == "parquet":
                    target = str(temp) if temp is not None else out
                    written = write_parquet(rows, shape, target, batch_size=max(batch_size, 10_000))
                else:
                    if temp is not None:
                        target = stack.enter_context(open(temp, "w", encoding="utf-8", newline=""))
                    else:
                        target = sys.stdout if to_stdout else out
                    if fmt == "focus":
                        details = allocation_details(eng, utc_range)
                        written = write_focus_csv(
                            rows, target, details, focus_version, converted=convert
                        )
                    else:
                        written = write_csv(rows, shape, target)
                for row in written:
                    count += 1
                    if row[money] is None:
                        unpriced += 1
                    else:
                        nanos += row[money]
                        converted += row.get(CONVERTED_NANOS) or 0
            if temp is not None and final is not None:
                os.replace(temp, final)
                temp = None
        finally:
            if temp is not None:
                temp.unlink(missing_ok=True)
    shown = "-" if to_stdout else str(final) if final is not None else "<file object>"
    if convert:
        assert rates is not None
        return ExportResult(fmt, label, count, nanos, unpriced, shown, rates.currency, converted)
    return ExportResult(fmt, label, count, nanos, unpriced, shown)


__all__ = [
    "DATASETS",
    "DEFAULT_FOCUS_VERSION",
    "FOCUS_VERSIONS",
    "FORMATS",
    "ExportFormat",
    "ExportResult",
    "export_ledger",
    "resolve_range",
]

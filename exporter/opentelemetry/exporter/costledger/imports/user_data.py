"""Importing the user's own numbers: usage (allocation drivers) and business data (revenue).

CLI: ``costledger import usage FILE.csv`` and ``costledger import business FILE.csv``.
(Provider invoices/exports are imported by :mod:`.invoices`: ``costledger import invoices``.)
Column names are matched case-insensitively; money may be written ``3200``, ``3,200.00`` or
``$3,200``. Re-importing a row with the same key replaces it; a bad row stops the import with
its line number and nothing of that file is written.

Usage CSV → table ``usage_records``
-----------------------------------
Columns: ``customer_id`` (or ``customer``), ``date`` (``YYYY-MM-DD``; or ``period`` = a month
``YYYY-MM``, recorded on its first day), ``metric`` (e.g. ``vectors``, ``log_events``),
``quantity``. Key: (day, customer_id, metric). Used by allocation drivers ``usage:<metric>``.

==============  ==============================================
day             DATE — the day the quantity was measured
customer_id     the customer
metric          what was measured
quantity        NUMERIC(38, 9), exact
source          the file it came from
imported_at     when
==============  ==============================================

Business CSV → table ``business_data``
--------------------------------------
Columns: ``customer_id`` (or ``customer``), ``period`` (as :mod:`..periods` reads it, usually a
month ``2025-05``), ``revenue``, and the subscription margin as ``margin_pct`` (``75`` or
``75%`` or ``0.75``), or ``margin`` (an amount; or a percentage when written with ``%``), and
optionally ``plan`` and ``work_items`` (an imported count that overrides the ledger's distinct
``work_item_id`` count in ``normalize``). Key: (customer_id, period). Revenue (net of credits
and refunds), usage quantities and work items are never negative: such a row stops the import
with its line. A margin may be negative (a plan sold below what it costs to deliver): ``rank``
then flags the customer unprofitable whatever the AI cost.

==============  ==============================================
customer_id     the customer
period          the period label (``2025-05``)
revenue_nanos   subscription revenue, nano-dollars
margin_nanos    margin amount when given as an amount
margin_pct      margin as a fraction (0.75) when given as a percentage
plan            the customer's plan, if given
work_items      imported work-item count, if given
==============  ==============================================
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from opentelemetry.instrumentation.costledger.money import to_nanos

from .. import periods
from ..errors import InputError
from ..ledger.open import Database, open_ledger
from ..ledger.runs import now, record_run
from ..ledger.tables import business_data, usage_records


@dataclass(frozen=True, slots=True)
class ImportResult:
    path: str
    rows: int


_DELIMITERS = ",;\t|"


class CsvRow(dict[str, str]):
    """A data row of a CSV file, keys lower-cased and stripped; ``delimiter`` is the file's."""

    delimiter = ","


def read_csv(path: str | os.PathLike[str]) -> Iterator[tuple[int, CsvRow]]:
    """(line number, row with lower-cased, stripped keys) for each data row of a CSV file.

    The delimiter is read from the header (``,``, ``;``, tab or ``|``: spreadsheets in many
    locales save semicolons), so a semicolon-separated file is read as such instead of as one
    column. In a file not separated by commas a comma is a decimal comma: :func:`number` then
    refuses numbers with a comma rather than guess.
    """
    file = Path(path)
    try:
        handle = file.open(newline="", encoding="utf-8-sig")
    except OSError as exc:
        raise InputError(f"cannot read {file}: {exc.strerror}") from exc
    with handle:
        header = handle.readline()
        handle.seek(0)
        delimiter = sniff_delimiter(header)
        reader = csv.DictReader(handle, delimiter=delimiter)
        if not reader.fieldnames:
            raise InputError(f"{file} is empty: expected a header row")
        for row in reader:
            cleaned = CsvRow(
                ((k or "").strip().lower(), (v or "").strip())
                for k, v in row.items()
                if k is not None
            )
            cleaned.delimiter = delimiter
            if any(cleaned.values()):
                yield reader.line_num, cleaned


def sniff_delimiter(header: str) -> str:
    """The delimiter of a CSV file, from its header line (``,`` when it has one column)."""
    try:
        return csv.Sniffer().sniff(header, delimiters=_DELIMITERS).delimiter
    except csv.Error:
        return ","


def field(row: dict[str, str], where: str, *names: str, required: bool = True) -> str | None:
    for name in names:
        if row.get(name):
            return row[name]
    if required:
        raise InputError(f"{where}: missing {' or '.join(names)}")
    return None


def number(text: str, where: str, row: CsvRow | None = None) -> Decimal:
    """``text`` as an exact decimal (``3,200.00``, ``$3,200``); ``row`` (the row it comes from)
    tells whether the file uses commas to separate fields, where a comma cannot be a thousands
    separator."""
    delimiter = "," if row is None else row.delimiter
    if delimiter != "," and "," in text:
        shown = "tab" if delimiter == "\t" else repr(delimiter)
        raise InputError(
            f"{where}: {text!r}: in a file separated by {shown} a comma may be a decimal comma;"
            " write the number with a decimal point and no thousands separators (3200.50)"
        )
    try:
        value = Decimal(text.replace(",", "").replace("$", "").replace("_", "").strip())
    except InvalidOperation as exc:
        raise InputError(f"{where}: {text!r} is not a number") from exc
    if not value.is_finite():
        raise InputError(f"{where}: {text!r} is not a finite number")
    return value


def import_usage(database: Database, path: str | os.PathLike[str]) -> ImportResult:
    """Load a usage CSV into ``usage_records`` (see the module docstring)."""
    records: dict[tuple[date, str, str], Decimal] = {}
    for line, row in read_csv(path):
        where = f"{path}:{line}"
        customer = field(row, where, "customer_id", "customer")
        metric = field(row, where, "metric")
        day_text = field(row, where, "date", "day", required=False)
        if day_text:
            try:
                day = date.fromisoformat(day_text[:10])
            except ValueError as exc:
                raise InputError(f"{where}: date {day_text!r} is not YYYY-MM-DD") from exc
        else:
            day = periods.parse_period(str(field(row, where, "period"))).start
        quantity = number(str(field(row, where, "quantity", "value")), where, row)
        if quantity < 0:
            raise InputError(
                f"{where}: quantity {quantity} is negative: usage is what a customer used (a"
                " count or a stock), never below zero"
            )
        key = (day, str(customer), str(metric))
        records[key] = records.get(key, Decimal(0)) + quantity
    stamp = now()
    with open_ledger(database) as engine:
        with engine.begin() as conn:
            for day, customer, metric in records:
                conn.execute(
                    usage_records.delete().where(
                        (usage_records.c.day == day)
                        & (usage_records.c.customer_id == customer)
                        & (usage_records.c.metric == metric)
                    )
                )
            if records:
                conn.execute(
                    usage_records.insert(),
                    [
                        {
                            "day": day,
                            "customer_id": customer,
                            "metric": metric,
                            "quantity": quantity,
                            "source": str(path)[:400],
                            "imported_at": stamp,
                        }
                        for (day, customer, metric), quantity in records.items()
                    ],
                )
        record_run(engine, "import usage", stamp, f"{len(records)} row(s) from {path}", ok=True)
    return ImportResult(str(path), len(records))


def parse_margin(row: CsvRow, where: str, revenue_nanos: int) -> tuple[int | None, Decimal | None]:
    """(margin amount, margin fraction) — exactly one of them set — from a business row."""
    pct_text = field(row, where, "margin_pct", "margin_percent", "margin %", required=False)
    amount_text = field(row, where, "margin", "margin_amount", required=False)
    if pct_text is None and amount_text and amount_text.endswith("%"):
        pct_text, amount_text = amount_text, None
    if pct_text is not None:
        value = number(pct_text.rstrip("%"), where, row)
        fraction = value / 100 if (pct_text.endswith("%") or value > 1) else value
        if not Decimal(-1) <= fraction <= 1:
            raise InputError(
                f"{where}: margin {pct_text!r} is not a percentage between -100 and 100"
            )
        return None, fraction
    if amount_text is not None:
        return to_nanos(number(amount_text, where, row), what=where), None
    raise InputError(f"{where}: give the margin as margin_pct (75%) or margin (an amount)")


def import_business(database: Database, path: str | os.PathLike[str]) -> ImportResult:
    """Load a business-data CSV into ``business_data`` (see the module docstring)."""
    records: dict[tuple[str, str], dict[str, Any]] = {}
    for line, row in read_csv(path):
        where = f"{path}:{line}"
        customer = str(field(row, where, "customer_id", "customer"))
        period = periods.parse_period(str(field(row, where, "period", "month"))).label
        revenue = to_nanos(number(str(field(row, where, "revenue")), where, row), what=where)
        if revenue < 0:
            raise InputError(
                f"{where}: revenue {field(row, where, 'revenue')} is negative: write the"
                " period's revenue net of credits and refunds, which is zero or more"
            )
        margin_nanos, margin_pct = parse_margin(row, where, revenue)
        work_items_text = field(row, where, "work_items", required=False)
        work_items = None
        if work_items_text:
            count = number(work_items_text, where, row)
            if count < 0 or count != count.to_integral_value():
                raise InputError(
                    f"{where}: work_items {work_items_text!r} is not a count (a whole number,"
                    " zero or more)"
                )
            work_items = int(count)
        records[(customer, period)] = {
            "customer_id": customer,
            "period": period,
            "revenue_nanos": revenue,
            "margin_nanos": margin_nanos,
            "margin_pct": margin_pct,
            "plan": field(row, where, "plan", required=False),
            "work_items": work_items,
            "currency": (field(row, where, "currency", required=False) or "USD").upper(),
            "source": str(path)[:400],
        }
    stamp = now()
    with open_ledger(database) as engine:
        with engine.begin() as conn:
            for customer, period in records:
                conn.execute(
                    business_data.delete().where(
                        (business_data.c.customer_id == customer)
                        & (business_data.c.period == period)
                    )
                )
            if records:
                conn.execute(
                    business_data.insert(),
                    [dict(r, imported_at=stamp) for r in records.values()],
                )
        record_run(engine, "import business", stamp, f"{len(records)} row(s) from {path}", ok=True)
    return ImportResult(str(path), len(records))


def business_rows(conn: sa.Connection, period: str) -> dict[str, dict[str, Any]]:
    query = sa.select(business_data).where(business_data.c.period == period)
    return {row["customer_id"]: dict(row) for row in conn.execute(query).mappings()}

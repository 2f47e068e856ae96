"""Render a list of records as ``table`` (rich), ``csv`` or ``json``: one renderer for every
reporting command (``--format table|csv|json``).

- ``table``: a rich table for people, by the one precision rule of ``money.py`` (README
  "Precision"). Money is right-aligned with a currency sign and thousands separators, rounded
  half-even to ``money_places`` (cents by default; 0 gives whole dollars as in the seed's Step
  6 table) or to the column's own ``places`` (a cost per work item: a tenth of a cent); ratios
  show as whole percentages; negative money is red; flag columns are coloured (red for
  ``unprofitable``/``over_budget``/``spike``, yellow for the rest).
- ``csv`` and ``json``: for machines, EXACT — money and ratios are written as decimal strings
  carrying every digit the ledger has (JSON strings, never floats, so no parser rounds them);
  integers are numbers; dates are ISO 8601.

Columns are declared once per command with :class:`Column` (key, header, kind); records are
the jobs' typed results (read by attribute) or mappings. Field names are the result tables'
column names, with one rule for money: a ``money`` column keyed ``X_nanos`` holds integer
nano-dollars, and machines get ``X_nanos`` (the integer) and ``X_usd`` (its exact decimal text)
beside it; people see dollars. A ``money`` column with another key (``cost_per_work_item``,
``cost_usd``) holds :class:`~decimal.Decimal` dollars.

Another currency (``--currency EUR``, README "Other currencies"): the command puts each money
field's converted amount, in integer nano-units of the currency, beside it in the record under
:func:`..currency.converted_key` (``cost_nanos`` → ``cost_eur``) — :func:`as_record` makes a
typed result a dict for that — and passes ``currency=`` to :func:`emit`. People then see only the
converted amounts, with the currency's symbol (:func:`..currency.format_money`); machines get
``X_eur`` (exact text) after ``X_nanos`` / ``X_usd``. The dollars are never relabelled: a money
field without its converted amount shows as ``—``.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, is_dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any, Literal, TypeVar

import click
from opentelemetry.instrumentation.costledger.money import (
    MONEY_PLACES,
    format_pct,
    format_usd,
    to_dollars,
    to_nanos,
    usd_text,
)
from rich.console import Console
from rich.table import Table
from rich.text import Text

from ..columns import FORMATS, Column, Kind
from ..currency import USD, amount_text, converted_key, format_money

Format = Literal["table", "csv", "json"]

_WRAP_WIDTH = 40  # a wrapping column keeps at least this many characters per line
RED_FLAGS = frozenset({"unprofitable", "over_budget", "spike", "unpriced", "flagged"})


_F = TypeVar("_F", bound=Callable[..., Any])


def format_option() -> Callable[[_F], _F]:
    """The shared ``--format`` click option."""
    return click.option(
        "--format",
        "fmt",
        type=click.Choice(FORMATS),
        default="table",
        show_default=True,
        help="table for people; csv/json are exact (money as decimal strings) for machines.",
    )


exact_text = usd_text  # the csv/json form of exact dollars


def _machine_value(value: Any, kind: Kind) -> Any:
    if value is None:
        return None
    if isinstance(value, Decimal):
        return exact_text(value) if kind == "money" else f"{value.normalize():f}"
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, list | tuple | frozenset | set):
        return ",".join(str(v) for v in value)
    return value


def usd_key(key: str) -> str:
    """``X_nanos`` -> ``X_usd``: the name of a money field's exact dollars beside its nanos."""
    return key.removesuffix("_nanos") + "_usd"


def is_nanos(column: Column) -> bool:
    return column.kind == "money" and column.key.endswith("_nanos")


def machine_keys(columns: Sequence[Column], currency: str = USD) -> list[str]:
    """The field names of a command's csv/json output, in order."""
    keys: list[str] = []
    for column in columns:
        keys.append(column.key)
        if is_nanos(column):
            keys.append(usd_key(column.key))
        if column.kind == "money" and currency != USD:
            keys.append(converted_key(column.key, currency))
    return keys


def field(record: Any, key: str) -> Any:
    """A record's field: a mapping's item or a typed result's attribute (None when absent)."""
    if isinstance(record, Mapping):
        return record.get(key)
    return getattr(record, key, None)


def as_record(record: Any) -> dict[str, Any]:
    """A job's typed result (a dataclass) or a mapping as a new dict, to which a command adds
    the converted amounts of ``--currency`` (:func:`converted_key`)."""
    if isinstance(record, Mapping):
        return dict(record)
    assert is_dataclass(record) and not isinstance(record, type)
    fields = asdict(record)
    # Columns read properties too (``name`` of a group, ``cost_usd``): keep their values.
    for name in dir(type(record)):
        if not name.startswith("_") and isinstance(getattr(type(record), name), property):
            fields.setdefault(name, getattr(record, name))
    return fields


def _machine_fields(record: Any, columns: Sequence[Column], currency: str = USD) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for column in columns:
        value = field(record, column.key)
        if is_nanos(column):
            out[column.key] = None if value is None else int(value)
            dollars = to_dollars(None if value is None else int(value))
            out[usd_key(column.key)] = None if dollars is None else exact_text(dollars)
        else:
            out[column.key] = _machine_value(value, column.kind)
        if column.kind == "money" and currency != USD:
            key = converted_key(column.key, currency)
            converted = field(record, key)
            out[key] = None if converted is None else amount_text(int(converted))
    return out


def _round(value: Decimal, places: int) -> Decimal:
    return value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_EVEN)


def _cell(record: Any, column: Column, money_places: int, currency: str = USD) -> Text | str:
    value = field(record, column.key)
    if column.kind == "money" and currency != USD:
        # Another currency: the amount converted by the command (never the dollars relabelled).
        value = field(record, converted_key(column.key, currency))
    if value is None or value == "":
        return Text("—", style="dim")
    if column.kind == "money":
        places = column.places if column.places is not None else money_places
        if currency != USD:
            nanos = int(value)
            shown = format_money(nanos, currency, places=places)
            return Text(shown, style="red" if nanos < 0 else "")
        nanos = int(value) if is_nanos(column) else to_nanos(Decimal(value))
        return Text(format_usd(nanos, places=places), style="red" if nanos < 0 else "")
    if column.kind == "pct":
        return format_pct(value, column.places if column.places is not None else 0)
    if column.kind == "decimal":
        dec = Decimal(value)
        if column.places is not None:
            return f"{_round(dec, column.places):,}"
        return f"{dec.normalize():,f}" if dec == dec.to_integral_value() else f"{dec:,f}"
    if column.kind == "int":
        return f"{int(value):,}"
    if column.kind == "flags":
        if isinstance(value, bool):  # a yes/no flag shows as its name, or not at all
            value = column.key if value else ""
            if not value:
                return Text("—", style="dim")
        names = value if isinstance(value, list | tuple) else str(value).split(",")
        flags = Text()
        for index, name in enumerate(n for n in names if n):
            if index:
                flags.append(", ")
            flags.append(name, style="bold red" if name in RED_FLAGS else "yellow")
        return flags
    if isinstance(value, datetime | date):
        return value.isoformat()
    # Text, not str: rich reads a str cell as markup, and data is not markup ("add a [[model]]
    # price" read as markup loses its brackets).
    return Text(str(value))


def render(
    records: Iterable[Any],
    columns: Sequence[Column],
    fmt: str = "table",
    *,
    title: str | None = None,
    money_places: int = MONEY_PLACES,
    width: int | None = None,
    currency: str = USD,
) -> str:
    """The records as text in ``fmt`` (see the module docstring)."""
    rows = list(records)
    if fmt == "json":
        payload = [_machine_fields(r, columns, currency) for r in rows]
        return json.dumps(payload, indent=2) + "\n"
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(machine_keys(columns, currency))
        for r in rows:
            fields = _machine_fields(r, columns, currency).values()
            writer.writerow(["" if v is None else v for v in fields])
        return buffer.getvalue()
    if fmt != "table":
        raise ValueError(f"unknown format {fmt!r}")
    buffer = io.StringIO()
    console = Console(file=buffer, width=width or 160, force_terminal=False, color_system=None)
    _print_table(console, rows, columns, title, money_places, currency)
    return buffer.getvalue()


def _print_table(
    console: Console,
    rows: Sequence[Any],
    columns: Sequence[Column],
    title: str | None,
    money_places: int,
    currency: str = USD,
) -> None:
    # Titles and headers name customers, periods and price bands: Text, never markup.
    table = Table(title=None if title is None else Text(title), header_style="bold")
    for column in columns:
        numeric = column.kind in ("money", "int", "pct", "decimal")
        table.add_column(
            Text(column.header),
            justify="right" if numeric else "left",
            no_wrap=not column.wrap,
            overflow="fold",
            ratio=1 if column.wrap else None,
        )
    for r in rows:
        table.add_row(*(_cell(r, c, money_places, currency) for c in columns))
    # Never squeeze ids and amounts into "…": wider than the terminal beats unreadable.
    natural = console.measure(table, options=console.options.update_width(100_000)).maximum
    squeezable = sum(
        max(0, max((len(str(field(r, c.key) or "")) for r in rows), default=0) - _WRAP_WIDTH)
        for c in columns
        if c.wrap
    )
    needed = natural - squeezable
    if needed > console.width:
        console.width = needed
    console.print(table)
    if not rows:
        console.print("(no rows)")


def emit(
    records: Iterable[Any],
    columns: Sequence[Column],
    fmt: str = "table",
    *,
    title: str | None = None,
    money_places: int = MONEY_PLACES,
    currency: str = USD,
) -> None:
    """Print the records to stdout: a coloured rich table on a terminal, else plain text.

    ``currency`` other than USD: money is shown from each record's converted amounts (see
    :func:`converted_key`), and csv/json add them beside the exact dollars."""
    rows = list(records)
    if currency != USD and title is not None:
        title = f"{title}, in {currency}"
    if fmt != "table":
        click.echo(render(rows, columns, fmt, currency=currency), nl=False)
        return
    console = Console()
    if not console.is_terminal:
        # Piped to a file or a pager: keep every row on one line instead of 80 columns.
        console = Console(width=max(console.width, 240))
    _print_table(console, rows, columns, title, money_places, currency)

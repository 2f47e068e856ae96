"""The export formats: plain CSV and typed Parquet of a dataset, and FOCUS CSV (1.2 or 1.3).

A :class:`Dataset` names the columns of an export and their Arrow types, and derives the
exact dollar column from integer nano-dollars (``cost_usd`` from ``cost_nanos`` for the
ledger, ``amount_usd`` from ``amount_nanos`` for allocations). Each writer consumes an iterator
of rows and writes as it goes (Parquet in row groups of ``batch_size``), so memory stays flat
however large the ledger is. Money is exact everywhere: nine-place decimal strings in CSV,
``decimal128(38, 9)`` in Parquet, next to the integer it comes from.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import IO, Any

from opentelemetry.instrumentation.costledger.money import (
    decimal_text,
    nanos_to_decimal,
    nanos_to_text,
)

from ..errors import ConfigError
from .focus import DEFAULT_FOCUS_VERSION, EXCHANGE_RATE_COLUMNS, columns_of, focus_record

_NANO = Decimal(1).scaleb(-9)


@dataclass(frozen=True, slots=True)
class Dataset:
    """An export's columns: name → Arrow type name, and which column is dollars of which."""

    columns: Mapping[str, str]  # "int", "bool", "text", "time", "date", "decimal9", "decimal12"
    dollars: tuple[str, str]  # (dollar column, its nano-dollar source column)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self.columns)


def ledger_dataset(converted: bool = False) -> Dataset:
    """Every ``ledger_entries`` column, typed as in SQL, with ``cost_usd`` after ``cost_nanos``
    (and, ``converted``, the currency columns of :mod:`.converted` after it)."""
    from ..ledger.schema import ledger_entries
    from .converted import CURRENCY_COLUMNS

    columns: dict[str, str] = {}
    for column in ledger_entries.columns:
        python_type = column.type.python_type
        if python_type is bool:
            kind = "bool"
        elif python_type is int:
            kind = "int"
        elif python_type is Decimal:
            kind = "decimal9"
        elif python_type is datetime:
            kind = "time"
        else:
            kind = "text"
        columns[column.name] = kind
        if column.name == "cost_nanos":
            columns["cost_usd"] = "decimal9"
            if converted:
                columns.update(CURRENCY_COLUMNS)
    return Dataset(columns, ("cost_usd", "cost_nanos"))


def allocations_dataset() -> Dataset:
    from .allocations import ALLOCATION_COLUMNS

    kinds = {
        "run_id": "int",
        "period_start_utc": "time",
        "period_end_utc": "time",
        "run_at": "time",
        "unallocated": "bool",
        "driver_quantity": "decimal9",
        "driver_total": "decimal9",
        "share": "decimal12",
        "amount_nanos": "int",
        "amount_usd": "decimal9",
    }
    return Dataset(
        {c: kinds.get(c, "text") for c in ALLOCATION_COLUMNS}, ("amount_usd", "amount_nanos")
    )


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _time_text(value: datetime) -> str:
    return _aware(value).astimezone(UTC).isoformat().replace("+00:00", "Z")


# Text and integers go to the csv module as they are (it writes None as an empty field).
_CSV_CONVERTERS: dict[str, Callable[[Any], str]] = {
    "bool": lambda value: "true" if value else "false",
    "time": _time_text,
    "date": lambda value: value.isoformat(),
    "decimal9": decimal_text,
    "decimal12": decimal_text,
}


def write_csv(
    rows: Iterable[dict[str, Any]], dataset: Dataset, out: IO[str]
) -> Iterator[dict[str, Any]]:
    """Write rows as CSV (header first); yield each row after writing it (for totals)."""
    names = dataset.names
    dollars, source = dataset.dollars
    dollar_index = names.index(dollars)
    converters = [
        (index, _CSV_CONVERTERS[kind])
        for index, kind in enumerate(dataset.columns.values())
        if kind in _CSV_CONVERTERS and index != dollar_index
    ]
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(names)
    for row in rows:
        line = [row.get(name) for name in names]
        for index, convert in converters:
            value = line[index]
            if value is not None:
                line[index] = convert(value)
        line[dollar_index] = nanos_to_text(row[source])
        writer.writerow(line)
        yield row


def write_focus_csv(
    rows: Iterable[dict[str, Any]],
    out: IO[str],
    allocations: Mapping[str, dict[str, Any]] | None = None,
    version: str = DEFAULT_FOCUS_VERSION,
    *,
    converted: bool = False,
) -> Iterator[dict[str, Any]]:
    """Write ledger rows as FOCUS ``version`` CSV (see :mod:`.focus`); yield each once written.
    ``converted``: rows in another currency (:mod:`.converted`), with its ``x_`` columns."""
    columns = columns_of(version) + (EXCHANGE_RATE_COLUMNS if converted else ())
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    details = allocations or {}
    for row in rows:
        record = focus_record(row, details.get(row["idempotency_key"]), version)
        writer.writerow([record[column] for column in columns])  # None → empty field
        yield row


def _pyarrow() -> Any:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError as exc:
        raise ConfigError(
            "Parquet export needs pyarrow: pip install 'costledger[parquet]'"
        ) from exc
    return pa, pq


def parquet_schema(dataset: Dataset) -> Any:
    """The Arrow schema of a dataset (types follow the SQL types; money is decimal128)."""
    pa, _ = _pyarrow()
    types: dict[str, Callable[[], Any]] = {
        "int": pa.int64,
        "bool": pa.bool_,
        "text": pa.string,
        "time": lambda: pa.timestamp("us", tz="UTC"),
        "date": pa.date32,
        "decimal9": lambda: pa.decimal128(38, 9),
        "decimal12": lambda: pa.decimal128(38, 12),
    }
    return pa.schema([pa.field(name, types[kind]()) for name, kind in dataset.columns.items()])


def write_parquet(
    rows: Iterable[dict[str, Any]],
    dataset: Dataset,
    out: IO[bytes] | str,
    *,
    batch_size: int = 10_000,
) -> Iterator[dict[str, Any]]:
    """Write rows as Parquet in row groups of ``batch_size``; yield each row once buffered."""
    pa, pq = _pyarrow()
    schema = parquet_schema(dataset)
    dollars, source = dataset.dollars
    scales = {
        name: Decimal(1).scaleb(-12 if kind == "decimal12" else -9)
        for name, kind in dataset.columns.items()
        if kind.startswith("decimal")
    }
    columns: dict[str, list[Any]] = {name: [] for name in dataset.names}
    buffered = 0

    def flush(writer: Any) -> None:
        if any(columns.values()):
            writer.write_table(pa.Table.from_pydict(columns, schema=schema))
            for values in columns.values():
                values.clear()

    with pq.ParquetWriter(out, schema, compression="zstd") as writer:
        for row in rows:
            for name in dataset.names:
                value: Any
                if name == dollars:
                    nanos = row[source]
                    value = None if nanos is None else nanos_to_decimal(nanos)
                else:
                    value = row[name]
                    if isinstance(value, Decimal):
                        # decimal128 holds the SQL Numeric(38, 9/12) exactly.
                        value = value.quantize(scales[name])
                    elif isinstance(value, datetime):
                        value = _aware(value)
                columns[name].append(value)
            buffered += 1
            yield row
            if buffered >= batch_size:
                flush(writer)
                buffered = 0
        flush(writer)

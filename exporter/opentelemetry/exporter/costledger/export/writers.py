"""The export formats: plain ledger CSV, ledger Parquet, FOCUS 1.2 CSV.

Each writer consumes an iterator of ledger rows and writes as it goes (Parquet in row groups of
``batch_size``), so memory stays flat however large the ledger is. Money is exact everywhere:
``cost_usd`` is a nine-place decimal string in CSV and ``decimal128(38, 9)`` in Parquet, next to
the integer ``cost_nanos`` it comes from.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import IO, Any

from ..errors import ConfigError
from .focus import ALL_COLUMNS, focus_record
from .ledger_rows import LEDGER_COLUMNS
from .money import decimal_text, nanos_to_decimal, nanos_to_text

_NANO = Decimal(1).scaleb(-9)

# The plain formats: every ledger column, with cost_usd right after cost_nanos.
CSV_COLUMNS: tuple[str, ...] = tuple(
    name
    for col in LEDGER_COLUMNS
    for name in ((col, "cost_usd") if col == "cost_nanos" else (col,))
)


def _iso(value: datetime | None) -> str:
    if value is None:
        return ""
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _csv_value(column: str, value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return _iso(value)
    if isinstance(value, Decimal):
        return decimal_text(value)
    return str(value)


def write_ledger_csv(rows: Iterable[dict[str, Any]], out: IO[str]) -> Iterator[dict[str, Any]]:
    """Write rows as CSV (header first); yield each row after writing it (for totals)."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for row in rows:
        line = []
        for col in CSV_COLUMNS:
            if col == "cost_usd":
                line.append(nanos_to_text(row["cost_nanos"]))
            else:
                line.append(_csv_value(col, row[col]))
        writer.writerow(line)
        yield row


def write_focus_csv(rows: Iterable[dict[str, Any]], out: IO[str]) -> Iterator[dict[str, Any]]:
    """Write rows as FOCUS 1.2 CSV (see :mod:`.focus`); yield each ledger row after writing it."""
    writer = csv.DictWriter(out, fieldnames=ALL_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        record = focus_record(row)
        writer.writerow({k: "" if v is None else v for k, v in record.items()})
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


def parquet_schema() -> Any:
    """The Arrow schema of a ledger Parquet file (types follow the ledger's SQL types)."""
    pa, _ = _pyarrow()
    from ..schema import ledger_entries

    money = pa.decimal128(38, 9)
    fields = []
    for col in CSV_COLUMNS:
        if col == "cost_usd":
            fields.append(pa.field(col, money))
            continue
        python_type = ledger_entries.c[col].type.python_type
        if python_type is int:
            arrow_type = pa.int64()
        elif python_type is bool:
            arrow_type = pa.bool_()
        elif python_type is Decimal:
            arrow_type = money
        elif python_type is datetime:
            arrow_type = pa.timestamp("us", tz="UTC")
        else:
            arrow_type = pa.string()
        fields.append(pa.field(col, arrow_type, nullable=not ledger_entries.c[col].primary_key))
    return pa.schema(fields)


def write_ledger_parquet(
    rows: Iterable[dict[str, Any]], out: IO[bytes] | str, *, batch_size: int = 10_000
) -> Iterator[dict[str, Any]]:
    """Write rows as Parquet in row groups of ``batch_size``; yield each row once it is buffered."""
    pa, pq = _pyarrow()
    schema = parquet_schema()
    columns: dict[str, list[Any]] = {name: [] for name in CSV_COLUMNS}

    def flush(writer: Any) -> None:
        if columns["id"]:
            writer.write_table(pa.Table.from_pydict(columns, schema=schema))
            for values in columns.values():
                values.clear()

    with pq.ParquetWriter(out, schema, compression="zstd") as writer:
        for row in rows:
            for col in CSV_COLUMNS:
                if col == "cost_usd":
                    nanos = row["cost_nanos"]
                    columns[col].append(None if nanos is None else nanos_to_decimal(nanos))
                elif isinstance(row[col], Decimal):
                    # decimal128(38, 9) holds the ledger's Numeric(38, 9) exactly.
                    columns[col].append(row[col].quantize(_NANO))
                else:
                    columns[col].append(row[col])
            yield row
            if len(columns["id"]) >= batch_size:
                flush(writer)
        flush(writer)

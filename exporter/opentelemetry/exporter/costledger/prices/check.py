"""Gaps in the ledger's prices: :func:`check_prices` (``costledger prices check``).

Every (provider, model) — or (category, unit, item) for non-token cost events — in the ledger
that has unpriced rows, or that the current prices would not price, with the exact entry to add
to the price file (``fix``). Rows the price book does not price (allocations, imports,
adjustments, ``record_cost`` events that carried their own amount) are never gaps.
"""

from __future__ import annotations

import json
from datetime import UTC
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from opentelemetry.instrumentation.costledger.pricing import PriceBook
from opentelemetry.instrumentation.costledger.usage import TokenUsage

from ..ledger.open import open_ledger
from ..ledger.reprice import TOKEN_CATEGORIES, priced_by_price_book
from ..ledger.schema import ledger_entries
from ..price_book import load_price_book

Record = dict[str, Any]

# --- gaps in the ledger ---------------------------------------------------------------------


def check_prices(
    database_url: str | None = None,
    *,
    engine: sa.Engine | None = None,
    price_book: PriceBook | None = None,
) -> list[Record]:
    """Everything in the ledger that has no price, with row counts.

    One record per (provider, model) of token rows, or (category, unit, item) of cost events,
    that has unpriced rows or that the current price book cannot price at its last timestamp.
    ``status`` is ``unpriced`` (rows without a price that ``costledger reprice`` would now
    price are reported as ``repriceable``), ``no price now`` (priced rows whose price is gone,
    e.g. a rule removed from the file) or ``flagged`` (token counts or quantities that cannot
    be priced at all: fix the producer). ``fix`` says what to do: for a missing price, the exact
    ``[[model]]`` or ``[[unit_price]]`` entry to add to the price file (TOML, or YAML when the
    price file is YAML) with ``"?"`` where the price goes (``fix_is_entry`` true), else the
    action to take (run reprice, fix the producer). Rows that carry their own cost
    (allocations, ``record_cost`` and imported amounts) are not checked; imported past calls
    priced by the price book are, as span rows are.
    """
    book = price_book or load_price_book()
    le = ledger_entries
    is_token = le.c.category.in_(TOKEN_CATEGORIES) | le.c.quantity.is_(None)
    token_flag = sa.case((is_token, 1), else_=0)
    unit = sa.case((is_token, None), else_=le.c.unit)
    unpriced = sa.case((le.c.cost_nanos.is_(None), 1), else_=0)
    flagged = sa.case((le.c.cost_nanos.is_(None) & le.c.flags.is_not(None), 1), else_=0)
    query = (
        sa.select(
            le.c.provider,
            le.c.model,
            le.c.category,
            token_flag.label("tokens"),
            unit.label("unit"),
            le.c.service_tier,
            le.c.batch,
            sa.func.count().label("rows"),
            sa.func.sum(unpriced).label("unpriced_rows"),
            sa.func.sum(flagged).label("flagged_rows"),
            sa.func.min(le.c.timestamp).label("first_seen"),
            sa.func.max(le.c.timestamp).label("last_seen"),
            sa.func.max(le.c.unpriced_reason).label("stored_reason"),
        )
        .where(priced_by_price_book())
        .group_by(
            le.c.provider,
            le.c.model,
            le.c.category,
            token_flag,
            unit,
            le.c.service_tier,
            le.c.batch,
        )
    )
    ledger = engine if engine is not None else database_url
    with open_ledger(ledger, create=False) as opened, opened.connect() as conn:
        groups = conn.execute(query).all()
    merged: dict[tuple[Any, ...], Record] = {}
    for g in groups:
        last_seen = g.last_seen if g.last_seen.tzinfo else g.last_seen.replace(tzinfo=UTC)
        if g.tokens:
            now = book.price_tokens(
                g.provider,
                g.model,
                TokenUsage(input_tokens=1, output_tokens=1),
                last_seen,
                service_tier=g.service_tier,
                batch=bool(g.batch),
            )
        else:
            now = book.price_quantity(g.category, g.unit, Decimal(1), last_seen, item=g.model)
        unpriced_rows = int(g.unpriced_rows or 0)
        flagged_rows = int(g.flagged_rows or 0)
        if unpriced_rows == 0 and now.cost_nanos is not None:
            continue
        key = (g.provider, g.model, g.category, g.unit)
        record = merged.get(key)
        if record is None:
            record = merged[key] = {
                "provider": g.provider,
                "model": g.model,
                "category": g.category,
                "unit": g.unit,
                "rows": 0,
                "unpriced_rows": 0,
                "flagged_rows": 0,
                "first_seen": g.first_seen,
                "last_seen": g.last_seen,
                "status": "",
                "reason": None,
                "fix": None,
                "fix_is_entry": False,  # fix is a price-file entry (else an action to take)
                "tokens": bool(g.tokens),
            }
        record["rows"] += int(g.rows)
        record["unpriced_rows"] += unpriced_rows
        record["flagged_rows"] += flagged_rows
        record["first_seen"] = min(record["first_seen"], g.first_seen)
        record["last_seen"] = max(record["last_seen"], g.last_seen)
        if flagged_rows and flagged_rows == unpriced_rows and now.cost_nanos is not None:
            status, reason = "flagged", g.stored_reason
        elif unpriced_rows and now.cost_nanos is not None:
            status, reason = "repriceable", f"now priced by {now.rule}; run costledger reprice"
        elif unpriced_rows:
            status, reason = "unpriced", now.unpriced_reason
        else:
            status, reason = "no price now", now.unpriced_reason
        if not record["status"] or status in ("unpriced", "no price now"):
            record["status"], record["reason"] = status, reason
    for record in merged.values():
        record["fix"], record["fix_is_entry"] = _fix(record, book)
        for seen in ("first_seen", "last_seen"):  # naive UTC on SQLite, aware on PostgreSQL
            moment = record[seen]
            record[seen] = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment
    return sorted(
        merged.values(),
        key=lambda r: (-r["unpriced_rows"], str(r["provider"]), str(r["model"])),
    )


def _glob_literal(text: str) -> str:
    """``text`` as a price-file glob that matches only itself (``*``, ``?``, ``[`` escaped)."""
    return "".join(f"[{c}]" if c in "*?[" else c for c in text)


def price_file_entry(
    section: str, fields: list[tuple[str, str, str | None]], *, yaml: bool = False
) -> str:
    """One price-file entry as text: ``[[section]]`` (TOML) or a ``section:`` list item (YAML).

    ``fields`` are (key, value, comment); values are written as double-quoted strings, which
    TOML and YAML read alike (JSON string escapes are valid in both).
    """
    lines = [f"{section}:" if yaml else f"[[{section}]]"]
    for index, (key, value, comment) in enumerate(fields):
        prefix = ("  - " if index == 0 else "    ") if yaml else ""
        line = f"{prefix}{key}{':' if yaml else ' ='} {json.dumps(value, ensure_ascii=False)}"
        lines.append(f"{line}  # {comment}" if comment else line)
    return "\n".join(lines)


def _fix(record: Record, book: PriceBook) -> tuple[str, bool]:
    """What to do about one gap of :func:`check_prices` (see its docstring)."""
    status = record["status"]
    if status == "flagged":
        return (
            "fix the producer: these rows' token counts or quantities cannot be true (see their"
            " flags column); they are never priced",
            False,
        )
    if status == "repriceable":
        prices = f" --prices {book.price_file}" if book.price_file else ""
        return f"run: costledger reprice --unpriced{prices}", False
    yaml = (book.price_file or "").lower().endswith((".yaml", ".yml"))
    if record["tokens"]:
        if not record["model"]:
            return "the spans name no model (gen_ai.request.model / gen_ai.response.model)", False
        fields: list[tuple[str, str, str | None]] = []
        if record["provider"]:
            fields.append(("provider", _glob_literal(record["provider"]), None))
        fields += [
            ("model", _glob_literal(record["model"]), None),
            ("input", "?", "USD per million input tokens"),
            ("output", "?", "USD per million output tokens"),
        ]
        return price_file_entry("model", fields, yaml=yaml), True
    if not record["unit"]:
        return "the record_cost events name no unit: pass unit= to record_cost", False
    fields = [("category", _glob_literal(record["category"]), None)]
    if record["model"]:
        fields.append(("item", _glob_literal(record["model"]), None))
    fields += [("unit", record["unit"], None), ("price", "?", f"USD per {record['unit']}")]
    return price_file_entry("unit_price", fields, yaml=yaml), True

"""Price ledger rows again with the current prices, and record every change: :func:`reprice`.

When to use it: a model was unpriced (new model, self-hosted, not yet in genai-prices) and you
added it to your price file; you negotiated a rate that applies from a past date; genai-prices
was upgraded with a corrected price. ``costledger reprice`` selects rows (by ``period``,
``model`` glob, ``provider``, and/or only the ``unpriced`` ones), prices each again from its
stored token counts (or quantity and unit) at ITS OWN timestamp with the current
:class:`~opentelemetry.instrumentation.costledger.pricing.PriceBook`, and for every row whose
cost, price rule, unpriced reason or currency changes:

- updates ``ledger_entries.cost_nanos / price_rule / unpriced_reason / currency``, and
- inserts one ``ledger_repricings`` row (entry id, when, old and new cost and rule, and
  ``reason``: which reprice it was, e.g. ``"costledger reprice --unpriced (prices.toml)"``),

in the same transaction, one transaction per batch of rows (keyset pagination on ``id``; SQL
``executemany`` updates and inserts, no per-row round trips through an ORM). Repricing is
idempotent: a row whose price does not change is not touched and records nothing, so running it
twice with the same prices changes nothing the second time.

Rows that are never repriced (counted in ``skipped``): rows neither made from spans nor
imported past calls (allocations and adjustments carry their own amounts), cost events that
carried an explicit amount
(``price_rule`` = :data:`.rows.EXPLICIT_AMOUNT_RULE`; see
:func:`priced_by_price_book`), and flagged rows (their token counts or quantities
are not trustworthy: see ``flags``).

``model`` is an exact model id or a glob with ``*`` and ``?``; both match case-sensitively, as
model ids are, on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from opentelemetry.instrumentation.costledger.pricing import PriceBook, PricedCost
from opentelemetry.instrumentation.costledger.usage import TokenUsage

from ..errors import InputError
from ..price_book import load_price_book
from . import db
from .open import open_ledger
from .rows import EXPLICIT_AMOUNT_RULE, PRODUCER_RULE_PREFIX
from .schema import ledger_entries, ledger_repricings

DEFAULT_BATCH_SIZE = 2000
# Widths of the text columns: convert.py clips to them the same way, so an unchanged price
# compares equal to what is stored (otherwise a long rule would be "changed" every time).
_RULE_WIDTH = getattr(ledger_entries.c.price_rule.type, "length", None) or 400
_REASON_WIDTH = getattr(ledger_entries.c.unpriced_reason.type, "length", None) or 400


# Categories priced per token (others: per quantity and unit).
TOKEN_CATEGORIES = ("api", "embedding")


def priced_by_price_book() -> sa.ColumnElement[bool]:
    """Rows whose cost comes from the price book: rows made from spans and imported past calls
    (``costledger import calls``, source ``import``), except cost events that carried their own
    amount (``price_rule`` = :data:`.rows.EXPLICIT_AMOUNT_RULE`).

    Only these can be unpriced gaps (``costledger prices check``) or priced again (``reprice``).
    """
    le = ledger_entries
    return sa.and_(
        le.c.source.in_(("span", "import")),
        sa.or_(le.c.price_rule.is_(None), le.c.price_rule != EXPLICIT_AMOUNT_RULE),
    )


@dataclass(frozen=True, slots=True)
class RepriceChange:
    entry_id: int
    timestamp: datetime
    provider: str | None
    model: str | None  # the item for non-token cost events
    category: str
    old_cost_nanos: int | None
    new_cost_nanos: int | None
    old_rule: str | None
    new_rule: str | None
    new_unpriced_reason: str | None


@dataclass(slots=True)
class RepriceResult:
    """What a reprice did (or, with ``dry_run``, would do)."""

    examined: int = 0
    changed: int = 0  # rows updated, one ledger_repricings row each
    newly_priced: int = 0  # unpriced before, priced now
    lost_price: int = 0  # priced before, unpriced now (a rule was removed?)
    still_unpriced: int = 0
    skipped: int = 0  # selected by the filters but never repriced (see module docs)
    old_total_nanos: int = 0  # over changed rows priced before
    new_total_nanos: int = 0  # over changed rows priced after
    dry_run: bool = False
    reason: str = ""
    changes: list[RepriceChange] = field(default_factory=list)  # the first ``keep`` changes

    @property
    def delta_nanos(self) -> int:
        return self.new_total_nanos - self.old_total_nanos


def _clip(text: str | None, width: int) -> str | None:
    if text is None or len(text) <= width:
        return text
    return text[: width - 1] + "…"


def _glob_to_like(pattern: str) -> str:
    escaped = pattern.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped.replace("*", "%").replace("?", "_")


def _glob_to_sqlite_glob(pattern: str) -> str:
    # SQLite GLOB shares * and ?; a literal "[" is written as the class "[[]".
    return pattern.replace("[", "[[]")


def model_glob(pattern: str, dialect: str) -> Any:
    """``model`` matches the glob ``pattern`` (``*``, ``?``; anything else literal), with case.

    Model ids are case-sensitive, and so is the match on every database: PostgreSQL's LIKE is,
    but SQLite's LIKE ignores ASCII case, so SQLite uses its case-sensitive GLOB.
    """
    column = ledger_entries.c.model
    if dialect == "sqlite":
        return column.op("GLOB")(_glob_to_sqlite_glob(pattern))
    return column.like(_glob_to_like(pattern), escape="\\")


def _filters(
    period: str | None, model: str | None, provider: str | None, unpriced: bool, dialect: str
) -> list[Any]:
    le = ledger_entries
    where: list[Any] = []
    if period:
        from ..periods import parse_period

        start, end = parse_period(period, "UTC").utc_range()
        where += [le.c.timestamp >= start, le.c.timestamp < end]
    if model:
        if any(c in model for c in "*?"):
            where.append(model_glob(model, dialect))
        else:
            where.append(le.c.model == model)
    if provider:
        where.append(le.c.provider == provider)
    if unpriced:
        where.append(le.c.cost_nanos.is_(None))
    return where


def _repriceable() -> Any:
    return sa.and_(priced_by_price_book(), ledger_entries.c.flags.is_(None))


def price_row(book: PriceBook, row: Any) -> PricedCost:
    """Price one ``ledger_entries`` row (a Row or any object with its column attributes)."""
    at = row.timestamp if row.timestamp.tzinfo else row.timestamp.replace(tzinfo=UTC)
    if row.category not in TOKEN_CATEGORIES and row.quantity is not None:
        return book.price_quantity(
            row.category, row.unit, Decimal(row.quantity), at, item=row.model
        )
    usage = TokenUsage(
        input_tokens=row.input_tokens,
        output_tokens=row.output_tokens,
        cache_read_tokens=row.cache_read_tokens,
        cache_write_5m_tokens=row.cache_write_5m_tokens,
        cache_write_1h_tokens=row.cache_write_1h_tokens,
        reasoning_tokens=row.reasoning_tokens,
    )
    return book.price_tokens(
        row.provider, row.model, usage, at, service_tier=row.service_tier, batch=bool(row.batch)
    )


def reprice(
    database_url: str | None = None,
    *,
    engine: sa.Engine | None = None,
    period: str | None = None,
    model: str | None = None,
    provider: str | None = None,
    unpriced: bool = False,
    price_book: PriceBook | None = None,
    price_file: str | None = None,
    dry_run: bool = False,
    batch_size: int = DEFAULT_BATCH_SIZE,
    reason: str | None = None,
    keep: int = 20,
) -> RepriceResult:
    """Reprice the selected rows; see the module docstring. At least one filter is required.

    ``price_book`` (else one from ``price_file``, else ``COSTLEDGER_PRICES``) supplies the
    prices; ``reason`` is stored in ``ledger_repricings.reason`` (default: the filters used).
    """
    if not (period or model or provider or unpriced):
        raise InputError(
            "say which rows to reprice: --period (e.g. 2025-06), --model (glob), --provider,"
            " and/or --unpriced"
        )
    if batch_size < 1:
        raise InputError("batch size must be at least 1")
    book = price_book or load_price_book(price_file)
    if reason is None:
        parts = [
            f"--period {period}" if period else "",
            f"--provider {provider}" if provider else "",
            f"--model {model}" if model else "",
            "--unpriced" if unpriced else "",
        ]
        where = f" ({book.price_file})" if book.price_file else ""
        reason = "costledger reprice " + " ".join(p for p in parts if p) + where
    result = RepriceResult(dry_run=dry_run, reason=_clip(reason, 400) or "")
    if engine is not None:
        dialect = engine.dialect.name
    else:
        dialect = sa.make_url(db.resolve_database_url(database_url)).get_backend_name()
    filters = _filters(period, model, provider, unpriced, dialect)
    with open_ledger(engine if engine is not None else database_url, create=False) as opened:
        _run(opened, book, filters, result, batch_size, keep)
    return result


def _run(
    engine: sa.Engine,
    book: PriceBook,
    filters: list[Any],
    result: RepriceResult,
    batch_size: int,
    keep: int,
) -> None:
    le = ledger_entries
    columns = [
        le.c.id,
        le.c.timestamp,
        le.c.provider,
        le.c.model,
        le.c.category,
        le.c.input_tokens,
        le.c.output_tokens,
        le.c.cache_read_tokens,
        le.c.cache_write_5m_tokens,
        le.c.cache_write_1h_tokens,
        le.c.reasoning_tokens,
        le.c.quantity,
        le.c.unit,
        le.c.service_tier,
        le.c.batch,
        le.c.cost_nanos,
        le.c.price_rule,
        le.c.unpriced_reason,
        le.c.currency,
    ]
    with engine.connect() as conn:
        result.skipped = int(
            conn.execute(
                sa.select(sa.func.count()).select_from(le).where(*filters, ~_repriceable())
            ).scalar_one()
        )
    update = (
        le.update()
        .where(le.c.id == sa.bindparam("b_id"))
        .values(
            cost_nanos=sa.bindparam("b_cost"),
            price_rule=sa.bindparam("b_rule"),
            unpriced_reason=sa.bindparam("b_reason"),
            currency=sa.bindparam("b_currency"),
        )
    )
    last_id = 0
    while True:
        with engine.begin() as conn:
            rows = conn.execute(
                sa.select(*columns)
                .where(*filters, _repriceable(), le.c.id > last_id)
                .order_by(le.c.id)
                .limit(batch_size)
            ).all()
            if not rows:
                return
            last_id = rows[-1].id
            now = datetime.now(UTC)
            updates, history = _changes(book, rows, result, now, keep)
            if updates and not result.dry_run:
                conn.execute(update, updates)
                conn.execute(ledger_repricings.insert(), history)


def _changes(
    book: PriceBook, rows: Sequence[Any], result: RepriceResult, now: datetime, keep: int
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    updates: list[dict[str, Any]] = []
    history: list[dict[str, Any]] = []
    for row in rows:
        result.examined += 1
        priced = price_row(book, row)
        if (
            priced.cost_nanos is None
            and row.cost_nanos is not None
            and (row.price_rule or "").startswith(PRODUCER_RULE_PREFIX)
        ):
            continue  # still no price of ours: the producer's own cost stays
        rule = _clip(priced.rule, _RULE_WIDTH)
        why = _clip(priced.unpriced_reason, _REASON_WIDTH) if priced.cost_nanos is None else None
        if (priced.cost_nanos, rule, why, priced.currency) == (
            row.cost_nanos,
            row.price_rule,
            row.unpriced_reason,
            row.currency,
        ):
            if priced.cost_nanos is None:
                result.still_unpriced += 1
            continue
        result.changed += 1
        if row.cost_nanos is None and priced.cost_nanos is not None:
            result.newly_priced += 1
        elif row.cost_nanos is not None and priced.cost_nanos is None:
            result.lost_price += 1
        elif priced.cost_nanos is None:
            result.still_unpriced += 1
        result.old_total_nanos += row.cost_nanos or 0
        result.new_total_nanos += priced.cost_nanos or 0
        if len(result.changes) < keep:
            result.changes.append(
                RepriceChange(
                    row.id,
                    row.timestamp,
                    row.provider,
                    row.model,
                    row.category,
                    row.cost_nanos,
                    priced.cost_nanos,
                    row.price_rule,
                    rule,
                    why,
                )
            )
        updates.append(
            {
                "b_id": row.id,
                "b_cost": priced.cost_nanos,
                "b_rule": rule,
                "b_reason": why,
                "b_currency": priced.currency,
            }
        )
        history.append(
            {
                "entry_id": row.id,
                "repriced_at": now,
                "old_cost_nanos": row.cost_nanos,
                "new_cost_nanos": priced.cost_nanos,
                "old_price_rule": row.price_rule,
                "new_price_rule": rule,
                "reason": result.reason,
            }
        )
    return updates, history

"""Looking at the ledger without SQL: :func:`ledger_rows` (the API of ``costledger ledger``).

Filters combine with AND; every one is optional:

* ``customer`` / ``work_item`` / ``workspace`` / ``user`` / ``category`` / ``provider`` /
  ``service``: exact match;
* ``model``: exact, or a glob with ``*`` (``claude-sonnet-4-5*`` also matches the dated
  snapshots);
* ``period`` (``2025-05``, ``2025-W19``, ``2025-05-02``, ``last-month``, ... as every job reads
  it, cut in ``time_zone``) or ``since`` (inclusive) / ``until`` (exclusive): a date
  (``2025-05-02``, midnight UTC) or an ISO datetime (no offset = UTC);
* ``unpriced`` / ``flagged``: only rows without a price / with input problems.

Rows come newest first, at most ``limit`` of them; the :class:`LedgerPage` also says how many
rows match in all and their exact total cost (unpriced rows add nothing and are counted apart).
Money is exact: ``cost_usd`` is ``cost_nanos / 10**9`` as a :class:`~decimal.Decimal`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from ..errors import InputError
from .customers import check_customer
from .open import open_ledger
from .schema import NANOS_PER_USD, ROW_COLUMNS, ledger_entries


def _display_order() -> tuple[str, ...]:
    """The row's columns (:data:`.schema.ROW_COLUMNS`) as a page shows them: the category
    beside the operation it classifies, ``cost_usd`` in place of ``cost_nanos``, the key last."""
    order: list[str] = []
    for name in ROW_COLUMNS:
        if name in ("idempotency_key", "category"):
            continue
        order.append("cost_usd" if name == "cost_nanos" else name)
        if name == "operation":
            order.append("category")
    return (*order, "idempotency_key")


RECORD_COLUMNS = _display_order()
"""The columns of a record, in display order."""


@dataclass
class LedgerPage:
    records: list[dict[str, Any]]  # newest first, at most ``limit``
    matching: int  # rows matching the filters
    total_cost_usd: Decimal  # exact sum of the priced matching rows
    unpriced: int  # matching rows without a price


def ledger_rows(
    database_url: str | None = None,
    *,
    customer: str | None = None,
    work_item: str | None = None,
    workspace: str | None = None,
    user: str | None = None,
    model: str | None = None,
    provider: str | None = None,
    category: str | None = None,
    service: str | None = None,
    period: str | None = None,
    since: str | datetime | None = None,
    until: str | datetime | None = None,
    time_zone: str | None = None,
    unpriced: bool = False,
    flagged: bool = False,
    limit: int | None = 50,
) -> LedgerPage:
    """The ledger rows matching the filters (see the module docstring)."""
    if limit is not None and limit < 0:
        raise InputError(f"--limit must be 0 or more, not {limit}")
    table = ledger_entries
    conditions: list[Any] = []
    for column, value in (
        (table.c.customer_id, customer),
        (table.c.work_item_id, work_item),
        (table.c.workspace_id, workspace),
        (table.c.user_id, user),
        (table.c.provider, provider),
        (table.c.category, category),
        (table.c.service, service),
    ):
        if value is not None:
            conditions.append(column == value)
    if model is not None:
        if "*" in model:
            pattern = model.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            conditions.append(table.c.model.like(pattern.replace("*", "%"), escape="\\"))
        else:
            conditions.append(table.c.model == model)
    start, end = _time_range(period, since, until, time_zone)
    if start is not None:
        conditions.append(table.c.timestamp >= start)
    if end is not None:
        conditions.append(table.c.timestamp < end)
    if unpriced:
        conditions.append(table.c.cost_nanos.is_(None))
    if flagged:
        conditions.append(table.c.flags.is_not(None))
    where = sa.and_(sa.true(), *conditions)

    with open_ledger(database_url, create=False) as engine, engine.connect() as conn:
        query = (
            sa.select(*(table.c[name] for name in ROW_COLUMNS))
            .where(where)
            .order_by(table.c.timestamp.desc(), table.c.id.desc())
        )
        if limit is not None:
            query = query.limit(limit)
        records = [_record(row) for row in conn.execute(query).mappings()]
        matching, total, unpriced_count = conn.execute(
            sa.select(
                sa.func.count(),
                sa.func.coalesce(sa.func.sum(table.c.cost_nanos), 0),
                sa.func.count() - sa.func.count(table.c.cost_nanos),
            ).where(where)
        ).one()
        if customer is not None and not matching:  # a typo, or a customer without such rows?
            from ..periods import parse_period

            label = parse_period(period, time_zone).label if period else None
            check_customer(conn, customer, start=start, end=end, period=label)
    return LedgerPage(
        records=records,
        matching=int(matching),
        total_cost_usd=Decimal(int(total)) / NANOS_PER_USD,
        unpriced=int(unpriced_count),
    )


def _record(row: Any) -> dict[str, Any]:
    record = dict(row)
    ts = record["timestamp"]
    if isinstance(ts, datetime) and ts.tzinfo is None:
        record["timestamp"] = ts.replace(tzinfo=UTC)
    nanos = record.pop("cost_nanos")
    record["cost_usd"] = None if nanos is None else Decimal(nanos) / NANOS_PER_USD
    quantity = record["quantity"]
    if quantity is not None and not isinstance(quantity, Decimal):
        record["quantity"] = Decimal(str(quantity))
    return {name: record.get(name) for name in RECORD_COLUMNS}


def _time_range(
    period: str | None,
    since: str | datetime | None,
    until: str | datetime | None,
    time_zone: str | None,
) -> tuple[datetime | None, datetime | None]:
    if period is not None:
        if since is not None or until is not None:
            raise InputError("give either --period or --since/--until, not both")
        from ..periods import parse_period

        return parse_period(period, time_zone).utc_range()
    start = _instant(since, "--since")
    end = _instant(until, "--until")
    if start is not None and end is not None and end <= start:
        raise InputError(f"--until ({end.isoformat()}) must be after --since ({start.isoformat()})")
    return start, end


def _instant(value: str | datetime | None, flag: str) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        moment = value
    else:
        text = value.strip()
        try:
            if len(text) == 10:
                day = date.fromisoformat(text)
                moment = datetime(day.year, day.month, day.day)
            else:
                moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError as exc:
            raise InputError(
                f"{flag} {value!r} is not a date or time: write 2025-05-02 or"
                " 2025-05-02T10:15:00 (UTC unless it has an offset such as +02:00)"
            ) from exc
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)

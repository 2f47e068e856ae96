"""The report in another currency (``costledger report --currency EUR``).

:func:`convert_report` turns the USD figures :func:`.data.collect_report` gathered into the same
:class:`.data.ReportData` in the currency — integer nano-units of it where the USD report has
nano-dollars — so the page and the terminal tables render it unchanged but for the symbol:

- ledger sums (per day, per customer and day, per customer, category and work item): the same
  groups summed again by UTC date, each day converted at its rate
  (:func:`..jobs.converted.converted_sums`), then added;
- amounts of a whole period — allocated bills spread over their billing period, revenue and
  margin of the ranking, the amounts of alerts about a period — spread evenly over the period's
  days, each day at its rate (:meth:`..currency.Rates.spread`); profitability is recomputed as
  margin − AI cost in the currency.

The AI Cost Iceberg and the AI Workforce P&L are measured again in the currency
(:func:`..jobs.iceberg.iceberg_on`, :func:`..jobs.agents.agents_on`).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import sqlalchemy as sa

from .. import periods
from ..currency import Rates
from ..jobs.agents import agents_on
from ..jobs.alerts import Alert
from ..jobs.converted import converted_sums, in_range
from ..jobs.iceberg import iceberg_on
from ..ledger.schema import ledger_entries
from .amortize import Spread, spread_rows
from .data import LLM_CATEGORIES, OTHER, UNATTRIBUTED, ReportData, customer_key


def convert_report(engine: sa.Engine, data: ReportData, rates: Rates) -> ReportData:
    """``data`` (USD) with its money in ``rates.currency`` (module doc)."""
    if rates.is_identity:
        return data
    period = data.period
    le = ledger_entries
    start, end = period.utc_range()
    in_period = in_range(start, end)
    dialect = engine.dialect.name
    day = periods.bucket_expression(
        le.c.timestamp, "day", period.time_zone, dialect, span=(start, end)
    )
    spread = spread_rows()
    index = {d: i for i, d in enumerate(data.days)}
    amortized = [_spread(s, rates) for s in data.amortized]
    with engine.connect() as conn:

        def sums(keys: list[Any], where: Any) -> dict[tuple[Any, ...], int]:
            return converted_sums(conn, rates, keys, where)

        daily = [0] * len(data.days)
        for (bucket,), nanos in sums([day], in_period & ~spread).items():
            daily[index[periods.as_date(bucket)]] += nanos
        series = {name: [0] * len(data.days) for name in data.customer_series}
        by_day = [
            (periods.as_date(bucket), customer, nanos)
            for (bucket, customer), nanos in sums(
                [day, le.c.customer_id], in_period & ~spread
            ).items()
        ]
        by_day += [(d, s.customer_id, n) for s in amortized for d, n in s.per_day().items()]
        for on, customer, nanos in by_day:
            name = customer_key(customer)
            key = name if name in series and name != OTHER else OTHER
            if on in index and key in series:
                series[key][index[on]] += nanos
        for item in amortized:
            for on, nanos in item.per_day().items():
                if on in index:
                    daily[index[on]] += nanos
        allocated = {
            periods.as_date(bucket): nanos
            for (bucket,), nanos in sums(
                [day], in_period & (le.c.source == "allocation") & ~spread
            ).items()
            if nanos
        }
        is_api = le.c.category.in_(LLM_CATEGORIES)
        customer_costs: dict[str, list[int]] = {}
        for (customer, api), nanos in sums([le.c.customer_id, is_api], in_period).items():
            costs = customer_costs.setdefault(customer_key(customer), [0, 0])
            costs[0] += nanos
            costs[1] += nanos if api else 0
        categories = sums([le.c.category], in_period)
        iceberg = iceberg_on(conn, period, rates=rates)
        agents = agents_on(conn, period, rates=rates)
        items = sums(
            [le.c.customer_id, le.c.work_item_id],
            in_period & le.c.work_item_id.in_([i["work_item_id"] for i in data.top_work_items]),
        )
    customers = [
        dataclasses.replace(
            c,
            cost_nanos=customer_costs.get(c.customer_id, [0, 0])[0],
            api_cost_nanos=customer_costs.get(c.customer_id, [0, 0])[1],
        )
        for c in data.customers
    ]
    ai_costs = {c.customer_id: c.cost_nanos for c in customers}
    return dataclasses.replace(
        data,
        daily_nanos=daily,
        customer_series=series,
        customers=customers,
        categories=[(c, categories.get((c,), 0), e) for c, _, e in data.categories],
        top_work_items=[
            {**i, "cost_nanos": items.get((_unkey(i["customer_id"]), i["work_item_id"]), 0)}
            for i in data.top_work_items
        ],
        ranking=[_pnl(r, ai_costs, rates, period) for r in data.ranking],
        unit_economics=[
            {**u, "ai_cost_nanos": ai_costs.get(u["customer_id"], 0)} for u in data.unit_economics
        ],
        alerts=[_alert(a, rates) for a in data.alerts],
        budgets=[_budget(b, rates) for b in data.budgets],
        amortized=amortized,
        allocated_by_day=dict(sorted(allocated.items())),
        iceberg=iceberg,
        agents=agents,
        currency=rates.currency,
    )


def _unkey(customer: str) -> str | None:
    return None if customer == UNATTRIBUTED else customer


def _spread(item: Spread, rates: Rates) -> Spread:
    return dataclasses.replace(item, nanos=rates.spread(item.nanos, item.first, item.last))


def _pnl(
    row: dict[str, Any], ai_costs: dict[str, int], rates: Rates, period: periods.Period
) -> dict[str, Any]:
    ai_cost = ai_costs.get(row["customer_id"], 0)
    margin = rates.spread_period(row.get("margin_nanos"), period.start, period.end)
    return {
        **row,
        "ai_cost_nanos": ai_cost,
        "revenue_nanos": rates.spread_period(row.get("revenue_nanos"), period.start, period.end),
        "margin_nanos": margin,
        "profitability_nanos": None if margin is None else margin - ai_cost,
    }


def _alert(alert: dict[str, Any], rates: Rates) -> dict[str, Any]:
    start, end = periods.as_date(alert["period_start"]), periods.as_date(alert["period_end"])
    return {
        **alert,
        **{key: rates.spread_period(alert.get(key), start, end) for key in Alert.MONEY},
    }


def _budget(budget: dict[str, Any], rates: Rates) -> dict[str, Any]:
    """A budget's amounts belong to its period as a whole, as an alert's do."""
    start, end = budget["period_start"], budget["period_end"]
    money = ("spent_nanos", "amount_nanos", "forecast_nanos", "hard_limit_nanos")
    return {**budget, **{key: rates.spread_period(budget.get(key), start, end) for key in money}}

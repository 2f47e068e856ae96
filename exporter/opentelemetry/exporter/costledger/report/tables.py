"""The report's sections as records for the terminal (``costledger report --show ...``).

Each section is a list of records plus the :class:`~..output.Column` list that
:func:`..output.render` needs, so ``--format table|csv|json`` behaves as in every other
reporting command: aligned money and coloured flags for people, exact decimal strings for
machines. Field names are the ledger's and the result tables' (``cost_nanos``,
``ai_cost_nanos``, ...): money in integer nano-dollars, and csv/json add the exact dollars
``X_usd`` beside each ``X_nanos``; ``cost_per_work_item`` is exact dollars, as in
``unit_economics``.
"""

from __future__ import annotations

from typing import Any

from opentelemetry.instrumentation.costledger.money import UNIT_COST_PLACES, ratio, to_dollars

from ..columns import Column
from .budgets import COLUMNS as BUDGET_COLUMNS
from .data import ReportData, category_label

SECTIONS = (
    "customers",
    "daily",
    "categories",
    "work-items",
    "ranking",
    "budgets",
    "alerts",
    "unpriced",
)


def section(data: ReportData, name: str) -> tuple[list[dict[str, Any]], list[Column], str]:
    """``(records, columns, title)`` of one section of the report."""
    total = data.total_nanos
    label = data.period.label
    if name == "customers":
        return (
            [
                {
                    "customer_id": c.customer_id,
                    "customer_name": c.customer_name,
                    "cost_nanos": c.cost_nanos,
                    "api_cost_nanos": c.api_cost_nanos,
                    "calls": c.calls,
                    "work_items": c.work_items,
                    "cost_per_work_item": to_dollars(c.cost_per_work_item_nanos),
                    "share": ratio(c.cost_nanos, total),
                    "unpriced_entries": c.unpriced,
                }
                for c in data.customers
            ],
            [
                Column("customer_id", "Customer"),
                Column("customer_name", "Name"),
                Column("cost_nanos", "AI cost", "money"),
                Column("api_cost_nanos", "API + embeddings", "money"),
                Column("calls", "LLM calls", "int"),
                Column("work_items", "Work items", "int"),
                Column("cost_per_work_item", "Per work item", "money", UNIT_COST_PLACES),
                Column("share", "Share", "pct"),
                Column("unpriced_entries", "Unpriced", "int"),
            ],
            f"AI cost per customer, {label}",
        )
    if name == "daily":
        return (
            [
                {"day": d, "cost_nanos": n, "calls": c}
                for d, n, c in zip(data.days, data.daily_nanos, data.daily_calls, strict=True)
            ],
            [
                Column("day", "Day", "date"),
                Column("cost_nanos", "AI cost", "money"),
                Column("calls", "LLM calls", "int"),
            ],
            f"Total AI cost per day, {label}",
        )
    if name == "categories":
        return (
            [
                {
                    "category": c,
                    "label": category_label(c),
                    "cost_nanos": n,
                    "entries": e,
                    "share": ratio(n, total),
                }
                for c, n, e in data.categories
            ],
            [
                Column("label", "Category"),
                Column("category", "Ledger category"),
                Column("cost_nanos", "Cost", "money"),
                Column("entries", "Entries", "int"),
                Column("share", "Share", "pct"),
            ],
            f"AI cost by category, {label}",
        )
    if name == "work-items":
        return (
            [
                {
                    "customer_id": i["customer_id"],
                    "work_item_id": i["work_item_id"],
                    "cost_nanos": i["cost_nanos"],
                    "entries": i["entries"],
                }
                for i in data.top_work_items
            ],
            [
                Column("customer_id", "Customer"),
                Column("work_item_id", "Work item"),
                Column("cost_nanos", "Cost", "money"),
                Column("entries", "Entries", "int"),
            ],
            f"Most expensive work items, {label}",
        )
    if name == "ranking":
        return (
            [
                {
                    "rank": r["rank"],
                    "customer_id": r["customer_id"],
                    "revenue_nanos": r.get("revenue_nanos"),
                    "ai_cost_nanos": r["ai_cost_nanos"],
                    "margin_nanos": r.get("margin_nanos"),
                    "profitability_nanos": r.get("profitability_nanos"),
                    "profitability_pct": r.get("profitability_pct"),
                    "flags": r.get("flags"),
                    "action": r.get("action"),
                }
                for r in data.ranking
            ],
            [
                Column("rank", "Rank", "int"),
                Column("customer_id", "Customer"),
                Column("revenue_nanos", "Revenue", "money"),
                Column("ai_cost_nanos", "AI cost", "money"),
                Column("margin_nanos", "Margin", "money"),
                Column("profitability_nanos", "Profitability", "money"),
                Column("profitability_pct", "%", "pct"),
                Column("flags", "Flags", "flags"),
                Column("action", "Suggested action"),
            ],
            f"Profitability ranking, {label}",
        )
    if name == "budgets":
        return data.budgets, BUDGET_COLUMNS, f"Budgets, {label}"
    if name == "alerts":
        return (
            [
                {
                    "kind": a["kind"],
                    "customer_id": a.get("customer_id"),
                    "period": a.get("period"),
                    "amount_nanos": a.get("amount_nanos"),
                    "reference_nanos": a.get("reference_nanos"),
                    "message": a["message"],
                }
                for a in data.alerts
            ],
            [
                Column("kind", "Kind", "flags"),
                Column("customer_id", "Customer"),
                Column("period", "Period"),
                Column("amount_nanos", "Amount", "money"),
                Column("reference_nanos", "Baseline / budget", "money"),
                Column("message", "Message"),
            ],
            f"Alerts, {label}",
        )
    if name == "unpriced":
        return (
            [
                {
                    "provider": u["provider"],
                    "model": u["model"],
                    "calls": u["calls"],
                    "first_seen": u["first_seen"],
                    "last_seen": u["last_seen"],
                    "reason": u["reason"],
                }
                for u in data.unpriced
            ],
            [
                Column("provider", "Provider"),
                Column("model", "Model"),
                Column("calls", "Calls", "int"),
                Column("first_seen", "First seen", "date"),
                Column("last_seen", "Last seen", "date"),
                Column("reason", "Reason"),
            ],
            f"Unpriced models, {label}",
        )
    raise ValueError(f"unknown section {name!r}")

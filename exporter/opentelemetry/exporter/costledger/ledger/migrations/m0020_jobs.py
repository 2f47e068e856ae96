"""The jobs' tables: aggregates, usage and business imports, allocations, unit economics,
profitability, alerts, provider costs and reconciliation, job runs.

Each table is documented (column by column) in the module of the job that writes it, under
``jobs/``; this migration only creates them, plus an index on ``ledger_entries.recorded_at``
that the incremental aggregate uses to find what changed since its last run.
Money is integer nano-dollars (``*_nanos``); ratios are exact NUMERIC.
"""

from __future__ import annotations

import sqlalchemy as sa

_md = sa.MetaData()
_ID = sa.BigInteger().with_variant(sa.Integer, "sqlite")
_RATIO = sa.Numeric(38, 12)
_QTY = sa.Numeric(38, 9)


def _ts(name: str, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


cost_aggregates = sa.Table(
    "cost_aggregates",
    _md,
    sa.Column("id", _ID, primary_key=True),
    sa.Column("granularity", sa.String(10), nullable=False),
    sa.Column("time_zone", sa.String(64), nullable=False),
    sa.Column("dimensions", sa.String(200), nullable=False),
    sa.Column("period_start", sa.Date, nullable=False),
    sa.Column("customer_id", sa.String(200)),
    sa.Column("workspace_id", sa.String(200)),
    sa.Column("work_item_id", sa.String(200)),
    sa.Column("provider", sa.String(100)),
    sa.Column("model", sa.String(200)),
    sa.Column("category", sa.String(50)),
    sa.Column("service", sa.String(200)),
    sa.Column("entries", sa.BigInteger, nullable=False),
    sa.Column("calls", sa.BigInteger, nullable=False),
    sa.Column("unpriced_entries", sa.BigInteger, nullable=False),
    sa.Column("cost_nanos", sa.BigInteger, nullable=False),
    sa.Column("input_tokens", sa.BigInteger, nullable=False),
    sa.Column("output_tokens", sa.BigInteger, nullable=False),
    sa.Column("uncached_input_tokens", sa.BigInteger, nullable=False),
    sa.Column("cache_read_tokens", sa.BigInteger, nullable=False),
    sa.Column("cache_write_5m_tokens", sa.BigInteger, nullable=False),
    sa.Column("cache_write_1h_tokens", sa.BigInteger, nullable=False),
    sa.Column("reasoning_tokens", sa.BigInteger, nullable=False),
    sa.Column("work_items", sa.BigInteger, nullable=False),
    sa.Index(
        "ix_cost_aggregates_config_period",
        "granularity",
        "time_zone",
        "dimensions",
        "period_start",
    ),
)

aggregate_state = sa.Table(
    "aggregate_state",
    _md,
    sa.Column("granularity", sa.String(10), primary_key=True),
    sa.Column("time_zone", sa.String(64), primary_key=True),
    sa.Column("dimensions", sa.String(200), primary_key=True),
    _ts("high_water_recorded_at", nullable=True),
    sa.Column("high_water_repricing_id", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("high_water_allocation_run_id", sa.BigInteger, nullable=False, server_default="0"),
    _ts("last_run_at"),
)

usage_records = sa.Table(
    "usage_records",
    _md,
    sa.Column("day", sa.Date, primary_key=True),
    sa.Column("customer_id", sa.String(200), primary_key=True),
    sa.Column("metric", sa.String(100), primary_key=True),
    sa.Column("quantity", _QTY, nullable=False),
    sa.Column("source", sa.String(400)),
    _ts("imported_at"),
)

allocation_runs = sa.Table(
    "allocation_runs",
    _md,
    sa.Column("id", _ID, primary_key=True),
    sa.Column("bill", sa.String(200), nullable=False),
    sa.Column("period", sa.String(40), nullable=False),
    _ts("period_start_utc"),
    _ts("period_end_utc"),
    sa.Column("category", sa.String(50), nullable=False),
    sa.Column("method", sa.String(20), nullable=False),
    sa.Column("driver", sa.String(120)),
    sa.Column("amount_nanos", sa.BigInteger, nullable=False),
    sa.Column("allocated_nanos", sa.BigInteger, nullable=False),
    sa.Column("unallocated_nanos", sa.BigInteger, nullable=False),
    _ts("run_at"),
    sa.Index("ix_allocation_runs_bill_period", "bill", "period"),
)

cost_allocations = sa.Table(
    "cost_allocations",
    _md,
    sa.Column("id", _ID, primary_key=True),
    sa.Column("run_id", sa.BigInteger, nullable=False),
    sa.Column("bill", sa.String(200), nullable=False),
    sa.Column("period", sa.String(40), nullable=False),
    sa.Column("category", sa.String(50), nullable=False),
    sa.Column("method", sa.String(20), nullable=False),
    sa.Column("driver", sa.String(120)),
    sa.Column("customer_id", sa.String(200)),
    sa.Column("driver_quantity", _QTY),
    sa.Column("driver_total", _QTY),
    sa.Column("share", _RATIO),
    sa.Column("amount_nanos", sa.BigInteger, nullable=False),
    sa.Column("unallocated", sa.Boolean, nullable=False),
    sa.Column("reason", sa.String(400)),
    sa.Column("ledger_key", sa.String(200), nullable=False),
    sa.Index("ix_cost_allocations_bill_period", "bill", "period"),
)

business_data = sa.Table(
    "business_data",
    _md,
    sa.Column("customer_id", sa.String(200), primary_key=True),
    sa.Column("period", sa.String(40), primary_key=True),
    sa.Column("revenue_nanos", sa.BigInteger, nullable=False),
    sa.Column("margin_nanos", sa.BigInteger),
    sa.Column("margin_pct", _RATIO),
    sa.Column("plan", sa.String(100)),
    sa.Column("work_items", sa.BigInteger),
    sa.Column("currency", sa.String(3), nullable=False, server_default="USD"),
    sa.Column("source", sa.String(400)),
    _ts("imported_at"),
)

unit_economics = sa.Table(
    "unit_economics",
    _md,
    sa.Column("period", sa.String(40), primary_key=True),
    sa.Column("time_zone", sa.String(64), primary_key=True),
    sa.Column("customer_id", sa.String(200), primary_key=True),
    sa.Column("period_start", sa.Date, nullable=False),
    sa.Column("period_end", sa.Date, nullable=False),
    sa.Column("plan", sa.String(100)),
    sa.Column("ai_cost_nanos", sa.BigInteger, nullable=False),
    sa.Column("api_cost_nanos", sa.BigInteger, nullable=False),
    sa.Column("other_cost_nanos", sa.BigInteger, nullable=False),
    sa.Column("unpriced_entries", sa.BigInteger, nullable=False),
    sa.Column("work_items", sa.BigInteger),
    sa.Column("work_items_source", sa.String(20)),
    sa.Column("cost_per_work_item", _QTY),
    sa.Column("revenue_nanos", sa.BigInteger),
    sa.Column("margin_nanos", sa.BigInteger),
    sa.Column("ai_share_of_revenue", _RATIO),
    sa.Column("ai_cost_to_margin", _RATIO),
    sa.Column("profitability_nanos", sa.BigInteger),
    _ts("computed_at"),
)

profitability = sa.Table(
    "profitability",
    _md,
    sa.Column("period", sa.String(40), primary_key=True),
    sa.Column("time_zone", sa.String(64), primary_key=True),
    sa.Column("customer_id", sa.String(200), primary_key=True),
    sa.Column("rank", sa.Integer, nullable=False),
    sa.Column("plan", sa.String(100)),
    sa.Column("revenue_nanos", sa.BigInteger),
    sa.Column("ai_cost_nanos", sa.BigInteger, nullable=False),
    sa.Column("margin_nanos", sa.BigInteger),
    sa.Column("profitability_nanos", sa.BigInteger),
    sa.Column("profitability_pct", _RATIO),
    sa.Column("ai_share_of_revenue", _RATIO),
    sa.Column("flags", sa.String(200)),
    sa.Column("action", sa.String(40)),
    sa.Column("reason", sa.String(600)),
    _ts("computed_at"),
)

alerts = sa.Table(
    "alerts",
    _md,
    sa.Column("id", _ID, primary_key=True),
    sa.Column("alert_key", sa.String(400), nullable=False, unique=True),
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("period", sa.String(40)),
    sa.Column("customer_id", sa.String(200)),
    sa.Column("provider", sa.String(100)),
    sa.Column("model", sa.String(200)),
    sa.Column("amount_nanos", sa.BigInteger),
    sa.Column("reference_nanos", sa.BigInteger),
    sa.Column("change", _RATIO),
    sa.Column("message", sa.String(1000), nullable=False),
    _ts("first_seen_at"),
)

alert_deliveries = sa.Table(
    "alert_deliveries",
    _md,
    sa.Column("alert_key", sa.String(400), primary_key=True),
    sa.Column("channel", sa.String(400), primary_key=True),
    _ts("delivered_at"),
)

provider_costs = sa.Table(
    "provider_costs",
    _md,
    sa.Column("id", _ID, primary_key=True),
    sa.Column("provider", sa.String(100), nullable=False),
    sa.Column("day", sa.Date, nullable=False),
    sa.Column("model", sa.String(200)),
    sa.Column("line_item", sa.String(400)),
    sa.Column("cost_nanos", sa.BigInteger),
    sa.Column("input_tokens", sa.BigInteger),
    sa.Column("output_tokens", sa.BigInteger),
    sa.Column("requests", sa.BigInteger),
    sa.Column("source_format", sa.String(40), nullable=False),
    sa.Column("source_file", sa.String(400)),
    _ts("imported_at"),
    sa.Index("ix_provider_costs_day", "provider", "day"),
)

reconciliation = sa.Table(
    "reconciliation",
    _md,
    sa.Column("id", _ID, primary_key=True),
    sa.Column("period", sa.String(40), nullable=False),
    sa.Column("provider", sa.String(100), nullable=False),
    sa.Column("day", sa.Date, nullable=False),
    sa.Column("model", sa.String(200)),
    sa.Column("ledger_cost_nanos", sa.BigInteger, nullable=False),
    sa.Column("provider_cost_nanos", sa.BigInteger),
    sa.Column("difference_nanos", sa.BigInteger),
    sa.Column("drift", _RATIO),
    sa.Column("ledger_tokens", sa.BigInteger, nullable=False),
    sa.Column("provider_tokens", sa.BigInteger),
    sa.Column("quantity_effect_nanos", sa.BigInteger),
    sa.Column("price_effect_nanos", sa.BigInteger),
    sa.Column("cause", sa.String(40)),
    sa.Column("flagged", sa.Boolean, nullable=False),
    _ts("computed_at"),
    sa.Index("ix_reconciliation_period", "period", "provider"),
)

job_runs = sa.Table(
    "job_runs",
    _md,
    sa.Column("id", _ID, primary_key=True),
    sa.Column("job", sa.String(40), nullable=False),
    _ts("started_at"),
    _ts("finished_at", nullable=True),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("detail", sa.String(2000)),
)


def upgrade(conn: sa.Connection) -> None:
    _md.create_all(conn)
    conn.execute(
        sa.text("CREATE INDEX ix_ledger_entries_recorded_at ON ledger_entries (recorded_at)")
    )

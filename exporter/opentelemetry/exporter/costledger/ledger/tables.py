"""The jobs' result tables as they are now (``migrations/m0020_jobs.py``, with the columns
``m0030_result_periods.py`` added to ``alerts`` and ``profitability``) for queries."""

from __future__ import annotations

from .migrations.m0020_jobs import (
    aggregate_state,
    alert_deliveries,
    allocation_runs,
    business_data,
    cost_aggregates,
    cost_allocations,
    job_runs,
    provider_costs,
    reconciliation,
    unit_economics,
    usage_records,
)
from .migrations.m0030_result_periods import alerts_table as alerts
from .migrations.m0030_result_periods import profitability_table as profitability

__all__ = [
    "aggregate_state",
    "alert_deliveries",
    "alerts",
    "allocation_runs",
    "business_data",
    "cost_aggregates",
    "cost_allocations",
    "job_runs",
    "profitability",
    "provider_costs",
    "reconciliation",
    "unit_economics",
    "usage_records",
]

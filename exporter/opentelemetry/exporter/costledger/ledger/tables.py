"""The jobs' result tables as they are now (see ``migrations/m0020_jobs.py``) for queries."""

from __future__ import annotations

from .migrations.m0020_jobs import (
    aggregate_state,
    alert_deliveries,
    alerts,
    allocation_runs,
    business_data,
    cost_aggregates,
    cost_allocations,
    job_runs,
    profitability,
    provider_costs,
    reconciliation,
    unit_economics,
    usage_records,
)

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

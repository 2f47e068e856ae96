"""The jobs' result tables as they are now, for queries: those of ``migrations/m0020_jobs.py``
(``alerts`` and ``profitability`` as ``m0030_result_periods.py`` left them) with the columns
``m0060_dimensions.py``, ``m0070_budgets.py`` and ``m0080_billing.py`` added, and the tables
``m0060`` made (``outcomes``, ``dimension_economics``), ``m0070`` made (``budget_status``) and
billing's of ``m0080``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from .migrations import m0020_jobs as m0020
from .migrations import m0030_result_periods as m0030
from .migrations import m0060_dimensions as m0060
from .migrations import m0070_budgets as m0070
from .migrations import m0080_billing as m0080

metadata = sa.MetaData()


def _current(table: sa.Table, added: Sequence[sa.Column[Any]] = ()) -> sa.Table:
    now = table.to_metadata(metadata)
    for column in added:
        now.append_column(column)
    return now


aggregate_state = _current(m0020.aggregate_state)
alert_deliveries = _current(m0020.alert_deliveries)
alerts = _current(m0030.alerts_table, m0070.alert_columns())
allocation_runs = _current(m0020.allocation_runs)
business_data = _current(m0020.business_data)
cost_aggregates = _current(m0020.cost_aggregates, m0060.aggregate_columns())
cost_allocations = _current(m0020.cost_allocations)
job_runs = _current(m0020.job_runs)
profitability = _current(m0030.profitability_table)
provider_costs = _current(m0020.provider_costs)
reconciliation = _current(m0020.reconciliation)
unit_economics = _current(m0020.unit_economics, m0060.unit_economics_columns())
usage_records = _current(m0020.usage_records)
outcomes = _current(m0060.outcomes)
dimension_economics = _current(m0060.dimension_economics)
budget_status = _current(m0070.budget_status)
billing_charges = _current(m0080.billing_charges)
billing_lines = _current(m0080.billing_lines)
billing_events = _current(m0080.billing_events)

__all__ = [
    "aggregate_state",
    "alert_deliveries",
    "alerts",
    "allocation_runs",
    "billing_charges",
    "billing_events",
    "billing_lines",
    "budget_status",
    "business_data",
    "cost_aggregates",
    "cost_allocations",
    "dimension_economics",
    "job_runs",
    "outcomes",
    "profitability",
    "provider_costs",
    "reconciliation",
    "unit_economics",
    "usage_records",
]

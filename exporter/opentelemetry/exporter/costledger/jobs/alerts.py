"""Alerts: cost spikes over a customer's own baseline, customers over budget, models without a
price — to the terminal, as JSON, and to a webhook; an alert already sent is not sent again.

``run_alerts(db, period="2025-W20", config=AlertConfig(...))`` (CLI ``costledger alerts``)
evaluates one period (default: the last complete ``granularity`` bucket) with one ``GROUP BY``
over the ledger per check:

* ``spike`` — a customer's cost in the period rose more than ``threshold`` (default 20%, the
  seed's weekly alert) over their baseline: the average of their cost in the previous
  ``baseline_periods`` periods (default 4) in which they had any cost, leaving out a partial
  first period (the one the ledger's data begins in, when it begins after that period's first
  day: a ledger started on a Sunday has seen one day of that week). Allocated shared costs
  are left out (they are booked once per bill period and would look like spikes); a baseline
  below ``min_baseline`` (default $0) is not judged.
* ``over_budget`` — a customer's fully loaded cost in the period is above their budget
  (``budgets``: customer → amount per period; ``"*"`` is everyone else's budget).
* ``budget_threshold``, ``budget_forecast`` — the ``[[budget]]`` entries of a budgets file
  (per customer, workspace, feature, agent or tag, per day/week/month/quarter): each threshold
  (default 50/80/100%) once per period, and the run-rate forecast passing the amount once per
  period (:mod:`.budget_alerts`). They are evaluated ``as_of`` (``AlertConfig.as_of``; else the
  end of the ``period`` given, or now when it has not ended; else now): the budget periods
  that moment ends or falls in — the running month, not the last complete one, so a budget
  warns while there is still time.
* ``unpriced`` — a provider/model appeared in the ledger without a price (rows with
  ``cost_nanos`` NULL); raised once per model, until ``costledger reprice`` fixes it.

Delivery: every alert is stored once in ``alerts`` (key: kind + period + customer or model).
Each channel — ``stdout`` for the command's own output, ``webhook:<url>`` — records what it
delivered in ``alert_deliveries``, so a re-run (or a schedule running hourly) sends only what is
new (:mod:`.alert_delivery`, which documents both tables). Each channel's delivery is its own:
the webhook gets a JSON ``POST`` (:mod:`.webhook`), and a webhook that fails leaves the alerts
undelivered *for that channel only* — they are retried on the next run — while the other
channels (the terminal output) go on as if it had succeeded. :func:`run_alerts` then returns
the error in :attr:`AlertRun.webhook_error` (the run is logged as failed in ``job_runs``); the
CLI prints the alerts, then the error, and exits 1. The ``budgets`` option is read by
:mod:`.budgets`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_EVEN, Decimal
from typing import ClassVar

import sqlalchemy as sa
from opentelemetry.instrumentation.costledger.money import (
    NANOS_PER_USD,
    format_usd,
    to_dollars,
    to_nanos,
)

from .. import periods
from ..errors import CostLedgerError, InputError
from ..ledger.open import Database, open_ledger
from ..ledger.runs import now, record_run
from ..ledger.schema import ledger_entries
from .alert_delivery import STDOUT, mark_delivered, store_alerts, undelivered
from .budget_alerts import budget_alerts, over_budget_alerts
from .budget_status import instant
from .budgets import Budget
from .webhook import post_webhook


@dataclass(frozen=True, slots=True)
class AlertConfig:
    granularity: str = "week"
    threshold: Decimal = Decimal("0.20")
    baseline_periods: int = 4
    min_baseline: Decimal = Decimal(0)
    budgets: Mapping[str, Decimal] = field(default_factory=dict)
    budget_entries: tuple[Budget, ...] = ()  # the [[budget]] entries (:mod:`.budget_alerts`)
    as_of: datetime | None = None  # when budgets are evaluated (see run_alerts)
    webhook_url: str | None = None
    webhook_timeout: float = 10.0


@dataclass(frozen=True, slots=True)
class Alert:
    alert_key: str
    kind: str
    period: str | None
    message: str
    customer_id: str | None = None
    provider: str | None = None
    model: str | None = None
    amount_nanos: int | None = None
    reference_nanos: int | None = None
    change: Decimal | None = None
    # A budget alert's budget (:mod:`.budget_alerts`); its period when not the run's.
    scope: str | None = None
    scope_value: str | None = None
    threshold: Decimal | None = None
    forecast_nanos: int | None = None
    forecast_date: date | None = None
    period_start: date | None = None
    period_end: date | None = None
    time_zone: str | None = None

    # The amounts of the alert's period as a whole (converted by spreading over its days).
    MONEY: ClassVar[tuple[str, ...]] = ("amount_nanos", "reference_nanos", "forecast_nanos")

    @property
    def amount_usd(self) -> Decimal | None:
        return to_dollars(self.amount_nanos)

    @property
    def reference_usd(self) -> Decimal | None:
        return to_dollars(self.reference_nanos)


@dataclass(slots=True)
class AlertRun:
    period: str
    alerts: list[Alert]  # everything that holds for the period
    new_for_stdout: list[Alert]  # not yet shown on stdout before this run
    webhook_sent: int = 0
    webhook_error: str | None = None  # why the webhook failed (its alerts wait for the next run)


def run_alerts(
    database: Database = None,
    *,
    period: str | None = None,
    config: AlertConfig | None = None,
    time_zone: str | None = None,
    mark_stdout: bool = True,
) -> AlertRun:
    """Evaluate the checks for ``period``, store new alerts, deliver them (module docstring)."""
    cfg = config or AlertConfig()
    target = _target(period, cfg, time_zone)
    started = now()
    with open_ledger(database, create=False) as engine:
        with engine.begin() as conn:
            found = _evaluate(conn, target, cfg, _as_of(period, cfg, target), store=True)
            store_alerts(conn, target, found)
            fresh = undelivered(conn, found, STDOUT)
            if mark_stdout:
                mark_delivered(conn, fresh, STDOUT)
        run = AlertRun(target.label, found, fresh)
        if cfg.webhook_url:
            channel = f"webhook:{cfg.webhook_url}"
            with engine.connect() as conn:
                pending = undelivered(conn, found, channel)
            if pending:
                try:
                    post_webhook(cfg.webhook_url, pending, timeout=cfg.webhook_timeout)
                except CostLedgerError as exc:
                    run.webhook_error = str(exc)
                else:
                    with engine.begin() as conn:
                        mark_delivered(conn, pending, channel)
                    run.webhook_sent = len(pending)
        record_run(
            engine,
            "alerts",
            started,
            f"{target.label}: {len(found)} alert(s), {len(fresh)} new, {run.webhook_sent} sent"
            + (f"; webhook failed: {run.webhook_error}" if run.webhook_error else ""),
            ok=run.webhook_error is None,
        )
    return run


def preview_alerts(
    database: Database = None,
    *,
    period: str | None = None,
    config: AlertConfig | None = None,
    time_zone: str | None = None,
) -> list[Alert]:
    """The alerts :func:`run_alerts` would raise for ``period``, without storing or sending
    anything (what the demo's hint quotes)."""
    cfg = config or AlertConfig()
    target = _target(period, cfg, time_zone)
    with open_ledger(database) as engine, engine.connect() as conn:
        return _evaluate(conn, target, cfg, _as_of(period, cfg, target))


def _target(period: str | None, cfg: AlertConfig, time_zone: str | None) -> periods.Period:
    periods.check_granularity(cfg.granularity)
    if cfg.baseline_periods < 1:
        raise InputError("baseline_periods must be at least 1")
    tz = periods.resolve_time_zone(time_zone)
    if period:
        return periods.parse_period(period, tz)
    current = periods.parse_period(
        f"this-{cfg.granularity}" if cfg.granularity != "day" else "today", tz
    )
    return periods.shift(current, -1)


def _as_of(period: str | None, cfg: AlertConfig, target: periods.Period) -> datetime:
    """When the ``[[budget]]`` entries are evaluated: ``as_of`` when given; else the end of a
    ``period`` given (or now, if it has not ended); else now — the running periods."""
    if cfg.as_of is not None:
        return instant(cfg.as_of)
    moment = datetime.now(UTC)
    return min(moment, target.utc_range()[1]) if period else moment


def _evaluate(
    conn: sa.Connection,
    target: periods.Period,
    cfg: AlertConfig,
    as_of: datetime,
    *,
    store: bool = False,
) -> list[Alert]:
    ahead = budget_alerts(conn, cfg.budget_entries, as_of, target.time_zone, store=store)
    return (
        _spikes(conn, target, cfg)
        + over_budget_alerts(conn, target, cfg.budgets)
        + ahead
        + _unpriced(conn, target)
    )


def _costs_by_bucket(
    conn: sa.Connection, start: date, end: date, cfg: AlertConfig, tz: str, *, shared: bool
) -> dict[str, dict[date, int]]:
    le = ledger_entries
    window = periods.Period("window", start, end, tz)
    lo, hi = window.utc_range()
    bucket = periods.bucket_expression(
        le.c.timestamp, cfg.granularity, tz, conn.dialect.name, span=(lo, hi)
    )
    query = (
        sa.select(le.c.customer_id, bucket, sa.func.coalesce(sa.func.sum(le.c.cost_nanos), 0))
        .where(le.c.timestamp >= lo, le.c.timestamp < hi, le.c.customer_id.is_not(None))
        .group_by(le.c.customer_id, bucket)
    )
    if not shared:
        query = query.where(le.c.source != "allocation")
    costs: dict[str, dict[date, int]] = defaultdict(dict)
    for customer, start_day, cost in conn.execute(query):
        costs[str(customer)][periods.as_date(start_day)] = int(cost)
    return costs


def _spikes(conn: sa.Connection, target: periods.Period, cfg: AlertConfig) -> list[Alert]:
    granularity = periods.period_granularity(target)
    if granularity != cfg.granularity:
        raise InputError(
            f"period {target.label} is not one {cfg.granularity}: pass --by {granularity}"
        )
    first = periods.shift(target, -cfg.baseline_periods)
    costs = _costs_by_bucket(conn, first.start, target.end, cfg, target.time_zone, shared=False)
    partial = _partial_first_bucket(conn, target, cfg)
    found = []
    for customer, by_bucket in sorted(costs.items()):
        current = by_bucket.get(target.start, 0)
        history = [v for d, v in by_bucket.items() if d < target.start and d != partial]
        if not history or not current:
            continue
        baseline = Decimal(sum(history)) / len(history)
        if baseline <= 0 or baseline < cfg.min_baseline * NANOS_PER_USD:
            continue
        change = Decimal(current) / baseline - 1
        if change > cfg.threshold:
            base_usd = (baseline / NANOS_PER_USD).quantize(Decimal("0.01"), ROUND_HALF_EVEN)
            found.append(
                Alert(
                    alert_key=f"spike:{target.label}:{customer}",
                    kind="spike",
                    period=target.label,
                    customer_id=customer,
                    amount_nanos=current,
                    reference_nanos=to_nanos(base_usd),
                    change=change.quantize(Decimal("1e-12"), ROUND_HALF_EVEN),
                    message=(
                        f"{customer}: AI cost {format_usd(current, places=2)} in {target.label} is"
                        f" {_pct(change)} above their baseline"
                        f" {format_usd(to_nanos(base_usd), places=2)} (average of"
                        f" {len(history)} previous {cfg.granularity}(s))"
                    ),
                )
            )
    return found


def _partial_first_bucket(
    conn: sa.Connection, target: periods.Period, cfg: AlertConfig
) -> date | None:
    """The bucket the ledger's data begins in, when it begins after that bucket's first day
    (the ledger started mid-week): a period the ledger saw only part of is no measure of anyone's
    usual cost, and averaging it into a baseline would make an ordinary period look like a spike.
    """
    le = ledger_entries
    _, hi = target.utc_range()
    began = conn.execute(
        sa.select(sa.func.min(le.c.timestamp)).where(
            le.c.timestamp < hi, le.c.source != "allocation"
        )
    ).scalar()
    if began is None:
        return None
    day = periods.as_utc(began).astimezone(periods.zone_info(target.time_zone)).date()
    bucket = periods.bucket_start(day, cfg.granularity)
    return bucket if day > bucket else None


def _unpriced(conn: sa.Connection, target: periods.Period) -> list[Alert]:
    le = ledger_entries
    lo, hi = target.utc_range()
    query = (
        sa.select(le.c.provider, le.c.model, sa.func.count(), sa.func.max(le.c.unpriced_reason))
        .where(le.c.timestamp >= lo, le.c.timestamp < hi, le.c.cost_nanos.is_(None))
        .group_by(le.c.provider, le.c.model)
    )
    found = []
    for provider, model, count, reason in conn.execute(query):
        found.append(
            Alert(
                alert_key=f"unpriced:{provider}:{model}",
                kind="unpriced",
                period=target.label,
                provider=provider,
                model=model,
                message=(
                    f"{provider or '?'}/{model or '?'}: {count} ledger row(s) in {target.label}"
                    f" without a price ({reason or 'no price'}); add it to your price file and"
                    " run `costledger reprice`"
                ),
            )
        )
    return found


def _pct(value: Decimal) -> str:
    return f"{(value * 100).quantize(Decimal(1), ROUND_HALF_EVEN)}%"

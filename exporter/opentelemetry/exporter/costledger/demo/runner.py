"""Run the demo: a month of support traffic through the real pipeline into a ledger.

:func:`run_demo` wires what a user's app would have, with nothing faked but the network:

- an OpenTelemetry SDK ``TracerProvider`` (resource ``service.name=support-copilot``) with a
  ``BatchSpanProcessor`` feeding the real :class:`~..exporter.CostLedgerSpanExporter` at the
  ledger URL (``--db``, else ``COSTLEDGER_DATABASE_URL``, else the default SQLite file);
- the real ``CostLedgerInstrumentor`` instrumenting the installed ``anthropic`` and ``openai``
  SDKs for that provider;
- real SDK clients, sync and async, whose ``http_client`` has an ``httpx2.MockTransport``
  answering like the APIs (:mod:`.mock_api`), so no API key and no network are needed;
- the support copilot (:mod:`.app`) handling the month's tickets (:mod:`.traffic`).

Afterwards it writes the month's bills, vectors, revenue and unit prices for the jobs
(:mod:`.inputs`) into ``demo/`` beside the ledger file.

Time: calls are made now and their spans moved to their simulated moment in the month before
export (:mod:`.clock`); prices are those in force at that moment. Ids: trace and span ids come
from a generator seeded by ``(seed, month, calls)``, so running the same demo twice writes the
same idempotency keys and the ledger keeps one copy — re-running never double counts. A
different seed, month or size is different traffic and adds to the ledger; the summary says when
the month holds rows that are not this run's (use ``--db`` with a new file for a clean ledger).

After the run every planned cost event is looked up in the ledger by its trace: the demo fails
loudly if any is missing, so the printed table is never silently short.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa

from ..errors import ConfigError, CostLedgerError, DatabaseError, InputError
from ..jobs.alerts import Alert, AlertConfig, preview_alerts
from ..ledger.db import create_engine, default_database_path, resolve_database_url
from ..ledger.migrations import migrate
from .inputs import DemoInputs, write_demo_inputs
from .summary import (
    CategoryCost,
    CustomerMonth,
    category_table,
    customer_month_table,
    rows_in_month,
    rows_of_traces,
)

if TYPE_CHECKING:
    from .clock import SeededIdGenerator

from .plan import MonthPlan
from .traffic import (
    DEFAULT_CALLS,
    DEFAULT_SEED,
    alerts_week,
    parse_month,
    plan_month,
    previous_month,
)

SERVICE_NAME = "support-copilot"
# The spike threshold (percent over the baseline) of the `alerts` command the demo suggests:
# cust_54321's last-week ramp more than doubles its cost; smaller customers' weekly noise does not.
HINT_SPIKE_THRESHOLD = 100


@dataclass(frozen=True, slots=True)
class DemoResult:
    database_url: str
    month: str
    plan: MonthPlan
    new_rows: int  # rows this run added to the ledger
    already_recorded: int  # planned events whose rows an identical earlier run had written
    other_rows: int  # rows of the month in the ledger that are not this run's traffic
    table: list[CustomerMonth]
    categories: list[CategoryCost]
    inputs: DemoInputs  # bills, usage and revenue of the month, for the jobs
    seconds: float
    # What the suggested `alerts --by week --period <alerts_week> --threshold
    # HINT_SPIKE_THRESHOLD` finds (evaluated, not stored), so its hint says what it will print.
    spikes: tuple[Alert, ...] = ()


def run_demo(
    *,
    db: str | None = None,
    month: str | None = None,
    calls: int = DEFAULT_CALLS,
    seed: int = DEFAULT_SEED,
    on_plan: Callable[[MonthPlan], None] | None = None,
    on_call: Callable[[], None] | None = None,
) -> DemoResult:
    """Generate ``calls`` cost events for ``month`` (default: last month) into the ledger at ``db``.

    ``on_plan(plan)`` is called once the month is planned (e.g. to size a progress bar) and
    ``on_call()`` after each cost event.
    """
    began = time.perf_counter()
    month = month or previous_month()
    try:
        start, end = parse_month(month)
        plan = plan_month(month, calls, seed)
    except ValueError as exc:
        raise InputError(str(exc)) from None
    if on_plan is not None:
        on_plan(plan)
    url = resolve_database_url(db)
    engine = create_engine(url)
    try:
        try:
            migrate(engine)
            rows_in_month(engine, start, end)  # the view is there and readable
        except Exception as exc:
            raise DatabaseError(
                f"cannot open the ledger at {engine.url.render_as_string(hide_password=True)}:"
                f" {exc}. Check --db / COSTLEDGER_DATABASE_URL."
            ) from exc
        from .clock import SeededIdGenerator

        ids = SeededIdGenerator(f"costledger-demo:{seed}:{month}:{calls}")
        # The store stamps recorded_at with this process's clock: rows it writes from now on
        # are this run's new rows.
        sent_at = datetime.now(UTC)
        _send(plan, url, ids, on_call)
        ours = rows_of_traces(engine, ids.trace_ids, start, end, sent_at)
        if ours.total != plan.calls:
            raise DatabaseError(
                f"the demo sent {plan.calls} cost events but the ledger holds {ours.total} of"
                " them; the exporter's log lines above say why (database locked or unavailable?)."
            )
        if ours.in_window != plan.calls:
            raise CostLedgerError(
                f"{plan.calls - ours.in_window} of the demo's rows are timestamped outside"
                f" {month}; the simulated clock did not reach every span (a demo bug)."
            )
        after = rows_in_month(engine, start, end)
        new_rows = ours.recorded_since
        inputs = write_demo_inputs(_inputs_directory(engine), month, calls)
        return DemoResult(
            database_url=engine.url.render_as_string(hide_password=True),
            month=month,
            plan=plan,
            new_rows=new_rows,
            already_recorded=plan.calls - new_rows,
            other_rows=after - ours.in_window,
            table=customer_month_table(engine, start, end),
            categories=category_table(engine, start, end),
            inputs=inputs,
            seconds=time.perf_counter() - began,
            spikes=tuple(_spikes(engine, month)),
        )
    finally:
        engine.dispose()


def _spikes(engine: sa.Engine, month: str) -> list[Alert]:
    config = AlertConfig(granularity="week", threshold=Decimal(HINT_SPIKE_THRESHOLD) / 100)
    found = preview_alerts(engine, period=alerts_week(month), config=config)
    return [a for a in found if a.kind == "spike"]


def _inputs_directory(engine: sa.Engine) -> Path:
    """``demo/`` beside a SQLite ledger file, else beside the default ledger path."""
    database = engine.url.database
    if engine.dialect.name == "sqlite" and database and database != ":memory:":
        return Path(database).resolve().parent / "demo"
    return default_database_path().parent / "demo"


def _send(
    plan: MonthPlan,
    database_url: str,
    ids: SeededIdGenerator,
    on_call: Callable[[], None] | None,
) -> None:
    # Imported here: the CLI lists `demo` without paying for the SDKs and the OTel pipeline.
    import httpx2
    from anthropic import Anthropic, AsyncAnthropic
    from anthropic import APIError as AnthropicAPIError
    from openai import APIError as OpenAIAPIError
    from openai import AsyncOpenAI, OpenAI
    from opentelemetry.instrumentation.costledger import CostLedgerInstrumentor
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    from ..ingest.exporter import CostLedgerSpanExporter
    from .app import SupportCopilot, run_tickets
    from .clock import SimulatedClock, TimeShiftSpanProcessor
    from .mock_api import MockProviders

    instrumentor = CostLedgerInstrumentor()
    if instrumentor.is_instrumented_by_opentelemetry:
        raise ConfigError(
            "costledger is already instrumenting this process (opentelemetry-instrument?);"
            " run `costledger demo` on its own so its spans go to the demo's ledger."
        )
    clock = SimulatedClock()
    exporter = CostLedgerSpanExporter(database_url)
    provider = TracerProvider(
        resource=Resource.create({"service.name": SERVICE_NAME, "deployment.environment": "demo"}),
        id_generator=ids,
    )
    # A queue that holds the whole run: the demo must not drop spans when the exporter lags.
    batch = BatchSpanProcessor(
        exporter,
        max_queue_size=max(2_048, plan.calls * 2 + len(plan.tickets) + 16),
        max_export_batch_size=1_024,
        schedule_delay_millis=250,
    )
    provider.add_span_processor(TimeShiftSpanProcessor(clock, batch))
    api = MockProviders(seed=f"{plan.seed}:{plan.month}:{plan.calls}")
    http = httpx2.Client(transport=api.transport())
    async_http = httpx2.AsyncClient(transport=api.transport())
    key = "demo-no-key-needed"
    instrumentor.instrument(tracer_provider=provider)
    try:
        copilot = SupportCopilot(
            Anthropic(api_key=key, http_client=http),
            OpenAI(api_key=key, http_client=http),
            api,
            provider.get_tracer(__name__),
            AsyncAnthropic(api_key=key, http_client=async_http),
            AsyncOpenAI(api_key=key, http_client=async_http),
        )
        try:
            run_tickets(copilot, plan.tickets, lambda t: clock.at(t.start), on_call)
        except (AnthropicAPIError, OpenAIAPIError) as exc:
            raise CostLedgerError(f"an SDK call failed against the demo's mock API: {exc}") from exc
    finally:
        instrumentor.uninstrument()
        provider.shutdown()  # flushes the batch processor, then shuts the exporter down
        http.close()
        # No request is in flight any more; the mock transport holds no connections.
        asyncio.run(async_http.aclose())
    if api.problems:
        raise CostLedgerError(
            f"the demo's mock API refused {len(api.problems)} request(s); first: {api.problems[0]}"
        )
    planned = sum(1 for t in plan.tickets for c in t.calls if c.is_sdk_call)
    limited = sum(1 for t in plan.tickets for c in t.calls if c.rate_limited)
    if (api.served, api.rate_limited) != (planned, limited):
        raise CostLedgerError(
            f"the demo planned {planned} SDK calls ({limited} rate limited once) but the mock"
            f" API answered {api.served} ({api.rate_limited} rate limited)"
        )

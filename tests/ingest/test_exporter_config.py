"""The in-process exporter with a user's configuration mistake: a broken price file, a bad URL.

The app must keep running, and the user must be told once, in one line, what to fix.
"""

from __future__ import annotations

import importlib.util
import logging
from pathlib import Path

import pytest
import sqlalchemy as sa
from opentelemetry.exporter.costledger import CostLedgerSpanExporter
from opentelemetry.exporter.costledger.ledger.reprice import reprice
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExportResult

from .test_exporter import _spans

BROKEN_PRICES = '[[model]]\nprovider = "anthropic"\nmodel = "claude-sonnet-4-5*"\ninput = "2.4"\n'
FIXED_PRICES = BROKEN_PRICES + 'output = "12"\n'


def _costledger_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name.startswith("opentelemetry.exporter.costledger")]


def _rows(url: str) -> list[tuple[int | None, str | None]]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            result = conn.execute(sa.text("SELECT cost_nanos, unpriced_reason FROM ledger_entries"))
            return [(row[0], row[1]) for row in result]
    finally:
        engine.dispose()


# --- a broken COSTLEDGER_PRICES file ----------------------------------------------------------


def test_broken_price_file_one_error_line_rows_kept_unpriced_then_repriced(
    tmp_path: Path,
    sqlite_url: str,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    prices = tmp_path / "bad.toml"
    prices.write_text(BROKEN_PRICES)
    monkeypatch.setenv("COSTLEDGER_PRICES", str(prices))
    exporter = CostLedgerSpanExporter(sqlite_url)
    with caplog.at_level(logging.INFO):
        assert exporter.export(_spans(2)) is SpanExportResult.SUCCESS
        assert exporter.export(_spans(1, customer="cust_9")) is SpanExportResult.SUCCESS
        exporter.shutdown()

    errors = [r for r in _costledger_records(caplog) if r.levelno >= logging.ERROR]
    assert len(errors) == 1, [r.getMessage() for r in errors]  # once, not once per batch
    message = errors[0].getMessage()
    assert f"{prices}:1: [[model]] #1, field 'output': missing" in message
    assert "costledger reprice --unpriced" in message
    assert not any(r.exc_info for r in _costledger_records(caplog))  # no traceback

    rows = _rows(sqlite_url)
    assert len(rows) == 3  # recorded, not dropped
    for cost, reason in rows:
        assert cost is None
        assert reason is not None and f"{prices}:1" in reason and "field 'output'" in reason

    prices.write_text(FIXED_PRICES)
    result = reprice(sqlite_url, unpriced=True, price_file=str(prices))
    assert result.newly_priced == 3
    # claude-sonnet-4-5 at the file's 2.4 / 12 USD per million tokens
    assert _rows(sqlite_url) == [(1200 * 2_400 + 450 * 12_000, None)] * 3


# --- a database URL the exporter cannot use ---------------------------------------------------


def test_postgres_scheme_is_said_once_at_creation_with_the_url_to_write(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("COSTLEDGER_DATABASE_URL", "postgres://ledger:s3cret@127.0.0.1:1/ledger")
    spans = _spans(2)
    with caplog.at_level(logging.INFO):
        exporter = CostLedgerSpanExporter()
        created = [r.getMessage() for r in _costledger_records(caplog)]
        assert exporter.export(spans) is SpanExportResult.FAILURE
        assert exporter.export(spans[:1]) is SpanExportResult.FAILURE
        exported = [r.getMessage() for r in _costledger_records(caplog)]
        exporter.shutdown()
        exporter.shutdown()  # safe twice
    messages = [r.getMessage() for r in _costledger_records(caplog)]
    assert len(created) == 1
    assert created[0].startswith("costledger: COSTLEDGER_DATABASE_URL: postgres:// is not")
    assert "write postgresql+psycopg://ledger:***@127.0.0.1:1/ledger" in created[0]
    assert exported == created  # exports add no log line (and no traceback)
    problem = created[0].removeprefix("costledger: ").split(";")[0]
    assert messages[1:] == [f"costledger: 3 ledger rows were not recorded: {problem}"]
    assert not any("s3cret" in m for m in messages)
    assert not any(r.exc_info for r in _costledger_records(caplog))
    assert exporter.export(spans) is SpanExportResult.FAILURE  # after shutdown: still no raise


def test_the_argument_wins_over_the_variable_and_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("COSTLEDGER_DATABASE_URL", "postgres://127.0.0.1/ledger")
    good = f"sqlite:///{tmp_path / 'arg.db'}"
    with caplog.at_level(logging.ERROR):
        exporter = CostLedgerSpanExporter(good)
    assert not _costledger_records(caplog)
    assert exporter.export(_spans(1)) is SpanExportResult.SUCCESS
    exporter.shutdown()
    assert len(_rows(good)) == 1

    with caplog.at_level(logging.ERROR):
        CostLedgerSpanExporter("mysql://127.0.0.1/ledger").shutdown()
    (message,) = [r.getMessage() for r in _costledger_records(caplog)]
    assert message.startswith(
        "costledger: the database_url argument: the ledger lives in SQLite or PostgreSQL, not mysql"
    )


@pytest.mark.skipif(
    importlib.util.find_spec("psycopg2") is not None, reason="psycopg2 is installed here"
)
def test_a_driver_that_is_not_installed_says_what_to_write(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.ERROR):
        exporter = CostLedgerSpanExporter("postgresql+psycopg2://ledger:pw@127.0.0.1/ledger")
    (message,) = [r.getMessage() for r in _costledger_records(caplog)]
    assert "the driver of postgresql+psycopg2:// is not installed" in message
    assert "write postgresql+psycopg://ledger:***@127.0.0.1/ledger" in message
    assert exporter.export(_spans(1)) is SpanExportResult.FAILURE
    exporter.shutdown()


def test_the_app_runs_on_under_the_sdk_with_a_bad_url(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """As ``OTEL_TRACES_EXPORTER=costledger`` sets it up: the SDK's batch processor, no args."""
    monkeypatch.setenv("COSTLEDGER_DATABASE_URL", "://nowhere")
    provider = TracerProvider(resource=Resource.create({"service.name": "app"}))
    with caplog.at_level(logging.ERROR):
        provider.add_span_processor(BatchSpanProcessor(CostLedgerSpanExporter()))
        with provider.get_tracer("app").start_as_current_span("work"):
            pass  # not an LLM call: no ledger row, so no loss to report
        provider.shutdown()
    messages = [r.getMessage() for r in _costledger_records(caplog)]
    assert len(messages) == 1
    assert "'://nowhere' is not a database URL: write sqlite:///" in messages[0]

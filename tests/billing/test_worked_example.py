"""The README's worked billing example through the CLI, on SQLite and PostgreSQL: the charges
by hand, Stripe meter events to a local server (a failure, then the retry), a second run that
sends nothing, a late call sent as an adjustment, and a lower charge reported, never sent."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner, Result
from opentelemetry.exporter.costledger.cli.main import main

from .example import CALLS, EXPECTED, LATE_CALL, LINES_A, POLICY
from .receiver import receiver

README = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")


def _run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def _ledger(url: str, tmp_path: Path, calls: str = CALLS) -> None:
    path = tmp_path / "calls.csv"
    path.write_text(calls)
    result = _run("import", "calls", str(path), "--db", url)
    assert result.exit_code == 0, result.output


def _policy(tmp_path: Path, url: str, extra: str = "") -> str:
    path = tmp_path / "billing.toml"
    path.write_text(
        POLICY + f'\n[destinations.stripe]\nurl = "{url}"\n\n[retry]\nbackoff = 0\n' + extra
    )
    return str(path)


def test_the_readme_shows_the_worked_example() -> None:
    assert POLICY in README
    assert CALLS in README
    for _kind, description, amount in LINES_A:
        assert description in README and amount in README


def test_the_worked_example_by_hand(
    ledger_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _ledger(ledger_url, tmp_path)
    policy = _policy(tmp_path, "http://127.0.0.1:9")
    result = _run("bill", "--period", "2025-05", "--policy", policy, "--format", "json",
                  "--db", ledger_url)  # fmt: skip
    assert result.exit_code == 0, result.output
    charges = {r["customer_id"]: r for r in json.loads(result.stdout)}
    assert set(charges) == set(EXPECTED)
    for customer, expected in EXPECTED.items():
        got = {key: charges[customer][key] for key in expected}
        assert got == expected, customer
    engine = sa.create_engine(ledger_url)
    try:
        with engine.connect() as conn:
            lines = conn.execute(
                sa.text(
                    "SELECT kind, description, amount_nanos FROM billing_lines"
                    " WHERE customer_id = 'cust_a' ORDER BY line_no"
                )
            ).all()
    finally:
        engine.dispose()
    assert [(k, d, f"{Decimal(a).scaleb(-9):.2f}") for k, d, a in lines] == LINES_A
    shown = _run("bill", "--period", "2025-05", "--policy", policy, "--lines", "--format", "csv",
                 "--db", ledger_url)  # fmt: skip
    assert shown.exit_code == 0, shown.output
    assert shown.stdout.splitlines()[-4:] == [
        "cust_b,1,cost_plus,cost $10.00 + 30%,13000000000,13.00",
        "cust_b,2,work_item_fee,1 work item × $0.25,250000000,0.25",
        "cust_b,3,allowance,included $25.00,-13250000000,-13.25",
        "cust_b,4,minimum,minimum $50.00,50000000000,50.00",
    ]
    # The same period again: the same charges, replaced, not added.
    again = _run("bill", "--period", "2025-05", "--policy", policy, "--format", "json",
                 "--db", ledger_url)  # fmt: skip
    assert json.loads(again.stdout) == json.loads(result.stdout)


def test_stripe_once_retried_then_adjusted(
    ledger_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STRIPE_API_KEY", "sk_test_123")
    _ledger(ledger_url, tmp_path)
    with receiver() as stripe:
        policy = _policy(tmp_path, stripe.url)
        stripe.statuses = [500]  # the first attempt fails; the retry succeeds
        first = _run("bill", "--period", "2025-05", "--policy", policy, "--to", "stripe",
                     "--db", ledger_url)  # fmt: skip
        assert first.exit_code == 0, first.output
        assert "stripe: 2 events sent, 0 sent before" in first.output
        assert len(stripe.requests) == 3
        failed, *accepted = stripe.requests
        assert failed.form() == accepted[0].form()
        assert failed.headers["idempotency-key"] == accepted[0].headers["idempotency-key"]
        sent = [r.form() for r in accepted]
        assert [(f["payload[stripe_customer_id]"], f["payload[value]"]) for f in sent] == [
            ("cus_A1", "14035"),
            ("cus_B2", "5000"),
        ]
        for request, form in zip(accepted, sent, strict=True):
            assert request.path == "/v1/billing/meter_events"
            assert request.headers["authorization"] == "Bearer sk_test_123"
            assert form["event_name"] == "costledger_charge_cents"
            assert form["identifier"] == request.headers["idempotency-key"]
            assert form["identifier"].startswith("cl-2025-05-r0-")
            assert form["timestamp"] == "1748735999"  # 2025-05-31T23:59:59Z
        keys = [f["identifier"] for f in sent]

        # Billed again: the same charges, nothing sent twice.
        second = _run("bill", "--period", "2025-05", "--policy", policy, "--to", "stripe",
                      "--db", ledger_url)  # fmt: skip
        assert second.exit_code == 0, second.output
        assert "stripe: 0 events sent, 2 sent before" in second.output
        assert len(stripe.requests) == 3

        # A late call: only the difference goes out, under a key of its own.
        _ledger(ledger_url, tmp_path, CALLS.splitlines(keepends=True)[0] + LATE_CALL)
        third = _run("bill", "--period", "2025-05", "--policy", policy, "--to", "stripe",
                     "--db", ledger_url)  # fmt: skip
        assert third.exit_code == 0, third.output
        adjustment = stripe.requests[-1].form()
        assert len(stripe.requests) == 4
        assert (adjustment["payload[stripe_customer_id]"], adjustment["payload[value]"]) == (
            "cus_A1",
            "1200",
        )
        assert adjustment["identifier"].startswith("cl-2025-05-r1-")
        assert adjustment["identifier"] not in keys

        # A lower charge (a smaller markup) is a credit due: reported, never sent.
        cheaper = tmp_path / "cheaper.toml"
        text = Path(policy).read_text()
        cheaper.write_text(text.replace('markup_pct = "20"', 'markup_pct = "10"'))
        fourth = _run("bill", "--period", "2025-05", "--policy", str(cheaper), "--to", "stripe",
                      "--db", ledger_url)  # fmt: skip
        assert fourth.exit_code == 0, fourth.output
        assert "credit due: cust_a was sent $152.35 but is now charged $138.84" in fourth.output
        assert len(stripe.requests) == 4

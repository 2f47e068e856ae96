"""OpenMeter and Lago through a local server that checks what arrives, retries with backoff,
failures that stay unsent until the next run, and ``--out``."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from cloudevents.core.bindings.http import HTTPMessage, from_http
from cloudevents.core.formats.json import JSONFormat
from opentelemetry.exporter.costledger.cli.main import main
from opentelemetry.exporter.costledger.export.bill import bill
from opentelemetry.exporter.costledger.jobs.billing_policy import load_policy, parse_policy

from .example import CALLS, POLICY
from .receiver import receiver


def _ledger(url: str, tmp_path: Path) -> None:
    path = tmp_path / "calls.csv"
    path.write_text(CALLS)
    result = CliRunner().invoke(main, ["import", "calls", str(path), "--db", url])
    assert result.exit_code == 0, result.output


def _policy(tmp_path: Path, destinations: str) -> Path:
    path = tmp_path / "billing.toml"
    path.write_text(POLICY + destinations)
    return path


def test_openmeter_cloudevents_with_a_retry(
    ledger_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OM_KEY", "om_secret")
    _ledger(ledger_url, tmp_path)
    with receiver() as openmeter:
        policy = load_policy(
            _policy(
                tmp_path,
                f'[destinations.openmeter]\nurl = "{openmeter.url}/api/v1/events"\n'
                'api_key_env = "OM_KEY"\nsource = "acme-billing"\n',
            )
        )
        openmeter.statuses = [503, 502]
        waits: list[float] = []
        result = bill(
            ledger_url, period="2025-05", policy=policy, to="openmeter", sleep=waits.append
        )
        assert (len(result.sent), result.failed, result.planned) == (2, [], 2)
        assert waits == [0.5, 1.0]  # the backoff doubles; the third attempt succeeded
        assert len(openmeter.requests) == 4
        first_key = openmeter.requests[0].headers["idempotency-key"]
        assert [r.headers["idempotency-key"] for r in openmeter.requests[:3]] == [first_key] * 3
        events = []
        for request in openmeter.requests[2:]:
            assert request.path == "/api/v1/events"
            assert request.headers["authorization"] == "Bearer om_secret"
            assert request.headers["content-type"] == "application/cloudevents+json"
            event = from_http(HTTPMessage(request.headers, request.body), JSONFormat())
            assert event.get_id() == request.headers["idempotency-key"]
            events.append(event)
        assert [(e.get_subject(), e.get_type(), e.get_source()) for e in events] == [
            ("cust_a", "costledger.charge", "acme-billing"),
            ("cust_b", "costledger.charge", "acme-billing"),
        ]
        data = events[0].get_data()
        assert isinstance(data, dict)
        assert (data["amount"], data["amount_cents"], data["currency"]) == ("140.35", 14035, "USD")
        assert str(events[0].get_time()) == "2025-05-31 23:59:59+00:00"

        again = bill(ledger_url, period="2025-05", policy=policy, to="openmeter")
        assert (again.sent, again.already_sent, again.planned) == ([], 2, 0)
        assert len(openmeter.requests) == 4


def test_lago_a_refusal_stays_unsent_until_the_next_run(
    ledger_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LAGO_API_KEY", "lago_secret")
    _ledger(ledger_url, tmp_path)
    with receiver() as lago:
        policy = _policy(tmp_path, f'[destinations.lago]\nurl = "{lago.url}/api/v1/events"\n')
        lago.statuses = [422]  # not retried: the first customer's event is refused
        args = ["bill", "--period", "2025-05", "--policy", str(policy), "--to", "lago",
                "--db", ledger_url]  # fmt: skip
        first = CliRunner().invoke(main, args)
        assert first.exit_code == 1
        assert "1 events were not accepted (cust_a:" in first.output
        assert "422" in first.output and "run the same command again" in first.output
        assert len(lago.requests) == 2
        refused, accepted = (r.json()["event"] for r in lago.requests)
        assert accepted["external_customer_id"] == "cust_b"
        assert accepted["properties"]["amount_cents"] == 5000
        second = CliRunner().invoke(main, args)
        assert second.exit_code == 0, second.output
        assert "lago: 1 events sent, 1 sent before" in second.output
        assert len(lago.requests) == 3
        resent = lago.requests[2]
        assert resent.json()["event"] == refused
        assert refused["transaction_id"] == resent.headers["idempotency-key"]
        assert resent.headers["authorization"] == "Bearer lago_secret"
        assert (refused["external_customer_id"], refused["code"]) == ("acme", "costledger_charge")
        assert (refused["properties"]["amount"], refused["timestamp"]) == ("140.35", 1748735999)


def test_unreachable_is_retried_then_left_for_the_next_run(
    sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LAGO_API_KEY", "k")
    _ledger(sqlite_url, tmp_path)
    with receiver() as gone:
        url = gone.url  # a port nobody listens on once the server is closed
    policy = parse_policy(
        {"destinations": {"lago": {"url": url}}, "retry": {"max_attempts": 3, "backoff": "0.1"},
         "customers": {"cust_a": {}}},
    )  # fmt: skip
    waits: list[float] = []
    result = bill(sqlite_url, period="2025-05", policy=policy, to="lago", sleep=waits.append)
    assert result.sent == [] and len(result.failed) == 2
    assert waits == [0.1, 0.2, 0.1, 0.2]
    assert "cannot reach" in result.failed[0][1]
    with receiver() as lago:
        policy = parse_policy({"destinations": {"lago": {"url": lago.url}}})
        later = bill(sqlite_url, period="2025-05", policy=policy, to="lago")
        assert (len(later.sent), later.planned) == (2, 0)
        assert len(lago.requests) == 2


def test_out_writes_the_events_and_sends_nothing(
    sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _ledger(sqlite_url, tmp_path)
    policy = _policy(tmp_path, "")
    out = tmp_path / "stripe.jsonl"
    args = ["bill", "--period", "2025-05", "--policy", str(policy), "--to", "stripe",
            "--out", str(out), "--db", sqlite_url]  # fmt: skip
    first = CliRunner().invoke(main, args)
    assert first.exit_code == 0, first.output
    assert "stripe: 2 events written" in first.output and "nothing was sent" in first.output
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert [(d["customer_id"], d["amount_usd"], d["sent"]) for d in lines] == [
        ("cust_a", "140.35", False),
        ("cust_b", "50.00", False),
    ]
    body = lines[0]["body"]
    assert body["payload"] == {"stripe_customer_id": "cus_A1", "value": "14035"}
    assert body["identifier"] == lines[0]["idempotency_key"]
    again = CliRunner().invoke(main, args)
    assert again.exit_code == 0, again.output
    assert out.read_text().splitlines() == [json.dumps(d, sort_keys=True) for d in lines]


def test_stripe_needs_each_customers_stripe_id(sqlite_url: str, tmp_path: Path) -> None:
    _ledger(sqlite_url, tmp_path)
    policy = _policy(tmp_path, "").read_text().replace('stripe_customer = "cus_B2"\n', "")
    path = tmp_path / "partial.toml"
    path.write_text(policy)
    result = CliRunner().invoke(
        main, ["bill", "--period", "2025-05", "--policy", str(path), "--to", "stripe",
               "--out", str(tmp_path / "x.jsonl"), "--db", sqlite_url],
    )  # fmt: skip
    assert result.exit_code == 1
    assert "no stripe_customer for cust_b" in result.output
    assert '[customers.cust_b] stripe_customer = "cus_..."' in result.output
    assert not (tmp_path / "x.jsonl").exists()


def test_a_missing_api_key_says_which_variable(sqlite_url: str, tmp_path: Path) -> None:
    _ledger(sqlite_url, tmp_path)
    result = CliRunner().invoke(
        main, ["bill", "--period", "2025-05", "--policy", str(_policy(tmp_path, "")),
               "--to", "openmeter", "--db", sqlite_url],
    )  # fmt: skip
    assert result.exit_code == 1
    assert "OPENMETER_API_KEY is not set" in result.output


def test_a_period_overlapping_one_billed_is_refused(sqlite_url: str, tmp_path: Path) -> None:
    _ledger(sqlite_url, tmp_path)
    policy = _policy(tmp_path, "")
    out = str(tmp_path / "events.jsonl")
    base = ["bill", "--policy", str(policy), "--to", "stripe", "--out", out, "--db", sqlite_url]
    assert CliRunner().invoke(main, [*base, "--period", "2025-05"]).exit_code == 0
    overlapping = CliRunner().invoke(main, [*base, "--period", "2025-05-10..2025-05-20"])
    assert overlapping.exit_code == 1
    assert "2025-05-10..2025-05-20 (UTC) overlaps 2025-05 (UTC), already billed to stripe" in (
        overlapping.output
    )
    berlin = CliRunner().invoke(main, [*base, "--period", "2025-06", "--tz", "Europe/Berlin"])
    assert berlin.exit_code == 1  # Berlin's June starts at 22:00 UTC on May 31
    assert CliRunner().invoke(main, [*base, "--period", "2025-06"]).exit_code == 0


def test_a_customer_gone_from_the_ledger_is_a_credit_due(sqlite_url: str, tmp_path: Path) -> None:
    _ledger(sqlite_url, tmp_path)
    out = tmp_path / "events.jsonl"
    policy = load_policy(_policy(tmp_path, ""))
    first = bill(sqlite_url, period="2025-05", policy=policy, to="lago", out=out)
    assert (first.planned, first.credits_due) == (2, [])
    engine = sa.create_engine(sqlite_url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("DELETE FROM ledger_entries WHERE customer_id = 'cust_b'"))
    finally:
        engine.dispose()
    without_b = POLICY.split("[customers.cust_b]")[0]
    later = bill(sqlite_url, period="2025-05", policy=parse_policy(tomllib.loads(without_b)),
                 to="lago", out=out)  # fmt: skip
    assert later.planned == 0
    assert [(c.customer_id, c.sent_nanos, c.total_nanos) for c in later.credits_due] == [
        ("cust_b", 50_000_000_000, 0)
    ]

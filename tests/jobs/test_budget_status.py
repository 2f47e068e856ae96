"""The budgets file and ``budget_status``: the API the alerts, the report and the guard read."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from opentelemetry.exporter.costledger.errors import ConfigError, InputError
from opentelemetry.exporter.costledger.jobs.budget_status import (
    budget_period,
    budget_status,
    parse_as_of,
)
from opentelemetry.exporter.costledger.jobs.budgets import (
    DEFAULT_THRESHOLDS,
    Budget,
    load_budget_file,
    parse_budgets,
)

from .helpers import insert, row, usd

FILE = """
thresholds = [50, 80, 100]

[[budget]]
customer = "cust_a"
amount = "2000"
hard_limit = "$2,500"

[[budget]]
customer = "*"
amount = 100
thresholds = [100, 50]

[[budget]]
tag = "team=*"
amount = "16"
period = "week"

[[budget]]
feature = "summarize"
amount = "10"
period = "day"

[[budget]]
customer = "cust_d"
amount = "40"
hard_limit = "50"
"""


def _ledger(url: str) -> None:
    insert(
        url,
        [
            row("cust_b", "2025-04-30T23:00", "1000"),  # April: another period
            row("cust_a", "2025-05-01", "100", category="shared", source="allocation"),
            row("cust_a", "2025-05-02", "500"),
            row("cust_a", "2025-05-06", "300"),
            row("cust_b", "2025-05-03", "60"),
            row("cust_d", "2025-05-04", "60"),
            row("x", "2025-05-06", "10", tags='{"team":"search"}'),
            row("x", "2025-05-07", "5", tags='{"team":"search"}'),
            row("cust_c", "2025-05-12", "999"),  # after as_of: not counted
        ],
    )


def test_budget_status_by_hand(ledger_url: str, tmp_path: Path) -> None:
    """As of 2025-05-11 00:00 UTC (10 days of May gone, 21 to go; 6 days of week W19 gone, 1
    to go):

    * cust_a, $2,000/month: spent $100 allocated + $500 + $300 = $900 (45%, no threshold),
      usage $800; forecast 900 + 800 × 21/10 = $2,580; it passes $2,000 after
      (2000 − 900) × 10/800 = 13.75 days: May 24 18:00 → May 24. Hard limit $2,500 not reached.
    * cust_b by "*" ($100/month, thresholds 50 and 100): $60 (April's $1,000 is another
      period) = 60%, crossed 50; forecast 60 + 60 × 21/10 = $186; crossing after 40 × 10/60 =
      6⅔ days: May 17 16:00 → May 17.
    * cust_d ($40/month, hard limit $50): $60 = 150%, crossed 50/80/100, over the hard limit;
      no forecast date (already past the amount); forecast 60 + 60 × 21/10 = $186.
    * team=search by "team=*" ($16/week): $15 = 93.75%, crossed 50/80; forecast
      15 + 15 × 1/6 = $17.50; crossing after 1 × 6/15 = 0.4 day = May 11 09:36 → May 11.
    * feature summarize ($10/day, May 10): nothing spent, 0%, forecast 0.
    * cust_c's cost comes after as_of; x has no budget of its own but falls under "*" only in
      the customer scope, where its $15 counts: 15% of $100, forecast 15 + 15 × 21/10 = $46.50.
    """
    path = tmp_path / "budgets.toml"
    path.write_text(FILE)
    plan = load_budget_file(path)
    _ledger(ledger_url)
    found = budget_status(ledger_url, plan.budgets, datetime(2025, 5, 11, tzinfo=UTC))
    got = {
        (s.scope, s.value): (
            s.period,
            s.spent_nanos,
            s.percent,
            s.thresholds_crossed,
            s.forecast_nanos,
            s.forecast_date,
            s.over_hard_limit,
        )
        for s in found
    }
    d = Decimal
    assert got == {
        ("customer", "cust_a"): (
            "2025-05",
            usd(900),
            d("45.00"),
            (),
            usd(2580),
            date(2025, 5, 24),
            False,
        ),
        ("customer", "cust_b"): (
            "2025-05",
            usd(60),
            d("60.00"),
            (d(50),),
            usd(186),
            date(2025, 5, 17),
            False,
        ),
        ("customer", "x"): ("2025-05", usd(15), d("15.00"), (), usd("46.5"), None, False),
        ("tag", "team=search"): (
            "2025-W19",
            usd(15),
            d("93.75"),
            (d(50), d(80)),
            usd("17.5"),
            date(2025, 5, 11),
            False,
        ),
        ("feature", "summarize"): ("2025-05-10", 0, d("0.00"), (), 0, None, False),
        ("customer", "cust_d"): (
            "2025-05",
            usd(60),
            d("150.00"),
            DEFAULT_THRESHOLDS,
            usd(186),
            None,
            True,
        ),
    }
    # File order, then the values of a "*" budget in order.
    assert [s.value for s in found] == [
        "cust_a",
        "cust_b",
        "x",
        "team=search",
        "summarize",
        "cust_d",
    ]
    cust_a = found[0]
    assert cust_a.hard_limit_nanos == usd(2500) and cust_a.hard_limit_usd == Decimal(2500)
    assert cust_a.amount_usd == Decimal(2000) and cust_a.usage_nanos == usd(800)
    assert (cust_a.period_start, cust_a.period_end) == (date(2025, 5, 1), date(2025, 6, 1))


def test_forecast_rounds_half_even_to_a_nano(ledger_url: str) -> None:
    """$1 over 3 days of a 7-day week: forecast 1 + 1 × 4/3 = $2.333333333 (the third of a
    nano-dollar rounds away)."""
    insert(ledger_url, [row("a", "2025-05-05T01:00", "1")])
    budget = Budget("customer", "a", Decimal(5), "week")
    [status] = budget_status(ledger_url, [budget], datetime(2025, 5, 8, tzinfo=UTC))
    assert status.forecast_nanos == 2_333_333_333 and status.forecast_date is None


def test_periods_as_of_ends_or_falls_in() -> None:
    midnight = datetime(2025, 6, 1, tzinfo=UTC)
    assert budget_period("month", midnight, "UTC").label == "2025-05"
    assert (
        budget_period("month", datetime(2025, 6, 1, 0, 0, 1, tzinfo=UTC), "UTC").label == "2025-06"
    )
    quarter = budget_period("quarter", datetime(2025, 5, 11, tzinfo=UTC), "UTC")
    assert (quarter.label, quarter.start, quarter.end) == (
        "2025-Q2",
        date(2025, 4, 1),
        date(2025, 7, 1),
    )
    q4 = budget_period("quarter", datetime(2025, 11, 3, tzinfo=UTC), "UTC")
    assert (q4.label, q4.end) == ("2025-Q4", date(2026, 1, 1))
    # 2025-05-31 23:30 UTC is June 1 in Berlin.
    berlin = budget_period("month", datetime(2025, 5, 31, 23, 30, tzinfo=UTC), "Europe/Berlin")
    assert berlin.label == "2025-06"
    assert budget_period("week", datetime(2025, 5, 11, tzinfo=UTC), "UTC").label == "2025-W19"
    assert parse_as_of("2025-05-20", "UTC") == datetime(2025, 5, 21, tzinfo=UTC)
    assert parse_as_of("2025-05-20T14:30", "Europe/Berlin") == datetime(
        2025, 5, 20, 12, 30, tzinfo=UTC
    )
    assert parse_as_of("2025-05-20T14:30+00:00") == datetime(2025, 5, 20, 14, 30, tzinfo=UTC)
    with pytest.raises(InputError, match="--as-of 'May 20' is not a date"):
        parse_as_of("May 20")


def test_yaml_and_defaults(tmp_path: Path) -> None:
    path = tmp_path / "budgets.yaml"
    path.write_text("budget:\n  - agent: triage\n    amount: 12.5\n")
    plan = load_budget_file(path, default_period="week")
    assert plan.budgets == (Budget("agent", "triage", Decimal("12.5"), "week"),)
    assert plan.thresholds == DEFAULT_THRESHOLDS and plan.legacy is None
    both = parse_budgets(
        {"budget": [{"workspace": "ws1", "amount": "3"}], "budgets": {"c": "7"}}, "f"
    )
    assert both.legacy == {"c": Decimal(7)} and both.budgets[0].label == "workspace=ws1"
    assert parse_budgets({"budgets": {"c": "7"}}, "f").legacy == {"c": Decimal(7)}
    assert parse_budgets({"c": "7"}, "f").budgets == ()


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"amount": 1}, "name exactly one of customer, workspace, feature, agent, tag"),
        ({"customer": "a", "agent": "b", "amount": 1}, "not 2"),
        ({"customer": "a"}, "needs amount"),
        ({"customer": "a", "amount": "-1"}, "amount must be an amount of dollars"),
        ({"customer": "a", "amount": "lots"}, "amount must be an amount of dollars"),
        ({"customer": "a", "amount": 1, "period": "year"}, "period = 'year' is not one of"),
        ({"customer": "a", "amount": 1, "hard_limit": "x"}, "hard_limit must be an amount"),
        ({"customer": "a", "amount": 1, "thresholds": [0]}, "0 is not a percentage above zero"),
        ({"customer": "a", "amount": 1, "thresholds": 80}, "must be a list of percentages"),
        ({"customer": "a", "amount": 1, "limit": 2}, "unknown key(s) 'limit'"),
        ({"tag": "team", "amount": 1}, "must be name=value"),
        ({"customer": "", "amount": 1}, "customer must be a name"),
        ("cust_a", "each [[budget]] is a table"),
    ],
)
def test_bad_entries_say_what_to_write(entry: object, message: str) -> None:
    with pytest.raises(InputError, match=f"budgets.toml: budget #1.*{_escape(message)}"):
        parse_budgets({"budget": [entry]}, "budgets.toml")


def test_bad_files() -> None:
    one = {"customer": "a", "amount": 1}
    with pytest.raises(InputError, match=r"budget #2 repeats budget #1 \(customer=a per month"):
        parse_budgets({"budget": [one, one]}, "b.toml")
    with pytest.raises(InputError, match=r"unknown key.*'alerts'"):
        parse_budgets({"budget": [one], "alerts": 1}, "b.toml")
    with pytest.raises(InputError, match="thresholds must be a list"):
        parse_budgets({"budget": [one], "thresholds": "50"}, "b.toml")
    with pytest.raises(InputError, match=r"b.toml: thresholds: -5"):
        parse_budgets({"thresholds": [-5]}, "b.toml")


def test_bad_file_syntax(tmp_path: Path) -> None:
    path = tmp_path / "budgets.toml"
    path.write_text("[[budget]\n")
    with pytest.raises(ConfigError, match="is not valid toml"):
        load_budget_file(path)


def test_naive_as_of_is_refused(ledger_url: str) -> None:
    insert(ledger_url, [row("a", "2025-05-05", "1")])
    with pytest.raises(InputError, match="needs a time zone"):
        budget_status(ledger_url, [], datetime(2025, 5, 8))


def _escape(text: str) -> str:
    import re

    return re.escape(text)

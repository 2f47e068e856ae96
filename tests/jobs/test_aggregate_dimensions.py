"""``aggregate -d agent / feature / status / tag:<name>``: the dimensions beyond the customer."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from opentelemetry.exporter.costledger.cli.main import main
from opentelemetry.exporter.costledger.errors import InputError
from opentelemetry.exporter.costledger.jobs.aggregate import (
    aggregate,
    aggregate_rows,
    normalize_dimensions,
)

from .helpers import insert, row, usd

ROWS = [
    row("c1", "2025-05-02", "1", agent="triage", feature="summary", status="ok",
        tags='{"plan":"pro"}'),
    row("c1", "2025-05-03", "2", agent="triage", feature="reply", status="error",
        error_type="RateLimitError", tags='{"plan":"pro","region":"eu"}'),
    row("c1", "2025-05-04", "4", agent="writer", feature="reply", status="ok"),
    row("c2", "2025-05-05", "8", status="truncated", tags='{"plan":"free"}'),
]  # fmt: skip


def sums(url: str, dims: str) -> dict[tuple[str | None, ...], int]:
    aggregate(url, dimensions=dims)
    return {
        (r.customer_id, r.agent, r.feature, r.status, r.tag_value): r.cost_nanos
        for r in aggregate_rows(url, dimensions=dims)
    }


def test_each_dimension_groups_the_cost(ledger_url: str) -> None:
    insert(ledger_url, ROWS)
    assert sums(ledger_url, "agent") == {
        ("c1", "triage", None, None, None): usd(3),
        ("c1", "writer", None, None, None): usd(4),
        ("c2", None, None, None, None): usd(8),
    }
    assert sums(ledger_url, "feature,status") == {
        ("c1", None, "summary", "ok", None): usd(1),
        ("c1", None, "reply", "error", None): usd(2),
        ("c1", None, "reply", "ok", None): usd(4),
        ("c2", None, None, "truncated", None): usd(8),
    }
    assert sums(ledger_url, "tag:plan") == {
        ("c1", None, None, None, "pro"): usd(3),
        ("c1", None, None, None, None): usd(4),
        ("c2", None, None, None, "free"): usd(8),
    }
    assert sums(ledger_url, "tag:region")[("c1", None, None, None, "eu")] == usd(2)


def test_the_cli_shows_the_dimension_columns(ledger_url: str) -> None:
    insert(ledger_url, ROWS)
    result = CliRunner().invoke(
        main, ["aggregate", "--db", ledger_url, "-d", "agent", "-d", "tag:plan", "--format", "csv"]
    )
    assert result.exit_code == 0, result.output
    header = result.output.splitlines()[0].split(",")
    assert header[:4] == ["period", "customer_id", "agent", "tag_value"]


@pytest.mark.parametrize(
    ("given", "message"),
    [("tag:plan,tag:region", "one tag"), ("tag:a b", "tag name"), ("agents", "unknown")],
)
def test_bad_dimensions_say_what_to_use(given: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        normalize_dimensions(given)

"""reconcile: provider exports in their real shapes, compared per day × model."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa
from opentelemetry.exporter.costledger.errors import InputError
from opentelemetry.exporter.costledger.imports.invoices import detect_format, import_provider_costs
from opentelemetry.exporter.costledger.jobs.reconcile import reconcile
from opentelemetry.exporter.costledger.ledger import db
from opentelemetry.exporter.costledger.ledger.tables import reconciliation

from .helpers import insert, row, usd

MODEL = "claude-sonnet-4-5-20250929"


def _anthropic_cost(tmp_path: Path) -> Path:
    # GET /v1/organizations/cost_report?group_by[]=description — amounts are CENTS as strings.
    page = {
        "data": [
            {
                "starting_at": "2025-05-01T00:00:00Z",
                "ending_at": "2025-05-02T00:00:00Z",
                "results": [
                    {"currency": "USD", "amount": "600.0", "workspace_id": None,
                     "description": "Claude Sonnet 4.5 Usage - Input Tokens",
                     "cost_type": "tokens", "context_window": "0-200k", "model": MODEL,
                     "service_tier": "standard", "token_type": "uncached_input_tokens"},
                    {"currency": "USD", "amount": "450.5", "workspace_id": None,
                     "description": "Claude Sonnet 4.5 Usage - Output Tokens",
                     "cost_type": "tokens", "context_window": "0-200k", "model": MODEL,
                     "service_tier": "standard", "token_type": "output_tokens"},
                    {"currency": "USD", "amount": "1000", "workspace_id": None,
                     "description": "Web Search", "cost_type": "web_search",
                     "context_window": None, "model": None, "service_tier": None,
                     "token_type": None},
                ],
            },
            {"starting_at": "2025-05-02T00:00:00Z", "ending_at": "2025-05-03T00:00:00Z",
             "results": [{"currency": "USD", "amount": "1000", "model": MODEL,
                          "cost_type": "tokens", "token_type": "output_tokens",
                          "description": "x"}]},
        ],
        "has_more": False,
        "next_page": None,
    }  # fmt: skip
    path = tmp_path / "anthropic-cost.json"
    path.write_text(json.dumps(page))
    return path


def _anthropic_usage(tmp_path: Path) -> Path:
    pages = [
        {
            "data": [
                {
                    "starting_at": "2025-05-01T00:00:00Z",
                    "ending_at": "2025-05-02T00:00:00Z",
                    "results": [
                        {"uncached_input_tokens": 2000, "cache_creation":
                         {"ephemeral_1h_input_tokens": 0, "ephemeral_5m_input_tokens": 500},
                         "cache_read_input_tokens": 0, "output_tokens": 500,
                         "server_tool_use": {"web_search_requests": 0}, "api_key_id": None,
                         "workspace_id": None, "model": MODEL, "service_tier": "standard",
                         "context_window": "0-200k"},
                    ],
                }
            ],
            "has_more": True,
            "next_page": "page_2",
        },
        {"data": [{"starting_at": "2025-05-02T00:00:00Z", "ending_at": "2025-05-03T00:00:00Z",
                   "results": [{"uncached_input_tokens": 1000, "output_tokens": 1000,
                                "cache_read_input_tokens": 0, "model": MODEL}]}],
         "has_more": False, "next_page": None},
    ]  # fmt: skip
    path = tmp_path / "anthropic-usage.jsonl"
    path.write_text("\n".join(json.dumps(p) for p in pages))
    return path


def test_anthropic_cost_and_usage_against_the_ledger(ledger_url: str, tmp_path: Path) -> None:
    insert(
        ledger_url,
        [
            # May 1: ledger has 2,000 of the 3,000 tokens at the same price per token -> quantity
            row("a", "2025-05-01T10:00", "7.003333333", model=MODEL, input_tokens=1500,
                output_tokens=500),
            # May 2: same tokens, ledger priced lower -> price difference
            row("a", "2025-05-02T10:00", "8", model=MODEL, input_tokens=1000,
                output_tokens=1000),
        ],
    )  # fmt: skip
    assert detect_format(_anthropic_cost(tmp_path)) == "anthropic-cost-report"
    assert detect_format(_anthropic_usage(tmp_path)) == "anthropic-usage-report"
    first = import_provider_costs(ledger_url, _anthropic_cost(tmp_path))
    assert first.rows == 3 and first.first_day == date(2025, 5, 1)
    import_provider_costs(ledger_url, _anthropic_usage(tmp_path))
    import_provider_costs(ledger_url, _anthropic_cost(tmp_path))  # re-import replaces
    rows = {(r.day, r.model): r for r in reconcile(ledger_url, period="2025-05")}
    may1 = rows[(date(2025, 5, 1), MODEL)]
    assert may1.provider_cost_usd == Decimal("10.505")  # (600.0 + 450.5) cents
    assert may1.ledger_cost_usd == Decimal("7.003333333")
    assert may1.difference_usd == Decimal("3.501666667")
    assert may1.cause == "quantity" and may1.flagged
    assert may1.provider_tokens == 2500 + 500 and may1.ledger_tokens == 2000
    may2 = rows[(date(2025, 5, 2), MODEL)]
    assert may2.cause == "price" and may2.difference_usd == Decimal(2)
    assert may2.quantity_effect_usd == Decimal(0) and may2.price_effect_usd == Decimal(2)
    web = rows[(date(2025, 5, 1), None)]
    assert web.cause == "missing in ledger" and web.provider_cost_usd == Decimal(10)


def test_openai_costs_usage_and_tolerance(sqlite_url: str, tmp_path: Path) -> None:
    start = int(datetime(2025, 5, 1, tzinfo=UTC).timestamp())
    costs = {
        "object": "page",
        "data": [{"object": "bucket", "start_time": start, "end_time": start + 86400,
                  "results": [
                      {"object": "organization.costs.result",
                       "amount": {"value": 0.06, "currency": "usd"},
                       "line_item": "gpt-4o-mini-2024-07-18, input", "project_id": None},
                      {"object": "organization.costs.result",
                       "amount": {"value": 0.0405, "currency": "usd"},
                       "line_item": "gpt-4o-mini-2024-07-18, output", "project_id": None}]}],
        "has_more": False, "next_page": None,
    }  # fmt: skip
    usage = {
        "object": "page",
        "data": [{"object": "bucket", "start_time": start, "end_time": start + 86400,
                  "results": [{"object": "organization.usage.completions.result",
                               "input_tokens": 400000, "output_tokens": 67500,
                               "input_cached_tokens": 0, "num_model_requests": 12,
                               "project_id": None, "user_id": None, "api_key_id": None,
                               "model": "gpt-4o-mini-2024-07-18", "batch": None}]}],
        "has_more": False, "next_page": None,
    }  # fmt: skip
    (tmp_path / "costs.json").write_text(json.dumps(costs))
    (tmp_path / "usage.json").write_text(json.dumps(usage))
    insert(sqlite_url, [row("a", "2025-05-01T09:00", "0.1005", provider="openai",
                            model="gpt-4o-mini-2024-07-18", input_tokens=400000,
                            output_tokens=67500)])  # fmt: skip
    assert import_provider_costs(sqlite_url, tmp_path / "costs.json").source_format == (
        "openai-costs"
    )
    import_provider_costs(sqlite_url, tmp_path / "usage.json")
    [result] = reconcile(sqlite_url, period="2025-05")
    assert result.provider_cost_usd == Decimal("0.1005")
    assert result.difference_usd == 0 and result.cause == "match" and not result.flagged


def test_generic_csv_and_missing_at_provider(sqlite_url: str, tmp_path: Path) -> None:
    csv = tmp_path / "billing.csv"
    csv.write_text(
        'Date,Model,Cost_USD,Input_Tokens,Output_Tokens\n2025-05-03,m1,"1,000.00",10,0\n'
    )
    insert(sqlite_url, [row("a", "2025-05-03", "999.995", model="m1", input_tokens=10,
                            output_tokens=0),
                        row("a", "2025-05-03", "5", model="m2")])  # fmt: skip
    with pytest.raises(InputError, match="--provider"):
        import_provider_costs(sqlite_url, csv)
    import_provider_costs(sqlite_url, csv, provider="anthropic")
    rows = {r.model: r for r in reconcile(sqlite_url, period="2025-05", tolerance=Decimal(0))}
    assert rows["m1"].difference_usd == Decimal("0.005") and not rows["m1"].flagged
    assert rows["m2"].cause == "missing at provider" and rows["m2"].flagged


def test_unknown_json_says_which_formats_exist(tmp_path: Path) -> None:
    path = tmp_path / "x.json"
    path.write_text('{"data": []}')
    with pytest.raises(InputError, match="--export-format"):
        detect_format(path)


def test_a_day_imported_in_two_formats_is_billed_once(ledger_url: str, tmp_path: Path) -> None:
    # May 1 in the console CSV ($0.50) and in the cost report ($10.505 for MODEL): the cost
    # report wins for that day; May 3 is only in the CSV, which then counts.
    csv = tmp_path / "billing.csv"
    csv.write_text(
        f"date,provider,model,cost_usd,input_tokens,output_tokens\n"
        f"2025-05-01,anthropic,{MODEL},0.50,10,10\n"
        f"2025-05-03,anthropic,{MODEL},2.00,10,10\n"
    )
    insert(ledger_url, [row("a", "2025-05-01T10:00", "10.505", model=MODEL, input_tokens=2500,
                            output_tokens=500),
                        row("a", "2025-05-03T10:00", "2", model=MODEL, input_tokens=10,
                            output_tokens=10)])  # fmt: skip
    import_provider_costs(ledger_url, csv)
    import_provider_costs(ledger_url, _anthropic_cost(tmp_path))
    import_provider_costs(ledger_url, _anthropic_usage(tmp_path))
    rows = {(r.day, r.model): r for r in reconcile(ledger_url, period="2025-05")}
    may1 = rows[(date(2025, 5, 1), MODEL)]
    assert may1.provider_cost_usd == Decimal("10.505")  # not 10.505 + 0.50
    assert may1.cost_source == "anthropic-cost-report" and may1.cause == "match"
    assert may1.provider_tokens == 3000  # the usage report's, not added to the CSV's 20
    may3 = rows[(date(2025, 5, 3), MODEL)]
    assert may3.provider_cost_usd == Decimal(2) and may3.cost_source == "csv"
    assert may3.provider_tokens == 20
    engine = db.create_engine(ledger_url)
    with engine.connect() as conn:
        billed = conn.execute(
            sa.select(sa.func.sum(reconciliation.c.provider_cost_nanos)).where(
                reconciliation.c.period == "2025-05"
            )
        ).scalar_one()
    engine.dispose()
    # 10.505 + 10 (web search) + 10 (May 2) from the cost report, 2 from the CSV
    assert billed == usd("32.505")


def test_a_forced_format_that_does_not_fit_says_so(sqlite_url: str, tmp_path: Path) -> None:
    start = int(datetime(2025, 5, 1, tzinfo=UTC).timestamp())
    costs = {"data": [{"start_time": start, "results": [
        {"object": "organization.costs.result", "amount": {"value": 1, "currency": "usd"},
         "line_item": "gpt-4o, input"}]}]}  # fmt: skip
    path = tmp_path / "openai-costs.json"
    path.write_text(json.dumps(costs))
    with pytest.raises(InputError) as caught:
        import_provider_costs(sqlite_url, path, source_format="anthropic-cost-report")
    message = str(caught.value)
    assert "does not look like an Anthropic cost report" in message
    assert "--export-format openai-costs" in message and "bad bucket" not in message

"""``costledger prices``: the prices in force for a model at a date, and where they come from."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from opentelemetry.exporter.costledger.cli.main import main

PRICES = """
[[override]]
provider = "anthropic"
multiplier = "0.8"
from = 2025-06-01

[[model]]
provider = "self-hosted"
model = "llama-3.3-70b*"
input = "0.20"
output = "0.60"

[[unit_price]]
category = "human_review"
unit = "hour"
price = "45"
"""


@pytest.fixture
def price_file(tmp_path: Path) -> Path:
    path = tmp_path / "prices.toml"
    path.write_text(PRICES, encoding="utf-8")
    return path


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.output


def test_model_at_a_date_as_json_with_its_rule(price_file: Path) -> None:
    code, out = run(
        "prices", "--model", "claude-sonnet-4-5-20250929", "--provider", "anthropic",
        "--at", "2025-05-31", "--prices", str(price_file), "--format", "json",
    )  # fmt: skip
    assert code == 0, out
    (base, tier) = json.loads(out)
    assert (base["band"], base["input"], base["output"]) == ("input <= 200,000", "3", "15")
    assert (base["cache_read"], base["cache_write_5m"], base["cache_write_1h"]) == (
        "0.3",
        "3.75",
        "6",
    )
    assert (tier["band"], tier["input"]) == ("input > 200,000", "6")
    assert base["rule"].startswith("genai-prices ")
    assert base["next_change"].startswith("2025-06-01")  # the override takes effect then

    code, out = run(
        "prices", "--model", "claude-sonnet-4-5-20250929", "--provider", "anthropic",
        "--at", "2025-06-01", "--prices", str(price_file), "--format", "json",
    )  # fmt: skip
    (base, _tier) = json.loads(out)
    assert (base["input"], base["output"], base["cache_write_1h"]) == ("2.4", "12", "4.8")
    assert base["rule"].startswith("prices.toml:2 override anthropic/* x0.8 from 2025-06-01 on ")


def test_model_table_for_people(price_file: Path) -> None:
    code, out = run(
        "prices", "--model", "llama-3.3-70b", "--provider", "self-hosted",
        "--prices", str(price_file),
    )  # fmt: skip
    assert code == 0, out
    assert "self-hosted/llama-3.3-70b at " in out
    assert "0.2" in out and "0.6" in out
    assert "rule: prices.toml:7 model self-hosted/llama-3.3-70b*" in out


def test_unknown_model_says_why(price_file: Path) -> None:
    code, out = run("prices", "--model", "gpt-99", "--provider", "openai")
    assert code == 0
    assert "no price: genai-prices" in out and "gpt-99" in out


def test_provider_listing_and_price_file_rules(price_file: Path) -> None:
    code, out = run(
        "prices", "--provider", "self-hosted", "--prices", str(price_file), "--format", "json"
    )
    assert code == 0, out
    assert [r["model"] for r in json.loads(out)] == ["llama-3.3-70b*"]
    code, out = run("prices", "--provider", "openai", "--format", "json")
    models = {r["model"]: r for r in json.loads(out)}
    assert models["gpt-4o"]["input"] == "2.5"
    code, out = run("prices", "--provider", "nobody-knows")
    assert code != 0 and "no models known for provider 'nobody-knows'" in out
    code, out = run("prices", "--prices", str(price_file), "--format", "json")
    rules = json.loads(out)
    assert [(r["source"], r["kind"]) for r in rules] == [
        ("prices.toml:2", "override"),
        ("prices.toml:7", "model"),
        ("prices.toml:13", "unit_price"),
    ]
    assert rules[0]["from"] == "2025-06-01" and rules[2]["price"] == "45 per hour"


def test_bad_input_is_a_clear_error(price_file: Path, tmp_path: Path) -> None:
    code, out = run("prices", "--model", "gpt-4o", "--at", "yesterday-ish")
    assert code != 0 and "invalid --at 'yesterday-ish'" in out
    bad = tmp_path / "bad.yaml"
    bad.write_text("override:\n  - provider: openai\n    multiplyer: 0.9\n", encoding="utf-8")
    code, out = run("prices", "--prices", str(bad))
    assert code != 0 and f"{bad}:3: override #1, field 'multiplyer': unknown field" in out


def test_help_texts() -> None:
    for args in (["prices"], ["prices", "check"], ["reprice"]):
        code, out = run(*args, "--help")
        assert code == 0 and "Examples:" in out

"""What costledger uses of genai-prices: its public API, and one private name kept on purpose.

These tests fail LOUDLY, naming what changed, when a genai-prices release removes or changes
something the price book relies on, instead of letting prices go missing in users' ledgers.
"""

from __future__ import annotations

import ast
import inspect
import re
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import genai_prices
import pytest
from genai_prices import data_snapshot, types
from opentelemetry.instrumentation.costledger import _price_genai

ROOT = Path(__file__).resolve().parents[2]
PRODUCT_CODE = [ROOT / "instrumentation", ROOT / "exporter"]
# The only underscore name of genai-prices that product code may use, and why (see
# _price_genai.providers_from_json): genai-prices has no public parser for the JSON data that
# `costledger prices update` stores; UpdatePrices.fetch parses it with this same function.
ALLOWED_PRIVATE = {"genai_prices.types._providers_from_raw"}

RAW = [
    {
        "id": "anthropic",
        "name": "Anthropic",
        "api_pattern": "https://api\\.anthropic\\.com",
        "model_match": {"contains": "claude"},
        "models": [
            {
                "id": "claude-sonnet-4-5",
                "match": {"starts_with": "claude-sonnet-4-5"},
                "prices": [
                    {"prices": {"input_mtok": "3", "output_mtok": "15"}},
                    {
                        "constraint": {"start_date": "2026-01-01"},
                        "prices": {
                            "input_mtok": {
                                "base": "2.5",
                                "tiers": [{"start": 200000, "price": "5"}],
                            },
                            "output_mtok": "12",
                        },
                    },
                ],
            }
        ],
    }
]


def test_the_private_data_parser_costledger_keeps_still_works() -> None:
    """genai_prices.types._providers_from_raw: the one private name, kept on purpose."""
    version = genai_prices.__version__
    parse = getattr(types, "_providers_from_raw", None)
    assert callable(parse), (
        f"genai-prices {version} no longer has genai_prices.types._providers_from_raw, the parser"
        " of its JSON price data that costledger uses (on purpose: genai-prices has no public"
        " one) to validate `costledger prices update` downloads and to read the stored file."
        " Find what genai_prices.update_prices.UpdatePrices.fetch parses with now, use it in"
        " _price_genai.providers_from_json, and update this test and the README's development"
        " section."
    )
    providers = _price_genai.providers_from_json(RAW)
    shape = (
        f"genai-prices {version}: genai_prices.types._providers_from_raw(raw) no longer returns"
        " the providers of raw JSON data as list[types.Provider] with ModelInfo models and"
        " ModelPrice / ConditionalPrice / TieredPrices prices; fix"
        " _price_genai.providers_from_json"
    )
    assert [p.id for p in providers] == ["anthropic"], shape
    (model,) = providers[0].models
    assert isinstance(model, types.ModelInfo), shape
    assert isinstance(model.prices, list), shape
    first, dated = model.prices
    assert isinstance(first.prices, types.ModelPrice), shape
    assert first.prices.input_mtok == Decimal(3), shape
    assert isinstance(dated.constraint, types.StartDateConstraint), shape
    assert isinstance(dated.prices.input_mtok, types.TieredPrices), shape


def test_a_data_file_prices_calls_through_the_public_api(tmp_path: Path) -> None:
    import json

    from opentelemetry.instrumentation.costledger.pricing import PriceBook
    from opentelemetry.instrumentation.costledger.usage import TokenUsage

    data = tmp_path / "genai-prices.json"
    data.write_text(json.dumps(RAW))
    book = PriceBook("", genai_data=data)
    call = TokenUsage(input_tokens=300_000, output_tokens=1_000)
    before = book.price_tokens(
        "anthropic", "claude-sonnet-4-5-20250929", call, datetime(2025, 6, 1)
    )
    after = book.price_tokens("anthropic", "claude-sonnet-4-5", call, datetime(2026, 2, 1))
    assert before.amount == Decimal("0.915")  # 0.3 x 3 + 0.001 x 15
    assert after.amount == Decimal("1.512")  # above 200k: 0.3 x 5 + 0.001 x 12
    assert after.rule is not None and after.rule.endswith(
        "anthropic/claude-sonnet-4-5 from 2026-01-01"
    )


def _private_genai_names(path: Path) -> set[str]:
    """Underscore names of genai_prices that ``path`` imports or mentions (dunders excepted)."""
    text = path.read_text(encoding="utf-8")
    found = set()
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("genai_prices"):
            module = node.module or ""
            for alias in node.names:
                name = f"{module}.{alias.name}"
                if any(p.startswith("_") and not p.startswith("__") for p in name.split(".")):
                    found.add(name)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("genai_prices") and "._" in alias.name:
                    found.add(alias.name)
    # attribute chains and strings (getattr(types, "_x"), "genai_prices.types._x")
    for match in re.finditer(r"genai_prices(?:\.\w+)*\._(?!_)\w+", text):
        found.add(match.group(0))
    return found


def test_product_code_uses_no_other_private_genai_prices_name() -> None:
    used: dict[str, set[str]] = {}
    for base in PRODUCT_CODE:
        for path in base.rglob("*.py"):
            for name in _private_genai_names(path) - ALLOWED_PRIVATE:
                used.setdefault(name, set()).add(str(path.relative_to(ROOT)))
    assert not used, (
        f"product code uses private genai-prices names {used}: use genai-prices' public API, or"
        " keep one on purpose: add it to ALLOWED_PRIVATE with the reason, a test here that fails"
        " loudly when it changes, and a line in the README's development section"
    )
    # the kept one is named where it is used
    assert _price_genai.PRIVATE_PARSER in ALLOWED_PRIVATE


def test_the_public_api_the_price_book_relies_on() -> None:
    """Each public name costledger uses, so a release that drops one fails here, by name."""
    version = genai_prices.__version__
    missing = [
        name
        for name, ok in [
            ("genai_prices.__version__", isinstance(version, str)),
            ("genai_prices.Usage", hasattr(genai_prices, "Usage")),
            ("genai_prices.data_snapshot.get_snapshot", hasattr(data_snapshot, "get_snapshot")),
            ("genai_prices.data_snapshot.DataSnapshot", hasattr(data_snapshot, "DataSnapshot")),
            (
                "DataSnapshot.find_provider_model",
                hasattr(data_snapshot.DataSnapshot, "find_provider_model"),
            ),
            ("DataSnapshot.find_provider", hasattr(data_snapshot.DataSnapshot, "find_provider")),
            ("ModelInfo.calc_price", hasattr(types.ModelInfo, "calc_price")),
            (
                "ModelInfo.calc_price(genai_request_timestamp=)",
                "genai_request_timestamp"
                in inspect.signature(types.ModelInfo.calc_price).parameters,
            ),
            (
                "PriceCalculation.model_price",
                "model_price" in types.PriceCalculation.__annotations__,
            ),
            *[
                (f"genai_prices.types.{name}", hasattr(types, name))
                for name in (
                    "ModelPrice",
                    "TieredPrices",
                    "ConditionalPrice",
                    "StartDateConstraint",
                    "TimeOfDateConstraint",
                )
            ],
        ]
        if not ok
    ]
    assert not missing, f"genai-prices {version} lacks what costledger's price book uses: {missing}"
    from genai_prices.update_prices import DEFAULT_UPDATE_URL

    assert DEFAULT_UPDATE_URL.startswith("https://")


def test_the_price_in_force_is_genai_prices_own() -> None:
    """``resolve`` takes ModelInfo.calc_price's ``model_price``: genai-prices applies its own
    dates, tiers and variants; costledger only reads the result."""
    found = _price_genai.find_model("openai", "gpt-4o-2024-08-06")
    assert isinstance(found, _price_genai.GenaiModel)
    at = datetime(2025, 11, 14, tzinfo=UTC)
    resolved = _price_genai.resolve(found, at, None, False)
    reference = found.model.calc_price(
        genai_prices.Usage(input_tokens=0, output_tokens=0),
        found.provider,
        genai_request_timestamp=at,
    ).model_price
    assert resolved.prices["input"] == reference.input_mtok
    assert resolved.prices["output"] == reference.output_mtok
    assert resolved.description == f"genai-prices {genai_prices.__version__} openai/gpt-4o"


def test_time_of_day_prices_resolve_per_part_of_the_day() -> None:
    """Time-of-day prices (DeepSeek's peak hours): the cached rate is chosen by which part of
    the UTC day a call falls in, between the constraints' start and end times, and equals
    calc_price's at every half hour."""
    from decimal import ROUND_HALF_EVEN

    from opentelemetry.instrumentation.costledger.pricing import PriceBook
    from opentelemetry.instrumentation.costledger.usage import TokenUsage

    found = _price_genai.find_model("deepseek", "deepseek-flash")
    if not isinstance(found, _price_genai.GenaiModel):
        pytest.skip(f"genai-prices {genai_prices.__version__} has no deepseek-flash")
    _, daily = _price_genai.breakpoints(found, None, False)
    assert [t.isoformat() for t in daily] == ["01:00:00", "04:00:00", "06:00:00", "10:00:00"]
    book = PriceBook("")
    costs = set()
    for minute in range(0, 24 * 60, 30):
        at = datetime(2026, 11, 2, minute // 60, minute % 60, tzinfo=UTC)
        reference = genai_prices.calc_price(
            genai_prices.Usage(input_tokens=10_000, output_tokens=1_000),
            "deepseek-flash",
            provider_id="deepseek",
            genai_request_timestamp=at,
        ).total_price
        ours = book.price_tokens("deepseek", "deepseek-flash", TokenUsage(10_000, 1_000), at)
        assert ours.cost_nanos == int((reference * 10**9).to_integral_value(ROUND_HALF_EVEN))
        costs.add(ours.cost_nanos)
    assert len(costs) == 2  # peak and off-peak


def test_without_the_private_parser_a_data_file_fails_clearly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """If a genai-prices release drops the parser, a stored data file stops with an error that
    names it (and the bundled snapshot keeps working), never silent missing prices."""
    import json

    from opentelemetry.instrumentation.costledger.pricing import PriceBook, PriceFileError

    data = tmp_path / "genai-prices.json"
    data.write_text(json.dumps(RAW))
    monkeypatch.delattr(types, "_providers_from_raw")
    with pytest.raises(PriceFileError) as error:
        PriceBook("", genai_data=data)
    message = str(error.value)
    assert "genai_prices.types._providers_from_raw" in message
    assert "costledger prices update" in message
    assert PriceBook("", genai_data="").model_names("anthropic")  # the bundled snapshot

"""The producers whose packages cannot live in the test lock, each in an environment of its own.

OpenTelemetry contrib's Gemini instrumentation (google-genai < 3), LiteLLM (its pins would move
our oldest lock's floors) and OpenLIT (openai < 3, OpenTelemetry >= 1.38) are locked in
``requirements/peers.txt`` and ``requirements/peers-openlit.txt``; ``make peers`` (a step of
``make test``) builds ``.venv-peers`` and ``.venv-peers-openlit`` from them, with this checkout's
costledger installed editable. Each setup's app (:mod:`.app`) runs with that environment's
python: the real SDK, the real third-party instrumentation, our exporter writing a real SQLite
ledger and an OTLP/gRPC exporter to a ``costledger serve`` that this test starts. The test reads
both ledgers here and wants exactly one row per call, at the list price of the price book below
(not the one the app priced with), for the customer of ``attribute_to``.

The app also lists the spans that carried token counts (``--reports``), and the test checks
them: where a call had two reports (ours and LiteLLM's), the one row is the dedupe's work, not
a report gone missing. With the dedupe switched off (rules 1-3 of the README) the
``litellm_otel_callback`` setup gives three rows for its two calls, and this test fails.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from .mock_api import INPUT_TOKENS, OUTPUT_TOKENS, MockAPI
from .test_producers import (
    CALLS,
    REPO,
    Expected,
    assert_one_row_per_call,
    reports,
    rows,
    run_app,
)

# List prices in US dollars per million tokens (input, output), as the providers publish them.
PRICE_BOOK = {
    ("openai", "gpt-4o-mini"): (Decimal("0.15"), Decimal("0.60")),
    ("google", "gemini-2.5-flash"): (Decimal("0.30"), Decimal("2.50")),
}

OURS = "opentelemetry.instrumentation.costledger"

# setup -> (its environment, what its rows must be, the scopes of the spans with token counts
# for the CALLS calls: what the ledger made one row per call of)
PEERS: dict[str, tuple[str, Expected, tuple[str, ...]]] = {
    "gemini_contrib": (
        ".venv-peers",
        Expected("gcp.gemini", "gemini-2.5-flash", "google", "gemini-2.5-flash"),
        ("opentelemetry.instrumentation.google_genai",) * CALLS,
    ),
    "litellm_completion": (
        ".venv-peers",
        Expected("openai", "gpt-4o-mini", "openai", "gpt-4o-mini"),
        (OURS,) * CALLS,
    ),
    "litellm_otel_callback": (
        ".venv-peers",
        Expected("openai", "gpt-4o-mini", "openai", "gpt-4o-mini"),
        # LiteLLM writes each call onto the span active at the time, the app's request span
        # (the last call's id and usage are the ones it keeps).
        (*(OURS,) * CALLS, "support-bot"),
    ),
    "litellm_otel_request_span": (
        ".venv-peers",
        Expected("openai", "gpt-4o-mini", "openai", "gpt-4o-mini"),
        ("litellm",) * CALLS,
    ),
    "openlit_openai": (
        ".venv-peers-openlit",
        Expected("openai", "gpt-4o-mini", "openai", "gpt-4o-mini"),
        ("openlit.instrumentation.openai",) * CALLS,
    ),
    # OpenLIT's cost of 0 where it has no price is not a price: the list price, and no flag.
    "openlit_no_prices": (
        ".venv-peers-openlit",
        Expected("openai", "gpt-4o-mini", "openai", "gpt-4o-mini"),
        ("openlit.instrumentation.openai",) * CALLS,
    ),
}

# No network in a test: LiteLLM reads its bundled model list instead of downloading one.
PEER_ENV = {"LITELLM_LOCAL_MODEL_COST_MAP": "True", "LITELLM_TELEMETRY": "False"}


def list_price_nanos(expected: Expected) -> int:
    """One call of the mock's usage at the price book's list price, in nano-dollars."""
    per_input, per_output = PRICE_BOOK[(expected.prices_provider, expected.price_model)]
    dollars = (INPUT_TOKENS * per_input + OUTPUT_TOKENS * per_output) / 1_000_000
    return int(dollars * 10**9)


def test_price_book_figures() -> None:
    # 1,000 x $0.15 + 200 x $0.60 per million: $0.00027.
    assert list_price_nanos(PEERS["litellm_completion"][1]) == 270_000
    assert list_price_nanos(PEERS["gemini_contrib"][1]) == 800_000


def peer_python(venv: str) -> str:
    """The environment's python, or a skip that says how to build it."""
    python = REPO / venv / "bin" / "python"
    if not python.exists() or not (REPO / venv / ".installed").exists():
        pytest.skip(f"{venv} is not built: run `make peers` (a step of `make test`)")
    return str(python)


@pytest.mark.parametrize("batch", [512, 1], ids=["one-batch", "span-per-batch"])
@pytest.mark.parametrize("setup", sorted(PEERS))
def test_peer_one_row_per_call_at_list_price(
    setup: str, batch: int, tmp_path: Path, start_receiver: Any, mock_api: MockAPI
) -> None:
    venv, expected, producers = PEERS[setup]
    python = peer_python(venv)
    receiver = start_receiver(f"sqlite:///{tmp_path / 'served.db'}")
    run_app(setup, tmp_path, receiver, mock_api, batch, python=python, extra_env=PEER_ENV)
    receiver.stop(5)
    # The spans with token counts the ledger saw: more than CALLS where a call had two reports.
    reported = sorted(report["scope"] for report in reports(tmp_path))
    assert reported == sorted(producers), reports(tmp_path)
    assert_one_row_per_call(tmp_path, expected, list_price_nanos(expected))


def test_litellm_callback_alone_reports_the_last_call_of_a_span_only(
    tmp_path: Path, start_receiver: Any, mock_api: MockAPI
) -> None:
    """LiteLLM's "otel" callback as it comes, inside the app's request span: it writes each call
    onto that span, the next call overwriting the last. The ledger can only see one call, so the
    README says to turn on our instrumentor or ``USE_OTEL_LITELLM_REQUEST_SPAN=true``."""
    python = peer_python(".venv-peers")
    receiver = start_receiver(f"sqlite:///{tmp_path / 'served.db'}")
    run_app("litellm_otel_alone", tmp_path, receiver, mock_api, 512, python, PEER_ENV)
    receiver.stop(5)
    assert [report["scope"] for report in reports(tmp_path)] == ["support-bot"]
    for ledger in ("local.db", "served.db"):
        [row] = rows(tmp_path / ledger)  # two calls made, one reported
        assert (row["provider"], row["model"], row["customer_id"]) == (
            "openai",
            "gpt-4o-mini",
            "cust_12345",
        )
        assert row["cost_nanos"] == 270_000


def test_openlit_zero_for_a_model_nobody_prices_leaves_the_row_unpriced(
    tmp_path: Path, start_receiver: Any, mock_api: MockAPI
) -> None:
    """OpenLIT writes a cost of 0 for a model it has no price of. That is not a price: the row
    is stored unpriced with the reason (``costledger prices check`` shows it), not at $0."""
    python = peer_python(".venv-peers-openlit")
    receiver = start_receiver(f"sqlite:///{tmp_path / 'served.db'}")
    run_app("openlit_unknown_model", tmp_path, receiver, mock_api, 512, python, PEER_ENV)
    receiver.stop(5)
    for ledger in ("local.db", "served.db"):
        found = rows(tmp_path / ledger)
        assert len(found) == CALLS
        for row in found:
            assert (row["model"], row["customer_id"]) == ("acme-support-1", "cust_12345")
            assert row["cost_nanos"] is None and row["price_rule"] is None, row
            assert row["unpriced_reason"], row


def test_peer_environments_are_listed_in_the_makefile() -> None:
    # The skip above is for a checkout where `make` was not run; CI builds them in `make test`.
    makefile = (REPO / "Makefile").read_text()
    for venv, _, _ in PEERS.values():
        assert f"{venv}/.installed:" in makefile
    assert "test: peers" in makefile

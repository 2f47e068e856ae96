"""``costledger prices update``: newer genai-prices data, fetched only when the user asks."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from click.testing import CliRunner
from opentelemetry.exporter.costledger.cli.main import main
from opentelemetry.exporter.costledger.errors import InputError
from opentelemetry.exporter.costledger.prices.update import update_genai_prices
from opentelemetry.instrumentation.costledger.pricing import PriceBook, PriceFileError
from opentelemetry.instrumentation.costledger.usage import TokenUsage

DATA = [
    {
        "id": "anthropic",
        "name": "Anthropic",
        "api_pattern": "https://api\\.anthropic\\.com",
        "model_match": {"contains": "claude"},
        "models": [
            {
                "id": "claude-sonnet-4-5",
                "match": {"starts_with": "claude-sonnet-4-5"},
                "prices": {"input_mtok": "2.5", "output_mtok": "12", "cache_read_mtok": "0.25"},
            }
        ],
    }
]
WHEN = datetime(2026, 11, 1, tzinfo=UTC)
CALL = TokenUsage(input_tokens=1_000_000, output_tokens=100_000)


@pytest.fixture
def server() -> Iterator[dict[str, object]]:
    state: dict[str, object] = {"status": 200, "body": json.dumps(DATA).encode()}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = state["body"]
            assert isinstance(body, bytes)
            self.send_response(int(str(state["status"])))
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    state["url"] = f"http://127.0.0.1:{httpd.server_address[1]}/data.json"
    try:
        yield state
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_price_books_use_fetched_data_only_after_an_update(
    server: dict[str, object], tmp_path: Path
) -> None:
    before = PriceBook("").price_tokens("anthropic", "claude-sonnet-4-5", CALL, WHEN)
    assert before.rule is not None and before.rule.startswith("genai-prices 0.")
    # 1M input crosses the 200k tier of the bundled data: 6 + 0.1 x 22.5
    assert before.amount == Decimal("8.25")

    result = CliRunner().invoke(main, ["prices", "update", "--url", str(server["url"])])
    assert result.exit_code == 0, result.output
    assert "wrote 1 models of 1 providers" in result.output
    written = tmp_path / "xdg-data" / "costledger" / "genai-prices.json"  # conftest's XDG home
    assert json.loads(written.read_text()) == DATA

    after = PriceBook("").price_tokens("anthropic", "claude-sonnet-4-5-20250929", CALL, WHEN)
    assert after.amount == Decimal("2.5") + Decimal("1.2")
    assert after.rule is not None
    assert after.rule.startswith("genai-prices data genai-prices.json of ")
    assert after.rule.endswith(" anthropic/claude-sonnet-4-5")
    # an empty COSTLEDGER_GENAI_PRICES_DATA, or genai_data="", means the bundled snapshot
    assert (
        PriceBook("", genai_data="").price_tokens("anthropic", "claude-sonnet-4-5", CALL, WHEN)
        == before
    )


def test_failed_update_changes_nothing(server: dict[str, object], tmp_path: Path) -> None:
    out = tmp_path / "data.json"
    update_genai_prices(str(server["url"]), str(out))
    good = out.read_bytes()
    server["status"] = 500
    with pytest.raises(InputError, match="nothing was changed"):
        update_genai_prices(str(server["url"]), str(out))
    server["status"], server["body"] = 200, b'{"not": "a list"}'
    with pytest.raises(InputError, match="expected a JSON list"):
        update_genai_prices(str(server["url"]), str(out))
    assert out.read_bytes() == good


def test_unusable_data_file_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text("[{", encoding="utf-8")
    monkeypatch.setenv("COSTLEDGER_GENAI_PRICES_DATA", str(broken))
    with pytest.raises(PriceFileError, match=r"unusable genai-prices data.*prices update"):
        PriceBook("")

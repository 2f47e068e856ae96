"""What a newcomer following the README hits: prices as the ledger applies them, errors that say
what to do (never a traceback), and exact money in what the commands print.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner, Result
from opentelemetry.exporter.costledger.cli.main import main

from tests.report.ledger_data import seed_ledger
from tests.report.test_grafana import run_panel

# The README's price file, cut to the rules these tests need.
PRICES = """\
version = 1

[[override]]
provider = "anthropic"
multiplier = "0.8"
from = 2025-06-01

[[override]]
provider = "openai"
model = "gpt-4o*"
input = "2.00"
output = "8.00"
from = 2025-07-01
until = 2026-07-01

[[model]]
provider = "self-hosted"
model = "llama-3.3-70b*"
input = "0.20"
output = "0.60"
from = 2025-01-01
"""

README = Path(__file__).resolve().parents[2] / "README.md"

# Nothing listens on port 1 of 127.0.0.1: the connection is refused at once.
UNREACHABLE = "postgresql+psycopg://postgres@127.0.0.1:1/ledger"


def run(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(main, list(args), env=env)


def assert_clean_error(result: Result, *needles: str) -> None:
    """Failed with a message (click's exit, not an exception escaping) naming what to do."""
    assert result.exit_code in (1, 2), result.output
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output
    for needle in needles:
        assert needle in result.output, result.output


@pytest.fixture
def price_file(tmp_path: Path) -> Path:
    path = tmp_path / "prices.toml"
    path.write_text(PRICES, encoding="utf-8")
    return path


def quote(*args: str) -> dict[str, str]:
    result = run("prices", *args, "--format", "json")
    assert result.exit_code == 0, result.output
    return dict(json.loads(result.output)[0])


def test_prices_of_a_model_apply_the_price_file_without_provider(price_file: Path) -> None:
    """`costledger prices --model M` (the README's first example, no --provider) shows what a
    call of M pays: the ledger's rows name their provider, so its price-file rules apply."""
    sonnet = quote("--model", "claude-sonnet-4-5-20250929", "--at", "2025-07-01",
                   "--prices", str(price_file))  # fmt: skip
    assert (sonnet["provider"], sonnet["input"], sonnet["output"]) == ("anthropic", "2.4", "12")
    assert sonnet["rule"].startswith("prices.toml:3 override anthropic/* x0.8 from 2025-06-01")

    gpt = quote("--model", "gpt-4o-2024-08-06", "--at", "2025-08-01", "--prices", str(price_file))
    assert (gpt["provider"], gpt["input"], gpt["output"]) == ("openai", "2", "8")

    llama = quote("--model", "llama-3.3-70b-instruct", "--at", "2025-08-01",
                  "--prices", str(price_file))  # fmt: skip
    assert (llama["provider"], llama["input"], llama["output"]) == ("self-hosted", "0.2", "0.6")
    assert llama["unpriced_reason"] is None

    # the same as naming the provider, and the table's title stays the model as asked
    named = quote("--model", "claude-sonnet-4-5-20250929", "--provider", "anthropic",
                  "--at", "2025-07-01", "--prices", str(price_file))  # fmt: skip
    assert named == sonnet
    table = run("prices", "--model", "claude-sonnet-4-5-20250929", "--at", "2025-06-01")
    assert table.output.startswith("claude-sonnet-4-5-20250929 at 2025-06-01 00:00 UTC\n")


def test_provider_list_says_no_price_in_words() -> None:
    result = run("prices", "--provider", "openai", "--at", "2025-06-01", env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    whisper = next(line for line in result.output.splitlines() if " whisper-1 " in line)
    assert "no price" in whisper, whisper


@pytest.mark.parametrize(
    ("url", "needle"),
    [
        ("mysql://user@db/ledger", "SQLite or PostgreSQL, not mysql"),
        ("postgres://user@db/ledger", "write postgresql+psycopg://user@db/ledger"),
        ("://nothing", "is not a database URL"),
    ],
)
def test_a_database_url_costledger_cannot_use_is_named(url: str, needle: str) -> None:
    for command in (["ledger"], ["report"], ["export"], ["prices", "check"], ["aggregate"]):
        assert_clean_error(run(*command, "--db", url), "--db", needle)
    from_env = run("ledger", env={"COSTLEDGER_DATABASE_URL": url})
    assert_clean_error(from_env, "COSTLEDGER_DATABASE_URL", needle)


def test_a_missing_database_driver_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    """The README installs `costledger[anthropic]` and then points at PostgreSQL: without the
    `postgres` extra (psycopg 3), or with a psycopg2 URL, say what to install or write."""
    result = run("ledger", "--db", "postgresql+psycopg2://app:secret@db/ledger")
    assert_clean_error(
        result, "write postgresql+psycopg://app:***@db/ledger", "costledger[postgres]"
    )
    assert "secret" not in result.output
    monkeypatch.setitem(sys.modules, "psycopg", None)  # as if psycopg were not installed
    result = run("report", env={"COSTLEDGER_DATABASE_URL": "postgresql+psycopg://app@db/ledger"})
    assert_clean_error(result, "COSTLEDGER_DATABASE_URL", "pip install 'costledger[postgres]'")


def test_an_unreachable_database_says_what_to_check() -> None:
    for command in (["ledger"], ["export", "--period", "2025-05"], ["prices", "check"]):
        result = run(*command, "--db", UNREACHABLE)
        assert_clean_error(result, "127.0.0.1", "COSTLEDGER_DATABASE_URL", "run the command again")
        # a command does not retry (the exporter does)
        assert "costledger retries" not in result.output


def test_a_file_that_is_not_a_ledger_says_what_to_do(tmp_path: Path) -> None:
    not_a_ledger = tmp_path / "notes.db"
    not_a_ledger.write_text("my notes\n" * 100)
    result = run("ledger", "--db", str(not_a_ledger))
    assert_clean_error(result, "file is not a database", "names your costledger ledger")


def test_output_into_a_missing_directory(sqlite_url: str, tmp_path: Path) -> None:
    seed_ledger(sqlite_url).dispose()
    missing = tmp_path / "no-such-dir"
    for command in (["export", "--period", "2025-05"], ["report", "--period", "2025-05"]):
        result = run(*command, "--out", str(missing / "out.file"), "--db", sqlite_url)
        assert_clean_error(result, f"cannot write {missing / 'out.file'}", "no directory")


def test_export_prints_the_exact_total(sqlite_url: str, tmp_path: Path) -> None:
    """The README: the command prints "the exact total it wrote, to check against the report"."""
    seed_ledger(sqlite_url).dispose()
    result = run("export", "--period", "2025-05", "--out", str(tmp_path / "may.csv"),
                 "--db", sqlite_url)  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "$7,308.65 (exactly 7308.650000000 USD; csv, period 2025-05)" in result.output


def test_times_say_they_are_utc_on_sqlite(sqlite_url: str) -> None:
    """`jobs status` and `prices check` printed SQLite's times without an offset (PostgreSQL's
    carry +00:00): a reader in another zone could not tell they are UTC."""
    seed_ledger(sqlite_url).dispose()
    assert run("jobs", "run", "aggregate", "--db", sqlite_url).exit_code == 0
    runs = json.loads(run("jobs", "status", "--format", "json", "--db", sqlite_url).output)
    assert runs[0]["started_at"].endswith("+00:00"), runs[0]
    assert runs[0]["finished_at"].endswith("+00:00"), runs[0]
    gaps = json.loads(run("prices", "check", "--format", "json", "--db", sqlite_url).output)
    assert gaps, "the seeded ledger has an unpriced model"
    assert all(g["first_seen"].endswith("+00:00") for g in gaps), gaps
    assert all(g["last_seen"].endswith("+00:00") for g in gaps), gaps


def test_the_daily_chart_explains_the_day_shared_bills_land_on(sqlite_url: str) -> None:
    """After `costledger allocate` (the demo's next step), a month's shared bills land on one
    day: the page says so next to the chart instead of showing an unexplained spike."""
    from opentelemetry.exporter.costledger.report import build_report

    seed_ledger(sqlite_url).dispose()  # $100 + $60 of allocations on 2025-05-31
    html = build_report(sqlite_url, period="2025-05")
    assert (
        '<p class="note" id="allocations-note">Includes shared bills split over customers by'
        " <code>costledger allocate</code>, each booked on one day of its billing period:"
        " $160.00 on 2025-05-31.</p>"
    ) in html
    assert 'id="allocations-note"' not in build_report(sqlite_url, period="2025-04")


def test_prices_update_refuses_data_without_models(tmp_path: Path) -> None:
    """`prices update` from a URL answering `[]` wrote it, and every process started afterwards
    left every call unpriced. Data without a model is refused; the old data file stays."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Empty(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("content-length", "2")
            self.end_headers()
            self.wfile.write(b"[]")

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Empty)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    target = tmp_path / "genai-prices.json"
    target.write_text("previous data")
    try:
        url = f"http://127.0.0.1:{httpd.server_address[1]}/data.json"
        result = run("prices", "update", "--url", url, "--out", str(target))
    finally:
        httpd.shutdown()
    assert_clean_error(result, "lists no model", "nothing was changed")
    assert target.read_text() == "previous data"


@pytest.mark.parametrize("command", [["serve"], ["ingest", "spans.jsonl"]])
def test_a_broken_price_file_stops_serve_and_ingest(
    command: list[str], sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`serve --prices bad.toml` and `ingest --prices bad.toml` ended in a traceback; with the
    file in COSTLEDGER_PRICES both accepted spans and stored them unpriced."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "spans.jsonl").write_text('{"resourceSpans": []}\n')
    bad = tmp_path / "bad.toml"
    bad.write_text(PRICES.replace('multiplier = "0.8"', 'multiplier = "abc"'))
    options = ["--db", sqlite_url]
    if command == ["serve"]:
        options += ["--grpc-endpoint", "none", "--http-endpoint", "127.0.0.1:0"]
    needle = "bad.toml:5: [[override]] #1, field 'multiplier'"
    assert_clean_error(run(*command, *options, "--prices", str(bad)), needle)
    assert_clean_error(run(*command, *options, env={"COSTLEDGER_PRICES": str(bad)}), needle)


def test_output_piped_into_a_reader_that_stops(tmp_path: Path) -> None:
    """`costledger ... | head`: a reader that goes away ends the command quietly (click's own
    handling; c6163a8's message for file errors printed "cannot use: Broken pipe" instead)."""
    import subprocess

    costledger = Path(sys.executable).with_name("costledger")  # the installed command
    child = subprocess.Popen(
        [str(costledger), "prices", "--provider", "openai", "--format", "json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "XDG_DATA_HOME": str(tmp_path)},
    )
    assert child.stdout is not None and child.stderr is not None
    child.stdout.close()  # the reader is gone before the first line is written
    stderr = child.stderr.read().decode()
    assert child.wait(timeout=120) == 1
    assert stderr == "", stderr


def test_alerts_config_names_its_budgets_file(sqlite_url: str, tmp_path: Path) -> None:
    """`--config alerts.toml` with `budgets = "budgets.toml"` (the file --budgets takes) ended in
    AttributeError: 'str' object has no attribute 'items'."""
    seed_ledger(sqlite_url).dispose()
    (tmp_path / "budgets.toml").write_text('[budgets]\ncust_12345 = "2500"\n')
    config = tmp_path / "alerts.toml"
    config.write_text('[alerts]\nby = "month"\nbudgets = "budgets.toml"\n')
    result = run("alerts", "--config", str(config), "--period", "2025-05", "--format", "json",
                 "--db", sqlite_url)  # fmt: skip
    assert result.exit_code == 0, result.output
    over = [a for a in json.loads(result.output) if a["kind"] == "over_budget"]
    assert [(a["customer_id"], a["reference_usd"]) for a in over] == [("cust_12345", "2500.00")]
    config.write_text("[alerts]\nbudgets = 2500\n")
    result = run("alerts", "--config", str(config), "--db", sqlite_url)
    assert_clean_error(
        result, "budgets = 2500 is not a table of budgets", "or the path of a budgets file"
    )


def test_report_cost_per_work_item_is_rounded_like_normalize() -> None:
    """The demo's cust_67890: $63.56981893 over 218 tickets = 0.2916046739...: normalize says
    0.291604674 (half-even), the report said 0.291604673 (floor division)."""
    from opentelemetry.exporter.costledger.report.data import CustomerSummary

    summary = CustomerSummary("cust_67890", None, 63_569_818_930, 0, 969, 218, 0)
    assert summary.cost_per_work_item_nanos == 291_604_674
    # half-even at the exact half: 5 nanos over 2 items -> 2, 7 over 2 -> 4
    halves = [CustomerSummary("c", None, n, 0, 0, 2, 0).cost_per_work_item_nanos for n in (5, 7)]
    assert halves == [2, 4]


def test_reconcile_tolerance_abs_is_checked(sqlite_url: str) -> None:
    """`reconcile --tolerance-abs abc` ended in decimal.InvalidOperation."""
    seed_ledger(sqlite_url).dispose()
    for bad in ("abc", "-1", "nan"):
        result = run("reconcile", "--period", "2025-05", "--tolerance-abs", bad, "--db", sqlite_url)
        assert_clean_error(result, "--tolerance-abs", "is not an amount of dollars")
    result = run(
        "reconcile", "--period", "2025-05", "--tolerance-abs", "$1,000", "--db", sqlite_url
    )
    assert result.exit_code == 0, result.output


def test_prices_of_a_snapshot_of_a_custom_model_find_its_provider(tmp_path: Path) -> None:
    """A family name in the price file prices its dated snapshots, also when `costledger prices`
    has to find the provider from the file (a custom model genai-prices does not know)."""
    path = tmp_path / "prices.toml"
    path.write_text(
        'version = 1\n\n[[model]]\nprovider = "self-hosted"\nmodel = "house-llm"\n'
        'input = "1"\noutput = "3"\n',
        encoding="utf-8",
    )
    snapshot = quote("--model", "house-llm-20251101", "--prices", str(path))
    assert (snapshot["provider"], snapshot["input"], snapshot["output"]) == (
        "self-hosted",
        "1",
        "3",
    )
    assert snapshot["rule"].startswith("prices.toml:3 model self-hosted/house-llm")
    # a longer name that only shares the prefix is another model
    other = run("prices", "--model", "house-llm-mini", "--prices", str(path), "--format", "json")
    assert json.loads(other.output)[0]["unpriced_reason"]


# --- the seed tutorial, replayed from the README's own text ------------------------------------


def _tutorial() -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index("### Tutorial: the seed's May 2025, to the cent")
    return text[start : text.index("\n### ", start + 1)]


def _blocks_after(section: str, marker: str) -> str:
    """The fenced block right after ``marker`` (``<!-- file:NAME -->``, ``<!-- commands -->``,
    or the text that introduces an output)."""
    found = re.search(re.escape(marker) + r"\s*\n```[a-z]*\n(.*?)```", section, re.S)
    assert found, f"no fenced block after {marker} in the README's tutorial"
    return found.group(1)


def _table_rows(table: str, first_cell: str) -> list[str]:
    """The cells of the first line of the row starting with ``first_cell`` in a rich table."""
    for line in table.splitlines():
        cells = [c.strip() for c in line.strip().strip("│").split("│")]
        if first_cell in cells[:2]:
            return cells
    raise AssertionError(f"no row {first_cell} in\n{table}")


def test_the_seed_tutorial_replays_from_the_readme(
    ledger_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The README's tutorial files and commands, as written there, give the seed's figures:
    $2,760 fully loaded, $0.445 per ticket, -$360, and the very tables the README shows."""
    section = _tutorial()
    monkeypatch.chdir(tmp_path)
    names = re.findall(r"<!-- file:(\S+) -->", section)
    assert {"prices.toml", "calls-2025-05.csv", "costs-2025-05.csv", "bills.toml",
            "usage-2025-05.csv", "business-2025-05.csv"} <= set(names)  # fmt: skip
    for name in names:
        (tmp_path / name).write_text(_blocks_after(section, f"<!-- file:{name} -->"))
    outputs: dict[str, str] = {}
    for line in _blocks_after(section, "<!-- commands -->").splitlines():
        words = shlex.split(line)
        if words[0] == "export":
            key, _, value = words[1].partition("=")
            if key == "COSTLEDGER_DATABASE_URL" and not ledger_url.startswith("sqlite"):
                value = ledger_url  # the same commands on PostgreSQL
            monkeypatch.setenv(key, value)
            continue
        assert words[0] == "costledger", line
        result = CliRunner().invoke(main, words[1:])
        assert result.exit_code == 0, (line, result.output)
        outputs[" ".join(words[1:])] = result.output
    # Step 4: the README's table, line by line
    step4 = outputs["normalize --period 2025-05 --customer cust_12345"]
    shown = _blocks_after(section, "Step 4, `normalize --customer cust_12345`:")
    assert [x.strip() for x in step4.strip().splitlines()] == [
        x.strip() for x in shown.strip().splitlines()
    ]
    assert _table_rows(step4, "total")[1] == "$2,760.00"
    # Step 5: $0.445 per ticket, 86% of revenue, -$360 against the margin
    acme = _table_rows(outputs["normalize --period 2025-05"], "cust_12345")
    assert (
        acme[2], acme[5], acme[6], acme[8], acme[10]
    ) == ("$2,760.00", "6,200", "$0.445", "86%", "-$360.00")  # fmt: skip
    # Step 6: every customer's figures as the README's table shows them
    ranked = outputs["rank --period 2025-05 --round-to dollar"]
    readme_rank = _blocks_after(section, "Step 6, `rank --round-to dollar`:")
    for customer in ("cust_67890", "cust_12345", "cust_54321", "cust_11111"):
        # the Why column wraps with the terminal's width: compare the columns before it
        assert _table_rows(ranked, customer)[:9] == _table_rows(readme_rank, customer)[:9]
    assert _table_rows(ranked, "cust_12345")[5] == "-$360"
    # importing the calls again counts nothing twice
    again = CliRunner().invoke(main, ["import", "calls", "calls-2025-05.csv"])
    assert "0 new, 10 already in the ledger" in again.output, again.output
    if not ledger_url.startswith("sqlite"):  # the README's Grafana panels, over the same ledger
        engine = sa.create_engine(ledger_url)
        try:
            per_item = {
                r["Customer"]: r for r in run_panel(engine, "Cost per work item per customer")
            }
            assert f"${per_item['cust_12345']['Cost per work item']:.3f}" == "$0.445"
            ranking = run_panel(engine, "Profitability ranking (latest period)")
            assert [r["Customer"] for r in ranking] == [
                "cust_67890", "cust_12345", "cust_54321", "cust_11111"
            ]  # fmt: skip
        finally:
            engine.dispose()

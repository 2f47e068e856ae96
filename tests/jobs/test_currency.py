"""Other currencies (``--currency EUR``): the README's worked example, by hand, through the CLI.

The worked example (README "Other currencies"), figured on paper. The ECB's file gives USD per
1 EUR; USD → EUR divides by it:

=========================  ==========  ========================  ================================
row (UTC)                  USD         rate in force (USD/EUR)   EUR
=========================  ==========  ========================  ================================
cust_12345 2025-05-05      100.00      1.25 of 2025-05-02        80.00
cust_12345 2025-05-14      50.00       1.25 of 2025-05-02        40.00
  23:30 (Berlin: the 15th, but rates go by the UTC date)
cust_12345 2025-05-20      64.000000001 1.28 of 2025-05-16       50.00000000078125
                                                                 → 50.000000001 (half-even, 1e-9)
cust_12345 2025-05-31 Sat  12.80       1.28 of Fri 2025-05-30    10.00
cust_67890 2025-05-16      25.60       1.28 of 2025-05-16        20.00
=========================  ==========  ========================  ================================

May for cust_12345: 226.800000001 USD = 80 + 40 + 50.000000001 + 10 = 180.000000001 EUR (one
rate for the month would say 181.44 at 1.25 or 177.1875 at 1.28); cust_67890: 20.00 EUR.

Revenue has no time of its own within May: it is spread evenly over May's 31 days, each day at
its rate — May 1 (a holiday: April 30's rate) to 14 at 0.8 EUR per USD, May 15 to 31 at 0.78125:
mean rate (14 × 0.8 + 17 × 0.78125) / 31 = 24.48125 / 31. cust_12345's $3,100 of revenue is
3100 × 24.48125 / 31 = 2,448.125 EUR; its 80 % margin, $2,480, is 1,958.50 EUR; profitability
(margin − AI cost) 1,958.50 − 180.000000001 = 1,778.499999999 EUR.
"""

from __future__ import annotations

import csv
import json
from datetime import date
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pytest
from click.testing import CliRunner
from opentelemetry.exporter.costledger.cli.main import main
from opentelemetry.exporter.costledger.currency import (
    RATES_ENV,
    format_money,
    load_rates,
    resolve_rates,
)
from opentelemetry.exporter.costledger.errors import ConfigError, InputError

from .helpers import insert, row

# The ECB's eurofxref-hist.csv shape: newest first, N/A gaps, a trailing comma.
ECB_HIST = """Date,USD,JPY,BGN,
2025-05-30,1.2800,163.10,1.9558,
2025-05-16,1.2800,N/A,1.9558,
2025-05-15,1.2800,162.00,1.9558,
2025-05-02,1.2500,160.00,1.9558,
2025-04-30,1.2500,160.00,1.9558,
"""
# The daily eurofxref.csv shape.
ECB_DAILY = "Date, USD, JPY, BGN, \n16 May 2025, 1.2800, 163.10, 1.9558, \n"


def _ledger(url: str) -> None:
    insert(
        url,
        [
            row("cust_12345", "2025-05-05T10:00", "100.00"),
            row("cust_12345", "2025-05-14T23:30", "50.00"),
            row("cust_12345", "2025-05-20T08:00", "64.000000001", agent="triage"),
            row("cust_12345", "2025-05-31T12:00", "12.80"),
            row("cust_67890", "2025-05-16T09:00", "25.60", tags='{"plan":"pro"}'),
            row("cust_67890", "2025-05-17T09:00", None),  # unpriced: adds nothing
        ],
    )


def _run(*args: str) -> str:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture
def ecb_file(tmp_path: Path) -> Path:
    path = tmp_path / "eurofxref-hist.csv"
    path.write_text(ECB_HIST)
    return path


def test_worked_example_in_eur(ledger_url: str, ecb_file: Path) -> None:
    _ledger(ledger_url)
    common = ("--period", "2025-05", "--currency", "EUR", "--rates", str(ecb_file))
    monthly = json.loads(_run("aggregate", *common, "--format", "json", "--db", ledger_url))
    by_customer = {r["customer_id"]: r for r in monthly}
    assert by_customer["cust_12345"]["cost_usd"] == "226.800000001"  # the ledger stays USD
    assert by_customer["cust_12345"]["cost_eur"] == "180.000000001"
    assert by_customer["cust_67890"]["cost_eur"] == "20.00"
    daily = json.loads(
        _run("aggregate", *common, "--by", "day", "--format", "json", "--db", ledger_url)
    )
    eur = {(r["period"], r["customer_id"]): r["cost_eur"] for r in daily}
    assert eur[("2025-05-20", "cust_12345")] == "50.000000001"
    assert eur[("2025-05-31", "cust_12345")] == "10.00"  # Saturday: Friday's rate
    weekly = json.loads(
        _run("aggregate", *common, "--by", "week", "--format", "json", "--db", ledger_url)
    )
    # The weeks starting in May, whole: 2025-W22 (May 26 to June 1) holds the Saturday's 10.00.
    assert {(r["period"], r["customer_id"]): r["cost_eur"] for r in weekly} == {
        ("2025-W19", "cust_12345"): "80.00",
        ("2025-W20", "cust_12345"): "40.00",
        ("2025-W20", "cust_67890"): "20.00",
        ("2025-W21", "cust_12345"): "50.000000001",
        ("2025-W22", "cust_12345"): "10.00",
    }
    by_plan = json.loads(
        _run("aggregate", *common, "-d", "tag:plan", "--format", "json", "--db", ledger_url)
    )
    assert {(r["customer_id"], r["tag_value"]): r["cost_eur"] for r in by_plan} == {
        ("cust_12345", None): "180.000000001",
        ("cust_67890", "pro"): "20.00",
        ("cust_67890", None): "0.00",  # its unpriced row, untagged
    }
    table = _run("aggregate", *common, "--db", ledger_url)
    assert "€180.00" in table and "€20.00" in table and "in EUR" in table
    assert "$226.80" not in table  # people see one currency


def test_normalize_and_rank_in_eur(ledger_url: str, ecb_file: Path, tmp_path: Path) -> None:
    _ledger(ledger_url)
    business = tmp_path / "business.csv"
    business.write_text(
        "customer_id,period,revenue,margin_pct,plan,work_items\ncust_12345,2025-05,3100,80%,pro,4\n"
    )
    _run("import", "business", str(business), "--db", ledger_url)
    common = ("--period", "2025-05", "--currency", "EUR", "--rates", str(ecb_file))
    ranked = json.loads(_run("rank", *common, "--format", "json", "--db", ledger_url))
    acme = next(r for r in ranked if r["customer_id"] == "cust_12345")
    assert acme["ai_cost_usd"] == "226.800000001" and acme["ai_cost_eur"] == "180.000000001"
    assert acme["revenue_eur"] == "2448.125"
    assert acme["margin_eur"] == "1958.50"
    assert acme["profitability_eur"] == "1778.499999999"
    economics = json.loads(_run("normalize", *common, "--format", "json", "--db", ledger_url))
    acme = next(r for r in economics if r["customer_id"] == "cust_12345")
    assert acme["cost_per_work_item_eur"] == "45.00"  # 180.000000001 / 4, half-even to 1e-9
    breakdown = json.loads(
        _run("normalize", *common, "--customer", "cust_12345", "--format", "json",
             "--db", ledger_url)
    )  # fmt: skip
    assert breakdown[-1]["cost_eur"] == "180.000000001"
    agents = json.loads(
        _run("normalize", *common, "--by", "agent", "--format", "json", "--db", ledger_url)
    )
    assert {r["name"]: r["ai_cost_eur"] for r in agents}["triage"] == "50.000000001"
    workforce = json.loads(_run("agents", *common, "--format", "json", "--db", ledger_url))
    triage = next(r for r in workforce if r["agent"] == "triage")
    assert (triage["total_cost_usd"], triage["total_cost_eur"]) == ("64.000000001", "50.000000001")
    assert triage["api_by_model"] == "claude-sonnet-4-5 €50.00"
    table = _run("rank", *common, "--db", ledger_url)
    assert "€1,778.50" in table and "€2,448.12" in table  # half-even to the cent


def test_reconcile_in_eur(sqlite_url: str, ecb_file: Path, tmp_path: Path) -> None:
    """Reconciliation rows are UTC days: each converted at its day's rate."""
    _ledger(sqlite_url)
    invoice = tmp_path / "billing.csv"
    invoice.write_text(
        "date,provider,model,cost_usd\n2025-05-31,anthropic,claude-sonnet-4-5,25.60\n"
    )
    out = _run("reconcile", "--period", "2025-05", "--import", str(invoice), "--currency",
               "EUR", "--rates", str(ecb_file), "--format", "json", "--db", sqlite_url)  # fmt: skip
    saturday = next(r for r in json.loads(out) if r["day"] == "2025-05-31")
    assert (saturday["ledger_cost_eur"], saturday["provider_cost_eur"]) == ("10.00", "20.00")
    assert saturday["difference_eur"] == "10.00" and saturday["difference_usd"] == "12.80"


def test_alerts_in_eur(sqlite_url: str, ecb_file: Path, tmp_path: Path) -> None:
    """An alert's amounts belong to its whole period: spread over May's days at their rates,
    the mean rate 24.48125 / 31 of the README's example — the $200 budget is
    200 × 24.48125 / 31 = 157.9435483870967… → 157.943548387 EUR."""
    _ledger(sqlite_url)
    budgets = tmp_path / "budgets.toml"
    budgets.write_text('[budgets]\ncust_12345 = "200"\n')
    out = _run("alerts", "--period", "2025-05", "--by", "month", "--budgets", str(budgets),
               "--currency", "EUR", "--rates", str(ecb_file), "--format", "json",
               "--db", sqlite_url)  # fmt: skip
    over = next(a for a in json.loads(out) if a["customer_id"] == "cust_12345")
    assert over["reference_usd"] == "200.00" and over["reference_eur"] == "157.943548387"


def test_ledger_rows_in_eur(sqlite_url: str, ecb_file: Path) -> None:
    _ledger(sqlite_url)
    out = _run("ledger", "--period", "2025-05", "--currency", "EUR", "--rates", str(ecb_file),
               "--format", "json", "--db", sqlite_url)  # fmt: skip
    eur = {r["timestamp"][:10]: r["cost_eur"] for r in json.loads(out)}
    assert eur["2025-05-20"] == "50.000000001" and eur["2025-05-31"] == "10.00"
    assert eur["2025-05-17"] is None  # unpriced stays unpriced
    table = _run("ledger", "--period", "2025-05", "--currency", "EUR", "--rates", str(ecb_file),
                 "--db", sqlite_url)  # fmt: skip
    assert "€50.000000" in table and "(in USD; the rows above in EUR)" in table


def test_dashboard_in_eur(sqlite_url: str, ecb_file: Path) -> None:
    """The live page converts as the report does, reading the rates file for every page."""
    from opentelemetry.exporter.costledger.report.server import Dashboard

    _ledger(sqlite_url)
    board = Dashboard(
        sqlite_url, period="2025-05", port=0, currency="EUR", rates_file=str(ecb_file)
    )
    try:
        page = board.render()
        assert "in EUR" in page and "€200.00" in page
        ecb_file.write_text("Date,USD,\n2025-05-30,1.6000,\n")  # replaced: read again
        with pytest.raises(InputError, match="no EUR rate on or before 2025-05-05"):
            board.render()
    finally:
        board.stop()


def test_allocate_in_eur(sqlite_url: str, ecb_file: Path, tmp_path: Path) -> None:
    """A May bill's shares are booked at May's mid-point, 2025-05-16T12:00Z: 1.28 of that day,
    so $64.00 each of an even $128.00 split is 50.00 EUR, as every command converts the rows."""
    _ledger(sqlite_url)
    bills = tmp_path / "bills.toml"
    bills.write_text(
        '[[bills]]\nname = "Vectors"\namount = "128.00"\nperiod = "2025-05"\n'
        'category = "vector_storage"\nmethod = "even"\n'
    )
    out = _run("allocate", str(bills), "--dry-run", "--currency", "EUR", "--rates",
               str(ecb_file), "--format", "json", "--db", sqlite_url)  # fmt: skip
    assert {r["customer_id"]: r["amount_eur"] for r in json.loads(out)} == {
        "cust_12345": "50.00",
        "cust_67890": "50.00",
    }


def test_rates_from_the_environment(
    sqlite_url: str, ecb_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _ledger(sqlite_url)
    monkeypatch.setenv(RATES_ENV, str(ecb_file))
    out = _run("aggregate", "--period", "2025-05", "--currency", "eur", "--format", "json",
               "--db", sqlite_url)  # fmt: skip
    assert {r["cost_eur"] for r in json.loads(out)} == {"180.000000001", "20.00"}


def test_a_missing_rate_names_the_date(sqlite_url: str, ecb_file: Path) -> None:
    _ledger(sqlite_url)
    insert(sqlite_url, [row("cust_12345", "2025-04-29T12:00", "1.00")])
    result = CliRunner().invoke(
        main,
        ["aggregate", "--period", "2025-04", "--currency", "EUR", "--rates", str(ecb_file),
         "--db", sqlite_url],
    )  # fmt: skip
    assert result.exit_code != 0
    assert "no EUR rate on or before 2025-04-29" in result.output
    assert "1.0" not in result.output.split("2025-04-29")[0]
    without = CliRunner().invoke(main, ["aggregate", "--currency", "EUR", "--db", sqlite_url])
    assert without.exit_code != 0 and "needs a rates file" in without.output


def test_ecb_files_and_the_rate_in_force(ecb_file: Path, tmp_path: Path) -> None:
    rates = load_rates(ecb_file, "EUR")
    assert rates.on(date(2025, 5, 3)).day == date(2025, 5, 2)  # Saturday: Friday's rate
    assert rates.on(date(2025, 5, 4)).per_usd == Fraction(4, 5)  # 1 / 1.25
    assert rates.on(date(2025, 5, 31)).day == date(2025, 5, 30)
    assert rates.convert(64_000_000_001, date(2025, 5, 20)) == 50_000_000_001
    jpy = load_rates(ecb_file, "JPY")  # JPY per USD = JPY per EUR / USD per EUR
    assert jpy.on(date(2025, 5, 15)).per_usd == Fraction("162.00") / Fraction("1.28")
    assert jpy.on(date(2025, 5, 16)).day == date(2025, 5, 15)  # N/A: the day before stands
    with pytest.raises(InputError, match="2025-06-09"):
        rates.on(date(2025, 6, 9))  # a stale file: more than 7 days after its last rate
    daily = tmp_path / "eurofxref.csv"
    daily.write_text(ECB_DAILY)
    assert load_rates(daily, "EUR").on(date(2025, 5, 17)).per_usd == 1 / Fraction("1.28")
    with pytest.raises(ConfigError, match="no CHF column"):
        load_rates(daily, "CHF")


def test_an_amount_of_a_whole_period(ecb_file: Path) -> None:
    """A period kept as [start, end) spreads over start..end - 1 day; no amount stays none."""
    rates = load_rates(ecb_file, "EUR")
    may, june = date(2025, 5, 1), date(2025, 6, 1)
    assert rates.spread_period(200_000_000_000, may, june) == 157_943_548_387  # the README's
    assert rates.spread_period(None, may, june) is None
    assert rates.spread_period(31, may, june) == rates.spread(31, may, date(2025, 5, 31))
    one_day = rates.spread_period(64_000_000_001, date(2025, 5, 20), date(2025, 5, 21))
    assert one_day == rates.convert(64_000_000_001, date(2025, 5, 20))


def test_simple_rates_file_and_formatting(tmp_path: Path) -> None:
    simple = tmp_path / "rates.csv"
    simple.write_text("date,currency,rate\n2025-05-01,GBP,0.75\n2025-05-01,EUR,0.9\n")
    gbp = load_rates(simple, "GBP")
    assert gbp.on(date(2025, 5, 6)).convert(2_000_000_000) == 1_500_000_000
    assert gbp.on(date(2025, 5, 6)).text == "0.750000000000"
    with pytest.raises(InputError, match="ISO 4217"):
        resolve_rates("euro", str(simple))
    assert resolve_rates("USD").is_identity  # USD needs no file
    assert format_money(1_234_560_000_000, "EUR") == "€1,234.56"
    assert format_money(-3_000_000_000, "GBP") == "-£3.00"
    assert format_money(12_000_000_000, "CHF") == "CHF 12.00"
    assert format_money(1_000_000, "EUR") == "<€0.01"


def test_export_in_eur(ledger_url: str, ecb_file: Path, tmp_path: Path) -> None:
    """Each exported row converted on its own at its UTC day's rate; the USD columns stay."""
    _ledger(ledger_url)
    out = tmp_path / "may.csv"
    result = CliRunner().invoke(
        main,
        ["export", "--period", "2025-05", "--currency", "EUR", "--rates", str(ecb_file),
         "--out", str(out), "--db", ledger_url],
        catch_exceptions=False,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "€200.00 (exactly 200.000000001 EUR" in result.output  # 180.000000001 + 20
    rows = list(csv.DictReader(out.open()))
    assert [(r["cost_usd"], r["cost_currency"], r["cost"], r["exchange_rate"],
             r["exchange_rate_date"]) for r in rows] == [
        ("100.000000000", "EUR", "80", "0.8", "2025-05-02"),
        ("50.000000000", "EUR", "40", "0.8", "2025-05-02"),
        ("25.600000000", "EUR", "20", "0.78125", "2025-05-16"),
        ("", "EUR", "", "0.78125", "2025-05-16"),
        ("64.000000001", "EUR", "50.000000001", "0.78125", "2025-05-16"),
        ("12.800000000", "EUR", "10", "0.78125", "2025-05-30"),
    ]  # fmt: skip
    assert {r["currency"] for r in rows} == {"USD"}  # the ledger's own column stays
    focus = tmp_path / "may-focus.csv"
    _run("export", "--format", "focus", "--period", "2025-05", "--currency", "EUR",
         "--rates", str(ecb_file), "--out", str(focus), "--db", ledger_url)  # fmt: skip
    billed = [r for r in csv.DictReader(focus.open()) if r["x_Unpriced"] == "false"]
    assert [(r["BilledCost"], r["EffectiveCost"], r["BillingCurrency"], r["PricingCurrency"],
             r["PricingCurrencyEffectiveCost"], r["x_ExchangeRate"], r["x_ExchangeRateDate"])
            for r in billed][3] == (
        "50.000000001", "50.000000001", "EUR", "USD", "64.000000001", "0.78125", "2025-05-16"
    )  # fmt: skip
    pq = pytest.importorskip("pyarrow.parquet")
    parquet = tmp_path / "may.parquet"
    _run("export", "--format", "parquet", "--period", "2025-05", "--currency", "EUR",
         "--rates", str(ecb_file), "--out", str(parquet), "--db", ledger_url)  # fmt: skip
    table = pq.read_table(parquet).to_pydict()
    assert table["cost"][4] == Decimal("50.000000001")
    assert table["exchange_rate_date"][5] == date(2025, 5, 30)


def test_report_in_eur(ledger_url: str, ecb_file: Path, tmp_path: Path) -> None:
    """The report's figures, by customer and by day, in EUR; the page says EUR throughout."""
    _ledger(ledger_url)
    common = ("--period", "2025-05", "--currency", "EUR", "--rates", str(ecb_file))
    customers = json.loads(
        _run("report", *common, "--show", "customers", "--format", "json", "--db", ledger_url)
    )
    acme = next(r for r in customers if r["customer_id"] == "cust_12345")
    assert (acme["cost_usd"], acme["cost_eur"]) == ("226.800000001", "180.000000001")
    daily = json.loads(
        _run("report", *common, "--show", "daily", "--format", "json", "--db", ledger_url)
    )
    eur = {r["day"]: r["cost_eur"] for r in daily if r["cost_eur"] != "0.00"}
    assert eur == {
        "2025-05-05": "80.00",
        "2025-05-14": "40.00",
        "2025-05-16": "20.00",
        "2025-05-20": "50.000000001",
        "2025-05-31": "10.00",
    }
    layers = json.loads(
        _run("iceberg", *common, "--format", "json", "--db", ledger_url)
    )  # the iceberg's layers, each summed per UTC day at its rate
    assert {r["layer"]: r["cost_eur"] for r in layers if r["cost_eur"] != "0.00"} == {
        "unknown_outcome": "200.000000001"
    }
    page = tmp_path / "report.html"
    _run("report", *common, "--out", str(page), "--db", ledger_url)
    html = page.read_text()
    assert "in EUR" in html and "€200.00" in html and "€180.00" in html
    assert "$226.80" not in html


def test_report_budgets_in_eur(sqlite_url: str, ecb_file: Path, tmp_path: Path) -> None:
    """The report's budgets table converts as the alerts do (a budget's amounts belong to its
    whole period: May's mean rate 24.48125 / 31): spent $226.800000001 → 179.107983872 EUR;
    the $200 budget → 157.943548387 EUR; never USD figures under a EUR label."""
    _ledger(sqlite_url)
    budgets = tmp_path / "budgets.toml"
    budgets.write_text('[[budget]]\ncustomer = "cust_12345"\namount = "200"\nperiod = "month"\n')
    _run("alerts", "--budgets", str(budgets), "--as-of", "2025-05-31", "--db", sqlite_url)
    common = ("--period", "2025-05", "--currency", "EUR", "--rates", str(ecb_file))
    (budget,) = json.loads(
        _run("report", *common, "--show", "budgets", "--format", "json", "--db", sqlite_url)
    )
    assert (budget["amount_usd"], budget["amount_eur"]) == ("200.00", "157.943548387")
    mean = Fraction(2448125, 3100000)  # EUR per USD over May: 24.48125 / 31
    spent = Fraction(226800000001, 10**9) * mean
    exact = Decimal(spent.numerator) / Decimal(spent.denominator)
    assert budget["spent_eur"] == str(exact.quantize(Decimal("1e-9")))
    page = tmp_path / "report.html"
    _run("report", *common, "--out", str(page), "--db", sqlite_url)
    section = page.read_text().split('<section id="budgets">')[1].split("</section>")[0]
    assert "€157.94" in section and "$" not in section

"""rank: flags, Step 7 actions with their reasons, thresholds, sorting."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from opentelemetry.exporter.costledger.imports.user_data import import_business
from opentelemetry.exporter.costledger.jobs.rank import Thresholds, rank

from .helpers import insert, row


def _business(tmp_path: Path, url: str, lines: str) -> None:
    path = tmp_path / "business.csv"
    path.write_text("customer,period,revenue,margin,plan\n" + lines)
    import_business(url, path)


def test_actions(sqlite_url: str, tmp_path: Path) -> None:
    for month in ("2025-03", "2025-04", "2025-05"):
        insert(
            sqlite_url,
            [
                row("burner", f"{month}-10", "500"),  # AI cost above the whole revenue
                row("starter", f"{month}-10", "90"),  # above margin, on the cheapest plan
                row("chatty", f"{month}-10", "40"),  # profitable but 40% of revenue
                row("fine", f"{month}-10", "1"),
                row("ghost", f"{month}-10", "7"),  # no business data
            ],
        )
        _business(
            tmp_path,
            sqlite_url,
            f"burner,{month},400,75%,pro\nstarter,{month},100,80%,starter\n"
            f'chatty,{month},100,"$80",pro\nfine,{month},100,75%,pro\n',
        )
    limits = Thresholds(ai_share=Decimal("0.3"), plan_order=("starter", "pro", "enterprise"))
    rank(sqlite_url, period="2025-03", thresholds=limits)
    rank(sqlite_url, period="2025-04", thresholds=limits)
    may = {r.customer_id: r for r in rank(sqlite_url, period="2025-05", thresholds=limits)}
    assert may["burner"].action == "sunset"  # third unprofitable month in a row
    assert "3 consecutive periods" in (may["burner"].reason or "")
    assert may["starter"].action == "tier up" and "from starter to pro" in (
        may["starter"].reason or ""
    )
    assert may["chatty"].flags == "high_ai_share" and may["chatty"].action == "optimize"
    assert "40% of revenue (threshold 30%)" in (may["chatty"].reason or "")
    assert may["fine"].flags == "" and may["fine"].action is None
    assert may["ghost"].flags == "no_business_data"
    assert may["chatty"].margin_usd == Decimal(80)  # a margin given as an amount

    april = {r.customer_id: r for r in rank(sqlite_url, period="2025-04", thresholds=limits)}
    assert april["burner"].action == "restrict"
    worst_first = rank(sqlite_url, period="2025-05", thresholds=limits, sort="profitability")
    assert [r.customer_id for r in worst_first][:2] == ["burner", "starter"]
    assert [r.rank for r in worst_first] == [1, 2, 3, 4, 5]

"""An unchanged app under `opentelemetry-instrument` with `OTEL_TRACES_EXPORTER=costledger`.

`examples/exporter_app.py` has no OpenTelemetry code: `opentelemetry-instrument` turns on the
costledger instrumentor (entry point) and the costledger span exporter (entry point, read from
`OTEL_TRACES_EXPORTER`), which writes the ledger at `COSTLEDGER_DATABASE_URL`. The app prints what
it sent; the ledger must hold exactly that, priced and attributed. With
`OTEL_TRACES_EXPORTER=otlp,costledger` the same spans also go over OTLP/gRPC to a real
`costledger serve` on 127.0.0.1, and both ledgers must agree row for row.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
APP = REPO / "examples" / "exporter_app.py"
BIN = Path(sys.executable).parent


def _env(**extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("OTEL_", "COSTLEDGER_", "ANTHROPIC_", "OPENAI_"))
    }
    env.update(
        OTEL_SERVICE_NAME="support-copilot",
        OTEL_METRICS_EXPORTER="none",
        OTEL_LOGS_EXPORTER="none",
        OTEL_BSP_SCHEDULE_DELAY="200",
        PYTHONWARNINGS="ignore::DeprecationWarning",
    )
    env.update(extra)
    return env


def _run_app(env: dict[str, str], calls: int = 40) -> dict[str, dict[str, Any]]:
    done = subprocess.run(
        [str(BIN / "opentelemetry-instrument"), sys.executable, str(APP), "--calls", str(calls)],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    sent: dict[str, dict[str, Any]] = json.loads(done.stdout)
    return sent


def _ledger_totals(path: Path) -> dict[str, dict[str, Any]]:
    conn = sqlite3.connect(path)
    try:
        rows = conn.execute(
            "SELECT customer_id, category, input_tokens, output_tokens, cache_read_tokens,"
            " cache_write_5m_tokens, cache_write_1h_tokens, quantity, cost_nanos, service"
            " FROM cost_ledger"
        ).fetchall()
    finally:
        conn.close()
    totals: dict[str, dict[str, Any]] = {}
    for customer, category, inp, out, read, w5m, w1h, quantity, cost, service in rows:
        assert service == "support-copilot"
        assert cost is not None and cost > 0, (customer, category)
        t = totals.setdefault(
            f"{customer}/{category}",
            {
                "rows": 0,
                "input_tokens": 0,
                "output_tokens": 0,
                "cache_read_tokens": 0,
                "cache_write_5m_tokens": 0,
                "cache_write_1h_tokens": 0,
                "quantity": Decimal(0),
                "cost_nanos": 0,
            },
        )
        t["rows"] += 1
        t["input_tokens"] += inp
        t["output_tokens"] += out
        t["cache_read_tokens"] += read
        t["cache_write_5m_tokens"] += w5m
        t["cache_write_1h_tokens"] += w1h
        t["quantity"] += Decimal(str(quantity or 0))
        t["cost_nanos"] += cost
    return totals


def _assert_ledger_holds(
    sent: dict[str, dict[str, Any]], ledger: dict[str, dict[str, Any]]
) -> None:
    assert set(ledger) == set(sent)
    for key, expected in sent.items():
        got = ledger[key]
        for field in (
            "rows",
            "input_tokens",
            "output_tokens",
            "cache_read_tokens",
            "cache_write_5m_tokens",
            "cache_write_1h_tokens",
        ):
            assert got[field] == expected[field], (key, field)
        assert got["quantity"] == Decimal(expected["quantity"]), key
        if key.endswith(("/human_review", "/third_party")):
            # Cost events carry their amount, exact to the nano-dollar.
            assert got["cost_nanos"] == Decimal(expected["cost_usd"]) * 10**9, key


def test_app_under_opentelemetry_instrument_writes_the_ledger(tmp_path: Path) -> None:
    db = tmp_path / "ledger.db"
    sent = _run_app(
        _env(OTEL_TRACES_EXPORTER="costledger", COSTLEDGER_DATABASE_URL=f"sqlite:///{db}")
    )
    assert any(key.startswith("cust_67890/") for key in sent)
    _assert_ledger_holds(sent, _ledger_totals(db))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _rows(path: Path) -> int:
    if not path.exists():
        return 0
    conn = sqlite3.connect(path)
    try:
        return int(conn.execute("SELECT count(*) FROM ledger_entries").fetchone()[0])
    except sqlite3.OperationalError:
        return 0
    finally:
        conn.close()


def test_fan_out_to_otlp_and_the_in_process_ledger_agree(tmp_path: Path) -> None:
    served_db = tmp_path / "served.db"
    local_db = tmp_path / "local.db"
    grpc_port, http_port = _free_port(), _free_port()
    server = subprocess.Popen(
        [
            str(BIN / "costledger"),
            "serve",
            "--db",
            f"sqlite:///{served_db}",
            "--grpc-endpoint",
            f"127.0.0.1:{grpc_port}",
            "--http-endpoint",
            f"127.0.0.1:{http_port}",
        ],
        env=_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{http_port}/healthz", timeout=2):
                    break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"costledger serve did not start: {server.communicate()[1]}")
                time.sleep(0.2)
        sent = _run_app(
            _env(
                OTEL_TRACES_EXPORTER="otlp,costledger",
                OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=f"http://127.0.0.1:{grpc_port}",
                OTEL_EXPORTER_OTLP_TRACES_INSECURE="true",
                COSTLEDGER_DATABASE_URL=f"sqlite:///{local_db}",
            )
        )
        expected_rows = sum(t["rows"] for t in sent.values())
        # The app flushed both exporters at exit; the server may still be committing.
        deadline = time.monotonic() + 60
        while _rows(served_db) < expected_rows and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        server.terminate()
        server.wait(timeout=30)
    local, served = _ledger_totals(local_db), _ledger_totals(served_db)
    _assert_ledger_holds(sent, local)
    _assert_ledger_holds(sent, served)
    assert local == served
    # Row for row: the same idempotency keys (one per call), priced the same, by either path.
    assert _keys(local_db) == _keys(served_db)


def _keys(path: Path) -> set[tuple[str, int]]:
    conn = sqlite3.connect(path)
    try:
        return set(conn.execute("SELECT idempotency_key, cost_nanos FROM ledger_entries"))
    finally:
        conn.close()

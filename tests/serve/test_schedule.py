"""``costledger serve --schedule FILE`` runs the jobs scheduler next to the receiver."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import sqlalchemy as sa

from .test_sigterm import COSTLEDGER


def _job_runs(url: str) -> list[tuple[str, str]]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            if not sa.inspect(conn).has_table("job_runs"):
                return []
            return [tuple(r) for r in conn.execute(sa.text("SELECT * FROM job_runs")).all()]
    finally:
        engine.dispose()


def test_serve_runs_the_schedule(sqlite_url: str, tmp_path: Path) -> None:
    schedule = tmp_path / "schedule.toml"
    schedule.write_text('[[jobs]]\njob = "aggregate"\nevery = "1h"\noptions = { by = "day" }\n')
    process = subprocess.Popen(
        [
            COSTLEDGER, "serve", "--db", sqlite_url, "--grpc-endpoint", "none",
            "--http-endpoint", "127.0.0.1:0", "--schedule", str(schedule),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ),
    )  # fmt: skip
    try:
        assert process.stdout is not None
        assert "OTLP/HTTP on" in process.stdout.readline()
        deadline = time.monotonic() + 60
        while not _job_runs(sqlite_url):  # "every" jobs also run once at start
            assert time.monotonic() < deadline and process.poll() is None
            time.sleep(0.2)
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, err

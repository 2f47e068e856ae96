"""Jobs at scale: aggregate and allocate over 1M (or 10M) ledger rows vs a hand-written GROUP BY.

    .venv/bin/python benchmarks/jobs.py                      # 1M rows, SQLite (+ PostgreSQL if
                                                             # COSTLEDGER_TEST_POSTGRES_URL is set)
    .venv/bin/python benchmarks/jobs.py --rows 10000000      # the 10M run (takes a while)
    .venv/bin/python benchmarks/jobs.py --postgres URL --repeat 5

Rows are generated inside the database (a recursive CTE on SQLite, ``generate_series`` on
PostgreSQL): 1,000 customers, 200,000 work items, 5 models, 3 months, ~5% of rows unpriced and
~5% non-LLM categories, with every index the ledger has. Then, side by side in the same run,
each measured ``--repeat`` times (median reported):

* ``floor: seed Step 3``    — the seed's query by hand: ``SELECT customer, month, SUM(cost),
  SUM(input), SUM(output), COUNT(*) … GROUP BY customer, month``, all rows fetched.
* ``floor: same measures``  — one hand-written GROUP BY computing exactly what ``aggregate``
  computes (entries, calls, unpriced, cost, 7 token sums, distinct work items), fetched, with
  the same byte-wise text comparison (``COLLATE "C"``) the job uses on PostgreSQL.
* ``floor: distinct work items only`` — the narrowest exact distinct count, nothing else:
  ``SELECT month, customer, COUNT(DISTINCT work_item_id) … GROUP BY month, customer`` (byte-wise
  text on PostgreSQL, as above): what the one measure ``aggregate`` stores beyond Step 3's
  costs on its own.
* ``aggregate --full``      — the job: recompute every month bucket, written to cost_aggregates.
* ``aggregate (incremental)`` — after 1,000 new rows in the last month: recompute that bucket.
* ``floor: one month by customer`` — ``SELECT customer, COUNT(*) … WHERE month GROUP BY
  customer`` (the driver query's floor).
* ``allocate`` — one bill split by ``api_calls`` over that month's 1,000 customers, written.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import sqlalchemy as sa

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "exporter"), str(REPO / "instrumentation")]

from opentelemetry.exporter.costledger.jobs.aggregate import aggregate  # noqa: E402
from opentelemetry.exporter.costledger.jobs.allocate import allocate  # noqa: E402
from opentelemetry.exporter.costledger.jobs.bills import Bill, BillsFile  # noqa: E402
from opentelemetry.exporter.costledger.ledger import db, migrations  # noqa: E402

COLUMNS = (
    "idempotency_key, timestamp, customer_id, work_item_id, service, provider, model, operation,"
    " input_tokens, output_tokens, uncached_input_tokens, cache_read_tokens, cost_nanos,"
    " category, source, currency, batch, cache_write_5m_tokens, cache_write_1h_tokens,"
    " reasoning_tokens, recorded_at"
)


def _generate_sql(
    dialect: str,
    start: int,
    count: int,
    epoch: int = 1743465600,  # 2025-04-01
    spread: int = 7776000,  # 90 days
    recorded: str | None = None,
) -> str:
    """INSERT … SELECT generating rows ``start .. start+count-1`` in the database itself.

    ``recorded_at`` is the row's timestamp plus 5 seconds (as an exporter records it), or
    ``recorded`` for all rows.
    """
    if dialect == "sqlite":
        stamp = (
            f"strftime('%Y-%m-%d %H:%M:%S.000000', {epoch} + (n * 7919) % {spread}, 'unixepoch')"
        )
        late = stamp.replace(f"% {spread},", f"% {spread} + 5,")
        recorded_sql = f"'{recorded}.000000'" if recorded else late
    else:
        stamp = f"to_timestamp({epoch} + (n * 7919::bigint) % {spread})"
        recorded_sql = f"'{recorded}+00'" if recorded else f"{stamp} + interval '5 seconds'"
    if dialect == "sqlite":
        return f"""
        WITH RECURSIVE seq(n) AS (SELECT {start} UNION ALL SELECT n + 1 FROM seq
                                  WHERE n < {start + count - 1})
        INSERT INTO ledger_entries ({COLUMNS})
        SELECT 'bench:' || n,
               {stamp},
               'cust_' || (n % 1000), 'w' || (n % 200000), 'support-bot', 'anthropic',
               'model-' || (n % 5), 'chat', 1000 + n % 500, 200 + n % 100, 1000 + n % 500, 0,
               CASE WHEN n % 20 = 0 THEN NULL ELSE 1000000 + (n * 7919) % 50000000 END,
               CASE WHEN n % 19 = 0 THEN 'human_review' ELSE 'api' END, 'span', 'USD', 0, 0, 0, 0,
               {recorded_sql}
        FROM seq"""
    return f"""
        INSERT INTO ledger_entries ({COLUMNS})
        SELECT 'bench:' || n,
               {stamp},
               'cust_' || (n % 1000), 'w' || (n % 200000), 'support-bot', 'anthropic',
               'model-' || (n % 5), 'chat', 1000 + n % 500, 200 + n % 100, 1000 + n % 500, 0,
               CASE WHEN n % 20 = 0 THEN NULL ELSE 1000000 + (n * 7919::bigint) % 50000000 END,
               CASE WHEN n % 19 = 0 THEN 'human_review' ELSE 'api' END, 'span', 'USD', false,
               0, 0, 0, {recorded_sql}
        FROM generate_series({start}::bigint, {start + count - 1}::bigint) AS n"""


def _index_definitions(conn: sa.Connection) -> dict[str, str]:
    """The secondary indexes of ledger_entries as their CREATE INDEX statements."""
    if conn.dialect.name == "sqlite":
        query = (
            "SELECT name, sql FROM sqlite_master WHERE type = 'index'"
            " AND tbl_name = 'ledger_entries' AND sql IS NOT NULL"
        )
    else:
        query = (
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'ledger_entries'"
            " AND indexname LIKE 'ix_%%'"
        )
    return {str(name): str(sql) for name, sql in conn.exec_driver_sql(query)}


def _fill(engine: sa.Engine, rows: int) -> float:
    """Bulk-load like a restore: secondary indexes dropped, rows generated, indexes rebuilt."""
    started = time.perf_counter()
    with engine.begin() as conn:
        indexes = _index_definitions(conn)
        for name in indexes:
            conn.exec_driver_sql(f'DROP INDEX "{name}"')
    chunk = 1_000_000
    for first in range(0, rows, chunk):
        with engine.begin() as conn:
            conn.execute(
                sa.text(_generate_sql(engine.dialect.name, first, min(chunk, rows - first)))
            )
    with engine.begin() as conn:
        for definition in indexes.values():
            conn.exec_driver_sql(definition)
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "ANALYZE" if engine.dialect.name == "sqlite" else "ANALYZE ledger_entries"
        )
    return time.perf_counter() - started


def _month(dialect: str) -> str:
    if dialect == "sqlite":
        return "strftime('%Y-%m-01', timestamp)"
    return "date_trunc('month', timezone('UTC', timestamp))::date"


def _floor_step3(engine: sa.Engine) -> None:
    month = _month(engine.dialect.name)
    with engine.connect() as conn:
        # GROUP BY month first: written "customer_id, m" as in the seed, SQLite walks the
        # (customer_id, timestamp) index and fetches every row through it, which is slower than
        # the scan-and-sort this order gets (and would flatter the jobs' ratio).
        conn.exec_driver_sql(  # no parameters, so '%' needs no escaping on SQLite
            f"SELECT {month} AS m, customer_id, SUM(cost_nanos), SUM(input_tokens),"
            " SUM(output_tokens), COUNT(*) FROM ledger_entries GROUP BY m, customer_id"
        ).all()


def _floor_same(engine: sa.Engine) -> None:
    month = _month(engine.dialect.name)
    sums = ", ".join(
        f"SUM({c})"
        for c in (
            "input_tokens", "output_tokens", "uncached_input_tokens", "cache_read_tokens",
            "cache_write_5m_tokens", "cache_write_1h_tokens", "reasoning_tokens",
        )
    )  # fmt: skip
    # Text compared byte for byte on PostgreSQL, as the job does (same groups and counts under
    # any deterministic collation, much cheaper to sort): the floor is the best hand-written
    # query, not one the job beats by a trick the floor could use too.
    collate = ' COLLATE "C"' if engine.dialect.name == "postgresql" else ""
    with engine.connect() as conn:
        conn.exec_driver_sql(
            f"SELECT {month} AS m, customer_id{collate} AS c, COUNT(*),"
            " COUNT(*) FILTER (WHERE category IN ('api', 'embedding')),"
            " COUNT(*) FILTER (WHERE cost_nanos IS NULL), SUM(cost_nanos),"
            f" {sums}, COUNT(DISTINCT work_item_id{collate}) FROM ledger_entries GROUP BY m, c"
        ).all()


def _floor_distinct(engine: sa.Engine) -> None:
    month = _month(engine.dialect.name)
    collate = ' COLLATE "C"' if engine.dialect.name == "postgresql" else ""
    with engine.connect() as conn:
        conn.exec_driver_sql(
            f"SELECT {month} AS m, customer_id{collate} AS c,"
            f" COUNT(DISTINCT work_item_id{collate}) FROM ledger_entries GROUP BY m, c"
        ).all()


def _floor_month(engine: sa.Engine) -> None:
    with engine.connect() as conn:
        conn.execute(
            sa.text(
                "SELECT customer_id, COUNT(*) FROM ledger_entries WHERE timestamp >= :lo"
                " AND timestamp < :hi AND category IN ('api', 'embedding')"
                " AND customer_id IS NOT NULL GROUP BY customer_id"
            ).bindparams(
                sa.bindparam("lo", _lo(), type_=sa.DateTime(timezone=True)),
                sa.bindparam("hi", _hi(), type_=sa.DateTime(timezone=True)),
            )
        ).all()


def _lo() -> Any:
    from datetime import UTC, datetime

    return datetime(2025, 5, 1, tzinfo=UTC)


def _hi() -> Any:
    from datetime import UTC, datetime

    return datetime(2025, 6, 1, tzinfo=UTC)


BILLS = BillsFile(
    path="benchmark",
    precision_nanos=10_000_000,
    bills=(
        Bill(
            name="shared",
            amount_nanos=1_000 * 10**9,
            category="shared",
            method="proportional",
            period="2025-05",
            driver="api_calls",
        ),
    ),
    direct_costs=(),
)


def _timed(func: Callable[[], Any]) -> float:
    started = time.perf_counter()
    func()
    return time.perf_counter() - started


def _pair(
    floor: Callable[[], Any], job: Callable[[], Any], repeat: int
) -> tuple[float, float, float]:
    """Medians of floor and job run alternately (ABAB…) after one warm-up of each, so both
    see the same cache state and the same load of a shared machine; and the median of the
    per-pair ratios."""
    floor()
    job()
    floors, jobs, ratios = [], [], []
    for _ in range(repeat):
        f = _timed(floor)
        j = _timed(job)
        floors.append(f)
        jobs.append(j)
        ratios.append(j / f)
    return statistics.median(floors), statistics.median(jobs), statistics.median(ratios)


Result = tuple[str, str, float, float, float]  # job, floor, floor s, job s, ratio


def run(url: str, rows: int, repeat: int) -> list[Result]:
    engine = db.create_engine(url)
    migrations.migrate(engine)
    print(f"  generating {rows:,} rows ...", flush=True)
    print(f"  generated in {_fill(engine, rows):.1f} s", flush=True)
    results: list[Result] = []

    def measure(
        job: str, floor: str, floor_func: Callable[[], Any], func: Callable[[], Any]
    ) -> None:
        f, j, ratio = _pair(floor_func, func, repeat)
        results.append((job, floor, f, j, ratio))
        print(f"  {job:<32} {j:8.3f} s | {floor:<24} {f:8.3f} s | {ratio:.2f}x", flush=True)

    def step3() -> None:
        _floor_step3(engine)

    def same() -> None:
        _floor_same(engine)

    def distinct() -> None:
        _floor_distinct(engine)

    def full() -> None:
        aggregate(engine, granularity="month", full=True)

    counter = iter(range(10**9))

    def incremental() -> None:
        first = rows + 1000 * next(counter) + 10
        with engine.begin() as conn:
            # 1,000 rows on 2025-06-15, recorded after everything else: one month to redo.
            sql = _generate_sql(
                engine.dialect.name, first, 1000, 1749945600, 86400, "2099-01-01 00:00:00"
            )
            conn.execute(sa.text(sql))
        aggregate(engine, granularity="month")

    def month() -> None:
        _floor_month(engine)

    def split() -> None:
        allocate(engine, bills=BILLS)

    measure("aggregate --full", "seed Step 3", step3, full)
    measure("aggregate --full", "same measures", same, full)
    measure("aggregate --full", "distinct work items only", distinct, full)
    measure("aggregate (incremental, +1000)", "same measures", same, incremental)
    measure("allocate (one bill, one month)", "one month by customer", month, split)
    engine.dispose()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--postgres",
        default=os.environ.get("COSTLEDGER_TEST_POSTGRES_URL"),
        help="A PostgreSQL server URL (a scratch database is created and dropped).",
    )
    parser.add_argument("--no-sqlite", action="store_true")
    args = parser.parse_args()
    report: dict[str, list[Result]] = {}
    if not args.no_sqlite:
        with tempfile.TemporaryDirectory() as folder:
            print(f"SQLite ({args.rows:,} rows)")
            report["SQLite"] = run(f"sqlite:///{folder}/bench.db", args.rows, args.repeat)
    if args.postgres:
        base = sa.make_url(args.postgres)
        admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
        name = f"costledger_bench_{os.getpid()}"
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        try:
            print(f"PostgreSQL ({args.rows:,} rows)")
            url = base.set(database=name).render_as_string(hide_password=False)
            report["PostgreSQL"] = run(url, args.rows, args.repeat)
        finally:
            with admin.connect() as conn:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            admin.dispose()
    print("\n| database | job | median (s) | floor | floor median (s) | ratio |")
    print("|---|---|---:|---|---:|---:|")
    for database, results in report.items():
        for job, floor, f, j, ratio in results:
            print(f"| {database} | {job} | {j:.3f} | {floor} | {f:.3f} | {ratio:.2f}× |")


if __name__ == "__main__":
    main()

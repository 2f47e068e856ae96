"""Ledger ingest: spans -> priced rows per second into SQLite and PostgreSQL, beside the limit.

For each database, in the same run:

* **costledger**: ``spans_to_rows`` (classify, normalize tokens, dedupe, price with the real
  price book) + ``LedgerStore.insert`` (one transaction per batch, ``ON CONFLICT DO
  NOTHING``), batch by batch as the exporter and the receiver do (512 spans:
  BatchSpanProcessor's default batch);
* **limit**: the SAME rows, already converted and laid out as the driver's tuples, inserted
  with the plainest fast path the driver has, one transaction per batch, into the same table
  with the same unique index: ``sqlite3.executemany`` of the same INSERT, and ``COPY`` straight
  into ``ledger_entries`` on PostgreSQL (which is also what the store does with a batch of new
  rows; it only falls back to ``ON CONFLICT`` after a conflict).

Every measurement starts from an empty, migrated database and is repeated; the table reports
medians and the ratio costledger / limit. The process can be pinned to one core (``--cpu``).

    .venv/bin/python benchmarks/ledger_ingest.py                     # SQLite (+ PG if env set)
    .venv/bin/python benchmarks/ledger_ingest.py --spans 50000 --repeat 5 \\
        --postgres postgresql+psycopg://postgres@127.0.0.1:5432/test
    .venv/bin/python benchmarks/ledger_ingest.py --profile            # where the time goes
    .venv/bin/python benchmarks/ledger_ingest.py --instructions 1000  # callgrind, per span
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import random
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from opentelemetry.exporter.costledger.ingest.convert import spans_to_rows
from opentelemetry.exporter.costledger.ingest.dedupe import RecentCalls
from opentelemetry.exporter.costledger.ingest.spans import SpanData
from opentelemetry.exporter.costledger.ledger import db, migrations
from opentelemetry.exporter.costledger.ledger.rows import LedgerRow
from opentelemetry.exporter.costledger.ledger.store import _COLUMNS, LedgerStore
from opentelemetry.instrumentation.costledger.pricing import PriceBook

CUSTOMERS = ("cust_67890", "cust_12345", "cust_54321", "cust_11111")
START_NS = 1_746_057_600 * 10**9  # 2025-05-01T00:00:00Z


MIXES = ("ours", "producers")


def make_spans(count: int, seed: int = 7, mix: str = "ours") -> list[SpanData]:
    """A month of realistic traffic: chats with cache, streamed chats, embeddings, reviews.

    One trace per ticket: an HTTP server span (ignored by the ledger) and 1-3 cost spans.
    ``mix="producers"``: half of the calls are reported by other producers instead of ours
    (:func:`producer_spans`: OpenInference, OpenLLMetry, contrib botocore, LiteLLM, and the
    mistralai SDK's span beside OpenLLMetry's, two reports of one call).
    """
    rng = random.Random(seed)
    spans: list[SpanData] = []
    while len(spans) < count:
        trace_id = rng.getrandbits(128) | 1
        root = rng.getrandbits(64) | 1
        at = START_NS + rng.randrange(30 * 86_400) * 10**9
        customer = rng.choice(CUSTOMERS)
        ticket = f"ticket_{rng.randrange(100_000)}"
        attribution = {"customer.id": customer, "work_item.id": ticket, "workspace.id": "ws_abc"}
        resource = {"service.name": "support-bot"}
        spans.append(
            SpanData(trace_id, root, None, "POST /tickets", 1, at, at + 10**9,
                     {"http.request.method": "POST", "http.route": "/tickets"}, resource)
        )  # fmt: skip
        for _ in range(rng.randrange(1, 4)):
            if mix == "producers" and rng.random() < 0.5:
                span_at = at + rng.randrange(10**9)
                for scope, reported, start, end in producer_spans(rng, attribution, span_at):
                    spans.append(
                        SpanData(trace_id, rng.getrandbits(64) | 1, root, "chat", 2, start,
                                 end, reported, resource, scope_name=scope)
                    )  # fmt: skip
                continue
            kind = rng.random()
            cached = rng.randrange(0, 8000)
            if kind < 0.55:
                attrs: dict[str, Any] = {
                    "gen_ai.provider.name": "anthropic",
                    "gen_ai.operation.name": "chat",
                    "costledger.counted": True,
                    "gen_ai.request.model": "claude-sonnet-4-5",
                    "gen_ai.response.model": "claude-sonnet-4-5-20250929",
                    "gen_ai.response.id": f"msg_{rng.getrandbits(64):016x}",
                    "gen_ai.usage.input_tokens": 1200 + cached,
                    "gen_ai.usage.output_tokens": rng.randrange(50, 900),
                    "gen_ai.usage.cache_read.input_tokens": cached,
                    "gen_ai.usage.cache_write.input_tokens": 0,
                    "costledger.cost.amount": "0.0256",
                    **attribution,
                }
            elif kind < 0.85:
                attrs = {
                    "gen_ai.provider.name": "openai",
                    "gen_ai.operation.name": "chat",
                    "costledger.counted": True,
                    "gen_ai.request.model": "gpt-4o",
                    "gen_ai.response.model": "gpt-4o-2024-08-06",
                    "gen_ai.response.id": f"chatcmpl-{rng.getrandbits(64):016x}",
                    "gen_ai.usage.input_tokens": 900 + cached,
                    "gen_ai.usage.output_tokens": rng.randrange(50, 600),
                    "gen_ai.usage.cache_read.input_tokens": cached,
                    "openai.response.service_tier": "default",
                    **attribution,
                }
            elif kind < 0.97:
                attrs = {
                    "gen_ai.provider.name": "openai",
                    "gen_ai.operation.name": "embeddings",
                    "gen_ai.request.model": "text-embedding-3-small",
                    "gen_ai.usage.input_tokens": rng.randrange(100, 5000),
                    **attribution,
                }
            else:
                attrs = {
                    "costledger.cost.category": "third_party",
                    "costledger.cost.quantity": "1",
                    "costledger.cost.unit": "call",
                    "costledger.cost.amount": "0.30",
                    **attribution,
                }
            span_at = at + rng.randrange(10**9)
            spans.append(
                SpanData(trace_id, rng.getrandbits(64) | 1, root, "chat", 2, span_at,
                         span_at + 10**8, attrs, resource)
            )  # fmt: skip
    return spans[:count]


def producer_spans(
    rng: random.Random, attribution: dict[str, str], at: int
) -> list[tuple[str, dict[str, Any], int, int]]:
    """One call as another producer reports it: ``(scope, attributes, start, end)`` per span."""
    kind = rng.random()
    prompt, completion = rng.randrange(500, 9000), rng.randrange(50, 900)
    end = at + 10**8
    if kind < 0.3:  # OpenInference (its LLM span of an OpenAI call)
        cached = rng.randrange(0, prompt)
        return [("openinference.instrumentation.openai", {
            "openinference.span.kind": "LLM",
            "llm.provider": "openai",
            "llm.system": "openai",
            "llm.model_name": "gpt-4o-mini-2024-07-18",
            "llm.token_count.prompt": prompt,
            "llm.token_count.completion": completion,
            "llm.token_count.total": prompt + completion,
            "llm.token_count.prompt_details.cache_read": cached,
            **attribution,
        }, at, end)]  # fmt: skip
    if kind < 0.5:  # contrib botocore: Bedrock Converse
        return [("opentelemetry.instrumentation.botocore.bedrock-runtime", {
            "gen_ai.system": "aws.bedrock",
            "gen_ai.operation.name": "chat",
            "gen_ai.request.model": "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
            "gen_ai.usage.input_tokens": prompt,
            "gen_ai.usage.output_tokens": completion,
            **attribution,
        }, at, end)]  # fmt: skip
    if kind < 0.7:  # LiteLLM, with its own cost
        return [("litellm", {
            "gen_ai.system": "vertex_ai",
            "gen_ai.request.model": "gemini-2.5-flash",
            "gen_ai.response.model": "gemini-2.5-flash",
            "gen_ai.response.id": f"litellm-{rng.getrandbits(64):016x}",
            "gen_ai.usage.prompt_tokens": prompt,
            "gen_ai.usage.completion_tokens": completion,
            "llm.usage.total_tokens": prompt + completion,
            "gen_ai.cost.total_cost": (prompt * 0.30 + completion * 2.50) / 1e6,
            **attribution,
        }, at, end)]  # fmt: skip
    # mistralai's SDK span and OpenLLMetry's, siblings: one call, two reports
    return [
        ("mistralai_sdk_tracer", {
            "gen_ai.provider.name": "mistral_ai",
            "gen_ai.request.model": "mistral-small-latest",
            "gen_ai.usage.prompt_tokens": prompt,
            "gen_ai.usage.output_tokens": completion,
            **attribution,
        }, at + 1000, end - 1000),
        ("opentelemetry.instrumentation.mistralai", {
            "gen_ai.system": "MistralAI",
            "llm.request.type": "chat",
            "gen_ai.request.model": "mistral-small-latest",
            "gen_ai.response.id": f"cmpl-{rng.getrandbits(64):016x}",
            "gen_ai.response.model": "mistral-small-latest",
            "gen_ai.usage.input_tokens": prompt,
            "gen_ai.usage.output_tokens": completion,
            **attribution,
        }, at, end),
    ]  # fmt: skip


def batches(items: Sequence[Any], size: int) -> list[Sequence[Any]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


# --- databases ----------------------------------------------------------------------------------


class Database:
    """A fresh, migrated ledger per measurement."""

    def __init__(self, kind: str, postgres_url: str | None) -> None:
        self.kind = kind
        self.postgres_url = postgres_url
        self._tmp = tempfile.TemporaryDirectory(prefix="ledger-ingest-")
        self._made: list[str] = []

    def fresh(self) -> str:
        if self.kind == "sqlite":
            path = Path(self._tmp.name) / f"{uuid.uuid4().hex}.db"
            url = f"sqlite:///{path}"
        else:
            assert self.postgres_url
            base = sa.make_url(self.postgres_url)
            name = f"ledger_ingest_{uuid.uuid4().hex[:10]}"
            admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
            admin.dispose()
            self._made.append(name)
            url = base.set(database=name).render_as_string(hide_password=False)
        engine = db.create_engine(url)
        migrations.migrate(engine)
        engine.dispose()
        return url

    def close(self) -> None:
        if self._made and self.postgres_url:
            admin = sa.create_engine(sa.make_url(self.postgres_url), isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                for name in self._made:
                    conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()
        self._tmp.cleanup()


def run_costledger(url: str, span_batches: list[Sequence[SpanData]], book: PriceBook) -> Timing:
    store = LedgerStore(url)
    with store.engine.connect():
        pass  # connect (and set pragmas) before the clock starts, as a running exporter has
    recent = RecentCalls()  # as the in-process exporter and serve keep one
    clock = _Clock()
    for batch in span_batches:
        store.insert(spans_to_rows(batch, book, recent).rows)
    elapsed = clock.stop()
    store.close()
    return elapsed


def run_limit(url: str, row_batches: list[list[LedgerRow]]) -> Timing:
    """The same rows, prepared as plain tuples beforehand, with the driver's plainest path."""
    write, close = prepare_limit(url, row_batches)
    clock = _Clock()
    write()
    elapsed = clock.stop()
    close()
    return elapsed


def prepare_limit(
    url: str, row_batches: list[list[LedgerRow]]
) -> tuple[Callable[[], None], Callable[[], None]]:
    """(write, close): ``write`` inserts the prepared tuples, one transaction per batch."""
    if url.startswith("sqlite"):
        store = LedgerStore(url, migrate=False)
        sql = store._sqlite_sql.format(recorded_at="2025-06-01 00:00:00.000000")
        store.close()
        prepared = [[tuple(row) for row in rows] for rows in row_batches]  # plain tuples
        conn = sqlite3.connect(sa.make_url(url).database or "", isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")

        def write_sqlite() -> None:
            for tuples in prepared:
                conn.execute("BEGIN")
                conn.executemany(sql, tuples)
                conn.execute("COMMIT")

        return write_sqlite, conn.close
    from datetime import UTC, datetime

    import psycopg

    recorded = (datetime(2025, 6, 1, tzinfo=UTC),)
    prepared_pg = [[row + recorded for row in rows] for rows in row_batches]
    names = ", ".join(f'"{n}"' for n in _COLUMNS)
    dsn = sa.make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    pg = psycopg.connect(dsn)

    def write_pg() -> None:
        for tuples in prepared_pg:
            with pg.transaction(), pg.cursor() as cur:
                cur.execute("SET LOCAL TIME ZONE 'UTC'")  # as the store: timestamps are UTC text
                with cur.copy(f"COPY ledger_entries ({names}) FROM STDIN") as copy:
                    for item in tuples:
                        copy.write_row(item)

    return write_pg, pg.close


def run_convert_only(span_batches: list[Sequence[SpanData]], book: PriceBook) -> Timing:
    recent = RecentCalls()
    clock = _Clock()
    for batch in span_batches:
        spans_to_rows(batch, book, recent)
    return clock.stop()


Timing = tuple[float, float]  # (wall seconds, CPU seconds of this process)


class _Clock:
    def __init__(self) -> None:
        self.wall = time.perf_counter()
        self.cpu = time.process_time()

    def stop(self) -> Timing:
        return time.perf_counter() - self.wall, time.process_time() - self.cpu


def median_of(repeat: int, measure: Callable[[], Timing]) -> Timing:
    runs = [measure() for _ in range(repeat)]
    return statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs)


def _fresh_run_costledger(
    database: Database, span_batches: list[Sequence[SpanData]], book: PriceBook
) -> Timing:
    return run_costledger(database.fresh(), span_batches, book)


def _fresh_run_limit(database: Database, row_batches: list[list[LedgerRow]]) -> Timing:
    return run_limit(database.fresh(), row_batches)


# --- instruction counts (callgrind) ----------------------------------------------------------

CALLGRIND_PATHS = ("costledger", "limit", "convert")


def _callgrind_workload(path: str, count: int, batch: int) -> None:
    """Runs ONE measured workload with callgrind's instrumentation on around it only."""
    spans = make_spans(count)
    span_batches = batches(spans, batch)
    book = PriceBook()
    spans_to_rows(spans[:1000], book)
    database = Database("sqlite", None)
    url = database.fresh()
    work: Callable[[], object]
    if path == "costledger":
        store = LedgerStore(url)
        with store.engine.connect():
            pass
        store.insert(spans_to_rows(make_spans(50, seed=99), book).rows)  # warm SQLAlchemy

        def work() -> None:
            for span_batch in span_batches:
                store.insert(spans_to_rows(span_batch, book).rows)

    elif path == "limit":
        row_batches = [spans_to_rows(b, book).rows for b in span_batches]
        work, _close = prepare_limit(url, row_batches)
    else:

        def work() -> None:
            for span_batch in span_batches:
                spans_to_rows(span_batch, book)

    pid = str(os.getpid())
    subprocess.run(["callgrind_control", "-i", "on", pid], check=True, capture_output=True)
    work()
    subprocess.run(["callgrind_control", "-i", "off", pid], check=True, capture_output=True)
    database.close()


def _callgrind_total(path: str, count: int, batch: int, out_dir: str) -> int:
    out = os.path.join(out_dir, f"callgrind.{path}.{count}")
    subprocess.run(
        ["valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={out}",
         sys.executable, __file__, "--callgrind-run", path, "--spans", str(count),
         "--batch", str(batch)],
        check=True, capture_output=True,
    )  # fmt: skip
    for line in Path(out).read_text().splitlines():
        if line.startswith("totals:"):
            return int(line.split()[1])
    raise RuntimeError(f"no totals in {out}")


def instructions(count: int, batch: int, paths: Sequence[str]) -> dict[str, float]:
    """Instructions per span of each path: (total for 3N spans - total for N) / 2N."""
    result: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="ledger-ingest-cg-") as out_dir:
        for path in paths:
            small = _callgrind_total(path, count, batch, out_dir)
            large = _callgrind_total(path, 3 * count, batch, out_dir)
            result[path] = (large - small) / (2 * count)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spans", type=int, default=20_000, help="spans per run")
    parser.add_argument("--batch", type=int, default=512, help="spans per export batch")
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement (median)")
    parser.add_argument(
        "--postgres",
        default=os.environ.get("COSTLEDGER_TEST_POSTGRES_URL"),
        help="PostgreSQL server URL (default $COSTLEDGER_TEST_POSTGRES_URL; unset: SQLite only)",
    )
    parser.add_argument("--cpu", type=int, default=0, help="pin to this core (-1: no pinning)")
    parser.add_argument("--profile", action="store_true", help="cProfile convert+insert (SQLite)")
    parser.add_argument(
        "--instructions",
        type=int,
        metavar="N",
        help="count instructions per span with callgrind (N and 3N spans, SQLite) and exit",
    )
    parser.add_argument(
        "--mix",
        action="append",
        choices=MIXES,
        help="span mix (repeatable; default both): 'ours' (our spans), 'producers' (half of"
        " the calls from other producers, some reported twice)",
    )
    parser.add_argument("--callgrind-run", choices=CALLGRIND_PATHS, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.mix = args.mix or list(MIXES)
    if args.callgrind_run:
        _callgrind_workload(args.callgrind_run, args.spans, args.batch)
        return 0
    if args.instructions:
        counts = instructions(args.instructions, args.batch, CALLGRIND_PATHS)
        print(
            f"instructions per span (callgrind, SQLite, ({3 * args.instructions:,} spans"
            f" - {args.instructions:,}) / {2 * args.instructions:,}):"
        )
        for path, per_span in counts.items():
            print(f"  {path:<11} {per_span:>10,.0f}")
        print(f"  ratio limit / costledger: {counts['limit'] / counts['costledger']:.2f}")
        return 0
    if args.cpu >= 0 and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {args.cpu})

    book = PriceBook()
    if args.profile:
        spans = make_spans(args.spans, mix=args.mix[-1])
        span_batches = batches(spans, args.batch)
        spans_to_rows(spans[:1000], book)  # warm the price book's per-model cache
        database = Database("sqlite", None)
        url = database.fresh()
        profiler = cProfile.Profile()
        profiler.enable()
        run_costledger(url, span_batches, book)
        profiler.disable()
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)
        database.close()
        return 0

    kinds = ["sqlite"] + (["postgresql"] if args.postgres else [])
    print(
        f"{args.spans} spans per mix, batches of {args.batch}, median of {args.repeat};"
        f" python {sys.version.split()[0]}, "
        + (f"pinned to cpu {args.cpu}" if args.cpu >= 0 else "not pinned")
    )
    for mix in args.mix:
        spans = make_spans(args.spans, mix=mix)
        span_batches = batches(spans, args.batch)
        spans_to_rows(spans[:1000], book)  # warm the price book's per-model cache
        row_batches = [spans_to_rows(b, book, RecentCalls()).rows for b in span_batches]
        rows = sum(len(b) for b in row_batches)
        print(f"\nmix {mix!r}: {rows} ledger rows (the rest plain HTTP spans, or twins)")
        convert = median_of(args.repeat, partial(run_convert_only, span_batches, book))
        print(
            f"convert only (spans_to_rows, priced): {args.spans / convert[0]:,.0f} spans/s"
            f" wall, {args.spans / convert[1]:,.0f} spans/s of CPU"
        )
        print(
            f"{'database':<11} {'costledger spans/s':>19} {'limit spans/s':>14} {'ratio':>6}"
            f"   {'CPU: costledger':>16} {'limit':>8} {'ratio':>6}"
        )
        for kind in kinds:
            database = Database(kind, args.postgres)
            try:
                ours = median_of(
                    args.repeat, partial(_fresh_run_costledger, database, span_batches, book)
                )
                limit = median_of(args.repeat, partial(_fresh_run_limit, database, row_batches))
            finally:
                database.close()
            print(
                f"{kind:<11} {args.spans / ours[0]:>19,.0f} {args.spans / limit[0]:>14,.0f}"
                f" {limit[0] / ours[0]:>6.2f}   {args.spans / ours[1]:>16,.0f}"
                f" {args.spans / limit[1]:>8,.0f} {limit[1] / ours[1]:>6.2f}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())

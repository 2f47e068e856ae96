"""``costledger ingest``: back-fill from Collector ``file`` exporter output, idempotent."""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable
from pathlib import Path

from click.testing import CliRunner
from opentelemetry.exporter.costledger.cli.main import main
from opentelemetry.exporter.costledger.ingest.serve import Receiver
from opentelemetry.exporter.costledger.ingest.serve.backfill import ingest_files
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcExporter
from opentelemetry.sdk.trace.export import SpanExportResult

from .conftest import ledger_keys, span_counts
from .spans import make_spans, otlp_json, span_keys


def test_ingest_files_plain_and_gzip_twice(ledger_url: str, tmp_path: Path) -> None:
    batches = [make_spans(4, customer="acme", plain=2) for _ in range(3)]
    plain = tmp_path / "traces.jsonl"
    plain.write_text(
        json.dumps(otlp_json(batches[0]))
        + "\n\n"
        + "{not json\n"
        + json.dumps(otlp_json(batches[1]))
        + "\n"
    )
    rotated = tmp_path / "traces-2025-06-01.jsonl.gz"
    rotated.write_bytes(gzip.compress((json.dumps(otlp_json(batches[2])) + "\n").encode()))

    runner = CliRunner()
    first = runner.invoke(
        main, ["ingest", str(plain), str(rotated), "--db", ledger_url, "--no-progress"]
    )
    assert first.exit_code == 1, first.output  # the bad line is reported...
    assert f"{plain}:3:" in first.output and "not valid JSON" in first.output
    assert "12 row(s) added" in first.output  # ...and everything else recorded
    calls = [s for b in batches for s in b if s.name.startswith("chat")]
    assert sorted(ledger_keys(ledger_url)) == sorted(span_keys(calls))
    assert span_counts(ledger_url) == {("acme", "checkout"): 18}

    report = ingest_files(ledger_url, [plain, rotated])
    assert (report.lines, report.spans, report.inserted) == (4, 18, 0)
    assert report.duplicates == 12
    assert report.lines_already_counted == 3
    assert len(report.bad_lines) == 1
    assert span_counts(ledger_url) == {("acme", "checkout"): 18}


def test_ingest_after_the_receiver_took_the_same_batch(
    sqlite_url: str, tmp_path: Path, start_receiver: Callable[..., Receiver]
) -> None:
    batch = make_spans(5, customer="globex", plain=5)
    receiver = start_receiver(sqlite_url)
    exporter = GrpcExporter(endpoint=f"127.0.0.1:{receiver.grpc_port}", insecure=True)
    assert exporter.export(batch) is SpanExportResult.SUCCESS
    exporter.shutdown()
    # The Collector's file exporter wrote the same batch: ingesting it adds nothing.
    path = tmp_path / "file-exporter.json"
    path.write_text(json.dumps(otlp_json(batch)) + "\n")
    result = CliRunner().invoke(main, ["ingest", str(path), "--db", sqlite_url, "--no-progress"])
    assert result.exit_code == 0, result.output
    assert "0 row(s) added, 5 already in the ledger" in result.output
    assert "1 line(s) were counted before" in result.output
    assert span_counts(sqlite_url) == {("globex", "checkout"): 10}


def test_ingest_refuses_zstd_with_a_hint(sqlite_url: str, tmp_path: Path) -> None:
    path = tmp_path / "traces.jsonl.zst"
    path.write_bytes(b"\x28\xb5\x2f\xfd" + b"\0" * 20)
    result = CliRunner().invoke(main, ["ingest", str(path), "--db", sqlite_url, "--no-progress"])
    assert result.exit_code == 1
    assert "zstd -d" in result.output

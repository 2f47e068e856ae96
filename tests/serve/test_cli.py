"""``costledger serve`` / ``ingest`` command lines: parsing and the errors a user can meet."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from click.testing import CliRunner
from opentelemetry.exporter.costledger.cli.commands.serve import parse_size
from opentelemetry.exporter.costledger.cli.main import main
from opentelemetry.exporter.costledger.errors import ConfigError
from opentelemetry.exporter.costledger.ingest.serve.auth import load_tokens
from opentelemetry.exporter.costledger.ingest.serve.server import parse_endpoint


def test_parse_endpoint() -> None:
    assert parse_endpoint("127.0.0.1:4317", "x") == ("127.0.0.1", 4317)
    assert parse_endpoint("[::1]:4318", "x") == ("::1", 4318)
    assert parse_endpoint("collector.local:0", "x") == ("collector.local", 0)
    assert parse_endpoint("none", "x") is None
    assert parse_endpoint("OFF", "x") is None
    for bad in ("4317", "host:", ":4317", "host:99999", "host:http"):
        with pytest.raises(ConfigError, match="HOST:PORT"):
            parse_endpoint(bad, "--grpc-endpoint")


def test_parse_size() -> None:
    assert parse_size("16MiB") == 16 * 1024 * 1024
    assert parse_size("512 KiB") == 512 * 1024
    assert parse_size("4000000") == 4_000_000
    assert parse_size("1mb") == 1_000_000
    with pytest.raises(ConfigError, match="16MiB"):
        parse_size("lots")


def test_tokens_from_file_and_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert load_tokens() == []
    monkeypatch.setenv("COSTLEDGER_AUTH_TOKEN", "from-env")
    assert load_tokens() == ["from-env"]
    path = tmp_path / "tokens"
    path.write_text("# rotate: new first\nnew-token\n\nold-token\n")
    assert load_tokens(path) == ["new-token", "old-token"]  # the argument wins over the env
    path.write_text("has space\n")
    with pytest.raises(ConfigError, match="no spaces"):
        load_tokens(path)
    with pytest.raises(ConfigError, match="cannot read"):
        load_tokens(tmp_path / "missing")


def test_serve_refuses_what_cannot_work(sqlite_url: str, tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(
        main, ["serve", "--db", sqlite_url, "--grpc-endpoint", "none", "--http-endpoint", "none"]
    )
    assert result.exit_code == 1 and "nothing to serve" in result.output
    result = runner.invoke(main, ["serve", "--db", sqlite_url, "--grpc-endpoint", "4317"])
    assert result.exit_code == 1 and "HOST:PORT" in result.output
    cert = tmp_path / "cert.pem"
    cert.write_text("not a certificate")
    result = runner.invoke(main, ["serve", "--db", sqlite_url, "--tls-cert", str(cert)])
    assert result.exit_code == 1 and "--tls-key" in result.output
    result = runner.invoke(
        main, ["serve", "--db", sqlite_url, "--tls-cert", str(cert), "--tls-key", str(cert)]
    )
    assert result.exit_code == 1 and "PEM" in result.output
    result = runner.invoke(main, ["serve", "--db", sqlite_url, "--max-request-size", "big"])
    assert result.exit_code == 1 and "not a size" in result.output


def test_serve_says_when_a_port_is_taken(sqlite_url: str) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = CliRunner().invoke(
            main,
            ["serve", "--db", sqlite_url, "--grpc-endpoint", "none",
             "--http-endpoint", f"127.0.0.1:{port}"],
        )  # fmt: skip
        assert result.exit_code == 1
        assert f"cannot listen for OTLP/HTTP on 127.0.0.1:{port}" in result.output
        result = CliRunner().invoke(
            main,
            ["serve", "--db", sqlite_url, "--http-endpoint", "none",
             "--grpc-endpoint", f"127.0.0.1:{port}"],
        )  # fmt: skip
        assert result.exit_code == 1
        assert f"cannot listen for OTLP/gRPC on 127.0.0.1:{port}" in result.output


def test_ingest_needs_files() -> None:
    result = CliRunner().invoke(main, ["ingest"])
    assert result.exit_code == 2 and "FILES" in result.output

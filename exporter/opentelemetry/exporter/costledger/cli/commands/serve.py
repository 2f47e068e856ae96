"""``costledger serve``: the OTLP receiver (gRPC + HTTP) behind the Collector.

See ``ingest/serve/``.
"""

from __future__ import annotations

import logging
import re
import sys

import click

from ...errors import ConfigError
from ...ingest.serve.auth import load_tokens
from ...ingest.serve.config import DEFAULT_GRPC_ENDPOINT, DEFAULT_HTTP_ENDPOINT, ServeConfig
from ...ingest.serve.decoded import DEFAULT_MAX_SPANS, Limits
from ...ingest.serve.server import Receiver, run
from ...jobs.budget_snapshot import DEFAULT_EVERY, SnapshotPublisher
from ...price_book import load_price_book
from ._options import db_option, max_attribute_length_option, prices_option

_SIZE = re.compile(r"(\d+)\s*(b|kb|kib|mb|mib|gb|gib)?", re.IGNORECASE)
_UNITS = {
    None: 1,
    "b": 1,
    "kb": 1000,
    "kib": 1024,
    "mb": 1000**2,
    "mib": 1024**2,
    "gb": 1000**3,
    "gib": 1024**3,
}


def parse_size(text: str) -> int:
    """``16MiB``, ``512KiB``, ``4000000`` to bytes."""
    match = _SIZE.fullmatch(text.strip())
    if not match:
        raise ConfigError(f"{text!r} is not a size; write e.g. 16MiB, 512KiB or 4000000")
    unit = match.group(2).lower() if match.group(2) else None
    return int(match.group(1)) * _UNITS[unit]


def register(group: click.Group) -> None:
    group.add_command(serve_command)


@click.command("serve")
@db_option
@click.option(
    "--grpc-endpoint",
    envvar="COSTLEDGER_GRPC_ENDPOINT",
    default=DEFAULT_GRPC_ENDPOINT,
    show_default=True,
    metavar="HOST:PORT|none",
    help="OTLP/gRPC listen address; `none` turns gRPC off [env COSTLEDGER_GRPC_ENDPOINT].",
)
@click.option(
    "--http-endpoint",
    envvar="COSTLEDGER_HTTP_ENDPOINT",
    default=DEFAULT_HTTP_ENDPOINT,
    show_default=True,
    metavar="HOST:PORT|none",
    help="OTLP/HTTP listen address (/v1/traces, /healthz, /metrics); `none` turns it off"
    " [env COSTLEDGER_HTTP_ENDPOINT].",
)
@click.option(
    "--auth-token-file",
    type=click.Path(dir_okay=False),
    help="Require `Authorization: Bearer <token>` with a token of this file (one per line)"
    " [env COSTLEDGER_AUTH_TOKEN_FILE, or the token itself in COSTLEDGER_AUTH_TOKEN].",
)
@click.option(
    "--tls-cert",
    envvar="COSTLEDGER_TLS_CERT",
    type=click.Path(dir_okay=False),
    help="PEM certificate chain: serve both ports over TLS [env COSTLEDGER_TLS_CERT].",
)
@click.option(
    "--tls-key",
    envvar="COSTLEDGER_TLS_KEY",
    type=click.Path(dir_okay=False),
    help="PEM private key of --tls-cert [env COSTLEDGER_TLS_KEY].",
)
@click.option(
    "--max-request-size",
    metavar="SIZE",
    default="16MiB",
    show_default=True,
    help="Largest request accepted, measured AFTER decompression (413 beyond).",
)
@click.option(
    "--max-request-spans",
    type=click.IntRange(1),
    default=DEFAULT_MAX_SPANS,
    show_default=True,
    help="Most spans in one request (413 / RESOURCE_EXHAUSTED beyond): bounds decoding memory.",
)
@click.option(
    "--max-concurrent-requests",
    type=click.IntRange(1),
    default=8,
    show_default=True,
    help="Requests processed at once (SQLite: one at a time); more wait up to --queue-timeout,"
    " then get 'retry later'.",
)
@click.option(
    "--queue-timeout",
    type=click.FloatRange(0),
    default=1.0,
    show_default=True,
    help="Seconds a request waits for a free slot.",
)
@click.option(
    "--db-timeout",
    type=click.FloatRange(0.1),
    default=5.0,
    show_default=True,
    help="Seconds to wait for the database (lock, statement, connection), then 'retry later'.",
)
@click.option(
    "--header-timeout",
    type=click.FloatRange(0.1),
    default=10.0,
    show_default=True,
    help="HTTP: seconds from a request's first byte to the end of its headers, then 408.",
)
@click.option(
    "--body-timeout",
    type=click.FloatRange(0.1),
    default=60.0,
    show_default=True,
    help="HTTP: seconds to receive a request's body, then 408.",
)
@click.option(
    "--retry-after",
    type=click.FloatRange(0),
    default=5.0,
    show_default=True,
    help="Seconds senders are told to wait before retrying.",
)
@click.option(
    "--spool",
    envvar="COSTLEDGER_SPOOL",
    type=click.Path(file_okay=False),
    help="Directory of a durable spool: requests the database cannot take now are fsync'd"
    " there, acknowledged, and written later in order [env COSTLEDGER_SPOOL].",
)
@click.option(
    "--spool-max-bytes",
    envvar="COSTLEDGER_SPOOL_MAX_BYTES",
    metavar="SIZE",
    default="1GiB",
    show_default=True,
    help="Most the spool holds; beyond, 'retry later' [env COSTLEDGER_SPOOL_MAX_BYTES].",
)
@max_attribute_length_option
@prices_option
@click.option(
    "--tags",
    metavar="NAMES",
    help="Tag names the ledger keeps from attribute_to(tags=...), comma-separated (default"
    " $COSTLEDGER_TAGS, else none: other tags are dropped, so their values cannot grow the"
    " ledger without bound).",
)
@click.option(
    "--schedule",
    type=click.Path(dir_okay=False, exists=True),
    help="Also run the jobs of this schedule file (see `costledger jobs`).",
)
@click.option(
    "--budgets",
    "budgets_path",
    type=click.Path(dir_okay=False, exists=True),
    help="Publish the budget guard's snapshot of this budgets file's hard limits at GET"
    " /v1/budgets on the OTLP/HTTP port, recomputed every --budgets-refresh seconds.",
)
@click.option(
    "--budgets-refresh",
    type=click.FloatRange(1),
    default=DEFAULT_EVERY,
    show_default=True,
    help="Seconds between two budget snapshots (with --budgets).",
)
@click.option(
    "--shutdown-timeout",
    type=click.FloatRange(0),
    default=30.0,
    show_default=True,
    help="On SIGTERM, seconds to let requests in flight finish.",
)
@click.option(
    "--log-level",
    type=click.Choice(["debug", "info", "warning", "error"]),
    default="info",
    show_default=True,
)
def serve_command(
    database_url: str | None,
    grpc_endpoint: str,
    http_endpoint: str,
    auth_token_file: str | None,
    tls_cert: str | None,
    tls_key: str | None,
    max_request_size: str,
    max_request_spans: int,
    max_concurrent_requests: int,
    queue_timeout: float,
    db_timeout: float,
    header_timeout: float,
    body_timeout: float,
    retry_after: float,
    spool: str | None,
    spool_max_bytes: str,
    max_attribute_length: int,
    price_file: str | None,
    tags: str | None,
    schedule: str | None,
    budgets_path: str | None,
    budgets_refresh: float,
    shutdown_timeout: float,
    log_level: str,
) -> None:
    """Receive OTLP traces (gRPC and HTTP) into the ledger; stop with SIGTERM or Ctrl-C.

    Put it behind the OpenTelemetry Collector (collector-config/ has a ready configuration).
    Every LLM call and cost span becomes a priced ledger row, every span is counted per
    customer and day (table span_counts), and a retried request is never counted twice.

    \b
    Examples:
      costledger serve --db postgresql+psycopg://costledger@db/costledger
      costledger serve --grpc-endpoint 0.0.0.0:14317 --http-endpoint none \\
          --auth-token-file /run/secrets/otlp-token --tls-cert cert.pem --tls-key key.pem
      costledger serve --budgets budgets.toml    # the guard's snapshot at GET /v1/budgets
    """
    logging.basicConfig(
        level=log_level.upper(), format="%(asctime)s %(levelname)s %(message)s", stream=sys.stderr
    )
    # A broken price file (--prices or COSTLEDGER_PRICES) stops the start with its line: the
    # receiver would otherwise answer 200 and store every call unpriced.
    load_price_book(price_file)
    config = ServeConfig(
        database_url=database_url,
        grpc_endpoint=grpc_endpoint,
        http_endpoint=http_endpoint,
        auth_tokens=tuple(load_tokens(auth_token_file)),
        tls_cert=tls_cert,
        tls_key=tls_key,
        max_request_size=parse_size(max_request_size),
        max_concurrent_requests=max_concurrent_requests,
        queue_timeout=queue_timeout,
        db_timeout=db_timeout,
        header_timeout=header_timeout,
        body_timeout=body_timeout,
        retry_after=retry_after,
        limits=Limits(max_attribute_length=max_attribute_length, max_spans=max_request_spans),
        prices=price_file,
        tags=None if tags is None else tuple(t.strip() for t in tags.split(",") if t.strip()),
        shutdown_timeout=shutdown_timeout,
        spool=spool,
        spool_max_bytes=parse_size(spool_max_bytes),
    )

    def ready(receiver: Receiver) -> None:
        click.echo(f"costledger serve: {receiver.describe()}")
        sys.stdout.flush()

    publisher = None
    if budgets_path is not None:
        if http_endpoint.strip().lower() in ("", "none", "off"):
            raise ConfigError("--budgets is served on the OTLP/HTTP port: turn --http-endpoint on")
        # Computed here and handed in: the receiver (ingest) never imports the jobs.
        publisher = SnapshotPublisher(database_url, budgets_path, every=budgets_refresh)
        publisher.start()
    try:
        clean = run(
            config,
            schedule=schedule,
            ready=ready,
            budgets=None if publisher is None else publisher.current,
        )
    finally:
        if publisher is not None:
            publisher.stop()
    if not clean:
        raise click.ClickException(
            f"requests still in flight after {shutdown_timeout}s were cut; their senders retry"
        )
    click.echo("costledger serve: stopped; every request answered was committed")

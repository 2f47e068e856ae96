"""``costledger dashboard``: the report page served live on 127.0.0.1, rebuilt per request."""

from __future__ import annotations

import contextlib

import click

from ...report import DEFAULT_TOP_N
from ...report.server import DEFAULT_PERIOD, DEFAULT_REFRESH_SECONDS, PORT_ENV, Dashboard
from ._options import currency_options, db_option

TZ_HELP = "Time zone of the days (default: $COSTLEDGER_TIMEZONE, else UTC)."
DB_HELP = "Ledger database URL (default: $COSTLEDGER_DATABASE_URL)."


def register(group: click.Group) -> None:
    group.add_command(dashboard)


@click.command("dashboard")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=int, help=f"Port (default ${PORT_ENV}, else 8321; 0 = any free).")
@click.option(
    "--period",
    default=DEFAULT_PERIOD,
    show_default=True,
    help="Period shown at / (any period spelling; /?period=2025-05 picks another).",
)
@click.option(
    "--refresh",
    "refresh_seconds",
    default=DEFAULT_REFRESH_SECONDS,
    show_default=True,
    help="Seconds between automatic browser refreshes.",
)
@click.option("--top", "top_n", default=DEFAULT_TOP_N, show_default=True, help="Customers charted.")
@click.option(
    "--tz", "time_zone", help="Time zone of the days (default $COSTLEDGER_TIMEZONE or UTC)."
)
@currency_options
@db_option
def dashboard(
    host: str,
    port: int | None,
    period: str,
    refresh_seconds: int,
    top_n: int,
    time_zone: str | None,
    currency: str | None,
    rates_file: str | None,
    database_url: str | None,
) -> None:
    """Serve the cost report in the browser, fresh from the database on every load.

    \b
    Example:
      costledger dashboard --db postgresql+psycopg://costledger@db/ledger --port 8321
      # then open http://127.0.0.1:8321/  (or /?period=2025-05)
    """
    server = Dashboard(
        database_url,
        period=period,
        time_zone=time_zone,
        host=host,
        port=port,
        refresh_seconds=refresh_seconds,
        top_n=top_n,
        currency=currency,
        rates_file=rates_file,
    )
    click.echo(f"costledger dashboard on {server.url} (Ctrl+C stops)", err=True)
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()

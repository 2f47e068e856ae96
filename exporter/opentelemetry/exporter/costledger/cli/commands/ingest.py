"""``costledger ingest``: back-fill from Collector ``file`` exporter output.

See ``ingest/serve/backfill.py``.
"""

from __future__ import annotations

import click
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

from ...errors import InputError
from ...ingest.serve.backfill import file_sizes, ingest_files
from ...ingest.serve.decoded import Limits
from ...price_book import load_price_book
from ._options import db_option, max_attribute_length_option, prices_option


def register(group: click.Group) -> None:
    group.add_command(ingest_command)


@click.command("ingest")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, exists=True))
@db_option
@prices_option
@max_attribute_length_option
@click.option(
    "--progress/--no-progress",
    default=True,
    show_default=True,
    help="Show a progress bar on stderr.",
)
def ingest_command(
    files: tuple[str, ...],
    database_url: str | None,
    price_file: str | None,
    max_attribute_length: int,
    progress: bool,
) -> None:
    """Back-fill the ledger from OTLP/JSON lines files (the Collector `file` exporter).

    FILES may be gzip-compressed. Idempotent: spans already in the ledger (received live or
    ingested before) are not added again, and driver counts are not counted twice.

    \b
    Example:
      costledger ingest /var/lib/otelcol/traces.jsonl /var/lib/otelcol/traces-2025-06-01.jsonl.gz
    """
    # A broken price file stops here with its line, before anything is stored unpriced.
    load_price_book(price_file)
    console = Console(stderr=True)
    with Progress(
        TextColumn("ingest"),
        BarColumn(),
        DownloadColumn(),
        TimeRemainingColumn(),
        console=console,
        disable=not progress,
        transient=True,
    ) as bar:
        task = bar.add_task("ingest", total=file_sizes(files) or None)
        report = ingest_files(
            database_url,
            files,
            prices=price_file,
            limits=Limits(max_attribute_length=max_attribute_length),
            on_progress=lambda n: bar.advance(task, n),
        )
    click.echo(
        f"{report.files} file(s), {report.lines} line(s), {report.spans} span(s): "
        f"{report.inserted} row(s) added, {report.duplicates} already in the ledger, "
        f"{report.ignored} span(s) not cost events, {report.rejected} refused; "
        f"{report.lines_already_counted} line(s) were counted before"
    )
    if report.bad_lines:
        shown = "\n  ".join(report.bad_lines[:20])
        more = f"\n  (and {len(report.bad_lines) - 20} more)" if len(report.bad_lines) > 20 else ""
        raise InputError(
            f"{len(report.bad_lines)} problem(s); everything else was recorded:\n  {shown}{more}"
        )

"""``costledger demo``: a month of support-copilot traffic into the ledger, then seed Step 3."""

from __future__ import annotations

import click

from ...demo.traffic import DEFAULT_CALLS, DEFAULT_SEED, MAX_CALLS
from ._options import db_option

HELP = """Run a month of realistic AI traffic for four customers into the ledger, offline.

\b
What happens:
  1. A month of a support copilot's work is planned for the seed article's
     four customers (cust_67890, cust_12345 "Acme Corp", cust_54321,
     cust_11111, sized like its Step 3 table). Every support ticket is a work
     item: an embedding (text-embedding-3-small), a triage call (gpt-4o-mini,
     automatically cached prompt), a drafted answer (claude-sonnet-4-5 or
     claude-haiku-4-5 with the customer's knowledge base as a cached system
     prompt: cache writes, 5-minute and 1-hour, and cache reads), streamed
     follow-up chat turns (Anthropic and OpenAI server-sent events), human
     review minutes and third-party costs (Twilio SMS, DeepL) via record_cost.
  2. The REAL anthropic and openai SDKs make every call; an in-process mock
     of the HTTP APIs answers with responses shaped exactly like the real
     ones (no API key, no network). The costledger instrumentation turns each
     call into a span with its customer, tokens and cost (drafts use the
     seed's Step 1 metadata= pattern, the rest attribute_to), and the
     in-process exporter writes the ledger. A third of the tickets go
     through the SDKs' async clients; about 2% of calls are rate limited
     (HTTP 429) once and retried by the SDK — still one row each. A few
     streams fail mid-way or are left early by the user, and a few triage
     answers are cut at their token limit; after a failure or a cut the app
     asks the same question again (the iceberg's hidden layers).
  3. It prints the seed's Step 3 table (cost, tokens and calls per customer
     and month) queried from the cost_ledger view, the cost by category, and
     what to run next: aggregate, allocate, normalize, rank, agents, iceberg,
     alerts, report... For those it writes the month's shared bills
     (Pinecone, Langfuse), vectors per customer, revenue and margin, and unit
     prices into demo/ beside the ledger file, sized to --calls.

\b
Time: the calls are made now, in seconds; each ticket's spans are moved, start
and end by the same offset, to the ticket's simulated moment in --month
(business hours in the customer's time zone, quieter weekends, a spike for
cust_54321 in the last week). Durations, tokens and ids are what really
happened; rows are priced at the simulated time.

\b
Re-running: the same --seed, --month and --calls produce the same span ids,
hence the same ledger keys: the ledger keeps one copy and counts nothing
twice. Other options are other traffic and add to the ledger (the output says
so); use --db with a new file for a clean ledger.

\b
Size: the default 2,000 events take about 15 s of CPU; the output says how
long the run took. Prices are real list prices (genai-prices), so a month's
totals are tens of dollars, not the seed's thousands.

\b
Examples:
  costledger demo
  costledger demo --calls 20000 --month 2025-05 --seed 7
  costledger demo --db /tmp/demo.db
  costledger demo --db postgresql+psycopg://user@localhost/ledger
"""


def register(group: click.Group) -> None:
    @group.command("demo", help=HELP, short_help="A month of AI traffic for four customers.")
    @db_option
    @click.option(
        "--month",
        metavar="YYYY-MM",
        help="The simulated month [default: the last complete month, UTC].",
    )
    @click.option(
        "--calls",
        type=click.IntRange(min=1, max=MAX_CALLS),
        default=DEFAULT_CALLS,
        show_default=True,
        help="Cost events to generate (SDK calls plus record_cost events) = ledger rows.",
    )
    @click.option(
        "--seed",
        type=int,
        default=DEFAULT_SEED,
        show_default=True,
        help="Random seed; the same seed, month and calls give the same traffic and span ids.",
    )
    @click.option("--no-progress", is_flag=True, help="Do not draw the progress bar.")
    def demo(
        database_url: str | None, month: str | None, calls: int, seed: int, no_progress: bool
    ) -> None:
        from rich.console import Console

        from ...demo import run_demo
        from ...demo.render import print_result, progress_bar

        console = Console()
        with progress_bar(console, enabled=not no_progress) as (on_plan, on_call):
            result = run_demo(
                db=database_url,
                month=month,
                calls=calls,
                seed=seed,
                on_plan=on_plan,
                on_call=on_call,
            )
        print_result(console, result, group)

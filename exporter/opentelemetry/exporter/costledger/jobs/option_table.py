"""Each job's options, declared once: :data:`OPTIONS` lists, per job, every option its command
takes (:class:`JobOption`: the name, how a value is read, the default, the help, an example).

``cli/commands/_options.job_params`` turns them into the command's click options and arguments,
so ``aggregate --period`` exists exactly when ``jobs run aggregate -o period=...`` does; options
that only change what the command prints (``--format``, ``--round-to``, ``--all``, ...) are
declared too, as ``display``, and refused by ``jobs run`` and schedules with that reason (they
print a one-line summary). :mod:`.options` reads values given for them (``jobs run -o``,
schedule files, the alerts ``--config`` file).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from .. import periods
from ..columns import FORMATS
from ..currency import RATES_ENV
from ..imports.invoices import FORMATS as EXPORT_FORMATS
from .aggregate import DIMENSIONS
from .dimension_economics import BY as GROUPINGS
from .rank import SORTS

PERIOD_HELP = (
    "2025-05, 2025-W19, 2025-05-02, 2025, 2025-05-01..2025-05-15, today, yesterday,"
    " this-week, last-week, this-month, last-month"
)

# How a value is read, and what the message calls it.
KINDS = {
    "text": "a text",
    "choice": "one of",
    "flag": "true or false",
    "amount": "an amount of dollars",
    "percent": "a percentage",
    "count": "a whole number",
    "list": "a list",
    "budgets": "a table of budgets or the path of a budgets file",
    "file": "the path of a file",
    "files": "a list of file paths",
}


@dataclass(frozen=True, slots=True)
class JobOption:
    """One option of a job and of its command (``--by`` there, ``by`` in ``-o`` / a schedule)."""

    name: str  # the -o / schedule key and the command's Python parameter
    kind: str  # a key of KINDS
    help: str
    example: str = ""
    default: Any = None
    choices: tuple[str, ...] = ()
    flag: str | None = None  # the command's spelling when not --name-with-dashes
    short: str | None = None  # e.g. -d
    argument: bool = False  # a positional argument of the command (BILLS, PATH)
    required: bool = False
    minimum: int = 0  # counts
    display: bool = False  # only changes what the command prints: not a job option
    param: str | None = None  # the command's Python parameter when not ``name``

    @property
    def cli_flag(self) -> str:
        return self.flag or "--" + self.name.replace("_", "-")


def _period(default: str | None = None, text: str = "") -> JobOption:
    return JobOption("period", "text", text + PERIOD_HELP, "last-month", default=default)


_TZ = JobOption(
    "tz", "text", "IANA time zone periods are cut in (default $COSTLEDGER_TIMEZONE, else UTC).",
    "Europe/Berlin",
)  # fmt: skip
_FORMAT = JobOption(
    "format", "choice",
    "table for people; csv/json are exact (money as decimal strings) for machines.",
    "csv", default="table", choices=FORMATS, display=True, param="fmt",
)  # fmt: skip
_BY = periods.GRANULARITIES
# --currency / --rates: what the command shows, converted (README "Other currencies"); the jobs
# and their tables stay USD, so these are display options too.
CURRENCY_OPTIONS = (
    JobOption(
        "currency", "text",
        "Show money in this currency (EUR, GBP, ...), converted from exact USD at each day's"
        " rate from --rates [default: USD].",
        "EUR", display=True,
    ),
    JobOption(
        "rates", "file",
        "Exchange rates: the ECB's eurofxref-hist.csv or date,currency,rate (per 1 USD)"
        f" [env {RATES_ENV}].",
        "eurofxref-hist.csv", display=True, param="rates_file",
    ),
)  # fmt: skip


def _path(help_text: str, example: str) -> JobOption:
    return JobOption("path", "file", help_text, example, argument=True, required=True)


OPTIONS: dict[str, tuple[JobOption, ...]] = {
    "aggregate": (
        JobOption("by", "choice", "Bucket size.", "day", default="month", choices=_BY),
        JobOption(
            "dimensions",
            "list",
            "Extra grouping beside customer, repeatable or comma-separated:"
            f" {', '.join(DIMENSIONS)}, or one tag:<name> (a tag the ledger keeps, see"
            " COSTLEDGER_TAGS).",
            '["customer", "model"]',
            short="-d",
        ),
        _period(text="Only these buckets (jobs: the summary gives their total): "),
        JobOption("full", "flag", "Recompute everything instead of what changed.", "true"),
        JobOption("quiet", "flag", "Update the table, print nothing.", short="-q", display=True),
        _TZ,
        _FORMAT,
        *CURRENCY_OPTIONS,
    ),
    "allocate": (
        JobOption(
            "bills",
            "file",
            "The bills file (TOML/YAML).",
            "bills.toml",
            argument=True,
            required=True,
        ),
        _period(text="For bills without their own period: "),
        JobOption("bill", "list", "Only this bill (by name); repeatable.", '["Pinecone"]'),
        JobOption("dry_run", "flag", "Show the split without writing it.", "true"),
        _TZ,
        _FORMAT,
        *CURRENCY_OPTIONS,
    ),
    "normalize": (
        _period("last-month"),
        JobOption(
            "by",
            "choice",
            "Per customer, or per agent or feature (results in the table dimension_economics).",
            "agent",
            default="customer",
            choices=("customer", *GROUPINGS),
        ),
        JobOption(
            "customer",
            "text",
            "Show this customer's cost per category (the Step 4 table).",
            "cust_12345",
        ),
        _TZ,
        _FORMAT,
        *CURRENCY_OPTIONS,
    ),
    "rank": (
        _period("last-month"),
        JobOption(
            "by",
            "choice",
            "Rank customers, or agents or features (by outcome value − AI cost, then by cost per"
            " successful outcome).",
            "feature",
            default="customer",
            choices=("customer", *GROUPINGS),
        ),
        JobOption("sort", "choice", "Order of the table.", "ai_cost", "ai_cost", SORTS),
        JobOption(
            "ai_share_threshold",
            "percent",
            "Flag high_ai_share when AI cost exceeds this percentage of revenue.",
            "50",
            default=Decimal(50),
        ),
        JobOption(
            "plan_order",
            "list",
            "Plans from cheapest to dearest, comma-separated (enables 'tier up' suggestions).",
            '["free", "pro"]',
        ),
        JobOption(
            "sunset_after",
            "count",
            "Suggest 'sunset' (not 'restrict') for AI cost above revenue after this many"
            " unprofitable periods in a row.",
            "3",
            default=3,
            minimum=1,
        ),
        JobOption(
            "round_to",
            "choice",
            "Display rounding of the table (half-even); csv/json stay exact.",
            "dollar",
            default="cent",
            choices=("cent", "dollar"),
            display=True,
        ),
        _TZ,
        _FORMAT,
        *CURRENCY_OPTIONS,
    ),
    "alerts": (
        _period(text="Period to check (default: the last complete one): "),
        JobOption("by", "choice", "Period size.", "week", default="week", choices=_BY),
        JobOption(
            "threshold",
            "percent",
            "Spike threshold in percent over the baseline.",
            "20",
            default=Decimal(20),
        ),
        JobOption(
            "baseline_periods",
            "count",
            "Previous periods averaged as the baseline.",
            "4",
            default=4,
            minimum=1,
        ),
        JobOption(
            "min_baseline",
            "amount",
            "No spike is judged over a baseline below this many dollars.",
            "5",
            default=Decimal(0),
        ),
        JobOption(
            "budgets",
            "budgets",
            "TOML/YAML file: [[budget]] entries (customer/workspace/feature/agent/tag, amount,"
            " period, thresholds: alerted at 50/80/100% and ahead, by forecast), or [budgets]"
            " customer = amount per period ('*' = everyone else).",
            "budgets.toml",
        ),
        JobOption(
            "as_of",
            "text",
            "Evaluate the [[budget]] entries at this moment: 2025-05-20 (the end of that day) or"
            " 2025-05-20T14:30 [default: the end of --period if given and past, else now].",
            "2025-05-20",
        ),
        JobOption(
            "webhook", "text", "POST new alerts as JSON to this URL.", "https://hooks.example.com/x"
        ),
        JobOption(
            "config",
            "file",
            "TOML/YAML file with an [alerts] table of these options (the others override it).",
            "alerts.toml",
        ),
        JobOption(
            "all", "flag", "Show every alert, not only new ones.", display=True, param="show_all"
        ),
        _TZ,
        _FORMAT,
        *CURRENCY_OPTIONS,
    ),
    "reconcile": (
        _period("last-month"),
        JobOption(
            "imports",
            "files",
            "Import this provider export first (same as `costledger import invoices`); repeatable.",
            '["anthropic-cost-2025-05.json"]',
            flag="--import",
        ),
        JobOption(
            "tolerance",
            "percent",
            "Flag a day × model whose difference exceeds this percentage ...",
            "1",
            default=Decimal(1),
        ),
        JobOption(
            "tolerance_abs",
            "amount",
            "... and this many dollars.",
            "0.01",
            default=Decimal("0.01"),
        ),
        JobOption("flagged", "flag", "Show only flagged rows.", display=True),
        _FORMAT,
        *CURRENCY_OPTIONS,
    ),
    "import_usage": (_path("Usage CSV.", "usage.csv"),),
    "import_business": (_path("Business-data CSV.", "business.csv"),),
    "import_invoices": (
        _path("A provider export (JSON, JSON Lines or CSV).", "costs.json"),
        JobOption(
            "export_format",
            "choice",
            "The file's format; auto recognises each one by its content.",
            "csv",
            default="auto",
            choices=("auto", *EXPORT_FORMATS),
        ),
        JobOption(
            "provider", "text", "Provider of a generic CSV without a provider column.", "openai"
        ),
    ),
    "import_calls": (
        _path("CSV or JSON Lines of past calls and costs.", "calls.csv"),
        JobOption(
            "prices", "file", "Your price file (TOML/YAML) [env COSTLEDGER_PRICES].", "prices.toml"
        ),
    ),
}


def definition(job: str, name: str) -> JobOption:
    return next(o for o in OPTIONS[job] if o.name == name)

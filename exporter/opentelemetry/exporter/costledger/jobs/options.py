"""Each job's options, declared once: the ``costledger`` command's flags are made from them, and
``costledger jobs run JOB -o key=value`` and schedule files read them.

:data:`OPTIONS` lists, per job, every option its command takes (:class:`JobOption`: the name, how
a value is read, the default, the help). ``cli/commands/_options.job_params`` turns them into
the command's click options and arguments, so ``aggregate --period`` exists exactly when
``jobs run aggregate -o period=...`` does; options that only change what the command prints
(``--format``, ``--round-to``, ``--all``, ...) are declared too, as ``display``, and refused by
``jobs run`` and schedules with that reason (they print a one-line summary).

An option the job does not take is refused, naming the ones it does (a typo such as
``treshold`` would otherwise run with the default), when the schedule is loaded and by ``jobs
run``. Values are read as the CLI reads its flags: flags ``true``/``false``, amounts and
percentages exact (``"0.01"``, ``"$1,000"``, ``20``), counts whole numbers, choices among their
values; ``budgets`` is a table or the path of a budgets file (as ``--budgets`` takes). Relative
paths (``bills``, ``budgets``, ``path``) are read from the working directory of the process.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from .. import periods
from ..columns import FORMATS
from ..errors import ConfigError
from ..imports.invoices import FORMATS as EXPORT_FORMATS
from .aggregate import DIMENSIONS
from .amounts import parse_amount
from .dimension_economics import BY as GROUPINGS
from .rank import SORTS

PERIOD_HELP = (
    "2025-05, 2025-W19, 2025-05-02, 2025, 2025-05-01..2025-05-15, today, yesterday,"
    " this-week, last-week, this-month, last-month"
)

# How a value is read, and what the message calls it.
_KINDS = {
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
    kind: str  # a key of _KINDS
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


def job_options(job: str, options: Mapping[str, Any], where: str = "") -> dict[str, Any]:
    """``options`` checked against what ``job`` takes and read into their types (ConfigError
    naming the option and an example otherwise); ``where`` prefixes the messages."""
    known = {o.name: o for o in OPTIONS[job] if not o.display}
    shown = {o.name for o in OPTIONS[job] if o.display}
    command = job.replace("_", " ")
    for name in options:
        if name in shown:
            raise ConfigError(
                f"{where}{name} only changes what `costledger {command}` prints; a job run"
                f" prints a one-line summary: leave {name} out (its options are"
                f" {', '.join(known)})"
            )
    unknown = sorted(str(name) for name in options if name not in known)
    if unknown:
        hints = [
            f"{name!r} (did you mean {close[0]!r}?)"
            if (close := difflib.get_close_matches(name, known, n=1))
            else repr(name)
            for name in unknown
        ]
        raise ConfigError(
            f"{where}the {job} job has no option {', '.join(hints)}:"
            f" its options are {', '.join(known)}"
        )
    read = {name: _option(job, name, value, where) for name, value in options.items()}
    missing = [o.name for o in known.values() if o.required and read.get(o.name) is None]
    if missing:
        raise ConfigError(
            f"{where}the {job} job needs options.{missing[0]} ="
            f" {definition(job, missing[0]).example!r}"
        )
    return read


def _option(job: str, name: str, value: Any, where: str = "") -> Any:
    spec = definition(job, name)
    converted = convert(spec, value)
    if converted is None:
        quoted = spec.kind in ("text", "amount", "budgets", "file", "choice")
        toml_example = f'"{spec.example}"' if quoted else spec.example
        what = _KINDS[spec.kind]
        if spec.choices:
            what = f"{what} {', '.join(spec.choices)}"
        raise ConfigError(
            f"{where}{job} option {name} = {value!r} is not {what}: write e.g."
            f" -o {name}={spec.example} (in a schedule file: {name} = {toml_example})"
        )
    return converted


def convert(spec: JobOption, value: Any) -> Any:
    """``value`` read as ``spec`` reads it, or None when it is not one (the CLI's types too)."""
    kind = spec.kind
    if kind == "flag":
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        return {"true": True, "false": False}.get(text) if isinstance(value, str) else None
    if kind in ("amount", "percent"):
        return parse_amount(value)
    if kind == "count":
        if isinstance(value, bool | float):
            return None
        try:
            number = int(str(value).strip())
        except ValueError:
            return None
        return number if number >= spec.minimum else None
    if kind in ("list", "files"):
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        if isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
            return [part.strip() for v in value for part in v.split(",") if part.strip()]
        return None
    if kind == "budgets":
        return value if isinstance(value, str | Mapping) else None
    # text, choice, file: numbers are welcome (`-o period=2025` arrives as the number 2025)
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None
    text = str(value)
    if spec.choices and text not in spec.choices:
        return None
    return text


def option(job: str, options: Mapping[str, Any], name: str) -> Any:
    """One option, read into its type; its declared default when not given."""
    if options.get(name) is None:
        return definition(job, name).default
    return _option(job, name, options[name])


def alert_options(given: Mapping[str, Any]) -> tuple[dict[str, Any], str | None]:
    """The alerts options in force: a ``config`` file's ``[alerts]`` table (checked as job
    options are), overridden by the options given; and the directory the config's relative
    ``budgets`` path is read from. A given ``budgets`` path is read from the working directory."""
    from pathlib import Path

    from .bills import read_document

    config = given.get("config")
    options: dict[str, Any] = {}
    if config:
        document = read_document(config)
        options.update(job_options("alerts", document.get("alerts", document), f"{config}: "))
    rest = {k: v for k, v in given.items() if k != "config" and v is not None}
    if isinstance(rest.get("budgets"), str):
        rest["budgets"] = str(Path(rest["budgets"]).resolve())
    options.update(rest)
    return options, str(Path(config).parent) if config else None


def alert_config(o: Mapping[str, Any], base: str | os.PathLike[str] | None = None) -> Any:
    """The alerts job's options as an ``AlertConfig``; a ``budgets`` path is read relative to
    ``base`` when given (the CLI's --config directory), else to the working directory."""
    from .alerts import AlertConfig
    from .budget_status import parse_as_of
    from .budgets import budgets_table, parse_budgets

    granularity = option("alerts", o, "by")
    budgets = budgets_table(option("alerts", o, "budgets") or {}, "budgets", base)
    plan = parse_budgets(budgets, "budgets", default_period=granularity)
    as_of = option("alerts", o, "as_of")
    return AlertConfig(
        granularity=granularity,
        threshold=option("alerts", o, "threshold") / 100,
        baseline_periods=option("alerts", o, "baseline_periods"),
        min_baseline=option("alerts", o, "min_baseline"),
        budgets=plan.legacy or {},
        budget_entries=plan.budgets,
        as_of=None if as_of is None else parse_as_of(str(as_of), option("alerts", o, "tz")),
        webhook_url=option("alerts", o, "webhook"),
    )

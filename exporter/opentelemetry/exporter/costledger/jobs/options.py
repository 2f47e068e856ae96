"""A job's options read as the CLI reads its flags, from ``costledger jobs run JOB -o key=value``,
schedule files and the alerts ``--config`` file; the options themselves are declared in
:mod:`.option_table` (names re-exported here).

An option the job does not take is refused, naming the ones it does (a typo such as
``treshold`` would otherwise run with the default), when the schedule is loaded and by ``jobs
run``; so is an option that only changes what the command prints (``display``). Values are read
as the CLI reads its flags: flags ``true``/``false``, amounts and percentages exact (``"0.01"``,
``"$1,000"``, ``20``), counts whole numbers, choices among their values; ``budgets`` is a table
or the path of a budgets file (as ``--budgets`` takes). Relative paths (``bills``, ``budgets``,
``path``) are read from the working directory of the process.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Mapping
from typing import Any

from ..errors import ConfigError
from .amounts import parse_amount
from .option_table import CURRENCY_OPTIONS, KINDS, OPTIONS, PERIOD_HELP, JobOption, definition

__all__ = [
    "CURRENCY_OPTIONS",
    "OPTIONS",
    "PERIOD_HELP",
    "JobOption",
    "alert_config",
    "alert_options",
    "convert",
    "definition",
    "job_options",
    "option",
]


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
        what = KINDS[spec.kind]
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

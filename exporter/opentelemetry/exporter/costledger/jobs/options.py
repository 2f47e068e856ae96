"""A job's options, read as the CLI reads its flags: for the schedule file and ``costledger jobs
run``.

An option the job does not take is refused, naming the ones it does (a typo such as
``treshold`` would otherwise run with the default), when the schedule is loaded and by ``jobs
run``. Values are read as the CLI reads its flags: flags ``true``/``false``, amounts and
percentages exact (``"0.01"``, ``"$1,000"``, ``20``), counts whole numbers; ``budgets`` is a
table or the path of a budgets file (as ``--budgets`` takes). Relative paths (``bills``,
``budgets``, ``path``) are read from the working directory of the process.

The options each job takes are listed in :mod:`.schedule`.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from ..errors import ConfigError
from .amounts import parse_amount

# Each job's options: kind (how the value is read) and an example value for the messages. A name
# not listed is refused: a typo such as `treshold` would otherwise run silently with the default.
_KINDS = {
    "text": "a text",
    "flag": "true or false",
    "amount": "an amount of dollars",
    "percent": "a percentage",
    "count": "a whole number",
    "list": "a list",
    "budgets": "a table of budgets or the path of a budgets file",
}
OPTIONS: dict[str, dict[str, tuple[str, str]]] = {
    "aggregate": {
        "by": ("text", "day"),
        "dimensions": ("list", '["customer", "model"]'),
        "tz": ("text", "Europe/Berlin"),
        "full": ("flag", "true"),
    },
    "allocate": {
        "bills": ("text", "bills.toml"),
        "period": ("text", "last-month"),
        "tz": ("text", "Europe/Berlin"),
    },
    "normalize": {"period": ("text", "last-month"), "tz": ("text", "Europe/Berlin")},
    "rank": {
        "period": ("text", "last-month"),
        "tz": ("text", "Europe/Berlin"),
        "sort": ("text", "ai_cost"),
        "ai_share_threshold": ("percent", "50"),
        "plan_order": ("list", '["free", "pro"]'),
        "sunset_after": ("count", "3"),
    },
    "alerts": {
        "period": ("text", "2025-W20"),
        "by": ("text", "week"),
        "threshold": ("percent", "20"),
        "baseline_periods": ("count", "4"),
        "min_baseline": ("amount", "5"),
        "budgets": ("budgets", "budgets.toml"),
        "webhook": ("text", "https://hooks.example.com/x"),
        "tz": ("text", "Europe/Berlin"),
    },
    "reconcile": {
        "period": ("text", "last-month"),
        "tolerance": ("percent", "1"),
        "tolerance_abs": ("amount", "0.01"),
    },
    "import_usage": {"path": ("text", "usage.csv")},
    "import_business": {"path": ("text", "business.csv")},
    "import_invoices": {"path": ("text", "costs.json")},
}


def job_options(job: str, options: Mapping[str, Any], where: str = "") -> dict[str, Any]:
    """``options`` checked against what ``job`` takes and read into their types (ConfigError
    naming the option and an example otherwise); ``where`` prefixes the messages."""
    known = OPTIONS[job]
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
    return {name: _option(job, name, value, where) for name, value in options.items()}


def _option(job: str, name: str, value: Any, where: str = "") -> Any:
    kind, example = OPTIONS[job][name]
    converted = _convert(kind, value)
    if converted is None:
        toml_example = f'"{example}"' if kind in ("text", "amount", "budgets") else example
        raise ConfigError(
            f"{where}{job} option {name} = {value!r} is not {_KINDS[kind]}: write e.g."
            f" -o {name}={example} (in a schedule file: {name} = {toml_example})"
        )
    return converted


def _convert(kind: str, value: Any) -> Any:
    """``value`` read as ``kind``, or None when it is not one."""
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
        return number if number >= 0 else None
    if kind == "list":
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        if isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
            return list(value)
        return None
    if kind == "budgets":
        return value if isinstance(value, str | Mapping) else None
    # text: numbers are welcome (`-o period=2025` arrives as the number 2025)
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None
    return str(value)


def option(job: str, options: Mapping[str, Any], name: str, default: Any = None) -> Any:
    """One option, read into its type (``alert_config`` also gets the raw values of the CLI)."""
    if options.get(name) is None:
        return default
    return _option(job, name, options[name])


def alert_config(o: Mapping[str, Any], base: str | os.PathLike[str] | None = None) -> Any:
    """The alerts job's options as an ``AlertConfig``; a ``budgets`` path is read relative to
    ``base`` when given (the CLI's --config directory), else to the working directory."""
    from .alerts import AlertConfig
    from .budgets import budgets_table, load_budgets

    budgets = budgets_table(option("alerts", o, "budgets", {}), "budgets", base)
    return AlertConfig(
        granularity=option("alerts", o, "by", "week"),
        threshold=option("alerts", o, "threshold", Decimal(20)) / 100,
        baseline_periods=option("alerts", o, "baseline_periods", 4),
        min_baseline=option("alerts", o, "min_baseline", Decimal(0)),
        budgets=load_budgets(budgets, "budgets"),
        webhook_url=option("alerts", o, "webhook"),
    )

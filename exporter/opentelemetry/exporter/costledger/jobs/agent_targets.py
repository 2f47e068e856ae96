"""The user's targets and human baselines per agent, for ``costledger agents``: a TOML file.

::

    miss_periods = 3                        # the retirement trigger: this many misses in a row

    [agents."*"]                            # every agent not named below
    target_cost_per_success = "1.00"

    [agents.triage]
    target_cost_per_success = "0.50"        # USD per successful work item, at most
    min_success_rate = "80%"                # optional: "0.8" or "80%"
    human_minutes = 6                       # the work a person would spend per work item ...
    human_hourly_rate = "40"                # ... at this cost per hour (USD)

An agent meets its target in a period when its fully loaded cost per successful outcome is at
most ``target_cost_per_success`` and, when given, its success rate is at least
``min_success_rate``. The human baseline of a period is what people would have cost for the
same successes: ``successes × human_minutes / 60 × human_hourly_rate``. Money is exact: write
amounts as strings or integers (a float is refused).
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from ..errors import InputError

DEFAULT_MISS_PERIODS = 3
_KEYS = frozenset(
    {"target_cost_per_success", "min_success_rate", "human_minutes", "human_hourly_rate"}
)


@dataclass(frozen=True, slots=True)
class AgentTarget:
    """One agent's target and human baseline (every field optional)."""

    target_cost_per_success: Decimal | None = None
    min_success_rate: Decimal | None = None  # a fraction, 0.8
    human_minutes: Decimal | None = None
    human_hourly_rate: Decimal | None = None

    def human_cost_per_item(self) -> Decimal | None:
        """What a person costs per work item, USD (None without a baseline)."""
        if self.human_minutes is None or self.human_hourly_rate is None:
            return None
        return self.human_minutes * self.human_hourly_rate / 60


@dataclass(frozen=True, slots=True)
class AgentTargets:
    """The file's targets: per agent, a default for the others, and the retirement trigger."""

    agents: dict[str, AgentTarget]
    default: AgentTarget = AgentTarget()
    miss_periods: int = DEFAULT_MISS_PERIODS

    def of(self, agent: str) -> AgentTarget:
        return self.agents.get(agent, self.default)


NO_TARGETS = AgentTargets({})


def _decimal(value: Any, where: str, *, percent: bool = False) -> Decimal:
    if isinstance(value, bool | float):
        raise InputError(f'{where}: write {value!r} as a string ("0.50"): money is exact')
    text = str(value).strip()
    scale = Decimal(1)
    if percent and text.endswith("%"):
        text, scale = text[:-1], Decimal(100)
    try:
        number = Decimal(text.replace("$", "").replace(",", "")) / scale
    except InvalidOperation:
        raise InputError(f"{where}: {value!r} is not a number") from None
    if not number.is_finite() or number < 0:
        raise InputError(f"{where}: {value!r} must be a number of 0 or more")
    return number


def _target(table: Any, where: str) -> AgentTarget:
    if not isinstance(table, dict):
        raise InputError(f"{where}: expected a table of {', '.join(sorted(_KEYS))}")
    unknown = set(table) - _KEYS
    if unknown:
        raise InputError(
            f"{where}: unknown key(s) {', '.join(sorted(unknown))}; use {', '.join(sorted(_KEYS))}"
        )
    values = {key: _decimal(table[key], f"{where}.{key}", percent=True) for key in table}
    rate = values.get("min_success_rate")
    if rate is not None and rate > 1:
        raise InputError(f"{where}.min_success_rate: {rate} is more than 100%")
    return AgentTarget(**values)


def read_targets(path: str | os.PathLike[str] | None) -> AgentTargets:
    """The targets of a TOML file (see the module docstring); none without a file."""
    if path is None:
        return NO_TARGETS
    file = Path(path)
    try:
        data = tomllib.loads(file.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError(f"cannot read {file}: {exc.strerror}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{file} is not valid TOML: {exc}") from exc
    miss = data.get("miss_periods", DEFAULT_MISS_PERIODS)
    if isinstance(miss, bool) or not isinstance(miss, int) or miss < 1:
        raise InputError(f"{file}: miss_periods must be a whole number of 1 or more")
    agents = data.get("agents", {})
    if not isinstance(agents, dict):
        raise InputError(f"{file}: [agents] must be a table of agents")
    found = {name: _target(table, f"{file}: agents.{name}") for name, table in agents.items()}
    default = found.pop("*", AgentTarget())
    return AgentTargets(found, default, miss)

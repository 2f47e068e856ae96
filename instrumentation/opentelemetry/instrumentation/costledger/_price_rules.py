"""The rules of a price file as objects: which calls each applies to, and how it reads.

Which calls an entry applies to (:meth:`TokenRule.match_rank`): ``provider``, ``model`` and
``service_tier`` are matched case-insensitively, as globs (``*``, ``?``, ``[...]``) when they
contain one. A ``model`` written without glob characters also applies to the model's dated
snapshots, as the APIs name them: ``model = "claude-sonnet-4-5"`` prices
``claude-sonnet-4-5-20250929``, ``model = "gpt-4o"`` prices ``gpt-4o-2024-08-06``, and Vertex
AI's ``claude-sonnet-4-5@20250929`` (a date is ``-YYYYMMDD``, ``-YYYY-MM-DD`` or
``@YYYYMMDD``). OpenAI's older snapshots carry a month and day only (``-MMDD``, optionally
followed by ``-preview``): ``model = "gpt-3.5-turbo"`` prices ``gpt-3.5-turbo-0125`` and
``model = "gpt-4"`` prices ``gpt-4-0613``, but only where genai-prices (its bundled data) does not
know the snapshot as a model of its own: ``gpt-3.5-turbo-1106`` and ``gpt-3.5-turbo-0613`` have
their own list prices, and ``gpt-4-1106-preview`` / ``gpt-4-0125-preview`` are GPT-4 Turbo
previews, so ``model = "gpt-4"`` never prices them (name them, or use a glob). A custom model
genai-prices does not know (``house-llm-0613``) follows its family. Only a date is stripped, so
a family never reaches another model that shares its prefix: ``gpt-4o`` does not price
``gpt-4o-mini(-2024-07-18)``, ``claude-sonnet-4`` does not price
``claude-sonnet-4-5-20250929``, ``gpt-4`` does not price ``gpt-4o``, ``gpt-4-turbo`` or
``gpt-4.1``. An entry naming a dated snapshot itself prices only that
snapshot, and wins over every other entry in force for it (family name or glob); among the
others the latest ``from`` wins, then the later entry of the file (``pricing.py``).
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, time
from decimal import Decimal

# How closely a matching [[model]]/[[override]] entry names a call's model (TokenRule.match_rank).
NAMES_MODEL = 0
NAMES_SNAPSHOT = 1

_GLOB_CHARS = frozenset("*?[")
# The date a dated snapshot ends with, as providers write it: "-20250929" (Anthropic),
# "-2024-08-06" (OpenAI), "@20250929" (Vertex AI). Only real calendar-looking dates, so that a
# version number such as "-4" or "-1306" is never taken for one.
_YEAR, _MONTH, _DAY = r"(?:19|20)\d\d", r"(?:0[1-9]|1[0-2])", r"(?:0[1-9]|[12]\d|3[01])"
_SNAPSHOT_DATE = re.compile(rf"(?:[-@]{_YEAR}{_MONTH}{_DAY}|-{_YEAR}-{_MONTH}-{_DAY})$")
# OpenAI's older snapshots end with a month and day only: "gpt-4-0613", "gpt-3.5-turbo-0125",
# "gpt-4-0125-preview". Some of these are other models (priced apart) under a shared prefix,
# so this form is only trusted where genai-prices agrees (_mmdd_same_model).
# A year just before it ("gpt-4o-2024-0806") is a misspelt full date, not a family "gpt-4o-2024".
_SNAPSHOT_MMDD = re.compile(rf"(?<!-{_YEAR})-{_MONTH}{_DAY}(?:-preview)?$")


def snapshot_family(model: str) -> str | None:
    """``"claude-sonnet-4-5"`` for ``"claude-sonnet-4-5-20250929"`` (also ``-2024-08-06`` and
    ``@20250929`` dates), ``"gpt-4"`` for ``"gpt-4-0613"`` and ``"gpt-4-0125-preview"``
    (month and day); ``None`` for a name that does not end with a snapshot date. Only the
    spelling: see :meth:`TokenRule.model_rank` for when a month-day family prices a snapshot."""
    match = _SNAPSHOT_DATE.search(model) or _SNAPSHOT_MMDD.search(model)
    return model[: match.start()] if match is not None and match.start() > 0 else None


def _mmdd_same_model(provider: str, snapshot: str, family: str) -> bool:
    """Whether a month-day snapshot is the family's model as far as genai-prices (its bundled
    data) knows: ``gpt-3.5-turbo-0125`` is ``gpt-3.5-turbo``, but ``gpt-3.5-turbo-1106`` has its
    own, higher list price, and ``gpt-4-1106-preview`` is GPT-4 Turbo, not ``gpt-4``. A name
    genai-prices does not know (a custom model) follows its family."""
    if _SNAPSHOT_DATE.search(snapshot):
        return True
    from . import _price_genai as genai

    pid = None if _GLOB_CHARS.intersection(provider) else provider
    found = genai.find_model(pid, snapshot)
    if not isinstance(found, genai.GenaiModel):
        return True
    family_found = genai.find_model(pid, family)
    return isinstance(family_found, genai.GenaiModel) and family_found.label == found.label


@dataclass(frozen=True, slots=True)
class TokenRule:
    """One ``[[model]]`` (a base price) or ``[[override]]`` (applied on top of the base)."""

    kind: str  # "model" | "override"
    source: str  # "prices.toml:12"
    position: int  # order in the file; later wins ties
    provider: str  # glob, lower case
    model: str  # glob, lower case
    start: datetime | None
    end: datetime | None
    batch: bool | None
    service_tier: str | None
    multiplier: Decimal | None
    prices: Mapping[str, Decimal]
    currency: str

    def matches(
        self, provider: str | None, model: str, service_tier: str | None, batch: bool
    ) -> bool:
        return self.match_rank(provider, model, service_tier, batch) is not None

    def match_rank(
        self, provider: str | None, model: str, service_tier: str | None, batch: bool
    ) -> int | None:
        """``None`` if the rule does not apply to such a call; else how closely it names the
        model: :data:`NAMES_SNAPSHOT` for an entry naming the call's dated snapshot itself,
        :data:`NAMES_MODEL` for any other match (the name, a glob, the snapshot's family)."""
        if not fnmatch.fnmatchcase((provider or "").lower(), self.provider):
            return None
        if self.batch is not None and self.batch != batch:
            return None
        if self.service_tier is not None and not fnmatch.fnmatchcase(
            (service_tier or "").lower(), self.service_tier
        ):
            return None
        return self.model_rank(model)

    def model_rank(self, model: str) -> int | None:
        """:meth:`match_rank` for the model name alone (any provider, tier, batch)."""
        model = model.lower()
        if fnmatch.fnmatchcase(model, self.model):
            if model == self.model and snapshot_family(model) is not None:
                return NAMES_SNAPSHOT
            return NAMES_MODEL
        # A family name ("claude-sonnet-4-5") also prices the dated snapshots the APIs return
        # ("claude-sonnet-4-5-20250929"): users write the name they read on the price page.
        if (
            self.literal_model
            and snapshot_family(model) == self.model
            and _mmdd_same_model(self.provider, model, self.model)
        ):
            return NAMES_MODEL
        return None

    @property
    def literal_model(self) -> bool:
        return not _GLOB_CHARS.intersection(self.model)

    def in_force(self, at: datetime) -> bool:
        return (self.start is None or at >= self.start) and (self.end is None or at < self.end)

    def describe(self) -> str:
        what = f"x{self.multiplier}" if self.multiplier is not None else "prices"
        text = f"{self.source} {self.kind} {self.provider}/{self.model}"
        if self.kind == "override":
            text += f" {what}"
        return text + _qualifiers(self.batch, self.service_tier) + _period(self.start, self.end)


@dataclass(frozen=True, slots=True)
class UnitRule:
    """One ``[[unit_price]]``: a price per ``unit`` of a cost ``category`` (optionally an item)."""

    source: str
    position: int
    category: str  # glob, lower case
    unit: str  # normalized
    item: str | None  # glob, lower case; None = any item
    price: Decimal  # currency per one unit
    currency: str
    start: datetime | None
    end: datetime | None

    def in_force(self, at: datetime) -> bool:
        return (self.start is None or at >= self.start) and (self.end is None or at < self.end)

    def describe(self) -> str:
        item = f" [{self.item}]" if self.item else ""
        return (
            f"{self.source} unit_price {self.category}{item} {self.price} {self.currency}/"
            f"{self.unit}" + _period(self.start, self.end)
        )


@dataclass(frozen=True, slots=True)
class PriceRules:
    """Everything a price file says, in file order."""

    path: str | None = None
    token_rules: tuple[TokenRule, ...] = ()
    unit_rules: tuple[UnitRule, ...] = field(default=())


def _qualifiers(batch: bool | None, service_tier: str | None) -> str:
    parts = []
    if batch is not None:
        parts.append("batch" if batch else "not batch")
    if service_tier is not None:
        parts.append(f"service_tier={service_tier}")
    return f" [{', '.join(parts)}]" if parts else ""


def _period(start: datetime | None, end: datetime | None) -> str:
    text = ""
    if start is not None:
        text += f" from {_show_time(start)}"
    if end is not None:
        text += f" until {_show_time(end)}"
    return text


def _show_time(value: datetime) -> str:
    if (
        value.time() == time(0)
        and value.tzinfo is not None
        and value.utcoffset() == UTC.utcoffset(None)
    ):
        return value.date().isoformat()
    return value.isoformat()

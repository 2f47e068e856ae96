"""Provider invoices and cost reports: a provider's export saved to a file, read into
``provider_costs`` (CLI ``costledger import invoices FILE``) for :mod:`..jobs.reconcile`.

``import_provider_costs(db, path)`` recognises the format by content (``--export-format``
forces one) and converts money exactly.

Accepted formats (recognised by content; ``--export-format`` forces one)
-----------------------------------------------------------------
Admin-API responses are accepted as one page, a JSON array of pages, or JSON Lines (one page per
line) — what you get by saving each ``next_page`` response.

``anthropic-cost-report`` — ``GET /v1/organizations/cost_report`` (Anthropic Admin API), best
with ``group_by[]=description`` so rows carry the model::

    {"data": [{"starting_at": "2025-05-01T00:00:00Z", "ending_at": "...",
               "results": [{"amount": "12345.67", "currency": "USD", "model": "claude-...",
                            "cost_type": "tokens", "token_type": "output_tokens", ...}]}], ...}

  day ← ``starting_at`` (UTC date); model ← ``model``; line item ← ``description`` or
  ``cost_type``/``token_type``; cost ← ``amount``, which Anthropic gives in CENTS as a decimal
  string ("123.45" = $1.2345), converted exactly.

``anthropic-usage-report`` — ``GET /v1/organizations/usage_report/messages``: results carry
  ``uncached_input_tokens``, ``cache_read_input_tokens``,
  ``cache_creation.ephemeral_5m_input_tokens`` / ``ephemeral_1h_input_tokens``,
  ``output_tokens``, ``model``. Input tokens ← the sum of the uncached, cache-read and
  cache-write counts (the ledger's ``input_tokens`` includes cache too).

``openai-costs`` — ``GET /v1/organization/costs`` (OpenAI Admin API), best with
  ``group_by=line_item``: ``data[].start_time`` (Unix seconds) → day;
  ``results[].amount.value`` (dollars, read as an exact decimal) → cost; ``line_item`` such as
  ``"gpt-4o-2024-08-06, input"`` → model = the part before the comma.

``openai-usage`` — ``GET /v1/organization/usage/completions`` (or ``/embeddings``) with
  ``group_by=model``: ``input_tokens`` (includes ``input_cached_tokens``), ``output_tokens``,
  ``num_model_requests``, ``model``.

``csv`` — a generic CSV, one row per day (and model). Columns (case-insensitive; first name
  found wins): day ← ``date`` | ``day`` | ``usage_date_utc`` | ``usage_date``; provider ←
  ``provider`` (or ``--provider``); model ← ``model`` | ``model_name``; cost (dollars) ←
  ``cost_usd`` | ``cost`` | ``amount`` | ``amount_usd``; ``input_tokens`` | ``prompt_tokens``;
  ``output_tokens`` | ``completion_tokens``; ``requests`` | ``num_model_requests``. Use it for
  console CSV downloads after renaming their headers to these.

Importing a file replaces the earlier import of the same provider and format for the days the
file covers, so a re-downloaded month does not count twice.

A negative amount is a credit or refund line of the bill: it is kept and lowers the billed cost
of its day × model (or line item), as it lowers the invoice. Token and request counts are whole
numbers and never negative: a negative or fractional count stops the import with its place.

Table ``provider_costs``: ``provider``, ``day``, ``model``, ``line_item``, ``cost_nanos``,
``input_tokens``, ``output_tokens``, ``requests``, ``source_format``, ``source_file``,
``imported_at`` (cost rows and usage rows may be separate; they are summed per day × model).

"""

from __future__ import annotations

import json
import os
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from opentelemetry.instrumentation.costledger.money import to_nanos

from ..errors import InputError
from ..ledger.open import Database, open_ledger
from ..ledger.runs import now, record_run
from ..ledger.tables import provider_costs
from .user_data import field, number, read_csv

FORMATS = (
    "anthropic-cost-report",
    "anthropic-usage-report",
    "openai-costs",
    "openai-usage",
    "csv",
)
CENT_NANOS = 10_000_000
# What each format looks like, for the message when a forced --export-format does not fit.
SHAPES = {
    "anthropic-cost-report": "an Anthropic cost report (data[].starting_at, results[].amount)",
    "anthropic-usage-report": (
        "an Anthropic usage report (data[].starting_at, results[].uncached_input_tokens)"
    ),
    "openai-costs": "an OpenAI costs export (data[].start_time, organization.costs.result rows)",
    "openai-usage": "an OpenAI usage export (data[].start_time, organization.usage.* rows)",
    "csv": "a CSV file",
}


@dataclass(frozen=True, slots=True)
class ProviderImport:
    path: str
    source_format: str
    rows: int
    providers: tuple[str, ...]
    first_day: date | None
    last_day: date | None


Key = tuple[str, date, str | None, str | None]  # provider, day, model, line item


class _Sums:
    __slots__ = ("cost", "input", "output", "requests")

    def __init__(self) -> None:
        self.cost: int | None = None
        self.input: int | None = None
        self.output: int | None = None
        self.requests: int | None = None

    def add(self, name: str, value: int | None) -> None:
        if value is not None:
            setattr(self, name, (getattr(self, name) or 0) + value)


def import_provider_costs(
    database: Database,
    path: str | os.PathLike[str],
    *,
    source_format: str | None = None,
    provider: str | None = None,
) -> ProviderImport:
    """Read a provider export (see the module docstring) into ``provider_costs``."""
    file = Path(path)
    chosen = source_format or detect_format(file)
    if chosen not in FORMATS:
        raise InputError(f"unknown format {chosen!r}: use one of {', '.join(FORMATS)}")
    if source_format:
        _check_forced_format(file, chosen)
    sums: dict[Key, _Sums] = defaultdict(_Sums)
    if chosen == "csv":
        _read_csv(file, provider, sums)
    else:
        pages = list(_pages(file))
        reader = {
            "anthropic-cost-report": _anthropic_cost,
            "anthropic-usage-report": _anthropic_usage,
            "openai-costs": _openai_costs,
            "openai-usage": _openai_usage,
        }[chosen]
        for page in pages:
            reader(page, sums, str(file))
    days = sorted({k[1] for k in sums})
    providers = tuple(sorted({k[0] for k in sums}))
    stamp = now()
    with open_ledger(database) as engine:
        with engine.begin() as conn:
            for name in providers:
                conn.execute(
                    provider_costs.delete().where(
                        (provider_costs.c.provider == name)
                        & (provider_costs.c.source_format == chosen)
                        & provider_costs.c.day.in_([d for p, d, _, _ in sums if p == name])
                    )
                )
            if sums:
                conn.execute(
                    provider_costs.insert(),
                    [
                        {
                            "provider": p,
                            "day": d,
                            "model": m,
                            "line_item": li,
                            "cost_nanos": s.cost,
                            "input_tokens": s.input,
                            "output_tokens": s.output,
                            "requests": s.requests,
                            "source_format": chosen,
                            "source_file": str(file)[:400],
                            "imported_at": stamp,
                        }
                        for (p, d, m, li), s in sums.items()
                    ],
                )
        record_run(
            engine, "import invoices", stamp, f"{len(sums)} {chosen} row(s) from {file}", ok=True
        )
    return ProviderImport(
        str(file),
        chosen,
        len(sums),
        providers,
        days[0] if days else None,
        days[-1] if days else None,
    )


def detect_format(file: Path) -> str:
    """The format of a provider export, from its content."""
    if file.suffix.lower() == ".csv":
        return "csv"
    first = next(iter(_pages(file)), None)
    results = [r for bucket in (first or {}).get("data", []) for r in bucket.get("results", [])]
    sample = results[0] if results else {}
    buckets = (first or {}).get("data") or [{}]
    if isinstance(buckets[0], dict) and "starting_at" in buckets[0]:
        if "amount" in sample or "cost_type" in sample:
            return "anthropic-cost-report"
        if "uncached_input_tokens" in sample or "output_tokens" in sample:
            return "anthropic-usage-report"
    kind = str(sample.get("object", ""))
    if kind == "organization.costs.result":
        return "openai-costs"
    if kind.startswith("organization.usage."):
        return "openai-usage"
    raise InputError(
        f"{file}: cannot tell which export this is (no result rows of a known shape); pass"
        f" --export-format with one of {', '.join(FORMATS)}"
    )


def _check_forced_format(file: Path, chosen: str) -> None:
    """A forced format must fit the content (else each reader fails on its first missing field
    with a message that does not say the format was the problem)."""
    try:
        found = detect_format(file)
    except InputError:
        return  # nothing recognisable either way: the reader says what it misses
    if found != chosen:
        raise InputError(
            f"{file} does not look like {SHAPES[chosen]}; it looks like {SHAPES[found]}:"
            f" leave --export-format out (auto) or pass --export-format {found}"
        )


def _pages(file: Path) -> Iterator[dict[str, Any]]:
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot read {file}: {exc.strerror}") from exc
    try:
        document = json.loads(text, parse_float=Decimal)
        documents = document if isinstance(document, list) else [document]
    except json.JSONDecodeError:
        try:
            documents = [
                json.loads(line, parse_float=Decimal) for line in text.splitlines() if line.strip()
            ]
        except json.JSONDecodeError as exc:
            raise InputError(f"{file} is neither JSON nor JSON Lines: {exc}") from exc
    for page in documents:
        if not isinstance(page, dict) or not isinstance(page.get("data"), list):
            raise InputError(f"{file}: expected Admin API pages with a 'data' list")
        yield page


def _day_from_iso(text: Any, where: str) -> date:
    try:
        return datetime.fromisoformat(str(text).replace("Z", "+00:00")).astimezone(UTC).date()
    except ValueError as exc:
        raise InputError(f"{where}: bad bucket start {text!r}") from exc


def _int(value: Any, where: str = "", what: str = "count") -> int | None:
    """A token or request count: a whole number, never negative (None when absent)."""
    if value is None or value == "":
        return None
    try:
        if isinstance(value, bool):
            raise InvalidOperation
        count = Decimal(str(value).strip())
    except InvalidOperation:
        count = Decimal("NaN")
    shown = repr(str(value))
    if not count.is_finite() or count != count.to_integral_value():
        raise InputError(f"{where}: {what} {shown} is not a whole number")
    if count < 0:
        raise InputError(f"{where}: {what} {shown} is negative: a count of tokens or requests")
    return int(count)


def _anthropic_cost(page: dict[str, Any], sums: dict[Key, _Sums], where: str) -> None:
    for bucket in page["data"]:
        day = _day_from_iso(bucket.get("starting_at"), where)
        for result in bucket.get("results", []):
            cents = number(str(result.get("amount", "0")), where)
            currency = str(result.get("currency") or "USD").upper()
            if currency != "USD":
                raise InputError(f"{where}: only USD amounts are supported, found {currency}")
            model = result.get("model")
            line = result.get("description") or result.get("cost_type")
            nanos = int((cents * CENT_NANOS).to_integral_value(rounding=ROUND_HALF_EVEN))
            sums[("anthropic", day, model, None if model else line)].add("cost", nanos)


def _anthropic_usage(page: dict[str, Any], sums: dict[Key, _Sums], where: str) -> None:
    for bucket in page["data"]:
        day = _day_from_iso(bucket.get("starting_at"), where)
        for result in bucket.get("results", []):
            creation = result.get("cache_creation") or {}
            input_tokens = sum(
                _int(part.get(name), where, name) or 0
                for part, name in (
                    (result, "uncached_input_tokens"),
                    (result, "cache_read_input_tokens"),
                    (creation, "ephemeral_5m_input_tokens"),
                    (creation, "ephemeral_1h_input_tokens"),
                )
            )
            entry = sums[("anthropic", day, result.get("model"), None)]
            entry.add("input", input_tokens)
            entry.add("output", _int(result.get("output_tokens"), where, "output_tokens") or 0)


def _unix_day(value: Any, where: str) -> date:
    try:
        return datetime.fromtimestamp(int(value), UTC).date()
    except (TypeError, ValueError, OverflowError) as exc:
        raise InputError(f"{where}: bad bucket start_time {value!r}") from exc


def _openai_costs(page: dict[str, Any], sums: dict[Key, _Sums], where: str) -> None:
    for bucket in page["data"]:
        day = _unix_day(bucket.get("start_time"), where)
        for result in bucket.get("results", []):
            amount = result.get("amount") or {}
            currency = str(amount.get("currency") or "usd").upper()
            if currency != "USD":
                raise InputError(f"{where}: only USD amounts are supported, found {currency}")
            line = result.get("line_item")
            model = line.split(",", 1)[0].strip() if line and "," in line else None
            value = number(str(amount.get("value", "0")), where)
            sums[("openai", day, model, None if model else line)].add("cost", to_nanos(value))


def _openai_usage(page: dict[str, Any], sums: dict[Key, _Sums], where: str) -> None:
    for bucket in page["data"]:
        day = _unix_day(bucket.get("start_time"), where)
        for result in bucket.get("results", []):
            entry = sums[("openai", day, result.get("model"), None)]
            entry.add("input", _int(result.get("input_tokens"), where, "input_tokens") or 0)
            entry.add("output", _int(result.get("output_tokens"), where, "output_tokens") or 0)
            entry.add("requests", _int(result.get("num_model_requests"), where, "requests"))


def _read_csv(file: Path, provider: str | None, sums: dict[Key, _Sums]) -> None:
    for line, row in read_csv(file):
        where = f"{file}:{line}"
        day_text = str(field(row, where, "date", "day", "usage_date_utc", "usage_date"))
        try:
            day = date.fromisoformat(day_text[:10])
        except ValueError as exc:
            raise InputError(f"{where}: date {day_text!r} is not YYYY-MM-DD") from exc
        name = field(row, where, "provider", required=False) or provider
        if not name:
            raise InputError(f"{where}: no provider column: pass --provider anthropic|openai|...")
        model = field(row, where, "model", "model_name", required=False)
        entry = sums[(name.lower(), day, model, None)]
        cost = field(row, where, "cost_usd", "cost", "amount", "amount_usd", required=False)
        if cost is not None:
            entry.add("cost", to_nanos(number(cost, where, row)))
        for attr, names in (
            ("input", ("input_tokens", "prompt_tokens")),
            ("output", ("output_tokens", "completion_tokens")),
            ("requests", ("requests", "num_model_requests")),
        ):
            text = field(row, where, *names, required=False)
            if text is not None:
                entry.add(attr, _int(number(text, where, row), where, names[0]))

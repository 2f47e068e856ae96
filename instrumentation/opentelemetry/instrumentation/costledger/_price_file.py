"""The user's price file: loaded, and its entries validated with file:line errors.

See ``pricing.py`` for the format and how its rules combine with genai-prices. This module only
turns the file into immutable rule objects, or raises :class:`PriceFileError` naming the file,
the line and the field, and saying what to write instead.

Numbers are read as ``Decimal`` straight from the file's text (TOML ``parse_float=Decimal``; a
YAML loader whose floats are Decimals), so ``0.3`` is exactly three tenths, never a float.

Reading the text (TOML or YAML, with the line of each entry; :class:`PriceFileError`):
``_price_file_syntax``. The rule objects and which calls they apply to: ``_price_rules``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, date, datetime, time
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from ._price_file_syntax import Lines, PriceFileError, read_toml, read_yaml
from ._price_rules import PriceRules, TokenRule, UnitRule
from ._price_units import normalize_unit
from ._setup import PRICES_ENV

# Token price kinds a rule can set. All are USD per million tokens except ``per_request``
# (USD per call).
PRICE_KINDS = (
    "input",
    "output",
    "cache_read",
    "cache_write",
    "cache_write_5m",
    "cache_write_1h",
    "reasoning",
    "per_request",
)
_COMMON = ("provider", "model", "from", "until", "batch", "service_tier", "currency", "note")
_FIELDS: dict[str, frozenset[str]] = {
    "model": frozenset((*_COMMON, *PRICE_KINDS)),
    "override": frozenset((*_COMMON, *PRICE_KINDS, "multiplier")),
    "unit_price": frozenset(
        ("category", "unit", "item", "price", "from", "until", "currency", "note")
    ),
}
_TOP_LEVEL = frozenset(("version", *_FIELDS))
_CURRENCY = re.compile(r"^[A-Z]{3}$")


# --- reading ---------------------------------------------------------------------------------


def load_price_file(path: str | Path) -> PriceRules:
    """Read and validate a price file; raise :class:`PriceFileError` on the first problem."""
    shown = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PriceFileError(
            shown, None, f"price file not found; check the path (argument or {PRICES_ENV})"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise PriceFileError(shown, None, f"cannot read the price file: {exc}") from None
    suffix = Path(path).suffix.lower()
    if suffix == ".toml":
        data, lines = read_toml(shown, text)
    elif suffix in (".yaml", ".yml"):
        data, lines = read_yaml(shown, text)
    else:
        raise PriceFileError(
            shown, None, "unknown price file type; name it *.toml, *.yaml or *.yml"
        )
    return _validate(shown, Path(path).name, data, lines, yaml=suffix != ".toml")


# --- validation ----------------------------------------------------------------------------


def _assign(key: str, value: str, yaml: bool) -> str:
    """``key = value`` as the user writes it in their file's syntax, for "add ..." hints."""
    return f"{key}: {value}" if yaml else f"{key} = {value}"


def _sections(yaml: bool) -> str:
    if yaml:
        return "lists model:, override: or unit_price:"
    return "tables [[model]], [[override]] or [[unit_price]]"


class _Entry:
    """One table of the file, for error messages that name its line and field."""

    def __init__(
        self,
        shown: str,
        name: str,
        section: str,
        index: int,
        raw: Mapping[str, Any],
        lines: Lines,
        yaml: bool,
    ):
        self.shown, self.name, self.section, self.index = shown, name, section, index
        self.raw, self.lines, self.yaml = raw, lines, yaml
        self.line = lines.get((section, index, None)) or lines.get((section, None, None))

    @property
    def source(self) -> str:
        return f"{self.name}:{self.line}" if self.line else f"{self.name}#{self.section}"

    def error(self, key: str | None, message: str) -> PriceFileError:
        line = (self.lines.get((self.section, self.index, key)) if key else None) or self.line
        # a YAML user has no [[...]] in their file: name the entry as they wrote it
        section = self.section if self.yaml else f"[[{self.section}]]"
        where = f"{section} #{self.index + 1}"
        if key:
            where += f", field '{key}'"
        return PriceFileError(self.shown, line, f"{where}: {message}", key)

    def assign(self, key: str, value: str) -> str:
        return _assign(key, value, self.yaml)

    def text(self, key: str, *, required: bool = False, default: str | None = None) -> str | None:
        value = self.raw.get(key)
        if value is None:
            if required:
                raise self.error(key, "missing; add " + self.assign(key, '"..."'))
            return default
        if not isinstance(value, str) or not value.strip():
            raise self.error(key, f"expected a non-empty text, got {value!r}")
        return value.strip()

    def decimal(self, key: str, *, minimum: Decimal = Decimal(0)) -> Decimal | None:
        value = self.raw.get(key)
        if value is None:
            return None
        if isinstance(value, bool):
            number = None
        elif isinstance(value, Decimal | int):
            number = Decimal(value)
        elif isinstance(value, float):
            number = Decimal(repr(value))
        elif isinstance(value, str):
            try:
                number = Decimal(value.strip())
            except InvalidOperation:
                number = None
        else:
            number = None
        if number is None or not number.is_finite():
            raise self.error(key, f'expected a decimal number such as "0.8" or 3.75, got {value!r}')
        if number < minimum:
            raise self.error(key, f"must be at least {minimum}, got {number}")
        return number

    def moment(self, key: str) -> datetime | None:
        value = self.raw.get(key)
        if value is None:
            return None
        if isinstance(value, str):
            try:
                value = (
                    datetime.fromisoformat(value.strip())
                    if "T" in value or " " in value.strip()
                    else date.fromisoformat(value.strip())
                )
            except ValueError:
                raise self.error(
                    key,
                    f"expected a date such as 2025-06-01 (UTC) or an ISO datetime, got {value!r}",
                ) from None
        if isinstance(value, datetime):
            return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        if isinstance(value, date):
            return datetime.combine(value, time(0), tzinfo=UTC)
        raise self.error(key, f"expected a date such as 2025-06-01, got {value!r}")

    def currency(self) -> str:
        value = self.text("currency", default="USD") or "USD"
        if not _CURRENCY.match(value):
            raise self.error("currency", f"expected an ISO 4217 code such as USD, got {value!r}")
        return value

    def check_fields(self) -> None:
        allowed = _FIELDS[self.section]
        for key in self.raw:
            if key not in allowed:
                raise self.error(
                    str(key), f"unknown field; allowed fields are {', '.join(sorted(allowed))}"
                )

    def period(self) -> tuple[datetime | None, datetime | None]:
        start, end = self.moment("from"), self.moment("until")
        if start is not None and end is not None and end <= start:
            raise self.error("until", "must be later than 'from'")
        return start, end


def _validate(shown: str, name: str, data: Any, lines: Lines, *, yaml: bool) -> PriceRules:
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        raise PriceFileError(shown, 1, f"expected {_sections(yaml)}")
    for key in data:
        if key not in _TOP_LEVEL:
            raise PriceFileError(
                shown,
                lines.get((None, None, str(key))) or lines.get((str(key), None, None)),
                f"unknown section {key!r}; expected {_sections(yaml)}",
                str(key),
            )
    version = data.get("version", 1)
    if version != 1:
        raise PriceFileError(
            shown,
            lines.get((None, None, "version")),
            "unsupported version; write " + _assign("version", "1", yaml),
        )
    token_rules: list[TokenRule] = []
    unit_rules: list[UnitRule] = []
    position = 0
    for section in ("model", "override", "unit_price"):
        entries = data.get(section, [])
        if isinstance(entries, Mapping):
            entries = [entries]
        if not isinstance(entries, list):
            raise PriceFileError(
                shown, lines.get((section, None, None)), f"{section}: expected a list of entries"
            )
        for index, raw in enumerate(entries):
            entry = _Entry(
                shown, name, section, index, raw if isinstance(raw, Mapping) else {}, lines, yaml
            )
            if not isinstance(raw, Mapping):
                raise entry.error(None, f"expected a {'mapping' if yaml else 'table'} of fields")
            entry.check_fields()
            if section == "unit_price":
                unit_rules.append(_unit_rule(entry, _position(entry, position)))
            else:
                token_rules.append(_token_rule(entry, _position(entry, position)))
            position += 1
    return PriceRules(shown, tuple(token_rules), tuple(unit_rules))


def _position(entry: _Entry, fallback: int) -> int:
    # File order decides ties, whichever section an entry is in.
    return entry.line * 1000 if entry.line else fallback


def _token_rule(entry: _Entry, position: int) -> TokenRule:
    provider = (entry.text("provider") or "*").lower()
    model = (entry.text("model", required=entry.section == "model") or "*").lower()
    if entry.section == "override" and provider == "*" and model == "*":
        raise entry.error(None, 'name a provider or a model (globs such as "claude-*" are fine)')
    prices = {kind: value for kind in PRICE_KINDS if (value := entry.decimal(kind)) is not None}
    multiplier = entry.decimal("multiplier") if entry.section == "override" else None
    if multiplier is not None and prices:
        raise entry.error(
            "multiplier", "give either a multiplier or explicit prices, not both (split the entry)"
        )
    if entry.section == "model" or (multiplier is None and entry.section == "override"):
        missing = [kind for kind in ("input", "output") if kind not in prices]
        if entry.section == "model" and missing:
            raise entry.error(
                missing[0],
                "missing; a model needs input and output prices (USD per million tokens)",
            )
        if entry.section == "override" and not prices:
            raise entry.error(
                None,
                "give "
                + entry.assign("multiplier", '"0.8"')
                + " or explicit prices (input, output, ... per MTok)",
            )
    batch = entry.raw.get("batch")
    if batch is not None and not isinstance(batch, bool):
        raise entry.error("batch", f"expected true or false, got {batch!r}")
    tier = entry.text("service_tier")
    start, end = entry.period()
    return TokenRule(
        kind=entry.section,
        source=entry.source,
        position=position,
        provider=provider,
        model=model,
        start=start,
        end=end,
        batch=batch,
        service_tier=tier.lower() if tier else None,
        multiplier=multiplier,
        prices=prices,
        currency=entry.currency(),
    )


def _unit_rule(entry: _Entry, position: int) -> UnitRule:
    category = entry.text("category", required=True) or ""
    unit = entry.text("unit", required=True) or ""
    price = entry.decimal("price")
    if price is None:
        raise entry.error(
            "price",
            "missing; add " + entry.assign("price", '"45.00"') + " (currency per one unit)",
        )
    item = entry.text("item")
    start, end = entry.period()
    return UnitRule(
        source=entry.source,
        position=position,
        category=category.lower(),
        unit=normalize_unit(unit),
        item=item.lower() if item else None,
        price=price,
        currency=entry.currency(),
        start=start,
        end=end,
    )

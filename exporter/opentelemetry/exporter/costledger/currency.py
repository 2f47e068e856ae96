"""Other currencies: the rates file, the rate in force on a day, and converting exact USD.

The ledger, the jobs and their tables are in USD (integer nano-dollars) and stay so. What is
*shown* or *exported* may be in another currency (``--currency EUR``): each amount is converted
from its exact USD at the rate in force at its time, from a rates file of the user's
(``--rates FILE``, else ``COSTLEDGER_RATES``). Shared vocabulary like :mod:`.periods`: only the
standard library and ``costledger.money``, below every stage.

Rates files (read by :func:`load_rates`, the shape told by the header)
----------------------------------------------------------------------
- The ECB's reference rates: ``eurofxref-hist.csv`` (``Date,USD,JPY,…`` then one line per
  business day, newest first, ``N/A`` where a currency had no rate, a trailing comma) and the
  daily ``eurofxref.csv`` (``Date, USD, JPY, …`` / ``16 May 2025, 1.1185, …``). Rates are units
  of each currency per 1 EUR, so USD → EUR divides by the ``USD`` column, and USD → JPY
  multiplies by ``JPY / USD`` of the same day. Unzip the ECB's download first.
- A simple CSV of the user's: ``date,currency,rate`` with ``rate`` = units of that currency per
  1 USD (``2025-05-01,EUR,0.9``); lines of other currencies are ignored.

The rate in force
-----------------
On a UTC date, the rate in force is the latest one dated on or before it: the ECB publishes no
rates on weekends and TARGET holidays, so a Saturday uses Friday's. A date before the file's
first rate is an error naming the date, never a silent 1.0; so is a date more than
:data:`MAX_DAYS_PAST_LAST` days after the file's last rate (a stale file: the ECB's longest gap
is five days), so an old download is never used for this month's rows without saying so.

Exactness
---------
A rate is kept as the exact fraction its file gives (``1 / 1.1185`` for USD → EUR, not a
rounded decimal). An amount is converted from integer nano-dollars to integer nano-units of the
currency (1e-9 EUR), rounded half-even once: ``round(nanos × rate)``. Callers convert each UTC
day's sum of a group (or each ledger row) this way and add the converted days, so a month with
a rate change mid-month is the sum of its days at their own rates, exactly.
"""

from __future__ import annotations

import csv
import os
import re
from bisect import bisect_right
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from pathlib import Path

from opentelemetry.instrumentation.costledger.money import (
    MONEY_PLACES,
    NANOS_PER_USD,
    format_usd,
    usd_text,
)

from .errors import ConfigError, InputError

USD = "USD"
RATES_ENV = "COSTLEDGER_RATES"
MAX_DAYS_PAST_LAST = 7
RATE_PLACES = 12  # the rate as text (exports): units of the currency per 1 USD
ECB_DOWNLOAD = "https://www.ecb.europa.eu/stats/eurofxref/eurofxref-hist.zip"
_CODE = re.compile(r"[A-Z]{3}")
# How people see a few currencies; any other shows as its code (``CHF 1,234.56``).
SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "INR": "₹"}

__all__ = [
    "RATES_ENV",
    "USD",
    "Rate",
    "Rates",
    "amount_text",
    "check_code",
    "converted_key",
    "currency_symbol",
    "dated",
    "format_money",
    "load_rates",
    "resolve_rates",
]


def check_code(code: str) -> str:
    """``eur`` → ``EUR``; an InputError unless three letters (an ISO 4217 code)."""
    upper = code.strip().upper()
    if not _CODE.fullmatch(upper):
        raise InputError(f"currency {code!r}: write an ISO 4217 code such as EUR, GBP or JPY")
    return upper


@dataclass(frozen=True, slots=True)
class Rate:
    """One rate: ``per_usd`` units of ``currency`` for 1 USD, dated ``day`` (exact fraction)."""

    currency: str
    day: date
    per_usd: Fraction

    def convert(self, nanos: int) -> int:
        """Nano-dollars → nano-units of the currency, rounded half-even (exact integers)."""
        return round(int(nanos) * self.per_usd)

    @property
    def text(self) -> str:
        """The rate as decimal text to :data:`RATE_PLACES` places (exports show the rate used)."""
        quantum = Decimal(1).scaleb(-RATE_PLACES)
        value = Decimal(self.per_usd.numerator) / Decimal(self.per_usd.denominator)
        return f"{value.quantize(quantum):f}"


class Rates:
    """The rates of one currency against USD, by date: :meth:`on` a day, :meth:`convert`.

    Made by :func:`load_rates` (a file) or :meth:`identity` (USD, where 1 is the true rate)."""

    def __init__(self, currency: str, source: str, rates: dict[date, Fraction]) -> None:
        self.currency = currency
        self.source = source
        self._days = sorted(rates)
        self._rates = rates

    @classmethod
    def identity(cls) -> Rates:
        return cls(USD, "USD itself", {})

    @property
    def is_identity(self) -> bool:
        return self.currency == USD

    def on(self, day: date) -> Rate:
        """The rate in force on ``day`` (UTC): the latest dated on or before it (module doc)."""
        if self.is_identity:
            return Rate(USD, day, Fraction(1))
        index = bisect_right(self._days, day)
        if index == 0:
            first = self._days[0]
            raise InputError(
                f"no {self.currency} rate on or before {day.isoformat()} in {self.source} (its"
                f" first rate is of {first.isoformat()}): add a rate dated {day.isoformat()} or"
                " earlier, or choose a period that starts later"
            )
        dated = self._days[index - 1]
        if index == len(self._days) and (day - dated).days > MAX_DAYS_PAST_LAST:
            raise InputError(
                f"no {self.currency} rate for {day.isoformat()} in {self.source}: its last rate"
                f" is of {dated.isoformat()}, more than {MAX_DAYS_PAST_LAST} days before; add"
                f" newer rates (the ECB's: {ECB_DOWNLOAD})"
            )
        return Rate(self.currency, dated, self._rates[dated])

    def convert(self, nanos: int, day: date) -> int:
        """Nano-dollars of ``day`` → nano-units of the currency at the rate in force then."""
        return self.on(day).convert(nanos)

    def spread(self, nanos: int, first: date, last: date) -> int:
        """An amount of a whole period (revenue, a margin, a budget) that has no time of its
        own, spread evenly over the days ``first``..``last`` and each day's share converted at
        that day's rate: ``round(nanos × mean of the days' rates)``, exact, rounded once. Days
        after today are left out (their rates are not published yet)."""
        last = min(last, datetime.now(UTC).date())
        if self.is_identity or last < first:
            return self.convert(nanos, first)
        days = (last - first).days + 1
        total = sum((self.on(first + timedelta(days=n)).per_usd for n in range(days)), Fraction(0))
        return round(int(nanos) * total / days)

    def spread_period(self, nanos: int | None, start: date, end: date) -> int | None:
        """:meth:`spread` over a period kept as ``start`` (first day) and ``end`` (the day after
        its last), as the ledger's periods are; no amount stays no amount."""
        return None if nanos is None else self.spread(int(nanos), start, end - timedelta(days=1))


def resolve_rates(currency: str | None, rates_path: str | None = None) -> Rates:
    """The rates a command converts with: ``currency`` (default USD) from ``rates_path``, else
    ``COSTLEDGER_RATES``; an InputError saying what to do when another currency has no file."""
    code = check_code(currency) if currency else USD
    if code == USD:
        return Rates.identity()
    path = rates_path or os.environ.get(RATES_ENV)
    if not path:
        raise InputError(
            f"--currency {code} needs a rates file: pass --rates FILE or set {RATES_ENV} (the"
            f" ECB's eurofxref-hist.csv from {ECB_DOWNLOAD}, unzipped, or a CSV"
            " date,currency,rate of units per 1 USD)"
        )
    return load_rates(path, code)


def load_rates(path: str | Path, currency: str) -> Rates:
    """The rates of ``currency`` per 1 USD in the file at ``path`` (module doc: the formats)."""
    code = check_code(currency)
    source = str(path)
    try:
        with open(path, encoding="utf-8-sig", newline="") as handle:
            lines = [[cell.strip() for cell in line] for line in csv.reader(handle)]
    except OSError as exc:
        raise ConfigError(f"rates file {source}: cannot read it ({exc.strerror})") from exc
    lines = [line for line in lines if any(line)]
    if not lines:
        raise ConfigError(f"rates file {source} is empty: see the README's 'Other currencies'")
    header = [cell for cell in lines[0] if cell]
    if [cell.lower() for cell in header] == ["date", "currency", "rate"]:
        rates = _simple(source, lines[1:], code)
    elif header and header[0].lower() == "date" and all(_CODE.fullmatch(c) for c in header[1:]):
        rates = _ecb(source, header, lines[1:], code)
    else:
        raise ConfigError(
            f"rates file {source}: the first line should be the ECB's 'Date,USD,JPY,…' or"
            " 'date,currency,rate' (units of that currency per 1 USD)"
        )
    if not rates:
        raise ConfigError(f"rates file {source} has no {code} rate: add {code} lines to it")
    return Rates(code, source, rates)


def _simple(source: str, lines: list[list[str]], code: str) -> dict[date, Fraction]:
    rates: dict[date, Fraction] = {}
    for number, line in enumerate(lines, 2):
        if len(line) < 3:
            raise ConfigError(f"rates file {source} line {number}: write date,currency,rate")
        if line[1].upper() != code:
            continue
        day = _day(source, number, line[0])
        rate = _rate(source, number, line[2])
        if rate is None:
            raise ConfigError(f"rates file {source} line {number}: {line[2]!r} is not a rate")
        if day in rates and rates[day] != rate:
            raise ConfigError(
                f"rates file {source} line {number}: a second {code} rate for {day.isoformat()}"
            )
        rates[day] = rate
    return rates


def _ecb(source: str, header: list[str], lines: list[list[str]], code: str) -> dict[date, Fraction]:
    if code != "EUR" and code not in header:
        raise ConfigError(f"rates file {source} has no {code} column: the ECB file's are {header}")
    if USD not in header:
        raise ConfigError(f"rates file {source} has no USD column: USD amounts cannot convert")
    usd_at = header.index(USD)
    code_at = header.index(code) if code != "EUR" else None
    rates: dict[date, Fraction] = {}
    for number, line in enumerate(lines, 2):
        day = _day(source, number, line[0])
        usd = _rate(source, number, line[usd_at] if usd_at < len(line) else "N/A")
        other = Fraction(1)
        if code_at is not None:
            found = _rate(source, number, line[code_at] if code_at < len(line) else "N/A")
            if found is None:
                continue  # a gap in this currency: the day before stays in force
            other = found
        if usd is None:
            continue
        rates[day] = other / usd  # per EUR / USD per EUR = per USD
    return rates


def _day(source: str, number: int, text: str) -> date:
    for form in ("%Y-%m-%d", "%d %B %Y"):  # hist / daily ECB files and ours
        try:
            return datetime.strptime(text, form).date()
        except ValueError:
            pass
    raise ConfigError(f"rates file {source} line {number}: {text!r} is not a date like 2025-05-16")


def _rate(source: str, number: int, text: str) -> Fraction | None:
    """A positive rate, exactly; None for the ECB's ``N/A`` (no rate that day)."""
    if text.upper() in ("N/A", ""):
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        value = Decimal(0)
    if not value.is_finite() or value <= 0:
        raise ConfigError(f"rates file {source} line {number}: {text!r} is not a positive rate")
    return Fraction(value)


def format_money(nanos: int | None, currency: str = USD, *, places: int = MONEY_PLACES) -> str:
    """An amount in nano-units of ``currency`` for people: ``€1,234.56``, ``-£3.00``,
    ``CHF 12.00``; the precision rule of :func:`money.format_usd` (which it uses), whose ``$``
    becomes the currency's symbol or code."""
    shown = format_usd(nanos, places=places)
    return shown if currency == USD else shown.replace("$", currency_symbol(currency), 1)


def currency_symbol(currency: str) -> str:
    """What precedes an amount for people: ``€`` for EUR, ``CHF `` (with a space) for a
    currency without a symbol here."""
    return SYMBOLS.get(currency, f"{currency} ")


def converted_key(key: str, currency: str) -> str:
    """``cost_nanos`` (or ``cost_usd``) -> ``cost_eur``: where a command's record holds a money
    field converted to ``currency`` (integer nano-units of it), and the csv/json field of its
    exact text."""
    return key.removesuffix("_nanos").removesuffix("_usd") + "_" + currency.lower()


def amount_text(nanos: int | None) -> str:
    """Exact nano-units as decimal text with at least two places (``2484.123456789``): the
    csv/json form, as ``money.usd_text`` is for dollars."""
    if nanos is None:
        return ""
    return usd_text(Decimal(int(nanos)) / NANOS_PER_USD)  # as money.to_dollars divides


def dated(moment: datetime | date) -> date:
    """The UTC date a rate is looked up for (aware datetimes are turned to UTC first)."""
    if isinstance(moment, datetime):
        if moment.tzinfo is not None:
            moment = moment.astimezone(UTC)
        return moment.date()
    return moment

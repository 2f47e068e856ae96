"""Units of non-token costs and the exact conversions between the obvious ones.

A unit price says "$45 per hour"; a ``record_cost`` event says "7 minutes". Units of one
dimension convert exactly (``Fraction``, never float): time (second, minute, hour, day, week),
data (byte, KB, MB, GB, TB in powers of 1000 and KiB, MiB, GiB, TiB in powers of 1024), and
generic counts (call, request, each, unit, count, event, which are all "one of something").
Every other unit (``ticket``, ``page``, ``gb-month``...) matches only itself. Names are
case-insensitive and a plural ``s`` is ignored (``Hours`` = ``hour``).
"""

from __future__ import annotations

from fractions import Fraction

_UNITS: dict[str, tuple[str, int]] = {}


def _define(dimension: str, size: int, *names: str) -> None:
    for name in names:
        _UNITS[name] = (dimension, size)


_define("time", 1, "second", "sec", "s")
_define("time", 60, "minute", "min", "m")
_define("time", 3600, "hour", "hr", "h")
_define("time", 86_400, "day", "d")
_define("time", 604_800, "week", "wk")
_define("data", 1, "byte", "b")
_define("data", 10**3, "kb", "kilobyte")
_define("data", 10**6, "mb", "megabyte")
_define("data", 10**9, "gb", "gigabyte")
_define("data", 10**12, "tb", "terabyte")
_define("data", 2**10, "kib", "kibibyte")
_define("data", 2**20, "mib", "mebibyte")
_define("data", 2**30, "gib", "gibibyte")
_define("data", 2**40, "tib", "tebibyte")
_define("count", 1, "call", "request", "req", "each", "unit", "count", "event", "item", "1")
_define("count", 1000, "1k", "thousand", "kcall", "krequest")


def normalize_unit(unit: str) -> str:
    """The canonical spelling: lower case, trimmed, singular (``"Hours "`` -> ``"hour"``)."""
    name = unit.strip().lower()
    if name in _UNITS:
        return name
    if len(name) > 2 and name.endswith("s") and not name.endswith("ss") and name[:-1] in _UNITS:
        return name[:-1]
    if len(name) > 3 and name.endswith("s") and not name.endswith("ss"):
        return name[:-1]
    return name


def conversion_factor(from_unit: str, to_unit: str) -> Fraction | None:
    """How many ``to_unit`` one ``from_unit`` is (minute -> hour: 1/60); None if incompatible."""
    a, b = normalize_unit(from_unit), normalize_unit(to_unit)
    if a == b:
        return Fraction(1)
    da, db = _UNITS.get(a), _UNITS.get(b)
    if da is None or db is None or da[0] != db[0]:
        return None
    return Fraction(da[1], db[1])

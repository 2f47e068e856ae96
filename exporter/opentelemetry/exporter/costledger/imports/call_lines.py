"""A calls file line by line, and the typed values of a line's fields (``import calls``).

:func:`read_lines` reads a CSV (any delimiter :func:`.user_data.read_csv` recognises) or a JSON
Lines file into ``(file:line, fields)``, field names lower-cased; a line that is not a JSON
object comes back as ``{"\\0error": message}``, so that every bad line of a file is named.
``field_text``, ``field_count``, ``field_decimal``, ``field_timestamp`` and ``field_flag`` read
one field as its type, or raise :class:`~..errors.InputError` naming the line, the field and
what to write. What the fields mean, and the ledger row a line becomes: :mod:`.calls`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from ..errors import InputError
from .user_data import read_csv


def read_lines(path: str | os.PathLike[str]) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """(``file:line``, the line's fields, keys lower-cased) of a CSV or JSON Lines file."""
    file = Path(path)
    try:
        with file.open(encoding="utf-8-sig") as handle:
            first = handle.read(4096).lstrip()
    except OSError as exc:
        raise InputError(f"cannot read {file}: {exc.strerror}") from exc
    if not first.startswith("{"):
        for number, row in read_csv(file):
            yield f"{file}:{number}", row
        return
    with file.open(encoding="utf-8-sig") as handle:
        for number, text in enumerate(handle, 1):
            if not text.strip():
                continue
            where = f"{file}:{number}"
            try:
                value = json.loads(text, parse_float=Decimal)
            except json.JSONDecodeError as exc:
                yield where, {"\0error": f"{where}: not a JSON object ({exc.msg})"}
                continue
            if not isinstance(value, dict):
                yield where, {"\0error": f"{where}: not a JSON object"}
                continue
            yield where, {str(k).strip().lower(): v for k, v in value.items()}


def field_text(line: Mapping[str, Any], name: str) -> str | None:
    value = line.get(name)
    if value is None or value == "":
        return None
    if isinstance(value, bool | dict | list):
        raise InputError(f"{name} {value!r} is not a text")
    return str(value).strip() or None


def field_count(line: Mapping[str, Any], name: str, where: str, required: bool = False) -> int:
    value = line.get(name)
    if value is None or value == "":
        if required:
            raise InputError(f"{where}: missing {name}")
        return 0
    try:
        number = Decimal(str(value).strip()) if not isinstance(value, bool) else Decimal("NaN")
    except InvalidOperation:
        number = Decimal("NaN")
    if not number.is_finite() or number != number.to_integral_value() or number < 0:
        raise InputError(f"{where}: {name} {value!r} is not a count (a whole number, 0 or more)")
    return int(number)


def field_decimal(line: Mapping[str, Any], name: str, where: str) -> Decimal | None:
    value = line.get(name)
    if value is None or value == "":
        return None
    try:
        number = (
            Decimal(str(value).strip().removeprefix("$")) if not isinstance(value, bool) else None
        )
    except InvalidOperation:
        number = None
    if number is None or not number.is_finite():
        raise InputError(f"{where}: {name} {value!r} is not a decimal number")
    if number < 0:
        raise InputError(f"{where}: {name} {value!r} is negative")
    return number


def field_timestamp(line: Mapping[str, Any], where: str, moment: datetime) -> datetime:
    text = field_text(line, "timestamp")
    if text is None:
        raise InputError(
            f"{where}: missing timestamp (ISO 8601 with an offset: 2025-05-02T10:15:00Z)"
        )
    try:
        at = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise InputError(
            f"{where}: timestamp {text!r} is not ISO 8601: write it like 2025-05-02T10:15:00Z"
        ) from None
    if at.tzinfo is None or at.utcoffset() is None:
        raise InputError(
            f"{where}: timestamp {text!r} has no time zone: add Z (UTC) or an offset such as"
            " +02:00, so the call lands in the right day and price period"
        )
    if at > moment:
        raise InputError(f"{where}: timestamp {text!r} is in the future: import past calls only")
    return at.astimezone(UTC)


def field_flag(line: Mapping[str, Any], name: str, where: str) -> bool:
    value = line.get(name)
    if value is None or value == "":
        return False
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text not in ("true", "false", "1", "0", "yes", "no"):
        raise InputError(f"{where}: {name} {value!r} is not true or false")
    return text in ("true", "1", "yes")

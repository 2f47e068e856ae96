"""A column of a result table as people and machines see it: :class:`Column` (key, header, kind).

Declared by the reports (``report/tables.py``) and the CLI's commands, rendered by the CLI's
``output`` module. Imports nothing of costledger: every stage may use it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Kind = Literal["text", "money", "int", "pct", "decimal", "flags", "date"]

# What a reporting command prints: ``table`` for people, exact ``csv`` / ``json`` for machines.
FORMATS: tuple[str, ...] = ("table", "csv", "json")


@dataclass(frozen=True, slots=True)
class Column:
    key: str
    header: str
    kind: Kind = "text"
    places: int | None = None  # display rounding for money/pct/decimal in tables
    wrap: bool = False  # long text (reasons, messages): the column that wraps when space is short

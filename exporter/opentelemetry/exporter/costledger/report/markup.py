"""The HTML the report page is built of: table cells, tables, summary cards and flags.

Money cells keep their exact value: a ``title`` tooltip with the exact dollars and a
``data-nanos`` attribute with the integer nano-dollars, so a test, or a curious reader, can check
every figure against the ledger; the text shown is rounded to the report's currency. What these
pieces are given is HTML-escaped here; the rows the sections (:mod:`.page`, :mod:`.sections`)
build escape their own text.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from decimal import Decimal
from functools import partial
from html import escape
from typing import Any

from opentelemetry.instrumentation.costledger.money import MONEY_PLACES, format_pct, nanos_to_text

from ..currency import USD, format_money

RED_FLAGS = frozenset({"unprofitable", "over_budget", "spike", "unpriced"})


def money_td(nanos: int | None, places: int = MONEY_PLACES, currency: str = USD) -> str:
    """A money cell: rounded to ``places`` in ``currency``, exact in its tooltip and
    ``data-nanos``; a dash for None."""
    if nanos is None:
        return '<td class="num">—</td>'
    neg = " neg" if nanos < 0 else ""
    return (
        f'<td class="num{neg}" data-nanos="{nanos}" title="{nanos_to_text(nanos)}">'
        f"{escape(format_money(nanos, currency, places=places))}</td>"
    )


def money_for(currency: str) -> Callable[..., str]:
    """:func:`money_td` in the report's currency."""
    return partial(money_td, currency=currency)


def num_td(value: int | None) -> str:
    """A count cell, with thousands separators; a dash for None."""
    return '<td class="num">—</td>' if value is None else f'<td class="num">{value:,}</td>'


def pct_td(value: Decimal | None) -> str:
    """A ratio cell shown as a percentage."""
    return f'<td class="num">{escape(format_pct(value))}</td>'


def text_td(value: Any, *, nowrap: bool = False) -> str:
    """A text cell; a dash for None or empty."""
    css = ' class="nowrap"' if nowrap else ""
    return f"<td{css}>{escape('—' if value in (None, '') else str(value))}</td>"


def table(headers: Sequence[tuple[str, bool]], rows: Iterable[str], empty: str) -> str:
    """A table of ``rows`` (``<tr>`` strings) under ``headers`` (title, is it a number); the
    ``empty`` sentence instead when there are no rows."""
    body = "".join(rows)
    if not body:
        return f'<p class="muted">{escape(empty)}</p>'
    head = "".join(
        f'<th class="num">{escape(h)}</th>' if n else f"<th>{escape(h)}</th>" for h, n in headers
    )
    # A table wider than a narrow window scrolls inside its section, never the page.
    return (
        f'<div class="table-wrap"><table><thead><tr>{head}</tr></thead>'
        f"<tbody>{body}</tbody></table></div>"
    )


def flags(value: str | None) -> str:
    """Comma-separated flags as badges; those of :data:`RED_FLAGS` in red."""
    names = [n.strip() for n in (value or "").split(",") if n.strip()]
    return "".join(
        f'<span class="flag{" red" if n in RED_FLAGS else ""}">{escape(n)}</span>' for n in names
    )


def card(label: str, value: str, ident: str, nanos: int | None = None) -> str:
    """A summary card (the figures above the charts); exact money in ``data-nanos``."""
    extra = f' data-nanos="{nanos}" title="{nanos_to_text(nanos)}"' if nanos is not None else ""
    return (
        f'<div class="card" id="{ident}"><div class="label">{escape(label)}</div>'
        f'<div class="value"{extra}>{escape(value)}</div></div>'
    )

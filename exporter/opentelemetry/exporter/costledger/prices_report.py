"""What ``costledger prices`` shows: the prices in force, where they come from, and the gaps.

- :func:`quote_model`: one model's prices at a date (per token kind, per long-context band),
  the rule they come from and when they next change;
- :func:`list_models`: every model genai-prices knows for a provider, plus the price file's own
  ``[[model]]`` entries for it, each with its prices at a date;
- :func:`price_file_rules`: the user's price file, one record per rule;
- :func:`check_prices`: every (provider, model) — or (category, unit, item) for non-token cost
  events — in the ledger that has unpriced rows, or that the current prices would not price,
  with the exact entry to add to the price file (``fix``). Rows the price book does not price
  (allocations, imports, adjustments, ``record_cost`` events that carried their own amount) are
  never gaps.

All return lists of plain records (mappings) that :mod:`.output` renders as table/CSV/JSON;
prices are ``Decimal`` USD (or the rule's currency) per million tokens, ``per_request`` per call.
"""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from opentelemetry.instrumentation.costledger.pricing import (
    PRICE_SLOTS,
    PriceBook,
    PriceFileError,
    TokenQuote,
)
from opentelemetry.instrumentation.costledger.usage import TokenUsage

from . import db
from .convert import EXPLICIT_AMOUNT_RULE
from .errors import ConfigError, DatabaseError, InputError
from .schema import ledger_entries

TOKEN_CATEGORIES = ("api", "embedding")
Record = dict[str, Any]


@contextmanager
def open_ledger(database_url: str | None, engine: sa.Engine | None) -> Iterator[sa.Engine]:
    """``engine`` as is, or an engine on ``database_url`` (migrated, disposed afterwards).

    SQLAlchemy errors inside become :class:`DatabaseError` messages that name the database and
    say what to check (:func:`command_database_error`).
    """
    from . import migrations

    own = engine is None
    engine = engine or db.create_engine(database_url)
    try:
        if own:
            migrations.migrate(engine)
        yield engine
    except sa.exc.SQLAlchemyError as exc:
        raise command_database_error(exc, engine.url) from exc
    finally:
        if own:
            engine.dispose()


def command_database_error(exc: BaseException, url: sa.URL) -> DatabaseError:
    """The error of a one-shot command that cannot use the ledger at ``url``.

    The classification (unavailable vs. broken) is the exporter's (:func:`.store.database_error`),
    but its advice ("costledger retries") is for the exporter's background retries: a command
    does not retry, so an unavailable database says what to check before running it again.
    """
    from .store import DatabaseUnavailable, database_error

    error = database_error(exc, url)
    if not isinstance(error, DatabaseUnavailable):
        return DatabaseError(
            f"{error}: check that --db / COSTLEDGER_DATABASE_URL names your costledger ledger"
            " (run `costledger demo --db FILE` to make one)"
        )
    where = url.render_as_string(hide_password=True)
    reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
    return DatabaseUnavailable(
        f"the ledger database {where} is unavailable ({reason}): check the database URL (--db or"
        " COSTLEDGER_DATABASE_URL) and that the database server is running and reachable, then"
        " run the command again"
    )


def priced_by_price_book() -> sa.ColumnElement[bool]:
    """Rows whose cost comes from the price book: rows made from spans, except ``record_cost``
    events that carried their own amount (``price_rule`` = convert's ``EXPLICIT_AMOUNT_RULE``).

    Only these can be unpriced gaps (:func:`check_prices`) or priced again (``reprice``).
    """
    le = ledger_entries
    return sa.and_(
        le.c.source == "span",
        sa.or_(le.c.price_rule.is_(None), le.c.price_rule != EXPLICIT_AMOUNT_RULE),
    )


def load_price_book(price_file: str | None = None) -> PriceBook:
    """The price book of a command: ``price_file``, else ``COSTLEDGER_PRICES`` (ConfigError)."""
    try:
        return PriceBook(price_file)
    except PriceFileError as exc:
        raise ConfigError(str(exc)) from exc


def parse_at(text: str | None, *, now: datetime | None = None) -> datetime:
    """``--at``: a date (its UTC midnight), an ISO datetime (naive = UTC), or None/"now"."""
    if text is None or text.strip().lower() in ("", "now"):
        return now or datetime.now(UTC)
    value = text.strip()
    try:
        if len(value) == 10:
            day = date.fromisoformat(value)
            return datetime(day.year, day.month, day.day, tzinfo=UTC)
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise InputError(
            f"invalid --at {text!r}: write a date (2025-06-01) or an ISO datetime"
            " (2025-06-01T12:00:00Z)"
        ) from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


# --- prices in force ------------------------------------------------------------------------


def _quote_records(quote: TokenQuote) -> list[Record]:
    base: Record = {
        "provider": quote.provider,
        "model": quote.model,
        "at": quote.at,
        "band": "all",
        "currency": quote.currency,
        "rule": quote.rule,
        "next_change": quote.next_change,
        "unpriced_reason": quote.unpriced_reason,
    }
    if quote.unpriced_reason is not None:
        return [base]
    records = []
    bands: list[tuple[str, Mapping[str, Decimal]]] = [("all", quote.prices)]
    if quote.tiers:
        first = quote.tiers[0][0]
        bands = [(f"input <= {first:,}", quote.prices)]
        bands += [(f"input > {threshold:,}", prices) for threshold, prices in quote.tiers]
    for band, prices in bands:
        records.append({**base, "band": band, **{slot: prices[slot] for slot in PRICE_SLOTS}})
    return records


def quote_model(
    book: PriceBook,
    model: str,
    *,
    provider: str | None = None,
    at: datetime | None = None,
    service_tier: str | None = None,
    batch: bool = False,
) -> list[Record]:
    """The prices for ``model`` at ``at``: one record per long-context band (usually one).

    Without ``provider``, the model's provider is found as the ledger will know it (every call
    row names one): from a ``[[model]]`` entry of the price file, else from genai-prices. Price
    file rules are per provider, so quoting with no provider would show list prices that no
    call of this model pays.
    """
    provider = provider or _provider_of(book, model)
    quote = book.quote_tokens(
        provider, model, at or datetime.now(UTC), service_tier=service_tier, batch=batch
    )
    return _quote_records(quote)


def _provider_of(book: PriceBook, model: str) -> str | None:
    """The one provider whose ``[[model]]`` entries name ``model``, else genai-prices' provider.

    None when the model is unknown or several providers of the price file name it (the quote
    then says so).
    """
    from opentelemetry.instrumentation.costledger import _price_genai as genai

    named = {
        rule.provider
        for rule in book.rules.token_rules
        if rule.kind == "model"
        and not any(c in rule.provider for c in "*?[")
        and rule.model_rank(model) is not None  # as the price book matches (snapshots too)
    }
    if named:
        return named.pop() if len(named) == 1 else None
    # the book's genai-prices data (a fetched file, or None: the bundled snapshot)
    found = genai.find_model(None, model, book._source)
    return found.provider.id if isinstance(found, genai.GenaiModel) else None


def list_models(
    book: PriceBook,
    provider: str,
    *,
    at: datetime | None = None,
    service_tier: str | None = None,
    batch: bool = False,
) -> list[Record]:
    """Every model of ``provider`` in genai-prices and the price file, priced at ``at``."""
    when = at or datetime.now(UTC)
    names = book.model_names(provider)
    names += [
        rule.model
        for rule in book.rules.token_rules
        if rule.kind == "model" and fnmatch.fnmatchcase(provider.lower(), rule.provider)
    ]
    records: list[Record] = []
    seen: set[str] = set()
    for name in names:
        if name in seen:
            continue
        seen.add(name)
        quote = book.quote_tokens(provider, name, when, service_tier=service_tier, batch=batch)
        records.append(_quote_records(quote)[0])
    if not records:
        raise InputError(
            f"no models known for provider {provider!r}: check the name (anthropic, openai,"
            " aws.bedrock, ...) or add [[model]] entries for it to your price file"
        )
    return records


def _day_or_moment(value: datetime | None) -> date | datetime | None:
    if value is not None and value.utcoffset() == UTC.utcoffset(None) and value.time() == time(0):
        return value.date()
    return value


def price_file_rules(book: PriceBook) -> list[Record]:
    """The price file's rules in file order (empty without a price file)."""
    records: list[Record] = []
    for rule in book.rules.token_rules:
        what = (
            f"x{rule.multiplier}"
            if rule.multiplier is not None
            else ", ".join(f"{k} {v}" for k, v in rule.prices.items())
        )
        records.append(
            {
                "source": rule.source,
                "kind": rule.kind,
                "applies_to": f"{rule.provider}/{rule.model}"
                + (" [batch]" if rule.batch else " [not batch]" if rule.batch is False else "")
                + (f" [service_tier={rule.service_tier}]" if rule.service_tier else ""),
                "price": what,
                "currency": rule.currency,
                "from": _day_or_moment(rule.start),
                "until": _day_or_moment(rule.end),
                "position": rule.position,
            }
        )
    for unit in book.rules.unit_rules:
        records.append(
            {
                "source": unit.source,
                "kind": "unit_price",
                "applies_to": unit.category + (f" [{unit.item}]" if unit.item else ""),
                "price": f"{unit.price} per {unit.unit}",
                "currency": unit.currency,
                "from": _day_or_moment(unit.start),
                "until": _day_or_moment(unit.end),
                "position": unit.position,
            }
        )
    records.sort(key=lambda r: r.pop("position"))
    return records


# --- gaps in the ledger ---------------------------------------------------------------------


def check_prices(
    database_url: str | None = None,
    *,
    engine: sa.Engine | None = None,
    price_book: PriceBook | None = None,
) -> list[Record]:
    """Everything in the ledger that has no price, with row counts.

    One record per (provider, model) of token rows, or (category, unit, item) of cost events,
    that has unpriced rows or that the current price book cannot price at its last timestamp.
    ``status`` is ``unpriced`` (rows without a price that ``costledger reprice`` would now
    price are reported as ``repriceable``), ``no price now`` (priced rows whose price is gone,
    e.g. a rule removed from the file) or ``flagged`` (token counts or quantities that cannot
    be priced at all: fix the producer). ``fix`` says what to do: for a missing price, the exact
    ``[[model]]`` or ``[[unit_price]]`` entry to add to the price file (TOML, or YAML when the
    price file is YAML) with ``"?"`` where the price goes (``fix_is_entry`` true), else the
    action to take (run reprice, fix the producer). Rows that carry their own cost
    (allocations, imports, adjustments, ``record_cost`` amounts) are not checked.
    """
    book = price_book or load_price_book()
    le = ledger_entries
    is_token = le.c.category.in_(TOKEN_CATEGORIES) | le.c.quantity.is_(None)
    token_flag = sa.case((is_token, 1), else_=0)
    unit = sa.case((is_token, None), else_=le.c.unit)
    unpriced = sa.case((le.c.cost_nanos.is_(None), 1), else_=0)
    flagged = sa.case((le.c.cost_nanos.is_(None) & le.c.flags.is_not(None), 1), else_=0)
    query = (
        sa.select(
            le.c.provider,
            le.c.model,
            le.c.category,
            token_flag.label("tokens"),
            unit.label("unit"),
            le.c.service_tier,
            le.c.batch,
            sa.func.count().label("rows"),
            sa.func.sum(unpriced).label("unpriced_rows"),
            sa.func.sum(flagged).label("flagged_rows"),
            sa.func.min(le.c.timestamp).label("first_seen"),
            sa.func.max(le.c.timestamp).label("last_seen"),
            sa.func.max(le.c.unpriced_reason).label("stored_reason"),
        )
        .where(priced_by_price_book())
        .group_by(
            le.c.provider,
            le.c.model,
            le.c.category,
            token_flag,
            unit,
            le.c.service_tier,
            le.c.batch,
        )
    )
    with open_ledger(database_url, engine) as opened, opened.connect() as conn:
        groups = conn.execute(query).all()
    merged: dict[tuple[Any, ...], Record] = {}
    for g in groups:
        last_seen = g.last_seen if g.last_seen.tzinfo else g.last_seen.replace(tzinfo=UTC)
        if g.tokens:
            now = book.price_tokens(
                g.provider,
                g.model,
                TokenUsage(input_tokens=1, output_tokens=1),
                last_seen,
                service_tier=g.service_tier,
                batch=bool(g.batch),
            )
        else:
            now = book.price_quantity(g.category, g.unit, Decimal(1), last_seen, item=g.model)
        unpriced_rows = int(g.unpriced_rows or 0)
        flagged_rows = int(g.flagged_rows or 0)
        if unpriced_rows == 0 and now.cost_nanos is not None:
            continue
        key = (g.provider, g.model, g.category, g.unit)
        record = merged.get(key)
        if record is None:
            record = merged[key] = {
                "provider": g.provider,
                "model": g.model,
                "category": g.category,
                "unit": g.unit,
                "rows": 0,
                "unpriced_rows": 0,
                "flagged_rows": 0,
                "first_seen": g.first_seen,
                "last_seen": g.last_seen,
                "status": "",
                "reason": None,
                "fix": None,
                "fix_is_entry": False,  # fix is a price-file entry (else an action to take)
                "tokens": bool(g.tokens),
            }
        record["rows"] += int(g.rows)
        record["unpriced_rows"] += unpriced_rows
        record["flagged_rows"] += flagged_rows
        record["first_seen"] = min(record["first_seen"], g.first_seen)
        record["last_seen"] = max(record["last_seen"], g.last_seen)
        if flagged_rows and flagged_rows == unpriced_rows and now.cost_nanos is not None:
            status, reason = "flagged", g.stored_reason
        elif unpriced_rows and now.cost_nanos is not None:
            status, reason = "repriceable", f"now priced by {now.rule}; run costledger reprice"
        elif unpriced_rows:
            status, reason = "unpriced", now.unpriced_reason
        else:
            status, reason = "no price now", now.unpriced_reason
        if not record["status"] or status in ("unpriced", "no price now"):
            record["status"], record["reason"] = status, reason
    for record in merged.values():
        record["fix"], record["fix_is_entry"] = _fix(record, book)
        for seen in ("first_seen", "last_seen"):  # naive UTC on SQLite, aware on PostgreSQL
            moment = record[seen]
            record[seen] = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment
    return sorted(
        merged.values(),
        key=lambda r: (-r["unpriced_rows"], str(r["provider"]), str(r["model"])),
    )


def _glob_literal(text: str) -> str:
    """``text`` as a price-file glob that matches only itself (``*``, ``?``, ``[`` escaped)."""
    return "".join(f"[{c}]" if c in "*?[" else c for c in text)


def price_file_entry(
    section: str, fields: list[tuple[str, str, str | None]], *, yaml: bool = False
) -> str:
    """One price-file entry as text: ``[[section]]`` (TOML) or a ``section:`` list item (YAML).

    ``fields`` are (key, value, comment); values are written as double-quoted strings, which
    TOML and YAML read alike (JSON string escapes are valid in both).
    """
    lines = [f"{section}:" if yaml else f"[[{section}]]"]
    for index, (key, value, comment) in enumerate(fields):
        prefix = ("  - " if index == 0 else "    ") if yaml else ""
        line = f"{prefix}{key}{':' if yaml else ' ='} {json.dumps(value, ensure_ascii=False)}"
        lines.append(f"{line}  # {comment}" if comment else line)
    return "\n".join(lines)


def _fix(record: Record, book: PriceBook) -> tuple[str, bool]:
    """What to do about one gap of :func:`check_prices` (see its docstring)."""
    status = record["status"]
    if status == "flagged":
        return (
            "fix the producer: these rows' token counts or quantities cannot be true (see their"
            " flags column); they are never priced",
            False,
        )
    if status == "repriceable":
        prices = f" --prices {book.price_file}" if book.price_file else ""
        return f"run: costledger reprice --unpriced{prices}", False
    yaml = (book.price_file or "").lower().endswith((".yaml", ".yml"))
    if record["tokens"]:
        if not record["model"]:
            return "the spans name no model (gen_ai.request.model / gen_ai.response.model)", False
        fields: list[tuple[str, str, str | None]] = []
        if record["provider"]:
            fields.append(("provider", _glob_literal(record["provider"]), None))
        fields += [
            ("model", _glob_literal(record["model"]), None),
            ("input", "?", "USD per million input tokens"),
            ("output", "?", "USD per million output tokens"),
        ]
        return price_file_entry("model", fields, yaml=yaml), True
    if not record["unit"]:
        return "the record_cost events name no unit: pass unit= to record_cost", False
    fields = [("category", _glob_literal(record["category"]), None)]
    if record["model"]:
        fields.append(("item", _glob_literal(record["model"]), None))
    fields += [("unit", record["unit"], None), ("price", "?", f"USD per {record['unit']}")]
    return price_file_entry("unit_price", fields, yaml=yaml), True


# --- fetching newer genai-prices data (explicit, never at run time) -------------------------


def update_genai_prices(
    url: str | None = None, out: str | None = None, *, timeout: float = 30.0
) -> Record:
    """Download genai-prices' current data to ``out`` (default: the file price books read).

    The only place costledger touches the network for prices, and only when the user runs
    ``costledger prices update``. The download is validated with genai-prices' own parser and
    written atomically; price books made afterwards (and processes started afterwards) use it
    instead of the bundled snapshot. Returns what was written.
    """
    import json
    import os
    from pathlib import Path

    import httpx2
    from genai_prices.update_prices import DEFAULT_UPDATE_URL
    from opentelemetry.instrumentation.costledger import _price_genai

    source = url or DEFAULT_UPDATE_URL
    target = Path(out) if out else _price_genai.default_data_path()
    try:
        response = httpx2.get(source, timeout=timeout, follow_redirects=True)
        response.raise_for_status()
        raw = json.loads(response.content)
        if not isinstance(raw, list):
            raise ValueError("expected a JSON list of providers")
        # the parser price books read the file with (genai-prices' own, see _price_genai)
        providers = _price_genai.providers_from_json(raw)
        if not any(p.models for p in providers):
            # Valid JSON with no model in it would leave every later call without a price.
            raise ValueError("the data lists no model")
    except (httpx2.HTTPError, ValueError) as exc:
        raise InputError(
            f"could not update genai-prices data from {source}: {exc}; nothing was changed"
        ) from exc
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".partial")
    partial.write_bytes(response.content)
    os.replace(partial, target)
    return {
        "url": source,
        "path": str(target),
        "providers": len(providers),
        "models": sum(len(p.models) for p in providers),
    }

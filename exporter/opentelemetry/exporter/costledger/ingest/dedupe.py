"""One call, one row: dropping the other reports of a call that several producers report.

Several producers can report the same call: OpenLLMetry's span around the SDK's own span, our
span around the SDK's (nested in one trace); the mistralai SDK's span beside OpenLLMetry's (two
siblings: OpenLLMetry does not make its span current), or two reports in separate traces. Three
rules make exactly one of them count:

1. **Same key.** A call span that carries the provider's response id (``gen_ai.response.id``:
   every producer sets it on success) gets the idempotency key ``call:<trace hex>:<response
   id>`` instead of ``span:<trace hex>:<span hex>`` (:mod:`.convert`). Nested reports of one
   call therefore share the key, and the store's ``ON CONFLICT DO NOTHING`` keeps the first one
   written, whichever batch it arrives in. The trace scopes the id, so a replayed or mocked id
   in another trace is never merged. Within a batch, :func:`drop_nested_duplicates` keeps the
   inner one.
2. **Same usage, nested, in one batch** (spans without a response id, e.g. a failed stream):
   when a call span's nearest call-span ancestor in the batch reports the same model family and
   identical token counts (the 5m/1h split of cache writes aside: only some producers know
   it), the ancestor is dropped.

3. **Another producer's report of the same call, at the same time** (siblings, separate
   traces): two call spans are one call when ALL of these hold — they come from different
   producers (instrumentation scopes: one producer never reports a call twice, so two reports
   of one producer are two calls, however alike); their start-to-end intervals overlap; they
   name the same provider and model family; their input and output counts are equal and their
   cache read / cache write / reasoning counts equal where both report one; their
   attribution (customer, workspace, work item, user) is the same; and they do not carry two
   different response ids. Each report pairs with at most one report of each other producer,
   so two identical calls made at once, each reported by two producers, are still two rows.
   Of the reports of one call the one that carries the most is kept: a response id first,
   then a cache split, a 1-hour split, a reasoning count, attribution.

Rules 1 and 2 work across export batches and exporters (in process and ``costledger serve``)
through the database's unique key. Rule 3 works within a batch and, through
:class:`RecentCalls` (one per in-process exporter and per ``serve`` process), across the batches
that process writes: a report arriving after its twin was written is dropped as a duplicate
(then the first written is kept, whatever it carries), again when it is delivered again.

Within a batch the innermost report wins (the SDK's span or ours: it has the most detail, e.g.
the 1-hour cache split); across batches the first written wins, which is also the innermost,
because a child span ends — and is exported — before its parent. What the rules cannot see:
two nested reports WITHOUT a response id that land in different batches, and two reports of
rule 3 that reach different processes (or one process before and after a restart), count twice.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Mapping

from ..ledger.rows import LedgerRow
from .spans import SpanData

Call = tuple[SpanData, LedgerRow, bool]
"""A call span, its row, and whether its token counts are usable (unusable ones never match)."""

_MAX_ANCESTRY = 32  # nesting depth searched for an enclosing call span


def drop_nested_duplicates(calls: list[Call], batch: list[SpanData]) -> list[Call]:
    """``calls`` without the outer reports of a call that a nested span also reports."""
    by_id = {span.span_id: span for span in batch}
    call_ids = {span.span_id: (row, usable) for span, row, usable in calls}
    dropped: set[int] = set()
    keys: dict[str, int] = {}
    for span, row, usable in calls:
        # Rule 1 in batch: the same key twice means the same call; keep the inner one.
        key = row.idempotency_key
        other = keys.get(key)
        if other is not None:
            inner, outer = _inner_outer(span.span_id, other, by_id)
            dropped.add(outer)
            keys[key] = inner
        else:
            keys[key] = span.span_id
        # Rule 2: the nearest enclosing call span with the same usage is the same call.
        parent = span.parent_span_id
        for _ in range(_MAX_ANCESTRY):
            if parent is None:
                break
            if parent in call_ids:
                parent_row, parent_usable = call_ids[parent]
                if usable and parent_usable and _same_call(row, parent_row):
                    dropped.add(parent)
                break
            enclosing = by_id.get(parent)
            parent = enclosing.parent_span_id if enclosing is not None else None
    if not dropped:
        return calls
    return [call for call in calls if call[0].span_id not in dropped]


def _inner_outer(a: int, b: int, by_id: Mapping[int, SpanData]) -> tuple[int, int]:
    """Of two span ids, the nested one first (``a`` first when neither encloses the other)."""
    parent = by_id[b].parent_span_id if b in by_id else None
    for _ in range(_MAX_ANCESTRY):
        if parent is None:
            break
        if parent == a:
            return b, a
        enclosing = by_id.get(parent)
        parent = enclosing.parent_span_id if enclosing is not None else None
    return a, b


def _counts(row: LedgerRow) -> tuple[int, ...]:
    # Not the 5m/1h split: only some producers know it.
    return (
        row.input_tokens,
        row.output_tokens,
        row.cache_read_tokens,
        row.cache_write_5m_tokens + row.cache_write_1h_tokens,
        row.reasoning_tokens,
    )


def _same_call(row: LedgerRow, other: LedgerRow) -> bool:
    """Two usable call rows report the same counts of the same provider and model family."""
    if _counts(row) != _counts(other):
        return False
    provider, other_provider = row.provider, other.provider
    if provider and other_provider and provider != other_provider:
        return False
    # One producer may name the requested model, the other the dated snapshot it resolved to.
    model, other_model = row.model, other.model
    return not (
        model
        and other_model
        and not (model.startswith(other_model) or other_model.startswith(model))
    )


# --- rule 3: another producer's report of the same call ---------------------------------------

# What rule 3 compares beyond the key: (cache read, cache write, reasoning, workspace, work
# item, user, provider, model, response key).
_Facts = tuple[int, int, int, "str | None", "str | None", "str | None", "str | None", "str | None",
               "str | None"]  # fmt: skip
# One usable call report as rule 3 compares it: (producer scope, start ns, end ns, (trace id,
# span id), its row — or, once remembered, only its facts). Plain tuples: every call of every
# batch is one, and most never meet a twin.
_Report = tuple[str, int, int, tuple[int, int], "LedgerRow | _Facts"]
# Reports can only be twins when these agree: (input tokens, output tokens, customer).
_Key = tuple[int, int, "str | None"]


def _response_key(row: LedgerRow) -> str | None:
    """The row's key when it names the provider's response id (``call:<trace>:<id>``): two
    such keys that differ are two calls (or one id in two traces: kept apart, to be safe)."""
    key = row.idempotency_key
    return key if key.startswith("call:") else None


def _facts(row: LedgerRow | _Facts) -> _Facts:
    if not isinstance(row, LedgerRow):
        return row
    return (
        row.cache_read_tokens,
        row.cache_write_5m_tokens + row.cache_write_1h_tokens,
        row.reasoning_tokens,
        row.workspace_id,
        row.work_item_id,
        row.user_id,
        row.provider,
        row.model,
        _response_key(row),
    )


def _richness(report: _Report) -> tuple[bool, bool, bool, bool]:
    row = report[4]
    assert isinstance(row, LedgerRow)  # only reports of the batch are ranked
    return (
        row.idempotency_key.startswith("call:"),
        bool(row.cache_read_tokens or row.cache_write_5m_tokens or row.cache_write_1h_tokens),
        bool(row.cache_write_1h_tokens),
        bool(row.reasoning_tokens),
    )


def _maybe_zero_equal(a: int, b: int) -> bool:
    return a == b or not a or not b


def _same_report(a: _Report, b: _Report, b_producers: set[str] | None) -> bool:
    """Rule 3: ``a`` and ``b`` (of the same key) are two producers' reports of one call;
    ``b_producers``: the producers whose reports ``b`` already stands for."""
    if a[0] == b[0] or (b_producers is not None and a[0] in b_producers) or a[3] == b[3]:
        return False
    if a[1] > b[2] or b[1] > a[2]:
        return False  # they do not overlap in time
    (read, write, reasoning, workspace, work_item, user, provider, model, response_id) = _facts(
        a[4]
    )
    other = _facts(b[4])
    if (
        not _maybe_zero_equal(read, other[0])
        or not _maybe_zero_equal(write, other[1])
        or not _maybe_zero_equal(reasoning, other[2])
        or (workspace, work_item, user) != other[3:6]
    ):
        return False
    if response_id is not None and other[8] is not None and response_id != other[8]:
        return False
    return _same_names(provider, model, other[6], other[7])


def _same_names(
    provider: str | None, model: str | None, other_provider: str | None, other_model: str | None
) -> bool:
    if provider and other_provider and provider != other_provider:
        return False
    model, other_model = (model or "").lower(), (other_model or "").lower()
    return not model or not other_model or _same_family(model, other_model)


def _same_family(model: str, other: str) -> bool:
    # Prefix either way (a snapshot of the requested model), or one names the other inside a
    # longer id (Bedrock's "us.anthropic.claude-sonnet-4-5-20250929-v1:0" vs the model).
    return model.startswith(other) or other.startswith(model) or model in other or other in model


def drop_other_reports(calls: list[Call], recent: RecentCalls | None = None) -> list[Call]:
    """``calls`` without the other producers' reports of the same call (rule 3), within the
    batch and against the calls ``recent`` remembers from earlier batches."""
    groups: dict[_Key, list[_Report]] = {}
    for span, row, usable in calls:
        if not usable:
            continue
        key = (row.input_tokens, row.output_tokens, row.customer_id)
        start = span.start_time_ns
        end = span.end_time_ns
        report: _Report = (
            span.scope_name or "",
            start,
            end if end > start else start,
            (span.trace_id, span.span_id),
            row,
        )
        group = groups.get(key)
        if group is None:
            groups[key] = [report]
        else:
            group.append(report)
    dropped: set[tuple[int, int]] = set()
    if recent is None:
        for group in groups.values():
            if len(group) > 1:
                _resolve(group, [], {}, dropped, None)
    else:
        with recent.lock:
            for key, group in groups.items():
                earlier = recent.by_key.get(key)
                if earlier is None and len(group) == 1:
                    recent.add(key, group[0])  # the common case: no twin anywhere
                    continue
                kept = _resolve(group, earlier or [], recent.producers, dropped, recent)
                for report in kept:
                    recent.add(key, report)
    if not dropped:
        return calls
    return [call for call in calls if (call[0].trace_id, call[0].span_id) not in dropped]


def _resolve(
    group: list[_Report],
    earlier: list[_Report],
    producers: dict[tuple[int, int], set[str]],
    dropped: set[tuple[int, int]],
    recent: RecentCalls | None,
) -> list[_Report]:
    """The reports of ``group`` to keep (new calls); the others' ids go to ``dropped``.

    ``earlier``: reports written before (never dropped); ``producers``: for a kept report's
    ids, the producers whose reports it stands for (one report per producer pairs with it)."""
    kept: list[_Report] = []
    # The richest report of each call first, so that it is the one kept.
    group = sorted(group, key=_richness, reverse=True) if len(group) > 1 else group
    for report in group:
        ids = report[3]
        if recent is not None:
            twin_ids = recent.aliases.get(ids)
            if twin_ids is not None:  # dropped before and delivered again
                if twin_ids != ids:
                    dropped.add(ids)
                continue
        twin = None
        for other in (*earlier, *kept):
            if other[3] == ids:
                twin = other
                break
            if _same_report(report, other, producers.get(other[3])):
                twin = other
                break
        if twin is None:
            kept.append(report)
            continue
        if twin[3] == ids:
            continue  # this very span, written before (a retried batch): the key keeps it once
        producers.setdefault(twin[3], {twin[0]}).add(report[0])
        dropped.add(ids)
        if recent is not None:
            recent.alias(ids, twin[3])
    return kept


class RecentCalls:
    """The call reports one ingest process wrote most recently, for rule 3 across batches.

    Bounded to ``capacity`` reports (the oldest are forgotten first; about 600 bytes each, so
    ~12 MB at the default): twin reports of one call end within moments of each other and are
    exported within seconds, so only the recent past matters. Thread-safe through ``lock``,
    which :func:`drop_other_reports` holds.
    """

    def __init__(self, capacity: int = 20_000) -> None:
        self.capacity = capacity
        self.lock = threading.Lock()
        self.by_key: dict[_Key, list[_Report]] = {}
        # The ids of a report that stands for other producers' too -> those producers.
        self.producers: dict[tuple[int, int], set[str]] = {}
        # The ids of a report dropped as a twin -> the ids of the report kept.
        self.aliases: dict[tuple[int, int], tuple[int, int]] = {}
        self._order: deque[tuple[_Key, _Report]] = deque()
        self._alias_order: deque[tuple[int, int]] = deque()

    def add(self, key: _Key, report: _Report) -> None:
        # Only the facts are kept, not the row: a row is ten times their size.
        report = (report[0], report[1], report[2], report[3], _facts(report[4]))
        group = self.by_key.get(key)
        if group is None:
            self.by_key[key] = [report]
        else:
            group.append(report)
        order = self._order
        order.append((key, report))
        if len(order) > self.capacity:
            old_key, old = order.popleft()
            old_group = self.by_key[old_key]
            old_group.remove(old)
            if not old_group:
                del self.by_key[old_key]
            self.producers.pop(old[3], None)

    def alias(self, ids: tuple[int, int], twin: tuple[int, int]) -> None:
        if ids not in self.aliases:
            self.aliases[ids] = twin
            self._alias_order.append(ids)
            if len(self._alias_order) > self.capacity:
                self.aliases.pop(self._alias_order.popleft(), None)

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
from collections.abc import Mapping, Sequence

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


class _Report:
    """One call report as rule 3 compares it (kept in :class:`RecentCalls` across batches)."""

    __slots__ = ("end", "ids", "producers", "row", "scope", "start")

    def __init__(self, span: SpanData, row: LedgerRow) -> None:
        self.row = row
        self.scope = span.scope_name or ""
        self.start = span.start_time_ns
        self.end = max(span.end_time_ns, span.start_time_ns)
        self.ids = (span.trace_id, span.span_id)
        self.producers = {self.scope}  # the producers whose report of this call it stands for


def _response_id(row: LedgerRow) -> str | None:
    key = row.idempotency_key
    return key.split(":", 2)[2] if key.startswith("call:") else None


def _richness(row: LedgerRow) -> tuple[bool, bool, bool, bool, bool]:
    return (
        row.idempotency_key.startswith("call:"),
        bool(row.cache_read_tokens or row.cache_write_5m_tokens or row.cache_write_1h_tokens),
        bool(row.cache_write_1h_tokens),
        bool(row.reasoning_tokens),
        row.customer_id is not None,
    )


def _maybe_zero_equal(a: int, b: int) -> bool:
    return a == b or not a or not b


def _same_report(a: _Report, b: _Report) -> bool:
    """Rule 3: ``a`` and ``b`` are two producers' reports of one call."""
    if a.scope in b.producers or b.scope in a.producers or a.ids == b.ids:
        return False
    if a.start > b.end or b.start > a.end:
        return False
    row, other = a.row, b.row
    if (
        row.input_tokens != other.input_tokens
        or row.output_tokens != other.output_tokens
        or not _maybe_zero_equal(row.cache_read_tokens, other.cache_read_tokens)
        or not _maybe_zero_equal(
            row.cache_write_5m_tokens + row.cache_write_1h_tokens,
            other.cache_write_5m_tokens + other.cache_write_1h_tokens,
        )
        or not _maybe_zero_equal(row.reasoning_tokens, other.reasoning_tokens)
        or row.customer_id != other.customer_id
        or row.workspace_id != other.workspace_id
        or row.work_item_id != other.work_item_id
        or row.user_id != other.user_id
    ):
        return False
    first, second = _response_id(row), _response_id(other)
    if first is not None and second is not None and first != second:
        return False
    return _same_names(row, other)


def _same_names(row: LedgerRow, other: LedgerRow) -> bool:
    provider, other_provider = row.provider, other.provider
    if provider and other_provider and provider != other_provider:
        return False
    model, other_model = (row.model or "").lower(), (other.model or "").lower()
    return not model or not other_model or _same_family(model, other_model)


def _same_family(model: str, other: str) -> bool:
    # Prefix either way (a snapshot of the requested model), or one names the other inside a
    # longer id (Bedrock's "us.anthropic.claude-sonnet-4-5-20250929-v1:0" vs the model).
    return model.startswith(other) or other.startswith(model) or model in other or other in model


def drop_other_reports(calls: list[Call], recent: RecentCalls | None = None) -> list[Call]:
    """``calls`` without the other producers' reports of the same call (rule 3), within the
    batch and against the calls ``recent`` remembers from earlier batches."""
    usable = [call for call in calls if call[2]]
    if not usable or (len(usable) < 2 and recent is None):
        return calls
    by_counts: dict[tuple[int, int], list[_Report]] = {}
    dropped: set[tuple[int, int]] = set()
    # The richest report of each call first, so that it is the one kept.
    ordered = sorted(usable, key=lambda call: _richness(call[1]), reverse=True)
    kept: list[_Report] = []
    aliases: list[tuple[tuple[int, int], _Report]] = []  # a dropped report -> the one kept
    with recent.lock if recent is not None else _NO_LOCK:
        for span, row, _ in ordered:
            report = _Report(span, row)
            counts = (row.input_tokens, row.output_tokens)
            twin = None
            candidates = by_counts.get(counts, ())
            for other in candidates:
                if _same_report(report, other):
                    twin = other
                    break
            if twin is None and recent is not None:
                twin = recent.find(report)
                if twin is not None and twin.ids == report.ids:
                    continue  # this very span, written before (a retried batch)
            if twin is not None:
                twin.producers.add(report.scope)
                dropped.add(report.ids)
                aliases.append((report.ids, twin))
                continue
            by_counts.setdefault(counts, []).append(report)
            kept.append(report)
        if recent is not None:
            recent.remember(kept, aliases)
    if not dropped:
        return calls
    return [call for call in calls if (call[0].trace_id, call[0].span_id) not in dropped]


class _NoLock:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


_NO_LOCK = _NoLock()


class RecentCalls:
    """The call reports one ingest process wrote most recently, for rule 3 across batches.

    Bounded to ``capacity`` reports (the oldest are forgotten first): twin reports of one call
    end within moments of each other, so only the recent past matters. Thread-safe.
    """

    def __init__(self, capacity: int = 50_000) -> None:
        self.capacity = capacity
        self.lock = threading.Lock()
        self._order: deque[_Report] = deque()
        self._by_counts: dict[tuple[int, int], list[_Report]] = {}
        self._by_ids: dict[tuple[int, int], _Report] = {}  # also the ids of dropped twins
        self._aliases: deque[tuple[int, int]] = deque()

    def find(self, report: _Report) -> _Report | None:
        """A remembered report of the same call (or this very span), else ``None``."""
        same = self._by_ids.get(report.ids)
        if same is not None:
            return same
        for other in self._by_counts.get((report.row.input_tokens, report.row.output_tokens), ()):
            if _same_report(report, other):
                return other
        return None

    def remember(
        self,
        reports: list[_Report],
        aliases: Sequence[tuple[tuple[int, int], _Report]] = (),
    ) -> None:
        """Remember ``reports`` (written) and the spans dropped as their twins (``aliases``:
        a span delivered again is dropped again)."""
        for report in reports:
            if report.ids in self._by_ids:
                continue
            self._order.append(report)
            self._by_ids[report.ids] = report
            counts = (report.row.input_tokens, report.row.output_tokens)
            self._by_counts.setdefault(counts, []).append(report)
        for ids, twin in aliases:
            if ids not in self._by_ids:
                self._aliases.append(ids)
                self._by_ids[ids] = twin
        while len(self._order) > self.capacity:
            old = self._order.popleft()
            if self._by_ids.get(old.ids) is old:
                del self._by_ids[old.ids]
            counts = (old.row.input_tokens, old.row.output_tokens)
            bucket = self._by_counts[counts]
            bucket.remove(old)
            if not bucket:
                del self._by_counts[counts]
        while len(self._aliases) > self.capacity:
            self._by_ids.pop(self._aliases.popleft(), None)

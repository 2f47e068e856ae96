"""One call, one row: dropping the outer reports of a call that a nested span also reports.

Several producers can report the same call: OpenLLMetry's span around the SDK's own span, our
span around the SDK's, and so on — always nested in the same trace. Two rules make exactly one
of them count, and both work across export batches and across exporters (in process and
``costledger serve``):

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

Within a batch the innermost report wins (the SDK's span or ours: it has the most detail, e.g.
the 1-hour cache split); across batches the first written wins, which is also the innermost,
because a child span ends — and is exported — before its parent. What the rules cannot see:
two nested reports WITHOUT a response id that land in different batches count twice.
"""

from __future__ import annotations

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

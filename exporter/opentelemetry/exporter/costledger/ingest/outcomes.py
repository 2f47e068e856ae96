"""``record_outcome`` spans to :class:`~..ledger.outcomes.OutcomeRow`: :func:`outcome_row`.

A span with ``costledger.outcome.success`` (a bool) is an outcome, never a cost row. It needs a
``work_item.id``; ``costledger.outcome.value`` (decimal text, USD) is optional. Its agent and
feature are the span's (``gen_ai.agent.name``, ``costledger.feature``). The idempotency key is
the span's: ``outcome:<trace id>:<span id>``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation

from opentelemetry.instrumentation.costledger import attributes as A
from opentelemetry.instrumentation.costledger.money import NANOS_PER_USD

from ..ledger.outcomes import OutcomeRow
from .producers import attribution, text
from .spans import SpanData

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def outcome_row(span: SpanData) -> OutcomeRow | str:
    """The outcome a span records, or why it cannot be stored."""
    attrs = span.attributes
    success = attrs.get(A.OUTCOME_SUCCESS)
    if type(success) is not bool:
        return f"{A.OUTCOME_SUCCESS} is not true or false ({success!r})"
    work_item = attribution(attrs.get(A.WORK_ITEM_ID))
    if work_item is None:
        return f"an outcome needs {A.WORK_ITEM_ID}"
    value_nanos = None
    value = attrs.get(A.OUTCOME_VALUE)
    if value is not None:
        try:
            exact = Decimal(str(value)) * NANOS_PER_USD
        except InvalidOperation:
            return f"{A.OUTCOME_VALUE} is not a number ({value!r})"
        if not exact.is_finite() or exact != exact.to_integral_value():
            return f"{A.OUTCOME_VALUE} {value!r} is not a whole number of nano-dollars"
        value_nanos = int(exact)
    start = span.start_time_ns
    trace_hex = f"{span.trace_id:032x}"
    span_hex = f"{span.span_id:016x}"
    return OutcomeRow(
        idempotency_key=f"outcome:{trace_hex}:{span_hex}",
        timestamp=_EPOCH + timedelta(microseconds=start // 1000),
        work_item_id=work_item,
        success=success,
        customer_id=attribution(attrs.get(A.CUSTOMER_ID)),
        agent=text(attrs, A.GEN_AI_AGENT_NAME),
        feature=text(attrs, A.FEATURE),
        value_nanos=value_nanos,
        trace_id=trace_hex,
        span_id=span_hex,
    )

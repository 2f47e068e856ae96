"""The protobuf decoder against a plain reference: the stock ``opentelemetry-proto`` parse, read
field by field. Random requests (ids valid or not, attributes of every value type, empty
values, repeated keys and values, cost and attribution keys, several resources and scopes)
must give the same spans, kept attributes, refusals, counts and identity."""

from __future__ import annotations

import random
from collections import Counter
from typing import Any

import pytest
from opentelemetry.exporter.costledger.ingest.serve import Limits, decode_protobuf
from opentelemetry.exporter.costledger.ingest.serve.decoded import (
    COST_PREFIXES,
    KEPT_KEYS,
    count_key,
    identity_key,
    today,
)
from opentelemetry.exporter.costledger.ingest.serve.otlp_proto import any_value
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

LIMITS = Limits(max_attribute_length=8, max_array_items=2, max_depth=2)
KEYS = [
    "customer.id",
    "work_item.id",
    "service.name",
    "http.route",
    "url.full",
    "gen_ai.usage.input_tokens",
    "gen_ai.response.id",
    "llm.usage.total_tokens",
    "costledger.cost.category",
    "x",
]


def _value(rnd: random.Random, value: Any, depth: int = 0) -> None:
    r = rnd.random()
    if r < 0.35:
        value.string_value = rnd.choice(["a", "acme", "", "é", "x" * 20, str(rnd.randint(0, 3))])
    elif r < 0.55:
        value.int_value = rnd.choice([0, 1, -5, 10, 2**40])
    elif r < 0.6:
        value.bool_value = rnd.random() < 0.5
    elif r < 0.65:
        value.double_value = rnd.choice([0.0, 1.0, -2.25])
    elif r < 0.7:
        value.bytes_value = rnd.choice([b"", b"\x00\x01"])
    elif r < 0.8 and depth < 4:
        for _ in range(rnd.randint(0, 3)):
            _value(rnd, value.array_value.values.add(), depth + 1)
    elif r < 0.9 and depth < 4:
        for _ in range(rnd.randint(0, 3)):
            _value(rnd, value.kvlist_value.values.add(key=rnd.choice(KEYS)).value, depth + 1)
    # else: an empty AnyValue, which is dropped


def _request(rnd: random.Random) -> bytes:
    request = ExportTraceServiceRequest()
    for _ in range(rnd.randint(1, 2)):
        resource_spans = request.resource_spans.add()
        for _ in range(rnd.randint(0, 2)):
            _value(rnd, resource_spans.resource.attributes.add(key=rnd.choice(KEYS)).value)
        for _ in range(rnd.randint(1, 2)):
            scope_spans = resource_spans.scope_spans.add()
            scope_spans.scope.name = rnd.choice(["", "lib"])
            for _ in range(rnd.randint(0, 8)):
                span = scope_spans.spans.add(
                    trace_id=rnd.choice([b"", bytes(16), rnd.randbytes(16), rnd.randbytes(5)]),
                    span_id=rnd.choice([bytes(8), rnd.randbytes(8), rnd.randbytes(8), b"\x01"]),
                    parent_span_id=rnd.choice([b"", b"", rnd.randbytes(8), b"\x01\x02"]),
                    name=rnd.choice(["n", "x" * 30]),
                    kind=rnd.randint(-1, 7),
                    start_time_unix_nano=rnd.choice(
                        [0, 1_700_000_000 * 10**9 + rnd.randint(0, 10**14)]
                    ),
                    end_time_unix_nano=rnd.randint(0, 2**64 - 1),
                )
                span.status.code = rnd.choice([0, 1, 2, 0, 5])
                if rnd.random() < 0.2:
                    span.status.message = "failed"
                for _ in range(rnd.randint(0, 6)):
                    _value(rnd, span.attributes.add(key=rnd.choice(KEYS)).value)
    return request.SerializeToString()


def _attributes(key_values: Any) -> dict[str, Any]:
    result = {}
    for kv in key_values:
        value = any_value(kv.value, LIMITS, 0)
        if value is not None:
            result[kv.key] = value
    return result


def _reference(data: bytes) -> tuple[list[tuple[Any, ...]], int, Counter[Any], bytes]:
    spans, invalid, counts, identities = [], 0, Counter[Any](), []
    for resource_spans in ExportTraceServiceRequest.FromString(data).resource_spans:
        resource = _attributes(resource_spans.resource.attributes)
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                attributes = _attributes(span.attributes)
                start = span.start_time_unix_nano
                counts[count_key(attributes, resource, start, today())] += 1
                trace_id = int.from_bytes(span.trace_id) if len(span.trace_id) == 16 else 0
                span_id = int.from_bytes(span.span_id) if len(span.span_id) == 8 else 0
                identities.append(identity_key(trace_id, span_id, start))
                if not (trace_id and span_id and len(span.parent_span_id) in (0, 8)):
                    invalid += 1
                    continue
                if not any(key.startswith(COST_PREFIXES) for key in attributes):
                    attributes = {k: v for k, v in attributes.items() if k in KEPT_KEYS}
                kind = {0: 0, 1: 0, 2: 1, 3: 2, 4: 3, 5: 4}.get(span.kind, 0)
                code = span.status.code if span.status.code in (0, 1, 2) else 0
                parent = int.from_bytes(span.parent_span_id) or None
                spans.append(
                    (trace_id, span_id, parent, span.name[:8], kind, start,
                     span.end_time_unix_nano, attributes, resource, code,
                     scope_spans.scope.name or None)
                )  # fmt: skip
    return spans, invalid, counts, b"".join(sorted(identities))


@pytest.mark.parametrize("seed", range(4))
def test_protobuf_decoder_matches_the_reference(seed: int) -> None:
    rnd = random.Random(seed)
    for _ in range(250):
        data = _request(rnd)
        spans, invalid, counts, identities = _reference(data)
        decoded = decode_protobuf(data, LIMITS)
        assert [
            (s.trace_id, s.span_id, s.parent_span_id, s.name, s.kind, s.start_time_ns,
             s.end_time_ns, dict(s.attributes), dict(s.resource_attributes), s.status_code,
             s.scope_name)
            for s in decoded.spans
        ] == spans  # fmt: skip
        assert len(decoded.invalid) == invalid
        assert decoded.counts == counts
        assert b"".join(sorted(decoded.identities)) == identities

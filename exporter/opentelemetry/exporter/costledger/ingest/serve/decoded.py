"""What an OTLP trace request decodes into, shared by the protobuf and the JSON decoders.

A request decodes into a :class:`DecodedRequest`: the spans that can go on (``spans``), the spans
that cannot (``invalid``, each with the reason) and, for the driver counts, one
:class:`CountKey` per span received (valid or not). A request that cannot be read at all raises
:class:`DecodeError`, which the servers answer with ``INVALID_ARGUMENT`` / HTTP 400; one bad span
never costs the good spans of the same request.

Attribute values are capped here, before anything is stored: prompts and completions can be
megabytes (``gen_ai.input.messages``), and the ledger needs none of that. Strings and bytes are
cut to :attr:`Limits.max_attribute_length`, sequences to :attr:`Limits.max_array_items`, nested
maps (OTLP ``kvlistValue``) to :attr:`Limits.max_depth` levels.
"""

from __future__ import annotations

import functools
import hashlib
import struct
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, NamedTuple

from opentelemetry.instrumentation.costledger.attributes import (
    ATTRIBUTION_KEYS,
    CUSTOMER_ID,
    SERVICE_NAME,
)

from ...ledger.storable import fit_text
from ..spans import SpanData

# A span can become a ledger row only with an attribute under one of these prefixes (token usage
# is gen_ai.usage.* or llm.usage.*, a cost event costledger.cost.*: see convert.py). The
# protobuf decoder keeps all attributes of such spans, and only the attribution keys of the
# others (plain HTTP or database spans, most of a trace): that is all counting needs, and
# the converter skips those spans after a few dictionary lookups.
COST_PREFIXES = ("gen_ai.", "llm.", "costledger.")
KEPT_KEYS = frozenset(ATTRIBUTION_KEYS)

TRACE_ID_BYTES = 16
SPAN_ID_BYTES = 8
_U64 = 0xFFFFFFFFFFFFFFFF


class DecodeError(ValueError):
    """The request as a whole cannot be read (not OTLP, truncated, wrong shape)."""


@dataclass(frozen=True, slots=True)
class Limits:
    """Caps applied to attribute values before storage, and to the spans of one request.

    ``max_spans`` bounds what decoding a request costs in memory: a decoded span takes several
    hundred bytes as Python objects however small it was on the wire (a request of many tiny
    spans grew 20 times its size), so the receiver refuses a request of more spans (413 /
    RESOURCE_EXHAUSTED) before it decodes them. ``None``: no limit (``costledger ingest``).
    """

    max_attribute_length: int = 4096
    max_array_items: int = 256
    max_depth: int = 4
    max_spans: int | None = None


DEFAULT_LIMITS = Limits()
DEFAULT_MAX_SPANS = 16_384  # the receiver's; 8 times the batch otelcol.yaml sends


class CountKey(NamedTuple):
    """Where one received span is counted in ``span_counts`` (a tuple: cheap to hash)."""

    day: date
    customer_id: str | None
    service: str | None


@dataclass(slots=True)
class DecodedRequest:
    """The spans of one export request, sorted into usable and unusable."""

    spans: list[SpanData] = field(default_factory=list)
    invalid: list[str] = field(default_factory=list)  # one reason per span that was refused
    counts: dict[CountKey, int] = field(default_factory=dict)
    # identity_key(trace_id, span_id, start_time_ns) of every span received (see identity())
    identities: list[bytes] = field(default_factory=list)
    # (decompressed body, "protobuf" or "json"): what a spool keeps (see spool.py)
    source: tuple[bytes, str] | None = None

    @property
    def received(self) -> int:
        return len(self.spans) + len(self.invalid)

    def count(self, key: CountKey, spans: int = 1) -> None:
        counts = self.counts
        counts[key] = counts.get(key, 0) + spans

    def extend(self, other: DecodedRequest) -> None:
        self.spans.extend(other.spans)
        self.invalid.extend(other.invalid)
        self.identities.extend(other.identities)
        for key, n in other.counts.items():
            self.counts[key] = self.counts.get(key, 0) + n

    def identity(self) -> bytes:
        """A digest of the spans this request carries, independent of their order.

        A retried request (timeout, lost answer, the Collector's persistent queue) carries the
        same spans, so it has the same identity: that is what keeps the driver counts from
        counting it twice. The same batch arriving as protobuf over gRPC and as a JSON line of
        the Collector's ``file`` exporter has the same identity too.
        """
        return hashlib.blake2b(b"".join(sorted(self.identities)), digest_size=20).digest()


_PACK_IDENTITY = struct.Struct(">QQQQ").pack


def identity_key(trace_id: int, span_id: int, start_time_ns: int) -> bytes:
    """One span's part of its request's identity: 32 bytes that sort like the three numbers."""
    return _PACK_IDENTITY(trace_id >> 64, trace_id & _U64, span_id & _U64, start_time_ns & _U64)


def count_key(
    attributes: Any, resource_attributes: Any, start_time_ns: int, fallback_day: date
) -> CountKey:
    """The ``span_counts`` row a span belongs to: its UTC day, customer and service."""
    customer = attributes.get(CUSTOMER_ID) if attributes else None
    if customer is None and resource_attributes:
        customer = resource_attributes.get(CUSTOMER_ID)
    service = resource_attributes.get(SERVICE_NAME) if resource_attributes else None
    day = utc_day(start_time_ns) if start_time_ns > 0 else fallback_day
    return CountKey(day, short_str(customer), short_str(service))


NS_PER_DAY = 86_400 * 1_000_000_000
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
_MAX_ORDINAL = date.max.toordinal()


@functools.lru_cache(maxsize=64)
def epoch_day(days_since_epoch: int) -> date:
    """The date ``days_since_epoch`` days after 1970-01-01 (cached: spans of a batch share one)."""
    return date.fromordinal(min(_EPOCH_ORDINAL + days_since_epoch, _MAX_ORDINAL))


def utc_day(time_ns: int) -> date:
    """The UTC date of a Unix time in nanoseconds."""
    return epoch_day(time_ns // NS_PER_DAY)


COUNT_TEXT_WIDTH = 200  # span_counts.customer_id and .service, as ledger_entries' columns


def short_str(value: Any) -> str | None:
    """A count key's text: ``str`` of the attribute value, fitted to its column as the ledger
    row's is (:func:`~...ledger.storable.fit_text`), so that counts and rows match."""
    if value is None:
        return None
    text = value if isinstance(value, str) else str(value)
    if len(text) <= COUNT_TEXT_WIDTH and text.isascii() and "\0" not in text:
        return text
    return fit_text(text, COUNT_TEXT_WIDTH)


def today() -> date:
    return datetime.now(UTC).date()


def cap_string(value: str, limits: Limits) -> str:
    return (
        value if len(value) <= limits.max_attribute_length else value[: limits.max_attribute_length]
    )


def cap_bytes(value: bytes, limits: Limits) -> bytes:
    return (
        value if len(value) <= limits.max_attribute_length else value[: limits.max_attribute_length]
    )

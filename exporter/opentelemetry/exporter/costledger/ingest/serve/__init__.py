"""``costledger serve``: an OTLP receiver that loses nothing and counts nothing twice.

It sits behind the OpenTelemetry Collector (``collector-config/``), which fans traces out to
Jaeger and to this receiver. It takes OTLP/gRPC (``TraceService/Export``) and OTLP/HTTP
(``POST /v1/traces``, protobuf or JSON, gzip), turns LLM-call and cost spans into ledger rows,
counts every span per customer and day (``span_counts``, the allocation driver), and answers
the way the OTLP specification tells senders to act on: success only once committed,
``partial_success`` for spans it cannot use, "retry later" (gRPC ``UNAVAILABLE`` with
``RetryInfo``, HTTP 503 with ``Retry-After``) whenever waiting may help.

Modules, in the order a request meets them:

- :mod:`.config` — :class:`ServeConfig` (what ``serve`` can be told: endpoints, TLS, limits).
- :mod:`.server` — :class:`Receiver` (start/stop), :func:`run` (the CLI's); :mod:`.database` —
  the ledger opened with timeouts, so "too slow" is a retryable answer.
- :mod:`.grpc_server`, :mod:`.http_server` — the two transports.
- :mod:`.auth` — optional bearer token (compatible with the Collector's ``bearertokenauth``).
- :mod:`.service` — admission (bounded concurrency), decoding, storing; the answer table.
- :mod:`.body` — gzip/deflate with the size limit applied after decompression.
- :mod:`.otlp_proto`, :mod:`.otlp_json` — OTLP into :class:`~..spans.SpanData`, per-span
  validation, attribute values capped (:mod:`.decoded`).
- :mod:`.sink` — rows (idempotent by span) and counts (:mod:`.counts`, idempotent by request).
- :mod:`.metrics` — counters, Prometheus text at ``GET /metrics``.
- ``GET /v1/budgets`` (``serve --budgets``): the budget guard's snapshot, from a callable the CLI
  hands in (the jobs compute it; this package never imports them), see :mod:`.http_server`.
- :mod:`.backfill` — ``costledger ingest``: the Collector ``file`` exporter's output, same path.
"""

from .config import ServeConfig
from .decoded import DecodedRequest, DecodeError, Limits
from .otlp_json import decode_json
from .otlp_proto import decode_protobuf
from .server import Receiver, run

__all__ = [
    "DecodeError",
    "DecodedRequest",
    "Limits",
    "Receiver",
    "ServeConfig",
    "decode_json",
    "decode_protobuf",
    "run",
]

"""The receiver's counters, served as Prometheus text at ``GET /metrics`` on the HTTP port.

Every counter is cumulative since the process started (``_total``); label ``transport`` is
``grpc`` or ``http``. Scrape it with Prometheus, or with the Collector's ``prometheus``
receiver. The counters:

``costledger_receiver_requests_total{transport,outcome}``
    export requests answered, by outcome: ``ok``, ``partial`` (some spans refused),
    ``invalid`` (undecodable, 400 / INVALID_ARGUMENT), ``too_large`` (413 /
    RESOURCE_EXHAUSTED), ``unauthenticated`` (401 / UNAUTHENTICATED), ``unavailable``
    (503 / UNAVAILABLE: the sender retries).
``costledger_receiver_spans_received_total``
    spans in requests that were decoded (each retry counts again).
``costledger_receiver_rows_written_total``
    ledger rows inserted.
``costledger_receiver_duplicates_total``
    rows already in the ledger (a retried request) or the same call reported twice.
``costledger_receiver_spans_rejected_total``
    spans refused (reported to the sender in ``partial_success``).
``costledger_receiver_spans_ignored_total``
    spans that are not cost events (HTTP, database, agent spans ...): counted, no row.
``costledger_receiver_retryable_refusals_total{reason}``
    requests refused with "retry later", by reason: ``database`` (down, locked, too slow),
    ``overloaded`` (the bounded queue was full), ``shutting_down``, ``internal`` (a bug, logged).
``costledger_receiver_auth_failures_total{transport}``
    requests refused for a missing or wrong bearer token (each is also logged).
``costledger_receiver_requests_in_flight``
    gauge: requests being processed now.
``costledger_receiver_spooled_requests_total``
    requests acknowledged from the spool (``--spool``) while the database was away.
``costledger_receiver_http_connections``
    gauge: HTTP connections open now (at most 256; more are answered 503).
"""

from __future__ import annotations

import threading
from collections import defaultdict

_HELP = {
    "costledger_receiver_requests_total": "Export requests answered, by transport and outcome.",
    "costledger_receiver_spans_received_total": "Spans in decoded export requests.",
    "costledger_receiver_rows_written_total": "Ledger rows inserted.",
    "costledger_receiver_duplicates_total": "Rows already recorded (retries, repeated reports).",
    "costledger_receiver_spans_rejected_total": "Spans refused (reported in partial_success).",
    "costledger_receiver_spans_ignored_total": "Spans that are not cost events (no ledger row).",
    "costledger_receiver_retryable_refusals_total": "Requests answered 'retry later', by reason.",
    "costledger_receiver_auth_failures_total": "Requests refused for a missing or wrong token.",
    "costledger_receiver_requests_in_flight": "Export requests being processed now.",
    "costledger_receiver_http_connections": "HTTP connections open now.",
    "costledger_receiver_spooled_requests_total": "Requests acknowledged from the spool.",
}
_LABELLED = frozenset(
    {
        "costledger_receiver_requests_total",
        "costledger_receiver_retryable_refusals_total",
        "costledger_receiver_auth_failures_total",
    }
)
_GAUGES = frozenset(
    {"costledger_receiver_requests_in_flight", "costledger_receiver_http_connections"}
)

Labels = tuple[tuple[str, str], ...]


class Metrics:
    """Thread-safe counters of one receiver."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: dict[str, dict[Labels, int]] = defaultdict(dict)
        for name in _HELP.keys() - _LABELLED:
            self._values[name][()] = 0  # shown as 0 before the first event

    def add(self, name: str, amount: int = 1, **labels: str) -> None:
        key = tuple(sorted(labels.items()))
        with self._lock:
            series = self._values[name]
            series[key] = series.get(key, 0) + amount

    def value(self, name: str, **labels: str) -> int:
        """The current value of one series (0 if never incremented)."""
        with self._lock:
            return self._values.get(name, {}).get(tuple(sorted(labels.items())), 0)

    def total(self, name: str) -> int:
        """The sum of a counter over all its labels."""
        with self._lock:
            return sum(self._values.get(name, {}).values())

    def render(self) -> str:
        """Prometheus text exposition format 0.0.4."""
        lines: list[str] = []
        with self._lock:
            snapshot = {name: dict(series) for name, series in self._values.items()}
        for name in sorted(snapshot):
            lines.append(f"# HELP {name} {_HELP.get(name, name)}")
            lines.append(f"# TYPE {name} {'gauge' if name in _GAUGES else 'counter'}")
            for labels, value in sorted(snapshot[name].items()):
                if labels:
                    text = ",".join(f'{k}="{_escape(v)}"' for k, v in labels)
                    lines.append(f"{name}{{{text}}} {value}")
                else:
                    lines.append(f"{name} {value}")
        return "\n".join(lines) + "\n"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")

"""The Anthropic and OpenAI HTTP APIs, answered in process like the real ones: the one fake.

The demo, the tests and the benchmarks run the real ``anthropic`` and ``openai`` SDKs against
:class:`FakeAnthropic` / :class:`FakeOpenAI`, each the handler of an ``httpx2.MockTransport``
(``fake.transport()``, or ``fake.client()`` / ``fake.async_client()`` for an SDK client on it), so
every SDK code path (request building, retries, response parsing, SSE decoding, the stream
helpers) runs for real and only the network is replaced. Every body and SSE event validates
against the SDKs' own response models (``tests/e2e/test_demo_mock_api.py``).

What a fake offers, beside the API's shapes (documented in :mod:`.anthropic` and :mod:`.openai`):

- ``usage`` (a :class:`UsageSpec`), ``text`` (the reply, in its stream pieces) and
  ``snapshots`` (the dated model an answer names) may be changed between calls;
- ``fail_next(Failure(status))`` answers the next request with that HTTP error in the
  provider's envelope, ``Failure(None)`` with a connection error; ``stream_error_after`` /
  ``stream_break_after`` end a stream with the API's ``error`` event or a dropped connection;
- ``requests`` (every ``httpx2.Request``), ``bodies``, ``last_body``, ``paths``, ``headers``,
  ``bodies_sent`` (the SSE bodies, to see that they were closed);
- ids fixed and counted (:class:`Ids`) or random but repeatable per seed (:class:`SeededIds`,
  the demo's); :func:`serve` puts a fake behind real HTTP on 127.0.0.1 for a subprocess.

Modules: :mod:`.shared` (the base, failures, ids, SSE bodies, the HTTP server),
:mod:`.anthropic`, :mod:`.openai` (chat, embeddings), :mod:`.openai_responses`,
:mod:`.openai_rules`. Imports only ``httpx2`` (the SDKs lazily, for ``client()``).

May import only the standard library and ``httpx2`` (no stage of the exporter, no SDK, not the
rest of the demo): the tests and the benchmarks import it without the demo's runner.
"""

from __future__ import annotations

from .anthropic import FakeAnthropic
from .openai import FakeOpenAI
from .shared import EventBody, Failure, FakeAPI, Ids, SeededIds, UsageSpec, serve

__all__ = [
    "EventBody",
    "Failure",
    "FakeAPI",
    "FakeAnthropic",
    "FakeOpenAI",
    "Ids",
    "SeededIds",
    "UsageSpec",
    "serve",
]

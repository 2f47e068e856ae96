"""The demo's provider APIs: the fake Anthropic and OpenAI APIs, answering the planned calls.

:class:`MockProviders` is the handler of an ``httpx2.MockTransport``; the demo gives the real
``anthropic.Anthropic`` and ``openai.OpenAI`` clients ``http_client=httpx2.Client(transport=...)``.
Before each SDK call the app tells it which :class:`~.plan.PlannedCall` comes next
(:meth:`MockProviders.expect`); it checks the request against the plan (provider, model,
streaming) and has :mod:`.fake_providers` answer it with the planned usage, text and model, so
what reached the ledger can be compared with what was sent. A planned rate limit answers the
first attempt with the API's 429 (with a short ``retry-after-ms``, which both SDKs honour) and the
SDK's retry with the call. A call planned to fail gets the API's ``error`` event mid-stream; one
planned to be truncated gets the ``length`` finish reason. Ids are random but repeatable per
seed, as the ledger rows carry them.
"""

from __future__ import annotations

import json
import threading

import httpx2

from .fake_providers import Failure, FakeAnthropic, FakeOpenAI, SeededIds, UsageSpec
from .fake_providers.shared import FakeAPI
from .plan import PlannedCall

ANTHROPIC_HOST = "api.anthropic.com"
OPENAI_HOST = "api.openai.com"
_OPENAI_PATHS = ("/v1/chat/completions", "/v1/embeddings")


class MockProviders:
    """Answers Anthropic and OpenAI API requests with the planned call's response."""

    def __init__(self, seed: int | str = 0) -> None:
        ids = SeededIds(seed)
        self.anthropic = FakeAnthropic(ids=ids, record=False)
        self.openai = FakeOpenAI(ids=ids, record=False, dimensions=1536)
        self._lock = threading.Lock()
        self._next: PlannedCall | None = None
        self.served = 0
        self.rate_limited = 0  # 429 answers sent (each followed by a served retry)
        self._limited = False
        self.problems: list[str] = []  # requests that did not match the plan (a demo bug)

    def expect(self, call: PlannedCall) -> None:
        """The next request must be ``call``; it is answered with its planned usage."""
        with self._lock:
            self._next = call

    def transport(self) -> httpx2.MockTransport:
        return httpx2.MockTransport(self.handle)

    def handle(self, request: httpx2.Request) -> httpx2.Response:
        host, path = request.url.host, request.url.path
        fake: FakeAPI | None = None
        if host == ANTHROPIC_HOST and path == "/v1/messages":
            fake = self.anthropic
        elif host == OPENAI_HOST and path in _OPENAI_PATHS:
            fake = self.openai
        try:
            body = json.loads(request.content or b"{}")
        except ValueError:
            return self._problem(request, f"request body is not JSON: {request.content[:80]!r}")
        with self._lock:
            call, self._next = self._next, None
            if fake is not None and call is not None and call.rate_limited and not self._limited:
                # Answer this attempt with 429 and keep the call for the SDK's retry.
                self._limited, self._next = True, call
                self.rate_limited += 1
                fake.fail_next(_rate_limit(fake, call))
                return fake.handler(request)
            self._limited = False
            if call is None:
                return self._problem(request, f"unplanned request {request.method} {request.url}")
            if fake is None:
                return self._problem(request, f"no mock for {request.method} {request.url}")
            provider = "anthropic" if fake is self.anthropic else "openai"
            mismatch = _mismatch(call, provider, body)
            if mismatch:
                return self._problem(request, mismatch)
            fake.usage = _spec(call)  # type: ignore[attr-defined]
            fake.text = (call.output_text,)  # type: ignore[attr-defined]
            fake.snapshots = {call.request_model or "": call.model or ""}  # type: ignore[attr-defined]
            # A planned failure: the API's ``error`` event after a few deltas of the stream.
            fake.stream_error_after = 2 if call.fate == "failed" else None
            if isinstance(fake, FakeOpenAI):
                fake.finish_reason = "length" if call.fate == "truncated" else "stop"
            response = fake.handler(request)
            if response.status_code == 200:
                self.served += 1
            return response

    def _problem(self, request: httpx2.Request, problem: str) -> httpx2.Response:
        self.problems.append(problem)
        fake: FakeAPI = self.anthropic if request.url.host == ANTHROPIC_HOST else self.openai
        return fake.error(Failure(400, f"demo mock: {problem}", "invalid_request_error"))


def _rate_limit(fake: FakeAPI, call: PlannedCall) -> Failure:
    headers = {"retry-after-ms": "20", "retry-after": "1", "x-should-retry": "true"}
    if isinstance(fake, FakeAnthropic):
        message = (
            "This request would exceed the rate limit for your organization of 400,000 input"
            " tokens per minute. For details, refer to: https://docs.claude.com/en/api/rate-limits."
        )
        return Failure(429, message, "rate_limit_error", headers=headers)
    message = (
        f"Rate limit reached for {call.request_model} on tokens per min (TPM): Limit 200000,"
        f" Used 199412, Requested {call.usage.input_tokens}. Please try again in 20ms."
    )
    return Failure(429, message, "tokens", code="rate_limit_exceeded", headers=headers)


def _spec(call: PlannedCall) -> UsageSpec:
    usage = call.usage
    return UsageSpec(
        input_tokens=usage.input_tokens,
        cached_tokens=usage.cache_read_tokens,
        cache_write_tokens=usage.cache_write_tokens,
        cache_write_1h_tokens=usage.cache_write_1h_tokens,
        output_tokens=usage.output_tokens,
        reasoning_tokens=usage.reasoning_tokens,
    )


def _mismatch(call: PlannedCall, provider: str, body: dict[str, object]) -> str | None:
    if call.provider != provider:
        return f"expected a {call.provider} call ({call.kind}), got a {provider} request"
    if body.get("model") != call.request_model:
        return f"expected model {call.request_model!r}, got {body.get('model')!r}"
    if bool(body.get("stream")) != call.stream:
        return f"expected stream={call.stream}, got stream={bool(body.get('stream'))}"
    return None

"""The four Bedrock Runtime model calls: what each request is, and reading each answer.

``OPERATIONS`` maps botocore's operation name to its :class:`Operation`: ``request(params)``
describes the call from its API parameters (``modelId``: the model, inference profile or ARN
that Bedrock bills, kept as the request model and never replaced by the answer's; the span is
priced on it), ``result(call, parsed)`` records the parsed answer and ends the call, or wraps
the answer's event stream (``stream`` for ConverseStream, ``body`` for
InvokeModelWithResponseStream) so that the call ends when the stream does. An InvokeModel body
is read here (the caller gets an unread copy of the same bytes).
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Final

from opentelemetry.util.types import AttributeValue

from .. import attributes as A
from .._anthropic._usage import AnthropicUsage
from .._call import CallRequest, LLMCall
from .._streams import _StreamProxyBase
from ._usage import body_usage, converse_usage

PROVIDER: Final = "aws.bedrock"


def _headers(parsed: Mapping[str, Any]) -> Mapping[str, Any]:
    meta = parsed.get("ResponseMetadata")
    headers = meta.get("HTTPHeaders") if isinstance(meta, Mapping) else None
    return headers if isinstance(headers, Mapping) else {}


def _request_id(parsed: Mapping[str, Any]) -> str | None:
    meta = parsed.get("ResponseMetadata")
    found = meta.get("RequestId") if isinstance(meta, Mapping) else None
    return found if isinstance(found, str) and found else None


class EventStreamProxy(_StreamProxyBase):
    """botocore's ``EventStream`` (iterable, with ``close()``) feeding a recorder; the call ends
    when iteration ends, raises, is abandoned, the stream is closed or collected."""

    def __iter__(self) -> Iterator[Any]:
        try:
            for event in self.__wrapped__:
                if self._self_keep(event):
                    yield event
        except GeneratorExit:  # abandoned (``break``): the usage seen so far
            self._self_end()
            raise
        except BaseException as exc:
            self._self_end(exc)
            raise
        self._self_end()

    def close(self) -> Any:
        try:
            return self.__wrapped__.close()
        finally:
            self._self_end()


class ConverseStreamRecorder:
    """ConverseStream events: ``messageStop`` (stop reason), ``metadata`` (usage)."""

    __slots__ = ("request_id", "stop", "usage")

    def __init__(self, request_id: str | None) -> None:
        self.request_id = request_id
        self.stop: str | None = None
        self.usage: Any = None

    def item(self, event: Any) -> bool:
        if isinstance(event, Mapping):
            if "metadata" in event:
                self.usage = event["metadata"].get("usage")
            elif "messageStop" in event:
                self.stop = event["messageStop"].get("stopReason")
        return True

    def finish(self, call: LLMCall) -> None:
        call.set_response(
            response_id=self.request_id, finish_reasons=[self.stop] if self.stop else None
        )
        if isinstance(self.usage, Mapping):
            call.usage = converse_usage(self.usage)


class InvokeStreamRecorder:
    """InvokeModelWithResponseStream chunks: an Anthropic model's Messages events (exact usage
    with the cache split), else the ``amazon-bedrock-invocationMetrics`` of the last chunk."""

    __slots__ = ("anthropic", "metrics", "request_id", "response_id", "stop")

    def __init__(self, request_id: str | None) -> None:
        self.request_id = request_id
        self.response_id: str | None = None
        self.stop: str | None = None
        self.anthropic: AnthropicUsage | None = None
        self.metrics: Any = None

    def item(self, event: Any) -> bool:
        chunk = event.get("chunk") if isinstance(event, Mapping) else None
        raw = chunk.get("bytes") if isinstance(chunk, Mapping) else None
        if not isinstance(raw, bytes | bytearray):
            return True
        data = json.loads(raw)
        if not isinstance(data, Mapping):
            return True
        kind = data.get("type")
        if kind == "message_start":
            message = data.get("message") or {}
            self.response_id = message.get("id")
            self._assign(message.get("usage"))
        elif kind == "message_delta":
            self._assign(data.get("usage"))
            self.stop = (data.get("delta") or {}).get("stop_reason") or self.stop
        metrics = data.get("amazon-bedrock-invocationMetrics")
        if isinstance(metrics, Mapping):
            self.metrics = metrics
        return True

    def _assign(self, usage: Any) -> None:
        if isinstance(usage, Mapping):
            if self.anthropic is None:
                self.anthropic = AnthropicUsage()
            self.anthropic.assign(usage)

    def finish(self, call: LLMCall) -> None:
        call.set_response(
            response_id=self.response_id or self.request_id,
            finish_reasons=[self.stop] if self.stop else None,
        )
        if self.anthropic is not None:
            call.usage = self.anthropic.token_usage()
        elif isinstance(self.metrics, Mapping):
            call.usage = converse_usage(self.metrics)


def _converse(call: LLMCall, parsed: dict[str, Any]) -> Any:
    stop = parsed.get("stopReason")
    call.set_response(
        response_id=_request_id(parsed), finish_reasons=[stop] if isinstance(stop, str) else None
    )
    usage = parsed.get("usage")
    if isinstance(usage, Mapping):
        call.usage = converse_usage(usage)
    call.end()


def _invoke(call: LLMCall, parsed: dict[str, Any]) -> Any:
    from botocore.response import StreamingBody

    data = parsed["body"].read()
    parsed["body"] = StreamingBody(io.BytesIO(data), len(data))
    try:
        body = json.loads(data)
    except ValueError:
        body = None
    response_id = body.get("id") if isinstance(body, Mapping) else None
    stop = body.get("stop_reason") if isinstance(body, Mapping) else None
    call.set_response(
        response_id=response_id if isinstance(response_id, str) else _request_id(parsed),
        finish_reasons=[stop] if isinstance(stop, str) else None,
    )
    usage = body_usage(body, _headers(parsed))
    if usage is not None:
        call.usage = usage
    call.end()


def _converse_stream(call: LLMCall, parsed: dict[str, Any]) -> Any:
    recorder = ConverseStreamRecorder(_request_id(parsed))
    parsed["stream"] = EventStreamProxy(parsed["stream"], call, recorder)


def _invoke_stream(call: LLMCall, parsed: dict[str, Any]) -> Any:
    recorder = InvokeStreamRecorder(_request_id(parsed))
    parsed["body"] = EventStreamProxy(parsed["body"], call, recorder)


class Operation:
    __slots__ = ("result", "stream")

    def __init__(self, result: Callable[[LLMCall, dict[str, Any]], Any], stream: bool) -> None:
        self.result = result
        self.stream = stream

    def request(self, params: Mapping[str, Any]) -> CallRequest:
        model = params.get("modelId")
        model = model if isinstance(model, str) and model else None
        attrs: dict[str, AttributeValue] = {}
        if self.stream:
            attrs[A.GEN_AI_REQUEST_STREAM] = True
        config = params.get("inferenceConfig")
        if isinstance(config, Mapping):
            max_tokens = config.get("maxTokens")
            if isinstance(max_tokens, int):
                attrs[A.GEN_AI_REQUEST_MAX_TOKENS] = max_tokens
            temperature = config.get("temperature")
            if isinstance(temperature, int | float):
                attrs[A.GEN_AI_REQUEST_TEMPERATURE] = float(temperature)
        operation = "embeddings" if model is not None and "embed" in model else "chat"
        return CallRequest(PROVIDER, operation, model, (), {}, attrs)


OPERATIONS: Final[Mapping[str, Operation]] = {
    "Converse": Operation(_converse, False),
    "ConverseStream": Operation(_converse_stream, True),
    "InvokeModel": Operation(_invoke, False),
    "InvokeModelWithResponseStream": Operation(_invoke_stream, True),
}

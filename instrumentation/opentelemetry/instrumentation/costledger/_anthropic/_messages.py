"""Messages ``create`` / ``parse``: the request read into a ``CallRequest``, the result recorded.

The request's ``metadata`` attribution keys are stripped (``user_id``, the only key the Messages
API accepts, is forwarded) and apply to the call; max tokens, temperature, stream and service
tier become request attributes, content only when capture is on. The result: a Message (or the
decoded body of a ``with_raw_response`` call) is recorded and ends the call; a raw stream is
wrapped (``_streams``) and ends the call when it ends.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from opentelemetry.util.types import AttributeValue

from .. import attributes as A
from .._call import CallRequest, LLMCall
from .._setup import SETTINGS
from .._streams import is_stream, wrap_stream
from ..attribution import split_metadata
from ._fields import declared, jsonable
from ._platforms import platform_of
from ._streams import MessageStreamRecorder
from ._usage import record_message

PROVIDER: Final = "anthropic"
# What the Messages API accepts in ``metadata``; the other attribution keys are stripped.
FORWARD_METADATA: Final = frozenset({"user_id"})


def describe(
    instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any], streaming: bool = False
) -> CallRequest:
    attribution: Mapping[str, str] | None = None
    if "metadata" in kwargs:
        send, attribution = split_metadata(kwargs["metadata"], FORWARD_METADATA)
        if attribution or send is None:
            kwargs = dict(kwargs)
            if send is None:
                del kwargs["metadata"]
            else:
                kwargs["metadata"] = send
    get = kwargs.get
    model = get("model")
    attrs: dict[str, AttributeValue] = {}
    max_tokens = get("max_tokens")
    if isinstance(max_tokens, int):
        attrs[A.GEN_AI_REQUEST_MAX_TOKENS] = max_tokens
    # ``in`` first: the optional arguments are mostly absent, and a miss costs less than get().
    if "temperature" in kwargs:
        temperature = kwargs["temperature"]
        if isinstance(temperature, int | float):
            attrs[A.GEN_AI_REQUEST_TEMPERATURE] = float(temperature)
    if streaming or ("stream" in kwargs and kwargs["stream"] is True):
        attrs[A.GEN_AI_REQUEST_STREAM] = True
    if "service_tier" in kwargs:
        tier = kwargs["service_tier"]
        if isinstance(tier, str):
            attrs[A.GEN_AI_REQUEST_SERVICE_TIER] = tier
    if SETTINGS.capture_content:
        import json

        messages = get("messages")
        if messages is not None:
            attrs[A.GEN_AI_INPUT_MESSAGES] = json.dumps(
                jsonable(list(messages)), default=str, ensure_ascii=False
            )
        system = get("system")
        if isinstance(system, str | list):
            attrs[A.GEN_AI_SYSTEM_INSTRUCTIONS] = json.dumps(
                jsonable(system), default=str, ensure_ascii=False
            )
    return CallRequest(
        platform_of(instance) or PROVIDER,
        "chat",
        model if isinstance(model, str) else None,
        args,
        kwargs,
        attrs,
        attribution,
    )


class MessagesCreate:
    """``create`` / ``parse`` (sync and async): a Message, or a raw stream when ``stream=True``."""

    # The adapter's ``request(instance, args, kwargs)``, without a call of our own in between.
    request = staticmethod(describe)

    def result(self, call: LLMCall, result: Any) -> Any:
        if is_stream(result):
            return wrap_stream(call, result, MessageStreamRecorder())
        if type(result) is dict or declared(type(result)) is not None:
            record_message(call, result)  # a Message (or a decoded body)
            call.end()
            return result
        http_response = getattr(result, "http_response", None)
        if http_response is not None:  # with_raw_response / with_streaming_response
            media = http_response.headers.get("content-type", "")
            if http_response.is_closed and media.startswith("application/json"):
                record_message(call, http_response.json())
            else:
                # A body the caller reads itself (raw stream, with_streaming_response): we never
                # read it for them, so the call is recorded without usage, and says so.
                call.span.set_attribute(
                    A.COST_UNPRICED_REASON,
                    "usage not observed: the caller reads the raw response body",
                )
        call.end()
        return result

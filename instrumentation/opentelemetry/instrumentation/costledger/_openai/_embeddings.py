"""OpenAI embeddings: ``embeddings.create`` (operation ``embeddings``; input tokens only)."""

from __future__ import annotations

from typing import Any

from opentelemetry.util.types import AttributeValue

from .._call import CallRequest, LLMCall
from ._shared import (
    _common,
    _Plan,
    _raw_mode,
    _raw_result,
    _take_metadata,
    usage_from_chat,
)


def record_embeddings(call: LLMCall, response: Any) -> None:
    call.set_response(model=getattr(response, "model", None))
    usage = getattr(response, "usage", None)
    if usage is not None:
        call.usage = usage_from_chat(usage)


class Embeddings:
    """``embeddings.create`` (sync and async)."""

    __slots__ = ()

    def request(
        self, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> CallRequest | None:
        # The endpoint has no ``metadata``: only the seed's attribution keys are accepted
        # here, and nothing is forwarded.
        attribution = _take_metadata(kwargs, accepted=False)
        attrs: dict[str, AttributeValue] = {}
        provider, model = _common(instance, kwargs, attrs)
        plan = _Plan(raw=_raw_mode(kwargs))
        return CallRequest(
            provider, "embeddings", model, args, kwargs, attrs, attribution, state=plan
        )

    def result(self, call: LLMCall, result: Any) -> Any:
        plan: _Plan = call.state
        if plan.raw is not None:
            return _raw_result(call, result, plan, record_embeddings)
        record_embeddings(call, result)
        call.end()
        return result

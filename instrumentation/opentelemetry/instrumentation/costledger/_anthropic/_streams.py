"""A raw Messages stream's events read as the caller reads them (``create(stream=True)`` and
the ``stream()`` helpers, which read through the same raw stream).

``message_start`` carries the message id, model and input usage; every ``message_delta``
carries CUMULATIVE usage (each field is assigned, never added) and the stop reason. A stream
closed early records the usage seen so far.
"""

from __future__ import annotations

from typing import Any

from .._call import LLMCall
from .._setup import SETTINGS
from ._fields import get
from ._platforms import answered_model
from ._usage import AnthropicUsage


class MessageStreamRecorder:
    """Reads usage from raw Messages stream events (``message_start`` / ``message_delta``)."""

    __slots__ = ("_blocks", "_id", "_model", "_stop", "_usage", "_usage_seen")

    def __init__(self) -> None:
        self._usage = AnthropicUsage()
        self._usage_seen = False
        self._id: str | None = None
        self._model: str | None = None
        self._stop: str | None = None
        self._blocks: list[str] | None = [] if SETTINGS.capture_content else None

    def item(self, event: Any) -> bool:
        kind = get(event, "type")
        if kind == "message_delta":
            usage = get(event, "usage")
            if usage is not None:
                self._usage.assign(usage)
                self._usage_seen = True
            stop = get(get(event, "delta"), "stop_reason")
            if stop:
                self._stop = stop
        elif kind == "message_start":
            message = get(event, "message")
            self._id = get(message, "id")
            self._model = get(message, "model")
            usage = get(message, "usage")
            if usage is not None:
                self._usage.assign(usage)
                self._usage_seen = True
        elif self._blocks is not None and kind == "content_block_delta":
            text = get(get(event, "delta"), "text")
            if isinstance(text, str):
                self._blocks.append(text)
        return True

    def finish(self, call: LLMCall) -> None:
        call.set_response(
            model=answered_model(call, self._model),
            response_id=self._id,
            finish_reasons=[self._stop] if self._stop else None,
            service_tier=self._usage.service_tier,
        )
        if self._usage_seen:
            call.usage = self._usage.token_usage()
        if self._blocks is not None:
            text = "".join(self._blocks)
            call.set_content(
                output_messages=[{"role": "assistant", "content": [{"type": "text", "text": text}]}]
            )

"""The dimensions of a cost event beyond the customer, read from its span: :class:`Dimensions`.

==============  ===============================================================================
column          read from
==============  ===============================================================================
agent           ``gen_ai.agent.name`` on the span; else the nearest enclosing span of the same
                batch that names one (another producer's ``invoke_agent`` span, exported in the
                same batch as the calls under it). Our instrumentation and its span processor
                already copy an enclosing agent's name onto the spans started inside it.
feature         ``costledger.feature``
session_id      ``gen_ai.conversation.id``
environment     ``deployment.environment.name`` (or the older ``deployment.environment``) of
                the span's resource
status          ``error`` when the span has ``error.type`` or ERROR status; ``cancelled`` when
                ``costledger.call.status`` says so (a stream abandoned before its end);
                ``truncated`` when a finish reason says the output hit its token limit
                (``max_tokens``, ``length``, ``max_output_tokens``); else ``ok``
error_type      ``error.type`` (``_OTHER`` when only the status says ERROR)
attempts        ``costledger.request.attempts``: the SDK's HTTP attempts (NULL: not told)
request_hash    ``costledger.request.hash``: the request's digest, never its content
tags            the span's ``costledger.tag.<name>`` attributes whose name is allowed, as JSON
                text with sorted keys (``{"plan":"pro"}``); NULL when there is none
==============  ===============================================================================

Tags are free-form, so only the names the user declares are kept (cardinality stays bounded):
the ``tags`` argument of the exporter / receiver, else ``$COSTLEDGER_TAGS`` (comma-separated
names), else none. SQL groups by a tag with ``json_extract(tags, '$.plan')`` (SQLite) or
``tags::jsonb ->> 'plan'`` (PostgreSQL); ``costledger aggregate -d tag:plan`` does it for you.
"""

from __future__ import annotations

import json
import os
from collections.abc import Collection, Mapping, Sequence
from typing import Any, Final

from opentelemetry.instrumentation.costledger import attributes as A

from .spans import SpanData

TAGS_ENV: Final = "COSTLEDGER_TAGS"

_Text = str | None
Values = tuple[_Text, _Text, _Text, _Text, str, _Text, int | None, _Text, _Text]
"""``(agent, feature, session_id, environment, status, error_type, attempts, request_hash, tags)``:
the ledger row's last fields, in their order."""

_TRUNCATED_REASONS: Final = frozenset({"max_tokens", "length", "max_output_tokens"})
_ERROR_STATUS: Final = 2  # opentelemetry.trace.StatusCode.ERROR
_WIDTH: Final = 200  # the dimension columns' width
_TAG_WIDTH: Final = 200


def allowed_tags(tags: Collection[str] | str | None = None) -> frozenset[str]:
    """The tag names to keep: ``tags`` (a collection or comma-separated text), else
    ``$COSTLEDGER_TAGS``, else none."""
    if tags is None:
        tags = os.environ.get(TAGS_ENV, "")
    if isinstance(tags, str):
        tags = tags.split(",")
    return frozenset(name.strip() for name in tags if name.strip())


def _text(value: Any) -> str | None:
    if value is None or value == "":
        return None
    text = value if type(value) is str else str(value)
    return text if len(text) <= _WIDTH else text[:_WIDTH]


def _status(attrs: Mapping[str, Any], status_code: int) -> tuple[str, str | None]:
    error = attrs.get(A.ERROR_TYPE)
    if error is not None or status_code == _ERROR_STATUS:
        return "error", _text(error) or "_OTHER"
    if attrs.get(A.CALL_STATUS) == "cancelled":
        return "cancelled", None
    reasons = attrs.get(A.GEN_AI_RESPONSE_FINISH_REASONS)
    if reasons:
        if isinstance(reasons, str):
            reasons = (reasons,)
        if any(reason in _TRUNCATED_REASONS for reason in reasons):
            return "truncated", None
    return "ok", None


def _attempts(value: Any) -> int | None:
    if type(value) is int and value > 0:
        return value
    return None


class Dimensions:
    """Reads the dimension fields of the rows of one batch of spans."""

    __slots__ = ("_agents", "_batch", "_tags")

    def __init__(self, batch: Sequence[SpanData], tags: frozenset[str]) -> None:
        self._batch = batch
        self._tags = tags
        # span id -> span of the batch, made on the first span without an agent (None: not yet).
        self._agents: dict[int, SpanData] | None = None

    def of_call(self, span: SpanData) -> Values:
        """The dimension fields of an LLM call's row."""
        attrs = span.attributes
        status, error_type = _status(attrs, span.status_code)
        return (
            _text(attrs.get(A.GEN_AI_AGENT_NAME)) or self._enclosing_agent(span),
            _text(attrs.get(A.FEATURE)),
            _text(attrs.get(A.SESSION)),
            self._environment(span),
            status,
            error_type,
            _attempts(attrs.get(A.REQUEST_ATTEMPTS)),
            _text(attrs.get(A.REQUEST_HASH)),
            self._tags_of(attrs),
        )

    def of_event(self, span: SpanData) -> dict[str, Any]:
        """The dimension fields of a ``record_cost`` event's row, by name."""
        attrs = span.attributes
        return {
            "agent": _text(attrs.get(A.GEN_AI_AGENT_NAME)) or self._enclosing_agent(span),
            "feature": _text(attrs.get(A.FEATURE)),
            "session_id": _text(attrs.get(A.SESSION)),
            "environment": self._environment(span),
            "status": "ok",
            "tags": self._tags_of(attrs),
        }

    @staticmethod
    def _environment(span: SpanData) -> str | None:
        resource = span.resource_attributes
        if not resource:
            return None
        found = resource.get(A.DEPLOYMENT_ENVIRONMENT_NAME)
        if found is None:
            found = resource.get(A.DEPLOYMENT_ENVIRONMENT)
        return _text(found)

    def _tags_of(self, attrs: Mapping[str, Any]) -> str | None:
        if not self._tags:
            return None
        found = {}
        for name in self._tags:
            value = attrs.get(A.TAG_PREFIX + name)
            if value is not None and value != "":
                text = value if type(value) is str else str(value)
                found[name] = text[:_TAG_WIDTH]
        if not found:
            return None
        return json.dumps(found, sort_keys=True, separators=(",", ":"), ensure_ascii=False)

    def _enclosing_agent(self, span: SpanData) -> str | None:
        parent_id = span.parent_span_id
        if not parent_id:
            return None
        spans = self._agents
        if spans is None:
            # Most batches name no agent on any span: then there is nothing to look up.
            named = any(A.GEN_AI_AGENT_NAME in s.attributes for s in self._batch)
            spans = self._agents = {s.span_id: s for s in self._batch} if named else {}
        seen = 0
        while parent_id and seen < len(spans):
            parent = spans.get(parent_id)
            if parent is None or parent.trace_id != span.trace_id:
                return None
            name = _text(parent.attributes.get(A.GEN_AI_AGENT_NAME))
            if name is not None:
                return name
            parent_id = parent.parent_span_id
            seen += 1
        return None

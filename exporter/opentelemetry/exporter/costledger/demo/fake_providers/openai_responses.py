"""OpenAI's Responses API for :class:`~.openai.FakeOpenAI`: create, stream, background, retrieve."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import httpx2

from .openai_rules import STREAM_ERROR, check_metadata, served_tier
from .shared import Failure, UsageSpec, sse_event

if TYPE_CHECKING:
    from .openai import FakeOpenAI


def responses_usage(spec: UsageSpec) -> dict[str, Any]:
    """A response's ``usage`` for ``spec``."""
    return {
        "input_tokens": spec.input_tokens,
        "input_tokens_details": {
            "cached_tokens": spec.cached_tokens,
            "cache_write_tokens": spec.cache_write_tokens,
        },
        "output_tokens": spec.output_tokens,
        "output_tokens_details": {"reasoning_tokens": spec.reasoning_tokens},
        "total_tokens": spec.input_tokens + spec.output_tokens,
    }


def create_response(fake: FakeOpenAI, body: dict[str, Any]) -> httpx2.Response:
    problem = check_metadata(body.get("metadata"))
    if problem:
        return fake.invalid(problem, param="metadata")
    response_id = fake.ids.openai_id("resp_")
    completed = _response_object(fake, body, response_id, "completed", with_output=True)
    if body.get("background"):
        fake.stored[response_id] = completed
        if not body.get("stream"):
            queued = _response_object(fake, body, response_id, "queued", with_output=False)
            return fake.json(200, queued)
    elif body.get("store", True):
        fake.stored[response_id] = completed
    if not body.get("stream"):
        return fake.json(200, completed)
    return fake.stream(_response_events(fake, body, completed), fake.response_headers())


def retrieve_response(
    fake: FakeOpenAI, response_id: str, params: httpx2.QueryParams
) -> httpx2.Response:
    stored = fake.stored.get(response_id)
    if stored is None:
        message = f"Response with id '{response_id}' not found."
        failure = Failure(404, message, "invalid_request_error", param="response_id")
        return fake.error(failure)
    if stored["background"] and fake.background_polls > 0:
        fake.background_polls -= 1
        running = {**stored, "status": "in_progress", "output": [], "usage": None}
        running["completed_at"] = None
        return fake.json(200, running)
    if params.get("stream") == "true":
        body = {"model": stored["model"], "background": stored["background"]}
        return fake.stream(_response_events(fake, body, stored), fake.response_headers())
    return fake.json(200, stored)


def _response_object(
    fake: FakeOpenAI, body: dict[str, Any], response_id: str, status: str, *, with_output: bool
) -> dict[str, Any]:
    text = "".join(fake.text)
    output: list[dict[str, Any]] = []
    if with_output:
        content = {"type": "output_text", "text": text, "annotations": [], "logprobs": []}
        output = [
            {"id": "rs_" + response_id[5:], "type": "reasoning", "summary": []},
            {
                "id": "msg_" + response_id[5:],
                "type": "message",
                "status": "completed",
                "role": "assistant",
                "content": [content],
            },
        ]
    created = fake.ids.created()
    return {
        "id": response_id,
        "object": "response",
        "created_at": created,
        "status": status,
        "background": bool(body.get("background")),
        "completed_at": created + 2 if status == "completed" else None,
        "error": None,
        "incomplete_details": None,
        "instructions": body.get("instructions"),
        "max_output_tokens": body.get("max_output_tokens"),
        "max_tool_calls": None,
        "model": fake.snapshots.get(body["model"], body["model"]),
        "output": output,
        "parallel_tool_calls": True,
        "previous_response_id": body.get("previous_response_id"),
        "prompt_cache_key": None,
        "reasoning": {"effort": "medium", "summary": None},
        "safety_identifier": None,
        "service_tier": served_tier(body.get("service_tier")),
        "store": body.get("store", True),
        "temperature": 1.0,
        "text": {"format": {"type": "text"}, "verbosity": "medium"},
        "tool_choice": "auto",
        "tools": [],
        "top_logprobs": 0,
        "top_p": 1.0,
        "truncation": "disabled",
        "usage": responses_usage(fake.usage) if status == "completed" else None,
        "user": None,
        "metadata": body.get("metadata") or {},
    }


def _response_events(
    fake: FakeOpenAI, body: dict[str, Any], completed: dict[str, Any]
) -> Iterator[bytes]:
    response_id = completed["id"]
    in_progress = _response_object(fake, body, response_id, "in_progress", with_output=False)
    seq = itertools.count()
    reasoning, message = completed["output"]
    item_id = message["id"]
    where = {"item_id": item_id, "output_index": 1, "content_index": 0}

    def event(kind: str, **payload: Any) -> bytes:
        return sse_event(kind, {"type": kind, "sequence_number": next(seq), **payload})

    yield event("response.created", response=in_progress)
    yield event("response.in_progress", response=in_progress)
    yield event("response.output_item.added", output_index=0, item=reasoning)
    yield event("response.output_item.done", output_index=0, item=reasoning)
    started = {**message, "status": "in_progress", "content": []}
    yield event("response.output_item.added", output_index=1, item=started)
    part = {"type": "output_text", "text": "", "annotations": [], "logprobs": []}
    yield event("response.content_part.added", **where, part=part)
    for n, piece in enumerate(fake.ids.pieces(fake.text), start=1):
        if fake.stream_error_after is not None and n > fake.stream_error_after:
            yield event("error", code="server_error", message=STREAM_ERROR, param=None)
            return
        obfuscation = fake.ids.obfuscation(n)
        yield event(
            "response.output_text.delta",
            **where,
            delta=piece,
            logprobs=[],
            obfuscation=obfuscation,
        )
    text = "".join(fake.text)
    yield event("response.output_text.done", **where, text=text, logprobs=[])
    yield event("response.content_part.done", **where, part={**part, "text": text})
    yield event("response.output_item.done", output_index=1, item=message)
    yield event("response.completed", response=completed)

"""The private names of other libraries that the instrumentation still reads, on purpose.

Each has no public equivalent; the README's development section lists them with the reason. When
an SDK release renames or drops one, the test here names it and fails, instead of a stream or a
span attribute going missing quietly (the instrumentation itself only logs at DEBUG and carries
on, as it must in a user's process).
"""

from __future__ import annotations

from typing import Any

import anthropic
import httpx2
import openai
import pytest


def _never_called(request: httpx2.Request) -> httpx2.Response:
    raise AssertionError("no request is made")


@pytest.mark.parametrize("beta", [False, True], ids=["messages", "beta.messages"])
@pytest.mark.parametrize("kind", ["sync", "async"])
def test_anthropic_stream_manager_keeps_its_request_as___api_request(kind: str, beta: bool) -> None:
    # ``_anthropic._hook_manager``: ``messages.stream()`` returns a manager that holds the
    # request it makes on ``with`` in the name-mangled private ``__api_request`` (a callable, or
    # for async clients an un-awaited coroutine); we replace it with the counted call. There is
    # no public hook between the manager's creation and its request.
    if kind == "sync":
        client: Any = anthropic.Anthropic(
            api_key="k", http_client=httpx2.Client(transport=httpx2.MockTransport(_never_called))
        )
    else:
        client = anthropic.AsyncAnthropic(
            api_key="k",
            http_client=httpx2.AsyncClient(transport=httpx2.MockTransport(_never_called)),
        )
    messages = client.beta.messages if beta else client.messages
    manager = messages.stream(model="m", max_tokens=1, messages=[{"role": "user", "content": "x"}])
    names = [name for name in vars(manager) if name.endswith("__api_request")]
    assert names, (
        f"{type(manager).__qualname__} no longer keeps __api_request: {sorted(vars(manager))}"
    )
    request = vars(manager)[names[0]]
    if kind == "sync":
        assert callable(request)
    else:
        assert hasattr(request, "__await__")
        request.close()  # never awaited: no request, no warning


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_openai_resources_keep_their_client_as__client(kind: str) -> None:
    # ``_openai._server``: ``server.address`` / ``server.port`` come from the client's public
    # ``base_url``; the wrapped methods belong to resources (``client.chat.completions``), and
    # ``_client`` is the only way from a resource to its client.
    cls: Any = openai.OpenAI if kind == "sync" else openai.AsyncOpenAI
    client = cls(api_key="k", base_url="https://llm.example.com:8443/v1")
    resources = [client.chat.completions, client.embeddings, getattr(client, "responses", None)]
    for resource in filter(None, resources):
        assert getattr(resource, "_client", None) is client, type(resource).__qualname__
    assert client.base_url.host == "llm.example.com"
    assert client.base_url.port == 8443

"""The private names of other libraries that the instrumentation still reads, on purpose.

Each has no public equivalent; the README's development section lists them with the reason. When
an SDK release renames or drops one, the test here names it and fails, instead of a span
attribute going missing quietly (the instrumentation itself only logs at DEBUG and carries on,
as it must in a user's process). One today: openai resources' ``_client``.
"""

from __future__ import annotations

from typing import Any

import openai
import pytest


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

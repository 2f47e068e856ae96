"""A support bot that calls Claude for its customers: costledger's instrumentation, end to end.

Run it with no costledger code in the call path -- ``opentelemetry-instrument`` turns on the
``costledger`` instrumentor from its entry point::

    export ANTHROPIC_API_KEY=sk-ant-...
    OTEL_SERVICE_NAME=support-bot OTEL_TRACES_EXPORTER=console \\
        opentelemetry-instrument python examples/anthropic_app.py

Each Claude call prints one span ``chat claude-haiku-4-5`` with its customer, tokens and cost;
the human review prints a ``cost human_review`` span. (``ANTHROPIC_BASE_URL`` points the SDK at
another endpoint, as the tests do with a local fake API.)
"""

from __future__ import annotations

import os

import anthropic
from opentelemetry.instrumentation.costledger import attribute_to, record_cost

MODEL = os.environ.get("EXAMPLE_MODEL", "claude-haiku-4-5")


def summarize_ticket(client: anthropic.Anthropic) -> str:
    # Step 1 of the seed article, as written: the attribution keys ride in ``metadata``; the
    # instrumentation takes them out before the request leaves (Anthropic accepts only user_id).
    response = client.messages.create(
        model=MODEL,
        max_tokens=256,
        messages=[{"role": "user", "content": "Summarize ticket 67890 in one sentence."}],
        metadata={  # type: ignore[typeddict-unknown-key]
            "customer_id": "cust_12345",
            "customer_name": "Acme Corp",
            "work_item_id": "ticket_67890",
            "workspace_id": "workspace_abc",
            "user_id": "user_xyz",
        },
    )
    return "".join(block.text for block in response.content if block.type == "text")


@attribute_to(customer_id="cust_777", work_item_id="ticket_42", customer_name="Globex")
def draft_reply(client: anthropic.Anthropic) -> str:
    # The same attribution, set once for everything inside (here a streamed call).
    with client.messages.stream(
        model=MODEL,
        max_tokens=256,
        messages=[{"role": "user", "content": "Draft a friendly reply to ticket 42."}],
    ) as stream:
        text = "".join(stream.text_stream)
    # A cost that is not an LLM call: 30 minutes of human review of the draft.
    record_cost("human_review", quantity=30, unit="minute")
    return text


def main() -> None:
    client = anthropic.Anthropic()
    print("summary:", summarize_ticket(client))
    print("reply:", draft_reply(client))


if __name__ == "__main__":
    main()

"""Anthropic models on Amazon Bedrock and Google Vertex AI, through the anthropic SDK's clients.

``AnthropicBedrock`` / ``AsyncAnthropicBedrock`` send the same Messages requests to Bedrock and
``AnthropicVertex`` / ``AsyncAnthropicVertex`` to Vertex AI, through the same ``Messages``
resource classes as ``Anthropic``: only the client tells them apart, and a resource's client is
private. So the platform clients' public constructors are wrapped (:class:`RememberPlatform`):
each client made while instrumented has its ``messages`` and ``beta.messages`` resources
registered here with the provider they call, ``aws.bedrock`` or ``gcp.vertex_ai``
(:func:`platform_of`). A client made before ``instrument()`` is not known and is reported as
``anthropic``.

What the platform bills is the model id the request named -- a Bedrock inference profile
(``us.anthropic.claude-sonnet-4-5-20250929-v1:0``, ``global.anthropic...``) or a Vertex model
version (``claude-sonnet-4-5@20250929``) -- not the model the answer names
(``claude-sonnet-4-5-20250929``), which differs in price between a regional and a global
profile. Calls to a platform therefore carry the requested id only (``gen_ai.request.model``, no
``gen_ai.response.model``): the span is priced on it at the platform's list price, and the
ledger row's model is it (:func:`answered_model`).

The beta resource of the platform clients (``client.beta.messages``) is a class of the
platform's own whose methods are the first-party ones, copied when the SDK was imported: its
``create`` / ``parse`` / ``stream`` are wrapped on the first platform client made, and unwrapped
with the rest.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Final

from .._registry import ResourceRegistry

logger = logging.getLogger("opentelemetry.instrumentation.costledger")

BEDROCK: Final = "aws.bedrock"
VERTEX: Final = "gcp.vertex_ai"
PLATFORMS: Final = frozenset({BEDROCK, VERTEX})
# The anthropic SDK's platform clients (public names of the ``anthropic`` package).
CLIENTS: Final = (
    ("AnthropicBedrock", BEDROCK),
    ("AsyncAnthropicBedrock", BEDROCK),
    ("AnthropicVertex", VERTEX),
    ("AsyncAnthropicVertex", VERTEX),
)

_RESOURCES: Final[ResourceRegistry[str]] = ResourceRegistry()
platform_of = _RESOURCES.get  # the provider a Messages resource calls; None: the Anthropic API


def answered_model(call: Any, model: Any) -> Any:
    """The model to put on ``call`` as the one that answered: none for a platform's call."""
    return None if call.provider in PLATFORMS else model


class RememberPlatform:
    """Around a platform client's ``__init__``: register its Messages resources.

    ``wrap_beta(cls)`` wraps the Messages methods of the platform's beta resource class (once
    per class; the caller's ``Patches`` keeps them for uninstrument).
    """

    __slots__ = ("provider", "wrap_beta")

    def __init__(self, provider: str, wrap_beta: Callable[[type], None]) -> None:
        self.provider = provider
        self.wrap_beta = wrap_beta

    def __call__(
        self, wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        result = wrapped(*args, **kwargs)
        try:
            _RESOURCES.add(instance.messages, self.provider)
            beta = instance.beta.messages
            _RESOURCES.add(beta, self.provider)
            self.wrap_beta(type(beta))
        except Exception:
            logger.debug("costledger: could not register a platform client", exc_info=True)
        return result


forget_all = _RESOURCES.clear

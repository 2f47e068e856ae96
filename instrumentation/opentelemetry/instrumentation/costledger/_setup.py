"""Process-wide set-up of the instrumentation: its settings, its tracer, deferred set-up steps.

``SETTINGS``
    Settings read from the environment when the instrumentor is turned on
    (``SETTINGS.reload()``): ``capture_content`` from
    ``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT`` (``true``/``1``/``yes``), whether
    message content may go on spans; ``price_file`` from ``COSTLEDGER_PRICES`` (``""``: none),
    the price file whose book costs each call. Read once there, like the OpenTelemetry SDK's
    own settings, not per call: a change takes effect at the next ``instrument()``.

``get_tracer(tracer_provider=None)``
    The tracer of scope ``opentelemetry.instrumentation.costledger`` (``SCOPE_NAME``).

``defer(step)`` / ``run_deferred()``
    A set-up step that could not run at ``instrument()`` time (the app had no SDK tracer
    provider yet) is handed to ``defer``; every call start runs it (``run_deferred``) until it
    returns True or raises (logged, then dropped). ``defer(None)`` cancels it.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from typing import Final

from opentelemetry import trace
from opentelemetry.trace import Tracer

logger = logging.getLogger("opentelemetry.instrumentation.costledger")

SCOPE_NAME: Final = "opentelemetry.instrumentation.costledger"
CAPTURE_CONTENT_ENV: Final = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"
# The user's price file (read by ``PriceBook()``, ``pricing.get_price_book()`` and ``reload``).
PRICES_ENV: Final = "COSTLEDGER_PRICES"


class Settings:
    """Process-wide settings, read from the environment when the instrumentor is turned on."""

    __slots__ = ("capture_content", "price_file")

    def __init__(self) -> None:
        self.capture_content = False
        self.price_file = ""
        self.reload()

    def reload(self) -> None:
        value = os.environ.get(CAPTURE_CONTENT_ENV, "")
        self.capture_content = value.strip().lower() in ("true", "1", "yes")
        self.price_file = os.environ.get(PRICES_ENV, "")


SETTINGS: Final = Settings()


def get_tracer(tracer_provider: trace.TracerProvider | None = None) -> Tracer:
    from .version import __version__

    return trace.get_tracer(SCOPE_NAME, __version__, tracer_provider=tracer_provider)


# The set-up step still to run, if any.
_deferred: Callable[[], bool] | None = None


def defer(step: Callable[[], bool] | None) -> None:
    """Run ``step`` at the next call starts until it returns True (``None`` cancels)."""
    global _deferred
    _deferred = step


def run_deferred() -> None:
    """Run the deferred set-up step, if there is one; drop it once it succeeded or raised."""
    global _deferred
    step = _deferred
    if step is None:
        return
    try:
        done = step()
    except Exception:
        logger.debug("costledger: deferred set-up failed", exc_info=True)
        done = True
    if done:
        _deferred = None

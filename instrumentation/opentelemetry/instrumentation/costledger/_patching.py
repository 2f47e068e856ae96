"""Patching SDK classes: wrapping their methods, and restoring exactly those on uninstrument.

``sdk_classes(module_name, names)``
    The classes ``names`` of an SDK module, skipping a module or class this SDK release lacks.

``Patches()``
    The SDK methods one provider module wrapped (``patches.wrap(cls, method, wrapper)``), so
    that ``patches.unwrap_all()`` restores exactly those. A method is wrapped once per
    ``instrument()``, on the class that defines it; another instrumentation's ``wrapt`` wrapper
    may already be there (ours goes on top of it and comes off again).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import wrapt

logger = logging.getLogger("opentelemetry.instrumentation.costledger")


def sdk_classes(module_name: str, names: Sequence[str]) -> list[type]:
    """The classes ``names`` of an SDK module, skipping a module or class this SDK lacks."""
    import importlib

    try:
        module = importlib.import_module(module_name)
    except ImportError:
        return []
    return [cls for name in names if isinstance(cls := getattr(module, name, None), type)]


class Patches:
    """The SDK methods one provider module wrapped, so that uninstrument restores exactly those."""

    def __init__(self) -> None:
        self._done: list[tuple[type, str]] = []

    def __bool__(self) -> bool:
        return bool(self._done)

    def wrap(self, cls: type, method: str, wrapper: Any) -> None:
        # Once per instrument(): a method defined on a base class is wrapped there, not again
        # on each subclass, and another instrumentation's wrapt wrapper may already be there
        # (ours then goes on top of it and comes off again on uninstrument).
        if method not in cls.__dict__ or (cls, method) in self._done:
            return
        wrapt.wrap_function_wrapper(cls, method, wrapper)
        self._done.append((cls, method))

    def unwrap_all(self) -> None:
        from opentelemetry.instrumentation.utils import unwrap

        while self._done:
            cls, method = self._done.pop()
            try:
                unwrap(cls, method)
            except Exception:
                logger.warning(
                    "costledger: could not unwrap %s.%s", cls.__name__, method, exc_info=True
                )

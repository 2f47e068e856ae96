"""SDK resource objects registered with a value of ours, found again per call at a dict's cost.

Some SDKs' resources (``client.messages``, ``client.models``) do not say which service their
client calls without a private name; the public client constructors do. A provider package wraps
those constructors and registers each resource it makes here (``registry.add(resource,
provider)``); the per-call adapter asks ``registry.get(resource)``. Keyed by ``id()`` with a weak
reference to check it, not a ``WeakKeyDictionary``: a lookup is one dict probe, and a miss (the
common case for the first-party clients) costs no weak reference. An entry goes when its
resource is collected.
"""

from __future__ import annotations

import weakref
from typing import Any, Generic, TypeVar

V = TypeVar("V")


class ResourceRegistry(Generic[V]):
    __slots__ = ("_entries",)

    def __init__(self) -> None:
        self._entries: dict[int, tuple[weakref.ReferenceType[Any], V]] = {}

    def get(self, resource: Any) -> V | None:
        found = self._entries.get(id(resource))
        if found is None or found[0]() is not resource:
            return None
        return found[1]

    def add(self, resource: Any, value: V) -> None:
        key = id(resource)
        entries = self._entries

        def forget(ref: weakref.ReferenceType[Any], key: int = key) -> None:
            entry = entries.get(key)
            if entry is not None and entry[0] is ref:
                del entries[key]

        entries[key] = (weakref.ref(resource, forget), value)

    def clear(self) -> None:
        self._entries.clear()

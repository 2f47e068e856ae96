"""Reading the anthropic SDK's response models (pydantic) and decoded bodies, field by field.

A field the model class declares is a plain attribute (``obj.name``). ``getattr`` of an
undeclared one goes through pydantic's ``__getattr__``, which raises and catches an
AttributeError when the field is absent: slow, and on every call for a field that this SDK
release does not declare. So the declared fields are looked up once per class (the public
``model_fields``), and an undeclared field the API sent is read from the public ``model_extra``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Final

# A class's declared fields (``None``: not a pydantic model), once per class.
_DECLARED: dict[type, frozenset[str] | None] = {}
_UNKNOWN: Final = object()


def declared(cls: type) -> frozenset[str] | None:
    """The fields a pydantic model class declares (``model_fields``), ``None`` for other types."""
    found = _DECLARED.get(cls, _UNKNOWN)
    if found is _UNKNOWN:
        fields = getattr(cls, "model_fields", None)  # pydantic 2
        if not isinstance(fields, Mapping):
            fields = getattr(cls, "__fields__", None)  # pydantic 1
        found = frozenset(fields) if isinstance(fields, Mapping) else None
        if len(_DECLARED) < 1024:  # bounded: SDK model classes are few
            _DECLARED[cls] = found
    return found  # type: ignore[return-value]


def get(obj: Any, name: str) -> Any:
    """Field ``name`` of an SDK model (declared, or an extra the API sent) or of a decoded dict."""
    if isinstance(obj, dict):
        return obj.get(name)
    cls = type(obj)
    fields = _DECLARED.get(cls, _UNKNOWN)
    if fields is _UNKNOWN:
        fields = declared(cls)
    if fields is None or name in fields:  # type: ignore[operator]
        return getattr(obj, name, None)
    extra: Any = getattr(obj, "model_extra", _UNKNOWN)
    if extra is _UNKNOWN:  # pydantic 1 keeps extras as attributes
        return getattr(obj, name, None)
    return extra.get(name) if extra else None


def reader(obj: Any, fields: frozenset[str], known: dict[type, bool]) -> Callable[[Any, str], Any]:
    """How to read ``fields`` of ``obj``: as plain attributes (``getattr``) when its class
    declares them all -- every current SDK release's models do -- else through :func:`get`.
    ``known`` remembers the answer per class."""
    cls = type(obj)
    plain = known.get(cls)
    if plain is None:
        found = declared(cls)
        plain = found is not None and fields <= found
        if len(known) < 1024:  # bounded: SDK model classes are few
            known[cls] = plain
    return getattr if plain else get


def as_int(value: Any) -> int:
    """A token count as reported, 0 when absent or not an integer."""
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def jsonable(value: Any) -> Any:
    """Content blocks (SDK models or dicts) as JSON-ready values."""
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    dump = getattr(value, "model_dump", None)
    if dump is not None:
        return dump(mode="json", exclude_none=True)
    return value

"""Rules of the OpenAI API that chat, responses and embeddings share: errors, tiers, metadata."""

from __future__ import annotations

from typing import Any

STREAM_ERROR = "Internal error while streaming."


def error_body(
    message: str, type_: str, *, param: str | None = None, code: str | None = None
) -> dict[str, Any]:
    return {"error": {"message": message, "type": type_, "param": param, "code": code}}


def served_tier(requested: str | None) -> str:
    """The tier the API reports for a requested one: ``fast`` is served as ``priority``."""
    if requested in (None, "auto", "default"):
        return "default"
    if requested == "fast":
        return "priority"
    return requested


def check_metadata(metadata: Any) -> str | None:
    """The API's own limits on ``metadata``: up to 16 string pairs, keys <= 64, values <= 512."""
    if metadata is None:
        return None
    if not isinstance(metadata, dict) or len(metadata) > 16:
        return "Invalid 'metadata': expected an object with at most 16 properties."
    for key, value in metadata.items():
        if len(key) > 64:
            return f"Invalid 'metadata': key '{key}' is longer than 64 characters."
        if not isinstance(value, str) or len(value) > 512:
            return f"Invalid 'metadata.{key}': expected a string of at most 512 characters."
    return None

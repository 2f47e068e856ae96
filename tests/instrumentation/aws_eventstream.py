"""AWS event-stream frames (``application/vnd.amazon.eventstream``), as Bedrock streams them.

Each message: total length and headers length (big-endian uint32), the CRC32 of those 8 bytes,
string headers (name length uint8, name, type 7, value length uint16, value), the payload and
the CRC32 of everything before it.
"""

from __future__ import annotations

import base64
import json
import struct
import zlib
from typing import Any


def _header(name: str, value: str) -> bytes:
    raw_name, raw_value = name.encode(), value.encode()
    return (
        struct.pack("!B", len(raw_name))
        + raw_name
        + struct.pack("!BH", 7, len(raw_value))
        + raw_value
    )


def message(headers: dict[str, str], payload: bytes) -> bytes:
    head = b"".join(_header(k, v) for k, v in headers.items())
    total = 12 + len(head) + len(payload) + 4
    prelude = struct.pack("!II", total, len(head))
    prelude += struct.pack("!I", zlib.crc32(prelude))
    body = prelude + head + payload
    return body + struct.pack("!I", zlib.crc32(body))


def event(event_type: str, payload: Any) -> bytes:
    """An ``event`` message of type ``event_type`` with a JSON payload."""
    headers = {
        ":event-type": event_type,
        ":content-type": "application/json",
        ":message-type": "event",
    }
    return message(headers, json.dumps(payload).encode())


def chunk(data: Any) -> bytes:
    """An InvokeModelWithResponseStream ``chunk`` carrying ``data`` (JSON) as its bytes."""
    return event("chunk", {"bytes": base64.b64encode(json.dumps(data).encode()).decode()})

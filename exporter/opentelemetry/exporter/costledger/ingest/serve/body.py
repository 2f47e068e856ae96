"""Request bodies: decompression with the size limit applied to what comes OUT.

A gzip body of a few kilobytes can inflate to gigabytes (a "gzip bomb"); :func:`decompress`
stops as soon as the output passes ``limit`` and raises :class:`TooLarge`, so the limit bounds
memory whatever the compression ratio. Encodings: ``gzip`` (also several concatenated members),
``deflate`` (zlib), ``identity``. Others raise :class:`UnsupportedEncoding`.
"""

from __future__ import annotations

import zlib

from .decoded import DecodeError


class TooLarge(Exception):
    """The request is larger than the configured maximum (after decompression)."""


def too_many_spans(spans: int, limit: int) -> TooLarge:
    return TooLarge(
        f"the request has {spans} spans; the limit is {limit} (--max-request-spans): send"
        " smaller batches (the Collector's batch processor: send_batch_max_size)"
    )


class ClientGone(Exception):
    """The sender hung up, or did not send its body before the deadline: no one to answer."""


class UnsupportedEncoding(Exception):
    """A ``Content-Encoding`` this receiver does not read."""


_GZIP_WBITS = 16 + zlib.MAX_WBITS


def decompress(body: bytes, encoding: str | None, limit: int) -> bytes:
    """The decoded body; :class:`TooLarge` past ``limit`` bytes, :class:`DecodeError` if corrupt."""
    name = (encoding or "identity").strip().lower()
    if name in ("identity", "none", ""):
        if len(body) > limit:
            raise TooLarge(f"the request has {len(body)} bytes; the limit is {limit}")
        return body
    if name in ("gzip", "x-gzip"):
        return _inflate(body, _GZIP_WBITS, limit, "gzip")
    if name == "deflate":
        return _inflate(body, zlib.MAX_WBITS, limit, "deflate")
    raise UnsupportedEncoding(f"Content-Encoding {encoding!r} is not supported (use gzip)")


def _inflate(data: bytes, wbits: int, limit: int, name: str) -> bytes:
    out = bytearray()
    stream = zlib.decompressobj(wbits)
    pending = data
    try:
        while True:
            out += stream.decompress(pending, limit + 1 - len(out))
            if len(out) > limit:
                raise TooLarge(f"the request inflates past the limit of {limit} bytes")
            if stream.eof:
                rest = stream.unused_data
                if wbits == _GZIP_WBITS and rest.strip(b"\0"):
                    stream, pending = zlib.decompressobj(wbits), rest  # next gzip member
                    continue
                return bytes(out)
            pending = stream.unconsumed_tail
            if not pending:
                raise DecodeError(f"the {name} body is truncated")
    except zlib.error as exc:
        raise DecodeError(f"the {name} body is corrupt: {exc}") from None

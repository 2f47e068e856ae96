"""What ``costledger serve`` can be told: :class:`ServeConfig` (the defaults are the CLI's), and
the parts of it read before the receiver starts — the listening endpoints
(:func:`parse_endpoint`), the TLS files (:func:`load_tls`) and the price book (:func:`price_book`).
:mod:`.server` starts the receiver from it.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from ...errors import ConfigError
from .counts import DEFAULT_RETENTION
from .decoded import DEFAULT_MAX_SPANS, Limits
from .spool import DEFAULT_MAX_BYTES as DEFAULT_SPOOL_BYTES

DEFAULT_GRPC_ENDPOINT = "127.0.0.1:4317"
DEFAULT_HTTP_ENDPOINT = "127.0.0.1:4318"
MIB = 1024 * 1024


@dataclass(frozen=True)
class ServeConfig:
    """Everything ``costledger serve`` can be told; the defaults are the CLI's."""

    database_url: str | None = None
    grpc_endpoint: str | None = DEFAULT_GRPC_ENDPOINT  # "host:port"; None = off
    http_endpoint: str | None = DEFAULT_HTTP_ENDPOINT
    auth_tokens: tuple[str, ...] = ()  # empty = no authentication
    tls_cert: str | None = None  # PEM certificate chain file
    tls_key: str | None = None  # PEM private key file
    max_request_size: int = 16 * MIB  # after decompression
    max_concurrent_requests: int = 8
    queue_timeout: float = 1.0  # seconds a request waits for a slot before "retry later"
    db_timeout: float = 5.0  # seconds for a lock, a statement, a connection
    retry_after: float = 5.0  # the delay suggested to senders told to retry
    limits: Limits = field(default_factory=lambda: Limits(max_spans=DEFAULT_MAX_SPANS))
    prices: str | None = None  # price overrides file (else COSTLEDGER_PRICES)
    tags: tuple[str, ...] | None = None  # tag names the ledger keeps (else COSTLEDGER_TAGS)
    shutdown_timeout: float = 30.0
    idle_timeout: float = 60.0
    header_timeout: float = 10.0  # seconds from a request's first byte to its last header
    body_timeout: float = 60.0  # seconds to receive a request's body
    max_connections: int = 256
    count_retention: timedelta = DEFAULT_RETENTION
    spool: str | None = None  # directory of the durable spool; None = off
    spool_max_bytes: int = DEFAULT_SPOOL_BYTES


def parse_endpoint(value: str | None, option: str) -> tuple[str, int] | None:
    """``host:port`` (``[v6]:port`` for IPv6) to ``(host, port)``; ``none``/empty is off."""
    if value is None or value.strip().lower() in ("", "none", "off"):
        return None
    text = value.strip()
    if text.startswith("["):
        host, sep, port_text = text[1:].partition("]:")
    else:
        host, sep, port_text = text.rpartition(":")
    if not sep or not host or not port_text.isdigit() or int(port_text) > 65535:
        raise ConfigError(
            f"{option} {value!r} is not HOST:PORT (e.g. 127.0.0.1:4317, 0.0.0.0:14317, [::1]:4317,"
            " or none to turn it off)"
        )
    return host, int(port_text)


def grpc_address(host: str, port: int) -> str:
    """``host:port``, an IPv6 host in brackets (``[::1]:4317``)."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def price_book(path: str | None) -> Any:
    """The price book for ``--prices`` (None: the process-wide one)."""
    if not path:
        return None  # convert uses the process-wide book (COSTLEDGER_PRICES)
    from opentelemetry.instrumentation.costledger.pricing import PriceBook

    return PriceBook(path)


def load_tls(config: ServeConfig) -> tuple[bytes, bytes, ssl.SSLContext] | None:
    """The key and certificate chain (PEM bytes, for gRPC) and an SSL context (for HTTP) of
    ``--tls-cert``/``--tls-key``; None when neither is given, ConfigError when only one is or
    they cannot be loaded."""
    if not config.tls_cert and not config.tls_key:
        return None
    if not (config.tls_cert and config.tls_key):
        raise ConfigError("TLS needs both --tls-cert and --tls-key (PEM files)")
    try:
        cert = Path(config.tls_cert).read_bytes()
        key = Path(config.tls_key).read_bytes()
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(config.tls_cert, config.tls_key)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(
            f"cannot load the TLS certificate {config.tls_cert} / key {config.tls_key}: {exc};"
            " give PEM files (certificate chain and its unencrypted private key)"
        ) from None
    return key, cert, context

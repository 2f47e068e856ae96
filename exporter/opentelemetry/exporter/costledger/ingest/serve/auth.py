"""Optional bearer-token authentication, as the Collector's ``bearertokenauth`` sends it.

The Collector's ``bearertokenauth`` extension (client side) adds ``authorization: Bearer
<token>`` to every gRPC call and HTTP request; :class:`BearerAuth` checks that header against
the configured tokens; the scheme is case-insensitive (``bearer`` is ``Bearer``, RFC 9110
section 11.1). Several tokens may be valid at once (rotate without downtime: add the new
one, move the senders, remove the old one). Comparison is constant-time
(:func:`hmac.compare_digest` against every token), so timing does not leak a token's prefix.
Tokens come from ``--auth-token-file`` (one per line, ``#`` comments) or ``COSTLEDGER_AUTH_TOKEN``.
"""

from __future__ import annotations

import hmac
import os
from collections.abc import Iterable
from pathlib import Path

from ...errors import ConfigError

AUTH_TOKEN_ENV = "COSTLEDGER_AUTH_TOKEN"
AUTH_TOKEN_FILE_ENV = "COSTLEDGER_AUTH_TOKEN_FILE"
SCHEME = "Bearer"
_SCHEME = SCHEME.lower().encode()


class BearerAuth:
    """Accepts a request whose ``authorization`` header carries one of ``tokens``."""

    def __init__(self, tokens: Iterable[str]) -> None:
        self._expected = [token.encode() for token in tokens]
        if not self._expected:
            raise ConfigError("bearer-token authentication needs at least one token")

    def accepts(self, header: str | bytes | None) -> bool:
        if header is None:
            return False
        given = header.encode("utf-8", "replace") if isinstance(header, str) else header
        scheme, _, token = given.strip().partition(b" ")
        token = token.strip(b" ")
        matched = False
        for expected in self._expected:
            # No short-circuit: every token is compared, whatever matched before.
            matched |= hmac.compare_digest(token, expected)
        return matched and scheme.lower() == _SCHEME


def load_tokens(path: str | os.PathLike[str] | None = None) -> list[str]:
    """Tokens from ``path``, else ``COSTLEDGER_AUTH_TOKEN_FILE``, else ``COSTLEDGER_AUTH_TOKEN``.

    An empty list means authentication is off.
    """
    chosen = path or os.environ.get(AUTH_TOKEN_FILE_ENV)
    if chosen:
        try:
            text = Path(chosen).read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(
                f"cannot read the token file {chosen}: {exc.strerror}; give a readable file"
                " with one token per line"
            ) from None
        tokens = [
            line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")
        ]
        if not tokens:
            raise ConfigError(f"the token file {chosen} holds no token; put one per line")
    else:
        env = os.environ.get(AUTH_TOKEN_ENV, "").strip()
        tokens = [env] if env else []
    for token in tokens:
        if any(c.isspace() for c in token) or not token.isprintable():
            raise ConfigError("a bearer token must be printable and contain no spaces")
    return tokens

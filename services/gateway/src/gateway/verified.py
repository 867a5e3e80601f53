"""Access tokens the gateway has verified, kept with their claims until they expire."""

from __future__ import annotations

import time

from microblog_shared.http.auth import AccessClaims, verify_access_token


class VerifiedTokens:
    """Verifies a bearer token once and remembers its claims until its `exp` (at most `size` tokens).

    Verifying a JWT (PyJWT's HMAC key preparation, two JSON decodes) took about a fifth of the
    gateway's CPU on a relayed read. A token's signature and claims can't change, so one verification
    holds until it expires; an expired one is verified again (and refused). Revocation is not a
    property of the token: it is checked on every request after this (deps.verified_caller).
    """

    def __init__(self, secret: str, size: int = 10_000) -> None:
        self.secret, self.size = secret, size
        self._known: dict[str, AccessClaims] = {}

    def claims(self, token: str) -> AccessClaims:
        """The token's claims; raises InvalidAccessToken when it is invalid or expired."""
        known = self._known.get(token)
        if known is not None:
            if known.expires_at.timestamp() > time.time():
                return known
            del self._known[token]
        claims = verify_access_token(token, self.secret)
        if len(self._known) >= self.size:
            del self._known[next(iter(self._known))]  # the oldest verified
        self._known[token] = claims
        return claims

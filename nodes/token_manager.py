"""The kubelet's token manager (pkg/kubelet/token): the ServiceAccount tokens of its pods' projected volumes,
kept until they need refreshing, as the kubelet keeps them."""

from __future__ import annotations

import time

MAX_TTL = 24 * 3600  # a token older than this is refreshed, whatever its lifetime


class TokenCache:
    """The kubelet's token manager: one token per (ServiceAccount, pod, audience, lifetime), asked for again
    once 80 % of its life has passed or it is older than 24 hours (requiresRefresh)."""

    def __init__(self) -> None:
        self._tokens: dict[tuple, tuple[str, float, float]] = {}  # key -> (token, issued, expires)

    def get(self, key: tuple, now: float | None = None) -> str | None:
        entry = self._tokens.get(key)
        if entry is None:
            return None
        token, issued, expires = entry
        t = time.time() if now is None else now
        ttl = expires - issued
        if t > issued + ttl * 0.8 or t > issued + MAX_TTL:
            return None
        return token

    def put(self, key: tuple, token: str, issued: float, expires: float) -> None:
        # expired tokens go (cleanupExpiredTokens): those of pods long gone with them
        self._tokens = {k: v for k, v in self._tokens.items() if v[2] > issued}
        self._tokens[key] = (token, issued, expires)

    def refresh_at(self, key: tuple) -> float | None:
        entry = self._tokens.get(key)
        return None if entry is None else entry[1] + min((entry[2] - entry[1]) * 0.8, MAX_TTL)

"""Per-credential rate limits: one app's (or one device's) flood gets 429s, not everyone's capacity.

A token bucket per credential (a server key, or one user's token), kept in memory per process: a
deployment's effective limit is the per-replica limit times its replicas. Refusing costs a dict
lookup, so a flood from one tenant is turned away before it reaches the database or the broker.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from pydantic import Field

from shared.settings import HeraldSettings

#: Refill arithmetic in floats must not refuse a request that is due to the nanosecond.
_EPSILON = 1e-9


class RateLimitSettings(HeraldSettings):
    """Requests per second and burst, per server key and per user token (per replica)."""

    rate_limit_key_per_second: float = Field(default=200.0, gt=0)
    rate_limit_key_burst: int = Field(default=400, ge=1)
    rate_limit_user_per_second: float = Field(default=5.0, gt=0)
    rate_limit_user_burst: int = Field(default=20, ge=1)
    rate_limit_tracked_credentials: int = Field(default=100_000, ge=100)


@dataclass
class _Bucket:
    tokens: float
    stamp: float


class RateLimiter:
    """Token buckets keyed by credential; the least recently used are forgotten past a cap."""

    def __init__(
        self, settings: RateLimitSettings, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        self.settings = settings
        self.monotonic = monotonic
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()

    def take(self, credential: str, *, user: bool) -> float | None:
        """Spend one request of ``credential``: None when allowed, else seconds to wait."""
        rate = (
            self.settings.rate_limit_user_per_second
            if user
            else self.settings.rate_limit_key_per_second
        )
        burst = self.settings.rate_limit_user_burst if user else self.settings.rate_limit_key_burst
        now = self.monotonic()
        bucket = self._buckets.pop(credential, None) or _Bucket(float(burst), now)
        bucket.tokens = min(float(burst), bucket.tokens + (now - bucket.stamp) * rate)
        bucket.stamp = now
        self._buckets[credential] = bucket
        if len(self._buckets) > self.settings.rate_limit_tracked_credentials:
            self._buckets.popitem(last=False)
        if bucket.tokens >= 1.0 - _EPSILON:
            bucket.tokens = max(0.0, bucket.tokens - 1.0)
            return None
        return (1.0 - bucket.tokens) / rate


def retry_after_header(seconds: float) -> str:
    """Retry-After in whole seconds, never 0 (a client told 0 would retry at once)."""
    return str(max(1, math.ceil(seconds)))

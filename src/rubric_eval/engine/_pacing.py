"""Client-side pacing per endpoint: evenly spaced requests, a token budget per minute, 429 cool-downs.

Pacing spaces requests out *before* they are sent, so a known server limit is never hit;
a 429 pauses the whole endpoint for its Retry-After instead of letting every task retry.
"""

from __future__ import annotations

import asyncio
import time


class Pacer:
    """Waits before each request so an endpoint sees at most ``requests_per_minute`` and
    ``tokens_per_minute`` (estimated before the call, corrected with the reported usage)."""

    def __init__(self, requests_per_minute: float | None, tokens_per_minute: float | None) -> None:
        self.interval_s = 60.0 / requests_per_minute if requests_per_minute else 0.0
        self.tokens_per_s = tokens_per_minute / 60.0 if tokens_per_minute else 0.0
        self.token_capacity = tokens_per_minute or 0.0
        self._next_slot = 0.0
        self._tokens = self.token_capacity
        self._tokens_at = time.monotonic()
        self._paused_until = 0.0
        self._lock = asyncio.Lock()

    @property
    def active(self) -> bool:
        return bool(self.interval_s or self.tokens_per_s)

    def pause(self, seconds: float) -> None:
        """Hold every new request of this endpoint for ``seconds`` (after a 429)."""
        self._paused_until = max(self._paused_until, time.monotonic() + seconds)

    def _refill(self, now: float) -> None:
        self._tokens = min(self.token_capacity, self._tokens + (now - self._tokens_at) * self.tokens_per_s)
        self._tokens_at = now

    async def acquire(self, estimated_tokens: int) -> None:
        """Wait for this request's slot. The lock makes slots first come, first served."""
        if not self.active and time.monotonic() >= self._paused_until:
            return
        async with self._lock:
            now = time.monotonic()
            start = max(now, self._paused_until, self._next_slot)
            if self.tokens_per_s:
                self._refill(now)
                need = min(float(estimated_tokens), self.token_capacity)
                shortfall = need - self._tokens
                if shortfall > 0:
                    start = max(start, now + shortfall / self.tokens_per_s)
                self._tokens -= need
            self._next_slot = start + self.interval_s
            delay = start - now
            if delay > 0:
                await asyncio.sleep(delay)

    def settle(self, estimated_tokens: int, actual_tokens: int) -> None:
        """Charge the difference between the estimate and the usage the API reported."""
        if self.tokens_per_s:
            self._refill(time.monotonic())
            self._tokens -= actual_tokens - min(float(estimated_tokens), self.token_capacity)

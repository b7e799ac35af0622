"""Endpoint pools: one judge served by several replicas of one model (e.g. a fleet of vLLM servers).

A config opts in with ``provider_options.endpoints`` (a list of base URLs, each with its own
concurrency) and ``provider_options.pool`` (the pool's name). The pool is itself a `Provider`:
each call goes to the least-loaded healthy replica; a replica whose connection fails is taken
out at once (and one that answers 5xx three times in a row), the call is sent to another
replica, and the failed replica is probed in the background until it answers again.

Replicas of one model give the same answers, so the cache key uses the pool's name
(``pool:<name>``) instead of any base URL: adding, removing or moving a replica keeps the cache.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from rubric_eval.engine._types import ModelConfig, Provider, ProviderError, ProviderRequest, ProviderResponse
from rubric_eval.errors import ConfigError

if TYPE_CHECKING:
    import aiohttp

POOL_OPTIONS = frozenset({"endpoints", "pool", "probe_interval_s"})
DEFAULT_MEMBER_CONCURRENCY = 16
FAILURES_BEFORE_DOWN = 3  # consecutive 5xx answers; a connection failure takes a replica out at once
PROBE_MAX_INTERVAL_S = 10.0


class PoolEndpoint(BaseModel):
    """One replica: its base URL and how many calls it serves at once."""

    model_config = ConfigDict(extra="forbid")

    base_url: str = Field(min_length=1)
    max_concurrency: int | None = Field(default=None, ge=1)


class PoolOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    pool: str = Field(min_length=1, description="The pool's name: its identity in cache keys.")
    endpoints: list[PoolEndpoint] = Field(min_length=1)
    probe_interval_s: float = Field(default=0.5, gt=0, description="First wait before probing a replica.")


def is_pool(config: ModelConfig) -> bool:
    return "endpoints" in config.provider_options


def pool_options(config: ModelConfig) -> tuple[PoolOptions, dict[str, Any]]:
    """The pool's own options, and the remaining provider options every replica shares."""
    options = dict(config.provider_options)
    mine = {k: options.pop(k) for k in list(options) if k in POOL_OPTIONS}
    if "base_url" in options:
        raise ConfigError(
            f"config {config.name!r}: give either provider_options.base_url or provider_options.endpoints"
        )
    if "pool" not in mine:
        raise ConfigError(
            f"config {config.name!r}: provider_options.endpoints needs provider_options.pool, a name for "
            "the pool (replicas of one model share cached answers under that name)"
        )
    endpoints = mine.get("endpoints")
    if isinstance(endpoints, list):
        mine["endpoints"] = [{"base_url": e} if isinstance(e, str) else e for e in endpoints]
    try:
        return PoolOptions.model_validate(mine), options
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(p) for p in first["loc"])
        raise ConfigError(f"config {config.name!r}: provider_options.{loc}: {first['msg']}") from None


@dataclass
class _Member:
    base_url: str
    provider: Provider
    capacity: int
    in_flight: int = 0
    healthy: bool = True
    failures: int = 0
    served: int = 0
    taken_out: int = 0
    latency_s: float = 0.0  # moving average of answered calls; 0 until the first answer
    probe: asyncio.Task[None] | None = field(default=None, repr=False)


@dataclass(frozen=True)
class MemberStats:
    """What one replica did in a run (for logs, tests and benchmarks)."""

    base_url: str
    capacity: int
    served: int
    taken_out: int
    healthy: bool


def _connection_failure(error: ProviderError) -> bool:
    # No HTTP status and retryable: refused, reset, dropped or timed out; the replica may be gone.
    return error.status is None and error.retryable


class EndpointPool:
    """A `Provider` spreading calls over replicas; the engine sees one endpoint of summed concurrency."""

    def __init__(
        self,
        config: ModelConfig,
        member_factory: Callable[[ModelConfig], Provider],
    ) -> None:
        options, shared = pool_options(config)
        self.pool_name = options.pool
        self.endpoint = f"pool:{options.pool}"
        self._probe_interval_s = options.probe_interval_s
        self._members: list[_Member] = []
        for spec in options.endpoints:
            member_config = config.model_copy(
                update={"provider_options": {**shared, "base_url": spec.base_url}}
            )
            provider = member_factory(member_config)
            capacity = spec.max_concurrency or config.max_concurrency or DEFAULT_MEMBER_CONCURRENCY
            cap = getattr(provider, "max_concurrency", None)
            if isinstance(cap, int):
                capacity = min(capacity, cap)
            url = str(getattr(provider, "endpoint", spec.base_url))
            self._members.append(_Member(base_url=url, provider=provider, capacity=capacity))
        self.name = self._members[0].provider.name
        self.endpoint = f"pool:{options.pool}"
        # Replicas of one server: they accept the same structured-output modes and share defaults.
        first = self._members[0].provider
        self.structured_modes = getattr(first, "structured_modes", None)
        self.default_params = getattr(first, "default_params", None)
        self.secrets = sorted(
            {str(s) for m in self._members for s in getattr(m.provider, "secrets", None) or ()},
            key=len,
            reverse=True,
        )
        self.max_concurrency: int | None = None  # the engine uses pool_concurrency instead
        self.pool_concurrency = sum(m.capacity for m in self._members)
        self._changed: asyncio.Condition | None = None
        self._session: aiohttp.ClientSession | None = None

    # -- inspection ---------------------------------------------------------------------------
    def stats(self) -> list[MemberStats]:
        return [MemberStats(m.base_url, m.capacity, m.served, m.taken_out, m.healthy) for m in self._members]

    # -- routing ------------------------------------------------------------------------------
    def _condition(self) -> asyncio.Condition:
        if self._changed is None:
            self._changed = asyncio.Condition()
        return self._changed

    def _pick(self, exclude: set[int]) -> _Member | None:
        free = [
            m
            for i, m in enumerate(self._members)
            if m.healthy and m.in_flight < m.capacity and i not in exclude
        ]
        # Least loaded, where load is the expected wait: slots in use per slot, times the replica's
        # recent latency. While all slots are busy every free slot is taken anyway; when several are
        # free (the start and the end of a run) faster replicas get the call.
        return (
            min(free, key=lambda m: ((m.in_flight + 1) / m.capacity * m.latency_s, m.in_flight))
            if free
            else None
        )

    def _usable(self, exclude: set[int]) -> bool:
        return any(m.healthy and i not in exclude for i, m in enumerate(self._members))

    async def _acquire(self, exclude: set[int]) -> _Member:
        changed = self._condition()
        async with changed:
            member = self._pick(exclude)
            while member is None:  # wait for a free slot, or fail when no replica can give one
                if not self._usable(exclude):
                    down = ", ".join(m.base_url for m in self._members if not m.healthy)
                    raise ProviderError(
                        f"pool {self.pool_name!r}: no healthy endpoint (down: {down or 'none'})",
                        retryable=True,
                    )
                await changed.wait()
                member = self._pick(exclude)
            member.in_flight += 1
            return member

    async def _release(self, member: _Member) -> None:
        changed = self._condition()
        async with changed:
            member.in_flight -= 1
            changed.notify_all()

    async def complete(self, request: ProviderRequest) -> ProviderResponse:
        """Send the call to the least-loaded healthy replica; on a connection failure, to another."""
        tried: set[int] = set()
        last: ProviderError | None = None
        for _ in range(len(self._members)):
            member = await self._acquire(tried)
            index = self._members.index(member)
            started = time.monotonic()
            try:
                response = await member.provider.complete(request)
            except ProviderError as error:
                last = error
                await self._failed(member, error)
                if not _connection_failure(error):
                    raise
                tried.add(index)
                if not self._usable(tried):
                    break
                continue
            finally:
                await self._release(member)
            member.failures = 0
            member.served += 1
            elapsed = time.monotonic() - started
            member.latency_s = elapsed if not member.latency_s else 0.8 * member.latency_s + 0.2 * elapsed
            return response
        assert last is not None
        raise last

    async def _failed(self, member: _Member, error: ProviderError) -> None:
        server_error = error.status is not None and error.status >= 500
        if not (_connection_failure(error) or server_error):
            return  # the replica answered: a 4xx/429 is about the request or the rate, not its health
        member.failures += 1
        if _connection_failure(error) or member.failures >= FAILURES_BEFORE_DOWN:
            await self._take_out(member)

    async def _take_out(self, member: _Member) -> None:
        if not member.healthy:
            return
        member.healthy = False
        member.taken_out += 1
        member.probe = asyncio.get_running_loop().create_task(self._probe_until_back(member))
        changed = self._condition()
        async with changed:
            changed.notify_all()

    async def _probe_until_back(self, member: _Member) -> None:
        """GET ``<base_url>/models`` with growing waits; any HTTP answer below 500 brings it back."""
        import aiohttp  # imported here: loading configs and datasets must not import the HTTP client

        wait = self._probe_interval_s
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession()
        session = self._session
        deadline_each = aiohttp.ClientTimeout(total=5.0)
        for _ in range(10_000):  # bounded: about a day at the longest interval
            await asyncio.sleep(wait)
            started = time.monotonic()
            try:
                async with session.get(f"{member.base_url}/models", timeout=deadline_each) as response:
                    alive = response.status < 500
            except (aiohttp.ClientError, asyncio.TimeoutError, OSError):
                alive = False
            if alive:
                member.failures = 0
                member.healthy = True
                changed = self._condition()
                async with changed:
                    changed.notify_all()
                return
            wait = min(PROBE_MAX_INTERVAL_S, wait * 2 + (time.monotonic() - started))

    async def aclose(self) -> None:
        for member in self._members:
            if member.probe is not None:
                member.probe.cancel()
                member.probe = None
            await member.provider.aclose()
        if self._session is not None:
            await self._session.close()
            self._session = None
        self._changed = None


def create_pool(config: ModelConfig, member_factory: Callable[[ModelConfig], Provider]) -> EndpointPool:
    """An `EndpointPool` whose replicas are made by ``member_factory`` (the provider's own factory)."""
    return EndpointPool(config, member_factory)

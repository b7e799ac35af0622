"""The one place for side effects of LLM calls: concurrency, pacing, retries, structured parsing,
caching, cost and progress.

Steps build `LLMCall`s and get `LLMResult`s back in the same order; a failed call is a
result with ``ok=False`` and the reason, never an exception and never a fake answer. How one call is
asked of its endpoint (structured-output modes, re-asks, retries) lives in `_asking`; the cache, the
budget, concurrency and the batch of calls live here.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import time
from collections.abc import AsyncIterator, Coroutine, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar, cast

from pydantic import BaseModel, ConfigDict, Field

from rubric_eval.engine._asking import (
    Asker,
    Endpoint,
    describe_error,
    estimate_tokens,
    parse_value,
    provider_secrets,
)
from rubric_eval.engine._batch import BatchOutcome, run_batches
from rubric_eval.engine._breaker import Breaker
from rubric_eval.engine._budget import BUDGET_EXHAUSTED, Budget, Reservations
from rubric_eval.engine._cache import CachedAnswer, cache_key, default_cache_dir
from rubric_eval.engine._cache_io import CacheStore, open_cache
from rubric_eval.engine._limits import with_defaults
from rubric_eval.engine._pacing import Pacer
from rubric_eval.engine._plan import PlanCheck, Planner, plan_lines
from rubric_eval.engine._pricing import Price, price_for
from rubric_eval.engine._progress import Progress, make_progress
from rubric_eval.engine._redact import redact
from rubric_eval.engine._registry import create_provider
from rubric_eval.engine._structured import (
    json_schema_for,
)
from rubric_eval.engine._types import (
    ChatMessage,
    LLMCall,
    LLMResult,
    ModelConfig,
    Provider,
    Usage,
)
from rubric_eval.errors import ConfigError, DryRun

__all__ = ["BUDGET_EXHAUSTED", "Engine", "EngineSettings", "RunTotals"]
_T = TypeVar("_T")
logger = logging.getLogger("rubric_eval")


class EngineSettings(BaseModel):
    """How the engine runs calls. Every LLM command exposes these as flags.

    ``max_concurrency``, ``requests_per_minute`` and ``tokens_per_minute`` apply per endpoint
    (provider, base URL, model); when not set explicitly, a config's own values win.
    """

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    max_concurrency: int = Field(default=16, ge=1)
    requests_per_minute: float | None = Field(default=None, gt=0)
    tokens_per_minute: float | None = Field(default=None, gt=0)
    max_attempts: int = Field(default=6, ge=1, description="Attempts per call on retryable errors.")
    max_parse_retries: int = Field(default=2, ge=0, description="Re-asks after an invalid structured answer.")
    backoff_base_s: float = Field(default=1.0, ge=0)
    backoff_max_s: float = Field(default=60.0, ge=0)
    timeout_s: float = Field(default=300.0, gt=0)
    cache_dir: Path | None = None
    use_cache: bool = True
    max_cost_usd: float | None = Field(default=None, ge=0)
    progress: Literal["auto", "rich", "plain", "quiet"] = "auto"
    circuit_breaker_failures: int = Field(
        default=4,
        ge=0,
        description="Stop calling an endpoint after one call failed to connect this many times in a row "
        "with no success meanwhile (0: never).",
    )
    cache_lock_wait_s: float = Field(
        default=60.0, ge=0, description="How long to wait for a cache locked by another process."
    )
    dry_run: bool = Field(
        default=False, description="Plan the calls (count, tokens, cost, time); call nothing."
    )
    batch: bool = Field(default=False, description="Send uncached calls through the provider's batch API.")
    batch_poll_s: float = Field(default=30.0, gt=0, description="Seconds between batch status checks.")
    batch_max_wait_s: float | None = Field(
        default=None, gt=0, description="Cancel batches still running after this long; the rest run live."
    )


@dataclass
class RunTotals:
    """What an engine did, summed over its runs: for reports and logs."""

    calls: int = 0
    api_calls: int = 0
    cache_hits: int = 0
    failures: int = 0
    budget_exhausted: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    unpriced_calls: int = 0
    wall_s: float = 0.0
    batch_calls: int = 0
    cached_input_tokens: int = 0  # of input_tokens, read from the provider's prompt cache
    cache_write_tokens: int = 0  # of input_tokens, written to it
    cost_at_live_price_usd: float = 0.0  # what ``cost_usd`` would have been without batch discounts

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class _Run:
    """State of one `arun`: endpoints (their semaphores are bound to this event loop), cache, budget."""

    cache: CacheStore | None
    budget: Reservations
    progress: Progress
    endpoints: dict[str, Endpoint] = field(default_factory=dict)
    priced_cost_seen: float = 0.0
    priced_calls_seen: int = 0


def _valid_unicode(messages: Sequence[ChatMessage]) -> list[ChatMessage]:
    """The messages with lone surrogates (invalid Unicode, e.g. from a lossy decoder) as U+FFFD."""
    out = list(messages)
    for i, message in enumerate(out):
        if message.content.isascii():
            continue
        try:
            message.content.encode("utf-8")
        except UnicodeEncodeError:
            text = message.content.encode("utf-8", "replace").decode("utf-8")
            out[i] = message.model_copy(update={"content": text})  # same length: keeps cache_prefix_chars
    return out


class Engine:
    """Runs batches of `LLMCall`s. Use one engine per run; its `totals` add up every batch."""

    def __init__(
        self, settings: EngineSettings | None = None, *, providers: dict[str, Provider] | None = None
    ) -> None:
        self.settings = settings or EngineSettings()
        self.totals = RunTotals()
        self.plan_check = PlanCheck()  # the calls made, as planned and as reported
        self._provider_overrides = dict(providers or {})
        self._providers: dict[str, Provider] = {}
        self._budget = Budget(self.settings.max_cost_usd)
        self.notices: list[str] = []
        """Warnings of this engine's runs (each also logged once to the ``rubric_eval`` logger)."""
        self._asker = Asker(self.settings, self._warn)

    @property
    def cache_path(self) -> Path:
        """Where the cache database lives (``--cache_dir``, ``$RUBRIC_EVAL_CACHE_DIR`` or the user cache)."""
        return (self.settings.cache_dir or default_cache_dir()) / "llm_cache.sqlite3"

    def _provider(self, config: ModelConfig) -> Provider:
        if config.provider in self._provider_overrides:
            return self._provider_overrides[config.provider]
        key = f"{config.provider}|{config.model}|{sorted(config.provider_options.items())}"
        if key not in self._providers:
            self._providers[key] = create_provider(config)
        return self._providers[key]

    def run(self, calls: Sequence[LLMCall[Any]], *, description: str = "LLM calls") -> list[LLMResult[Any]]:
        """Run calls to completion (blocking) and return results in the same order.

        Works inside a running event loop too (e.g. Jupyter): the batch then runs in a helper thread.
        """
        return run_blocking(self.arun(calls, description=description))

    async def arun(
        self, calls: Sequence[LLMCall[Any]], *, description: str = "LLM calls"
    ) -> list[LLMResult[Any]]:
        """Run calls concurrently; results come back in input order. Raises only on config errors."""
        calls = list(calls)
        if not calls:
            return []
        for config in {id(c.config): c.config for c in calls}.values():
            self._check_config(config)  # fail fast, before any call is made
        results: list[LLMResult[Any] | None] = [None] * len(calls)
        async for index, result in self.astream(calls, description=description, total=len(calls)):
            results[index] = result
        assert all(r is not None for r in results), "the stream yields every call once"
        return cast(list[LLMResult[Any]], results)

    async def astream(
        self,
        calls: Iterable[LLMCall[Any]],
        *,
        description: str = "LLM calls",
        total: int | None = None,
        window: int | None = None,
    ) -> AsyncIterator[tuple[int, LLMResult[Any]]]:
        """Run calls as they are drawn from ``calls`` and yield ``(index, result)`` as each finishes.

        ``calls`` may be a lazy iterable (e.g. records read from a file as they are needed): it is
        read at most ``window`` calls ahead of the finished ones (default: 4 x the concurrency, at
        least 256), so memory stays bounded and the first request goes out at once. Results come
        in completion order. If drawing from ``calls`` raises (e.g. a bad input record), the error
        is raised at once and the calls in flight are cancelled; every call that finished is in
        the cache, so a rerun repeats none of them.
        ``total`` (when known) is shown by the progress display; once ``calls`` is exhausted the
        exact count is.
        """
        started = time.monotonic()
        cache = None
        if self.settings.use_cache:
            # Checked before any call: a damaged cache stops here, naming the file and the fix.
            wait_s = self.settings.cache_lock_wait_s
            opened = open_cache(self.settings.cache_dir or default_cache_dir(), lock_wait_s=wait_s)
            cache = CacheStore(opened, lock_wait_s=wait_s, warn=self._warn)
        progress = make_progress(self.settings.progress, description, total)
        run = _Run(cache=cache, budget=self._budget.run(), progress=progress)
        window = window or max(256, 4 * self.settings.max_concurrency)
        finished: asyncio.Queue[tuple[int, LLMResult[Any]]] = asyncio.Queue()
        tasks: dict[int, asyncio.Task[None]] = {}
        checked: set[int] = set()

        batched = BatchOutcome()
        planner = self._planner()

        async def one(index: int, call: LLMCall[Any]) -> None:
            try:
                done = batched.results.get(index)
                result = done if done is not None else batched.charge(index, await self._call(call, run))
                self.plan_check.add(planner, call, result)
            except Exception as exc:  # one call's fault stays in that call
                logger.debug("call %s failed", call.label, exc_info=True)
                result = LLMResult(ok=False, error=f"this call could not be completed: {describe_error(exc)}")
            self._count(result)
            spent = not result.cached and result.attempts > 0
            progress.advance(
                ok=result.ok,
                cost_usd=result.cost_usd if (spent or result.cached) else 0.0,
                priced=result.cost_known or not spent,
                cached=result.cached,
            )
            finished.put_nowait((index, result))

        source = iter(calls)
        drawn = 0
        exhausted = False
        try:
            if self.settings.dry_run:
                await self._dry_run(list(calls), run, description)
            if self.settings.batch:
                # A batch is submitted whole, so in batch mode every call is drawn first.
                calls = list(calls)
                source = iter(calls)
                batched = await run_batches(self, calls, run, description)
            while tasks or not exhausted:
                while not exhausted and len(tasks) < window:
                    call = next(source, None)  # may raise (a bad input record): in-flight calls are cancelled
                    if call is not None and id(call.config) not in checked:
                        self._check_config(call.config)
                        checked.add(id(call.config))
                    if call is None:
                        exhausted = True
                        progress.set_total(drawn)
                        break
                    tasks[drawn] = asyncio.create_task(one(drawn, call))
                    drawn += 1
                    if drawn % 64 == 0:
                        await asyncio.sleep(0)  # let the first calls go out while more are drawn
                if not tasks:
                    break
                index, outcome = await finished.get()
                tasks.pop(index, None)
                yield index, outcome
        finally:
            for task in tasks.values():
                task.cancel()
            progress.close()
            if cache is not None:
                await cache.close()
            self.totals.wall_s += time.monotonic() - started
            await self.aclose()

    def _warn(self, message: str) -> None:
        if message not in self.notices:
            self.notices.append(message)
            logger.warning("%s", message)

    def _check_config(self, config: ModelConfig) -> None:
        self._provider(config)  # fail fast on a missing key or unknown provider
        if self.settings.max_cost_usd is not None and price_for(config) is None:
            raise ConfigError(
                f"--max_cost is set, but the price of model {config.model!r} (config {config.name!r}) "
                "is unknown; set price_per_million_input and price_per_million_output in the config"
            )

    async def aclose(self) -> None:
        providers, self._providers = list(self._providers.values()), {}
        for provider in providers:
            await provider.aclose()

    def close(self) -> None:
        """Release provider connections (they are also released at the end of every run)."""
        run_blocking(self.aclose())

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _count(self, result: LLMResult[Any]) -> None:
        totals = self.totals
        if not result.ok and (result.error or "").startswith(BUDGET_EXHAUSTED):
            totals.budget_exhausted += 1  # never sent: neither a call made nor a failed one
            return
        totals.calls += 1
        if result.cached:
            totals.cache_hits += 1
            return
        totals.api_calls += result.attempts
        totals.failures += not result.ok
        totals.input_tokens += result.usage.input_tokens
        totals.cached_input_tokens += result.usage.cached_input_tokens
        totals.cache_write_tokens += result.usage.cache_write_tokens
        totals.output_tokens += result.usage.output_tokens
        totals.cost_usd += result.cost_usd
        totals.batch_calls += result.batched
        totals.cost_at_live_price_usd += result.cost_usd + result.batch_cost_usd  # batch price = half
        totals.unpriced_calls += not result.cost_known and result.attempts > 0

    # -- one call ---------------------------------------------------------------------------
    def _endpoint(self, run: _Run, config: ModelConfig, provider: Provider) -> tuple[str, Endpoint]:
        name = f"{config.provider}|{provider.endpoint}|{config.model}"
        endpoint = run.endpoints.get(name)
        if endpoint is None:
            explicit = self.settings.model_fields_set
            concurrency = (
                self.settings.max_concurrency
                if "max_concurrency" in explicit or config.max_concurrency is None
                else config.max_concurrency
            )
            pooled = getattr(provider, "pool_concurrency", None)  # an endpoint pool: its replicas' slots
            if isinstance(pooled, int) and "max_concurrency" not in explicit:
                concurrency = pooled
            cap = provider.max_concurrency  # e.g. in-process models: one call at a time
            if isinstance(cap, int):
                concurrency = min(concurrency, cap)
            rpm = self.settings.requests_per_minute or config.requests_per_minute
            tpm = self.settings.tokens_per_minute or config.tokens_per_minute
            breaker = Breaker(_display(provider, config), self.settings.circuit_breaker_failures)
            endpoint = Endpoint(asyncio.Semaphore(concurrency), Pacer(rpm, tpm), breaker)
            run.endpoints[name] = endpoint
        return name, endpoint

    def _planner(self) -> Planner:
        settings = self.settings
        explicit = "max_concurrency" in settings.model_fields_set

        def concurrency(config: ModelConfig) -> int:
            own = config.max_concurrency
            return settings.max_concurrency if explicit or own is None else own

        return Planner(
            self.cache_path if settings.use_cache else None,
            concurrency,
            lambda config: settings.requests_per_minute or config.requests_per_minute,
            lambda config: settings.tokens_per_minute or config.tokens_per_minute,
        )

    async def _dry_run(self, calls: list[LLMCall[Any]], run: _Run, description: str) -> None:
        """Plan ``calls`` (cache lookups only) and stop the command with `DryRun`."""
        planner = self._planner()
        for call in calls:
            self._check_config(call.config)
            key, _, _ = self._key(call, self._provider(call.config))
            cached = run.cache is not None and await run.cache.get(key) is not None
            planner.add(call, cached=cached)
        raise DryRun(plan_lines(list(planner.plans.values()), stage=description))

    def _key(
        self, call: LLMCall[Any], provider: Provider
    ) -> tuple[str, dict[str, Any] | None, list[ChatMessage]]:
        """The call's cache key, the JSON schema of its answer (None for free text), its messages."""
        messages = _valid_unicode(call.messages)
        structured = call.output_type is not str
        schema = (
            (call.response_schema or json_schema_for(cast(type[BaseModel], call.output_type)))
            if structured
            else None
        )
        key = cache_key(
            call.config,
            endpoint=str(getattr(provider, "cache_identity", None) or provider.endpoint),
            messages=messages,
            response_schema=schema,
            template_key=call.template_key,
            repeat_index=call.repeat_index,
        )
        return key, schema, messages

    async def _call(self, call: LLMCall[Any], run: _Run) -> LLMResult[Any]:
        provider = self._provider(call.config)
        endpoint_name, endpoint = self._endpoint(run, call.config, provider)
        key, schema, messages = self._key(call, provider)
        price = price_for(call.config)
        if run.cache is not None:
            hit = await self._from_cache(run.cache, key, call, price, provider)
            if hit is not None:
                return hit
        breaker = endpoint.breaker
        if breaker.open_reason is not None:
            return LLMResult(ok=False, error=breaker.open_reason, cost_known=price is not None)
        async with endpoint.semaphore:
            if breaker.open_reason is not None:  # opened while this call waited for a slot
                return LLMResult(ok=False, error=breaker.open_reason, cost_known=price is not None)
            run.progress.start_requests()
            # Budget is claimed when the call really starts, so the estimate uses what has finished.
            estimate = self._estimate_cost(run, price, messages)
            if not await run.budget.reserve(estimate):
                return LLMResult(ok=False, error=run.budget.refusal(), cost_known=price is not None)
            cost = 0.0
            try:
                result = await self._asker.attempt(
                    call, messages, provider, endpoint, endpoint_name, schema, price
                )
                cost = result.cost_usd
            finally:
                await run.budget.settle(estimate, cost)
        if result.error is not None:
            result.error = redact(result.error, provider_secrets(provider))
        if result.cost_known and result.attempts:
            run.priced_cost_seen += result.cost_usd
            run.priced_calls_seen += 1
        if run.cache is not None:
            if result.ok and result.text is not None:
                answer = CachedAnswer(
                    result.text,
                    result.usage.input_tokens,
                    result.usage.output_tokens,
                    result.cost_usd if result.cost_known else None,
                    result.attempts,
                    result.latency_s,
                )
                await run.cache.put(key, answer, model=call.config.model, template_key=call.template_key)
            elif not result.ok:
                text = None if result.text is None else redact(result.text, provider_secrets(provider))
                await run.cache.log_failure(key, result.error or "", text, model=call.config.model)
        return result

    async def _from_cache(
        self, cache: CacheStore, key: str, call: LLMCall[Any], price: Price | None, provider: Provider
    ) -> LLMResult[Any] | None:
        hit = await cache.get(key)
        if hit is None:
            return None
        try:
            value = parse_value(call, hit.text)
        except Exception:
            return None  # e.g. a stricter `check` than when it was cached: ask again
        return LLMResult(
            ok=True,
            value=value,
            text=hit.text,
            usage=Usage(hit.input_tokens, hit.output_tokens),
            cost_usd=hit.cost_usd or 0.0,
            cost_known=hit.cost_usd is not None,
            latency_s=hit.latency_s,
            attempts=hit.attempts,
            cached=True,
            params=with_defaults(getattr(provider, "default_params", None) or {}, call.config.params),
        )

    def _estimate_cost(self, run: _Run, price: Price | None, messages: Sequence[ChatMessage]) -> float:
        """What a call about to start will probably cost: the mean cost of this run's priced calls
        so far, and before any has finished, the prompt's tokens plus as many (at least 256) out."""
        if self.settings.max_cost_usd is None or price is None:
            return 0.0
        tokens_in = estimate_tokens(messages)
        if run.priced_calls_seen:
            return max(price.cost(tokens_in, 0), run.priced_cost_seen / run.priced_calls_seen)
        return price.cost(tokens_in, max(tokens_in, 256))


def _display(provider: Provider, config: ModelConfig) -> str:
    where = str(getattr(provider, "endpoint", "") or "")
    return f"{config.provider} endpoint {where}" if where else f"{config.provider} ({config.model})"


def run_blocking(coro: Coroutine[Any, Any, _T]) -> _T:
    """Run a coroutine to completion from sync code, also inside a running event loop (e.g. Jupyter),
    where it runs in a helper thread. Ctrl-C cancels it either way (calls in flight are cancelled,
    answers so far stay in the cache) and then raises `KeyboardInterrupt`."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    started: list[tuple[asyncio.AbstractEventLoop, asyncio.Task[Any]]] = []

    async def main() -> _T:
        task = asyncio.current_task()
        assert task is not None
        started.append((asyncio.get_running_loop(), task))
        return await coro

    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        future = pool.submit(asyncio.run, main())
        try:
            return future.result()
        except KeyboardInterrupt:
            # The interrupt reaches this thread only: cancel the run in the helper thread, as asyncio.run
            # does on SIGINT, instead of waiting for every remaining call to finish.
            while not future.done() and not started:
                time.sleep(0.01)
            if started:
                loop, task = started[0]
                loop.call_soon_threadsafe(task.cancel)
            concurrent.futures.wait([future])
            raise

"""The one place for side effects of LLM calls: concurrency, pacing, retries, structured parsing,
caching, cost and progress.

Steps build `LLMCall`s and get `LLMResult`s back in the same order; a failed call is a
result with ``ok=False`` and the reason, never an exception and never a fake answer.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import random
import time
from collections.abc import Coroutine, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar, cast

from pydantic import BaseModel, ConfigDict, Field

from rubric_eval.engine._cache import Cache, CachedAnswer, cache_key, default_cache_dir
from rubric_eval.engine._pacing import Pacer
from rubric_eval.engine._pricing import Price, price_for
from rubric_eval.engine._progress import make_progress
from rubric_eval.engine._redact import redact
from rubric_eval.engine._registry import create_provider
from rubric_eval.engine._structured import json_schema_for, parse_reply
from rubric_eval.engine._types import (
    ChatMessage,
    LLMCall,
    LLMResult,
    ModelConfig,
    Provider,
    ProviderError,
    ProviderRequest,
    ProviderResponse,
    Usage,
)
from rubric_eval.errors import ConfigError

BUDGET_EXHAUSTED = "budget exhausted"
_T = TypeVar("_T")


class EngineSettings(BaseModel):
    """How the engine runs calls. Every LLM command exposes these as flags.

    ``max_concurrency``, ``requests_per_minute`` and ``tokens_per_minute`` apply per endpoint
    (provider, base URL, model); when not set explicitly, a config's own values win.
    """

    model_config = ConfigDict(extra="forbid")

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

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class _Endpoint:
    semaphore: asyncio.Semaphore
    pacer: Pacer


@dataclass
class _Run:
    """State of one `arun`: endpoints (their semaphores are bound to this event loop), cache, budget."""

    cache: Cache | None
    endpoints: dict[str, _Endpoint] = field(default_factory=dict)
    reserved_usd: float = 0.0
    priced_cost_seen: float = 0.0
    priced_calls_seen: int = 0


def _estimate_tokens(messages: Sequence[ChatMessage]) -> int:
    return sum(len(m.content) for m in messages) // 4 + 4 * len(messages)


def _schema_hint(schema: dict[str, Any]) -> ChatMessage:
    return ChatMessage(
        role="user",
        content="Answer with only a JSON object that matches this JSON schema:\n"
        + json.dumps(schema, separators=(",", ":")),
    )


class Engine:
    """Runs batches of `LLMCall`s. Use one engine per run; its `totals` add up every batch."""

    def __init__(
        self, settings: EngineSettings | None = None, *, providers: dict[str, Provider] | None = None
    ) -> None:
        self.settings = settings or EngineSettings()
        self.totals = RunTotals()
        self._provider_overrides = dict(providers or {})
        self._providers: dict[str, Provider] = {}
        self._no_native_structured: set[str] = set()
        self._spent_usd = 0.0

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
        return _run_sync(self.arun(calls, description=description))

    async def arun(
        self, calls: Sequence[LLMCall[Any]], *, description: str = "LLM calls"
    ) -> list[LLMResult[Any]]:
        """Run calls concurrently; results come back in input order. Raises only on config errors."""
        started = time.monotonic()
        configs = {id(c.config): c.config for c in calls}
        for config in configs.values():
            self._provider(config)  # fail fast on a missing key or unknown provider
            if self.settings.max_cost_usd is not None and price_for(config) is None:
                raise ConfigError(
                    f"--max_cost is set, but the price of model {config.model!r} (config {config.name!r}) "
                    "is unknown; set price_per_million_input and price_per_million_output in the config"
                )
        cache = Cache(self.settings.cache_dir or default_cache_dir()) if self.settings.use_cache else None
        run = _Run(cache=cache)
        progress = make_progress(self.settings.progress, description, len(calls))

        async def one(call: LLMCall[Any]) -> LLMResult[Any]:
            result = await self._call(call, run)
            self._count(result)
            spent = not result.cached and result.attempts > 0
            progress.advance(
                ok=result.ok,
                cost_usd=result.cost_usd if spent else 0.0,
                priced=result.cost_known or not spent,
            )
            return result

        try:
            return list(await asyncio.gather(*(one(c) for c in calls)))
        finally:
            progress.close()
            if cache is not None:
                cache.close()
            self.totals.wall_s += time.monotonic() - started
            await self.aclose()

    async def aclose(self) -> None:
        providers, self._providers = list(self._providers.values()), {}
        for provider in providers:
            await provider.aclose()

    def close(self) -> None:
        """Release provider connections (they are also released at the end of every run)."""
        _run_sync(self.aclose())

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _count(self, result: LLMResult[Any]) -> None:
        totals = self.totals
        totals.calls += 1
        if result.cached:
            totals.cache_hits += 1
            return
        totals.api_calls += result.attempts
        totals.failures += not result.ok
        totals.budget_exhausted += result.error == BUDGET_EXHAUSTED
        totals.input_tokens += result.usage.input_tokens
        totals.output_tokens += result.usage.output_tokens
        totals.cost_usd += result.cost_usd
        totals.unpriced_calls += not result.cost_known and result.attempts > 0

    # -- one call ---------------------------------------------------------------------------
    def _endpoint(self, run: _Run, config: ModelConfig, provider: Provider) -> tuple[str, _Endpoint]:
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
            endpoint = _Endpoint(asyncio.Semaphore(concurrency), Pacer(rpm, tpm))
            run.endpoints[name] = endpoint
        return name, endpoint

    async def _call(self, call: LLMCall[Any], run: _Run) -> LLMResult[Any]:
        provider = self._provider(call.config)
        endpoint_name, endpoint = self._endpoint(run, call.config, provider)
        structured = call.output_type is not str
        schema = (
            (call.response_schema or json_schema_for(cast(type[BaseModel], call.output_type)))
            if structured
            else None
        )
        key = cache_key(
            call.config,
            endpoint=provider.endpoint,
            messages=call.messages,
            response_schema=schema,
            template_key=call.template_key,
            repeat_index=call.repeat_index,
        )
        price = price_for(call.config)
        if run.cache is not None:
            hit = self._from_cache(run.cache, key, call, price)
            if hit is not None:
                return hit
        async with endpoint.semaphore:
            # Budget is claimed when the call really starts, so the estimate uses what has finished.
            estimate = self._estimate_cost(run, price, call.messages)
            if not self._reserve(run, estimate):
                return LLMResult(ok=False, error=BUDGET_EXHAUSTED, cost_known=price is not None)
            try:
                result = await self._attempt(call, run, provider, endpoint, endpoint_name, schema, price)
            finally:
                run.reserved_usd -= estimate
        self._spent_usd += result.cost_usd
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
                run.cache.put(key, answer, model=call.config.model, template_key=call.template_key)
            elif not result.ok:
                run.cache.log_failure(key, result.error or "", result.text, model=call.config.model)
        return result

    def _from_cache(
        self, cache: Cache, key: str, call: LLMCall[Any], price: Price | None
    ) -> LLMResult[Any] | None:
        hit = cache.get(key)
        if hit is None:
            return None
        try:
            value = self._parse(call, hit.text)
        except ValueError:
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
        )

    def _estimate_cost(self, run: _Run, price: Price | None, messages: Sequence[ChatMessage]) -> float:
        """What a call about to start will probably cost: the mean cost of this run's priced calls
        so far, and before any has finished, the prompt's tokens plus as many (at least 256) out."""
        if self.settings.max_cost_usd is None or price is None:
            return 0.0
        tokens_in = _estimate_tokens(messages)
        if run.priced_calls_seen:
            return max(price.cost(tokens_in, 0), run.priced_cost_seen / run.priced_calls_seen)
        return price.cost(tokens_in, max(tokens_in, 256))

    def _reserve(self, run: _Run, estimate: float) -> bool:
        """Claim budget for a call about to start; False when it would pass ``max_cost_usd``."""
        budget = self.settings.max_cost_usd
        if budget is None:
            return True
        if self._spent_usd + run.reserved_usd + estimate > budget:
            return False
        run.reserved_usd += estimate
        return True

    def _parse(self, call: LLMCall[Any], text: str) -> Any:
        """The answer's value, or ValueError with what to say when re-asking."""
        structured = call.output_type is not str
        value = parse_reply(text, cast(type[BaseModel], call.output_type)) if structured else text
        problem = call.check(value) if call.check else None
        if problem is not None:
            raise ValueError(problem)
        return value

    async def _attempt(
        self,
        call: LLMCall[Any],
        run: _Run,
        provider: Provider,
        endpoint: _Endpoint,
        endpoint_name: str,
        schema: dict[str, Any] | None,
        price: Price | None,
    ) -> LLMResult[Any]:
        started = time.monotonic()
        messages = list(call.messages)
        usage = Usage()
        attempts = 0
        last_text: str | None = None
        error = "no attempt was made"
        parse_rounds = 0
        # One extra round for the fallback when an endpoint rejects native structured output.
        for _ in range(self.settings.max_parse_retries + 2):
            native = schema is not None and endpoint_name not in self._no_native_structured
            # Built without validation (its parts are typed already): validating would copy the
            # schema and messages on every request, and providers memoise work per schema object.
            request = ProviderRequest.model_construct(
                model=call.config.model,
                messages=messages if native or schema is None else [*messages, _schema_hint(schema)],
                params=call.config.params,
                response_schema=schema if native else None,
                schema_name=call.output_type.__name__ if schema is not None else None,
                timeout_s=self.settings.timeout_s,
            )
            try:
                response, tries = await self._send(provider, endpoint, request)
            except _SendFailed as failed:
                attempts += failed.tries
                exc = failed.error
                if exc.structured_unsupported and native:
                    # Ask again without the native mechanism and rely on JSON extraction.
                    self._no_native_structured.add(endpoint_name)
                    continue
                error = redact(str(exc))
                break
            attempts += tries
            usage = usage + Usage(response.input_tokens, response.output_tokens)
            last_text = response.text
            try:
                value = self._parse(call, response.text)
            except ValueError as exc:
                problem = str(exc)
            else:
                return self._result(True, value, last_text, None, usage, price, started, attempts)
            error = f"invalid answer: {problem}"
            if response.finish_reason == "length":
                error += " (the reply was cut off at the token limit)"
            parse_rounds += 1
            if parse_rounds > self.settings.max_parse_retries:
                break
            messages = [
                *call.messages,
                ChatMessage(role="assistant", content=response.text),
                ChatMessage(
                    role="user",
                    content=(
                        f"Your answer was not valid: {problem}. Answer again, following the format exactly."
                    ),
                ),
            ]
        return self._result(False, None, last_text, error, usage, price, started, attempts)

    def _result(
        self,
        ok: bool,
        value: Any,
        text: str | None,
        error: str | None,
        usage: Usage,
        price: Price | None,
        started: float,
        attempts: int,
    ) -> LLMResult[Any]:
        return LLMResult(
            ok=ok,
            value=value,
            text=text,
            error=error,
            usage=usage,
            cost_usd=price.cost(usage.input_tokens, usage.output_tokens) if price else 0.0,
            cost_known=price is not None,
            latency_s=time.monotonic() - started,
            attempts=attempts,
        )

    async def _send(
        self, provider: Provider, endpoint: _Endpoint, request: ProviderRequest
    ) -> tuple[ProviderResponse, int]:
        """One request with bounded retries on retryable errors; raises `_SendFailed` at the end."""
        settings = self.settings
        estimate = _estimate_tokens(request.messages)
        # The provider enforces the timeout; this outer one only catches providers that do not.
        guard_s = settings.timeout_s * 1.5 + 5
        for attempt in range(1, settings.max_attempts + 1):
            await endpoint.pacer.acquire(estimate)
            try:
                response = await asyncio.wait_for(provider.complete(request), guard_s)
            except asyncio.TimeoutError:
                exc = ProviderError(f"{provider.name}: no response within {guard_s:.0f}s", retryable=True)
            except ProviderError as error:
                exc = error
            except Exception as error:  # a provider bug must not sink the whole batch
                message = f"{provider.name}: unexpected {type(error).__name__}: {error}"
                exc = ProviderError(message, retryable=False)
            else:
                endpoint.pacer.settle(estimate, response.input_tokens + response.output_tokens)
                return response, attempt
            endpoint.pacer.settle(estimate, 0)
            if not exc.retryable or attempt == settings.max_attempts:
                raise _SendFailed(exc, attempt)
            # Exponential backoff with jitter spreads retries out; Retry-After is a floor on it.
            delay = min(settings.backoff_max_s, settings.backoff_base_s * 2 ** (attempt - 1))
            delay *= random.uniform(0.5, 1.0)
            if exc.retry_after_s is not None:
                wait = min(exc.retry_after_s, max(settings.backoff_max_s, 60.0))
                endpoint.pacer.pause(wait)
                delay = max(delay, wait * random.uniform(1.0, 1.1))
            await asyncio.sleep(delay)
        raise AssertionError("unreachable: the loop returns or raises")


class _SendFailed(Exception):
    def __init__(self, error: ProviderError, tries: int) -> None:
        super().__init__(str(error))
        self.error = error
        self.tries = tries


def _run_sync(coro: Coroutine[Any, Any, _T]) -> _T:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()

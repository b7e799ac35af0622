"""Asking one call of its endpoint: the structured-output step-down, the re-asks after an invalid
answer, and the retries with backoff of each request (the engine's `_call` does the cache, the
budget and the concurrency around it).

Structured output: a provider lists the ``response_format`` modes its API has, best first; when an
endpoint rejects one, every later call to that endpoint uses the next (said once, as a warning).
An answer that does not parse or fails the step's check is re-asked with the reason, at most
``max_parse_retries`` times; a reply cut off at the token limit is asked again with a raised limit,
or not at all when the limit cannot be raised. Retryable errors are retried ``max_attempts`` times
with exponential backoff and jitter (Retry-After as a floor); a connection failing again and again
opens the endpoint's circuit breaker.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar, cast

from pydantic import BaseModel

from rubric_eval.engine._breaker import Breaker
from rubric_eval.engine._limits import output_limit, raised_limit, with_defaults
from rubric_eval.engine._pacing import Pacer
from rubric_eval.engine._pricing import Price, usage_of
from rubric_eval.engine._redact import redact
from rubric_eval.engine._structured import MODE_DESCRIPTIONS, NATIVE, SCHEMA_IN_PROMPT, TEXT, parse_reply
from rubric_eval.engine._types import (
    ChatMessage,
    LLMCall,
    LLMResult,
    Provider,
    ProviderError,
    ProviderRequest,
    ProviderResponse,
    Usage,
)

if TYPE_CHECKING:
    from rubric_eval.engine._engine import EngineSettings

logger = logging.getLogger("rubric_eval")
CUT_OFF = "the reply was cut off at the token limit"
_T = TypeVar("_T")
_TIMEOUT = getattr(asyncio, "timeout", None)  # Python 3.11+


async def _within(awaitable: Awaitable[_T], seconds: float) -> _T:
    """``awaitable`` with a deadline (TimeoutError after it): `asyncio.timeout` runs it in this task,
    where `asyncio.wait_for` (before 3.11) wraps it in one more task per request."""
    if _TIMEOUT is None:
        return await asyncio.wait_for(awaitable, seconds)
    async with _TIMEOUT(seconds):
        return await awaitable


@dataclass
class Endpoint:
    semaphore: asyncio.Semaphore
    pacer: Pacer
    breaker: Breaker


def describe_error(exc: BaseException) -> str:
    if isinstance(exc, RecursionError):
        return "the data is nested too deeply to process"
    text = str(exc).strip()
    return text or type(exc).__name__


def estimate_tokens(messages: Sequence[ChatMessage]) -> int:
    return sum(len(m.content) for m in messages) // 4 + 4 * len(messages)


def _schema_hint(schema: dict[str, Any]) -> ChatMessage:
    return ChatMessage(
        role="user",
        content="Answer with only a JSON object that matches this JSON schema:\n"
        + json.dumps(schema, separators=(",", ":")),
    )


def provider_secrets(provider: Provider) -> list[str]:
    return [str(s) for s in getattr(provider, "secrets", None) or () if s]


class _SendFailed(Exception):
    def __init__(self, error: ProviderError, tries: int) -> None:
        super().__init__(str(error))
        self.error = error
        self.tries = tries


def parse_value(call: LLMCall[Any], text: str) -> Any:
    """A reply's value for ``call`` (parsed and checked), or ValueError with what to say when re-asking."""
    structured = call.output_type is not str
    value = parse_reply(text, cast(type[BaseModel], call.output_type)) if structured else text
    try:
        problem = call.check(value) if call.check else None
    except RecursionError:
        problem = "the answer is nested too deeply to read"
    if problem is not None:
        raise ValueError(problem)
    return value


class Asker:
    """Asks calls of their endpoints for one engine; remembers per endpoint which structured-output
    mode it accepts (for the engine's whole life: a server does not change its mind mid-run)."""

    def __init__(self, settings: EngineSettings, warn: Callable[[str], None]) -> None:
        self.settings = settings
        self._warn = warn
        # Structured output per endpoint: the index of the mode in use, the modes it rejected.
        self._mode_index: dict[str, int] = {}
        self._rejected: dict[str, list[str]] = {}
        self._announced: set[str] = set()

    async def attempt(
        self,
        call: LLMCall[Any],
        messages: list[ChatMessage],
        provider: Provider,
        endpoint: Endpoint,
        endpoint_name: str,
        schema: dict[str, Any] | None,
        price: Price | None,
    ) -> LLMResult[Any]:
        started = time.monotonic()
        modes: tuple[str, ...] = tuple(getattr(provider, "structured_modes", None) or (NATIVE, TEXT))
        params = with_defaults(getattr(provider, "default_params", None) or {}, call.config.params)
        asked = list(messages)
        usage = Usage()
        attempts = 0
        last_text: str | None = None
        error = "no attempt was made"
        parse_rounds = 0
        raised = False
        # Bounded: re-asks, plus one round per structured-output mode an endpoint may reject.
        for _ in range(self.settings.max_parse_retries + 1 + len(modes)):
            mode = modes[min(self._mode_index.get(endpoint_name, 0), len(modes) - 1)] if schema else None
            hint = schema is not None and mode in SCHEMA_IN_PROMPT
            # Built without validation (its parts are typed already): validating would copy the
            # schema and messages on every request, and providers memoise work per schema object.
            request = ProviderRequest.model_construct(
                model=call.config.model,
                messages=[*asked, _schema_hint(schema)] if hint and schema is not None else asked,
                params=params,
                response_schema=schema if mode != TEXT else None,
                schema_name=call.output_type.__name__ if schema is not None else None,
                structured_mode=mode,
                timeout_s=self.settings.timeout_s,
            )
            try:
                response, tries = await self.send(provider, endpoint, request)
            except _SendFailed as failed:
                attempts += failed.tries
                exc = failed.error
                if exc.structured_unsupported and mode is not None and mode != TEXT:
                    self._step_down(endpoint_name, modes, mode, exc)
                    continue
                error = str(exc)
                break
            attempts += tries
            usage = usage + usage_of(response)
            last_text = response.text
            if mode is not None:
                self._accepted(endpoint_name, endpoint.breaker.endpoint, mode)
            try:
                value = parse_value(call, response.text)
            except ValueError as exc:
                problem = str(exc)
            else:
                return self._result(True, value, last_text, None, usage, price, started, attempts, params)
            parse_rounds += 1
            if response.finish_reason == "length":
                # The same request would be cut off again: raise the limit, or do not ask again.
                limit = output_limit(params)
                error = f"{CUT_OFF}" + (f" ({limit[0]}={limit[1]})" if limit else "") + f": {problem}"
                bigger = raised_limit(call.config.model, params, raised)
                if bigger is None:
                    error += "; not asked again, since the limit cannot be raised"
                    break
                if parse_rounds > self.settings.max_parse_retries:
                    break
                params, raised, asked = bigger, True, list(messages)
                continue
            error = f"invalid answer: {problem}"
            if parse_rounds > self.settings.max_parse_retries:
                break
            asked = [
                *messages,
                ChatMessage(role="assistant", content=response.text),
                ChatMessage(
                    role="user",
                    content=(
                        f"Your answer was not valid: {problem}. Answer again, following the format exactly."
                    ),
                ),
            ]
        return self._result(False, None, last_text, error, usage, price, started, attempts, params)

    def _step_down(
        self, endpoint_name: str, modes: tuple[str, ...], rejected: str, exc: ProviderError
    ) -> None:
        """The endpoint rejected a structured-output mode: use the next one for the rest of the run."""
        index = modes.index(rejected) + 1 if rejected in modes else len(modes) - 1
        if exc.fallback_mode in modes:
            index = max(index, modes.index(exc.fallback_mode))
        reason = str(exc)
        if index > self._mode_index.get(endpoint_name, 0):
            self._mode_index[endpoint_name] = index
            self._rejected.setdefault(endpoint_name, []).append(
                f"{MODE_DESCRIPTIONS.get(rejected, rejected)}"
            )
            logger.debug("%s rejected %s: %s", endpoint_name, rejected, reason)

    def _accepted(self, endpoint_name: str, display: str, mode: str) -> None:
        """Say once per endpoint which mode it accepted, when it rejected a better one first."""
        rejected = self._rejected.get(endpoint_name)
        if rejected and endpoint_name not in self._announced:
            self._announced.add(endpoint_name)
            self._warn(
                f"structured output: {display} rejected {'; '.join(rejected)}; it accepted "
                f"{MODE_DESCRIPTIONS.get(mode, mode)}, used for its calls from now on"
            )

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
        params: dict[str, Any],
    ) -> LLMResult[Any]:
        return LLMResult(
            ok=ok,
            value=value,
            text=text,
            error=error,
            usage=usage,
            cost_usd=price.cost_of(usage) if price else 0.0,
            cost_known=price is not None,
            latency_s=time.monotonic() - started,
            attempts=attempts,
            params=dict(params),
        )

    async def send(
        self, provider: Provider, endpoint: Endpoint, request: ProviderRequest
    ) -> tuple[ProviderResponse, int]:
        """One request with bounded retries on retryable errors; raises `_SendFailed` at the end."""
        settings = self.settings
        breaker = endpoint.breaker
        estimate = estimate_tokens(request.messages)
        # The provider enforces the timeout; this outer one only catches providers that do not.
        guard_s = settings.timeout_s * 1.5 + 5
        unreachable = 0  # this call's connection failures in a row
        successes_then = breaker.successes
        for attempt in range(1, settings.max_attempts + 1):
            if breaker.open_reason is not None:
                raise _SendFailed(ProviderError(breaker.open_reason), attempt - 1)
            await endpoint.pacer.acquire(estimate)
            try:
                response = await _within(provider.complete(request), guard_s)
            except asyncio.TimeoutError:
                exc = ProviderError(f"{provider.name}: no response within {guard_s:.0f}s", retryable=True)
            except ProviderError as error:
                exc = error
            except Exception as error:  # a provider bug must not sink the whole batch
                exc = ProviderError(f"{provider.name}: the call failed unexpectedly: {describe_error(error)}")
            else:
                endpoint.pacer.settle(estimate, response.input_tokens + response.output_tokens)
                breaker.success()
                return response, attempt
            endpoint.pacer.settle(estimate, 0)
            if exc.connection:
                successes_then = breaker.successes if unreachable == 0 else successes_then
                unreachable += 1
                if breaker.connection_failed(unreachable, successes_then, str(exc)):
                    assert breaker.open_reason is not None
                    self._warn(redact(breaker.open_reason, provider_secrets(provider)))
                    raise _SendFailed(ProviderError(breaker.open_reason), attempt)
            else:
                unreachable = 0
            # A rejected structured-output mode is answered the same way every time: step down now.
            if exc.structured_unsupported or not exc.retryable or attempt == settings.max_attempts:
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

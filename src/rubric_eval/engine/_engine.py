"""The one place for side effects of LLM calls: concurrency, retries, structured parsing.

Steps build `LLMCall`s and get `LLMResult`s back in the same order; a failed call is a
result with ``ok=False`` and the reason, never an exception and never a fake answer.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal, cast

from pydantic import BaseModel, ConfigDict, Field

from rubric_eval._config import AnnotatorConfig
from rubric_eval.engine._registry import create_provider
from rubric_eval.engine._structured import json_schema_for, parse_reply
from rubric_eval.engine._types import (
    ChatMessage,
    LLMCall,
    LLMResult,
    Provider,
    ProviderError,
    ProviderRequest,
    Usage,
)


class EngineSettings(BaseModel):
    """How the engine runs calls. Every LLM command exposes these as flags."""

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


class Engine:
    """Runs batches of `LLMCall`s. Use one engine per run; close it (or use ``with``) at the end."""

    def __init__(
        self, settings: EngineSettings | None = None, *, providers: dict[str, Provider] | None = None
    ) -> None:
        self.settings = settings or EngineSettings()
        self._provider_overrides = dict(providers or {})
        self._providers: dict[str, Provider] = {}

    def _provider(self, config: AnnotatorConfig) -> Provider:
        if config.provider in self._provider_overrides:
            return self._provider_overrides[config.provider]
        key = f"{config.provider}|{config.model}|{sorted(config.provider_options.items())}"
        if key not in self._providers:
            self._providers[key] = create_provider(config)
        return self._providers[key]

    def run(self, calls: Sequence[LLMCall[Any]], *, description: str = "LLM calls") -> list[LLMResult[Any]]:
        """Run calls to completion (blocking) and return results in the same order."""
        return asyncio.run(self.arun(calls, description=description))

    async def arun(
        self, calls: Sequence[LLMCall[Any]], *, description: str = "LLM calls"
    ) -> list[LLMResult[Any]]:
        semaphore = asyncio.Semaphore(self.settings.max_concurrency)

        async def one(call: LLMCall[Any]) -> LLMResult[Any]:
            async with semaphore:
                return await self._call(call)

        try:
            return list(await asyncio.gather(*(one(c) for c in calls)))
        finally:
            await self.aclose()

    async def aclose(self) -> None:
        providers, self._providers = list(self._providers.values()), {}
        for provider in providers:
            await provider.aclose()

    async def _call(self, call: LLMCall[Any]) -> LLMResult[Any]:
        structured = call.output_type is not str
        schema = json_schema_for(cast(type[BaseModel], call.output_type)) if structured else None
        messages = list(call.messages)
        usage = Usage()
        attempts = 0
        started = time.monotonic()
        last_text: str | None = None
        error = "no attempt was made"
        for _ in range(self.settings.max_parse_retries + 1):
            request = ProviderRequest(
                model=call.config.model,
                messages=messages,
                params=call.config.params,
                response_schema=schema,
                schema_name=call.output_type.__name__ if structured else None,
                timeout_s=self.settings.timeout_s,
            )
            try:
                response, tries = await self._send(call.config, request)
            except ProviderError as exc:
                return LLMResult(
                    ok=False,
                    error=str(exc),
                    text=last_text,
                    usage=usage,
                    latency_s=time.monotonic() - started,
                    attempts=attempts + 1,
                )
            attempts += tries
            usage = usage + Usage(response.input_tokens, response.output_tokens)
            last_text = response.text
            try:
                value: Any = (
                    parse_reply(response.text, cast(type[BaseModel], call.output_type))
                    if structured
                    else response.text
                )
                problem = call.check(value) if call.check else None
            except ValueError as exc:
                problem = str(exc)
            if problem is None:
                return LLMResult(
                    ok=True,
                    value=value,
                    text=response.text,
                    usage=usage,
                    latency_s=time.monotonic() - started,
                    attempts=attempts,
                )
            error = f"invalid answer: {problem}"
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
        return LLMResult(
            ok=False,
            error=error,
            text=last_text,
            usage=usage,
            latency_s=time.monotonic() - started,
            attempts=attempts,
        )

    async def _send(self, config: AnnotatorConfig, request: ProviderRequest) -> tuple[Any, int]:
        provider = self._provider(config)
        for attempt in range(1, self.settings.max_attempts + 1):
            try:
                return await provider.complete(request), attempt
            except ProviderError as exc:
                if not exc.retryable or attempt == self.settings.max_attempts:
                    raise
                delay = exc.retry_after_s
                if delay is None:
                    delay = min(
                        self.settings.backoff_max_s, self.settings.backoff_base_s * 2 ** (attempt - 1)
                    )
                    delay *= random.uniform(0.5, 1.0)
                await asyncio.sleep(delay)
        raise AssertionError("unreachable: the loop returns or raises")

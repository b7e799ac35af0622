"""A scripted provider for tests: replies from a list or a function, and records every request."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable

from rubric_eval.engine._types import ProviderError, ProviderRequest, ProviderResponse

Reply = str | ProviderResponse | Exception
ReplyFn = Callable[[ProviderRequest], Reply]


class ScriptedProvider:
    """Answers each call with the next scripted reply (or ``fn(request)``).

    An ``Exception`` in the script is raised, so tests can script failures.
    Running out of replies raises a non-retryable `ProviderError`.
    """

    name = "scripted"
    endpoint = ""  # not a server: nothing to tell apart in cache keys
    max_concurrency: int | None = None

    def __init__(self, replies: Iterable[Reply] | ReplyFn, *, latency_s: float = 0.0) -> None:
        self._fn: ReplyFn | None = replies if callable(replies) else None
        self._replies: list[Reply] = [] if callable(replies) else list(replies)
        self.latency_s = latency_s
        self.requests: list[ProviderRequest] = []

    async def complete(self, request: ProviderRequest) -> ProviderResponse:
        self.requests.append(request)
        if self.latency_s:
            await asyncio.sleep(self.latency_s)
        if self._fn is not None:
            reply = self._fn(request)
        elif self._replies:
            reply = self._replies.pop(0)
        else:
            raise ProviderError("scripted provider ran out of replies", retryable=False)
        if isinstance(reply, Exception):
            raise reply
        if isinstance(reply, ProviderResponse):
            return reply
        prompt_chars = sum(len(m.content) for m in request.messages)
        return ProviderResponse(
            text=reply, input_tokens=prompt_chars // 4, output_tokens=len(reply) // 4, finish_reason="stop"
        )

    async def aclose(self) -> None:
        return None

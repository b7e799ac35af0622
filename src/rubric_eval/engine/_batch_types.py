"""The contract between the engine's batch runner and the providers' batch clients.

A batch client submits many requests at once, reports the batch's state, and hands back one
`BatchItemResult` per request when the batch has ended. It does no retries and no waiting:
the engine decides when to poll, what to retry live and what to record (see engine/_batch.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from rubric_eval.engine._types import ProviderRequest, ProviderResponse


@dataclass(frozen=True)
class BatchState:
    """A batch as the API reports it: ``ended`` once no request is processing any more."""

    batch_id: str
    status: str  # the API's own word: in_progress, finalizing, completed, expired, ended, ...
    ended: bool
    total: int
    done: int
    failed: int

    @property
    def in_progress(self) -> int:
        return max(0, self.total - self.done - self.failed)


@dataclass(frozen=True)
class BatchItemResult:
    """One request's outcome: a response, or an error (``retryable`` when asking again can help)."""

    custom_id: str
    response: ProviderResponse | None = None
    error: str | None = None
    retryable: bool = True


class BatchAPI(Protocol):
    """A provider's batch endpoint. ``custom_id`` values are the engine's cache keys."""

    name: str
    max_requests: int

    async def submit(self, requests: list[tuple[str, ProviderRequest]], *, tag: str) -> str: ...

    async def state(self, batch_id: str) -> BatchState: ...

    async def results(self, batch_id: str) -> list[BatchItemResult]: ...

    async def cancel(self, batch_id: str) -> None: ...

    async def find(self, tag: str) -> str | None:
        """The id of a batch this client submitted with ``tag``, if the API can tell (else None)."""
        ...

    async def aclose(self) -> None: ...

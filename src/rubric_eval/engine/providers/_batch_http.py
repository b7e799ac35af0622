"""What the providers' batch clients share: one aiohttp session with redacted errors, JSONL parsing.

The contract they implement is `rubric_eval.engine._batch_types.BatchAPI`.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any, Literal

import aiohttp

from rubric_eval.engine._types import ProviderError

RETRYABLE_STATUS = frozenset({408, 409, 425, 429})


Method = Literal["GET", "POST"]


class BatchHTTP:
    """One aiohttp session with the provider's headers; errors become redacted `ProviderError`s."""

    def __init__(self, api: str, headers: dict[str, str], redact: Callable[[str], str]) -> None:
        self.api = api
        self._headers = {k: v for k, v in headers.items() if k.lower() != "content-type"}
        self._redact = redact
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(headers=self._headers)
        return self._session

    async def request(
        self, method: Method, url: str, *, json_body: Any = None, data: Any = None, timeout_s: float = 600.0
    ) -> bytes:
        session = self._client()
        body = json.dumps(json_body) if json_body is not None else data
        headers = {"Content-Type": "application/json"} if json_body is not None else None
        try:
            async with session.request(
                method, url, data=body, headers=headers, timeout=aiohttp.ClientTimeout(total=timeout_s)
            ) as response:
                raw = await response.read()
                status = response.status
        except asyncio.TimeoutError:
            raise ProviderError(f"{self.api} batch: no response from {url}", retryable=True) from None
        except aiohttp.ClientError as exc:
            message = f"{self.api} batch: connection error talking to {url}: {type(exc).__name__}: {exc}"
            raise ProviderError(self._redact(message), retryable=True) from None
        if status >= 400:
            message = f"{self.api} batch: HTTP {status} from {url}: {error_message(raw)}"
            raise ProviderError(
                self._redact(message), status=status, retryable=status in RETRYABLE_STATUS or status >= 500
            )
        return raw

    async def json(self, method: Method, url: str, **kwargs: Any) -> dict[str, Any]:
        raw = await self.request(method, url, **kwargs)
        try:
            data = json.loads(raw)
        except ValueError:
            raise ProviderError(f"{self.api} batch: {url} did not answer JSON", retryable=True) from None
        if not isinstance(data, dict):
            raise ProviderError(f"{self.api} batch: {url} did not answer a JSON object", retryable=True)
        return data

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


def error_message(raw: bytes | dict[str, Any] | None) -> str:
    """The ``error.message`` of an API error body (OpenAI and Anthropic shapes), else a snippet."""
    data: Any = raw
    if isinstance(raw, bytes):
        try:
            data = json.loads(raw)
        except ValueError:
            return raw[:300].decode("utf-8", "replace") or "(empty body)"
    if isinstance(data, dict):
        error = data.get("error")
        if isinstance(error, dict):
            inner = error.get("error")  # Anthropic's {"type": "error", "error": {...}}
            if isinstance(inner, dict) and inner.get("message"):
                return str(inner["message"])
            if error.get("message"):
                return str(error["message"])
    return json.dumps(data)[:300]


def jsonl(raw: bytes) -> list[dict[str, Any]]:
    """The objects of a JSONL file; a malformed line is an error naming its number."""
    rows: list[dict[str, Any]] = []
    for number, line in enumerate(raw.decode("utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError:
            raise ProviderError(f"batch results: line {number} is not JSON", retryable=True) from None
        if isinstance(row, dict):
            rows.append(row)
    return rows

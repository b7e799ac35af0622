"""Anthropic Message Batches: many Messages requests in one call, half price, results within 24 h.

Endpoints: ``POST /v1/messages/batches`` (``{"requests": [{"custom_id", "params"}]}``),
``GET /v1/messages/batches/{id}``, ``POST /v1/messages/batches/{id}/cancel`` and the batch's
``results_url`` (JSONL: ``succeeded`` / ``errored`` / ``canceled`` / ``expired`` per request).
Made by `AnthropicProvider.batch_api` with the provider's endpoint, key and request body.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rubric_eval.engine._batch_types import BatchItemResult, BatchState
from rubric_eval.engine._types import ProviderError, ProviderRequest, ProviderResponse
from rubric_eval.engine.providers._batch_http import BatchHTTP, error_message, jsonl

API_VERSION = "2023-06-01"
MAX_REQUESTS = 100_000  # per batch (the API also caps a batch at 256 MB)


class AnthropicBatchAPI:
    """Batch client for the Anthropic Messages API."""

    name = "anthropic"
    max_requests = MAX_REQUESTS

    def __init__(
        self,
        endpoint: str,
        api_key: str,
        headers: dict[str, str],
        body: Callable[[ProviderRequest], dict[str, Any]],
        parse: Callable[[dict[str, Any]], ProviderResponse],
        redact: Callable[[str], str],
    ) -> None:
        self.endpoint = endpoint
        self._body = body
        self._parse = parse
        all_headers = {"x-api-key": api_key, "anthropic-version": API_VERSION, **headers}
        self._http = BatchHTTP("anthropic", all_headers, redact)

    @property
    def _batches(self) -> str:
        return f"{self.endpoint}/v1/messages/batches"

    async def submit(self, requests: list[tuple[str, ProviderRequest]], *, tag: str) -> str:
        payload = {"requests": [{"custom_id": cid, "params": self._body(req)} for cid, req in requests]}
        batch = await self._http.json("POST", self._batches, json_body=payload)
        return str(batch["id"])

    async def _batch(self, batch_id: str) -> dict[str, Any]:
        return await self._http.json("GET", f"{self._batches}/{batch_id}")

    async def state(self, batch_id: str) -> BatchState:
        batch = await self._batch(batch_id)
        counts = {k: int(v or 0) for k, v in (batch.get("request_counts") or {}).items()}
        failed = counts.get("errored", 0) + counts.get("canceled", 0) + counts.get("expired", 0)
        done = counts.get("succeeded", 0)
        status = str(batch.get("processing_status"))
        return BatchState(
            batch_id=batch_id,
            status=status,
            ended=status == "ended",
            total=done + failed + counts.get("processing", 0),
            done=done,
            failed=failed,
        )

    async def results(self, batch_id: str) -> list[BatchItemResult]:
        batch = await self._batch(batch_id)
        url = batch.get("results_url")
        if not url:
            raise ProviderError(f"anthropic batch {batch_id} has no results_url yet", retryable=True)
        raw = await self._http.request("GET", str(url))
        return [self._item(row) for row in jsonl(raw)]

    def _item(self, row: dict[str, Any]) -> BatchItemResult:
        cid = str(row.get("custom_id"))
        result = row.get("result") if isinstance(row.get("result"), dict) else {}
        assert isinstance(result, dict)
        kind = result.get("type")
        if kind == "succeeded" and isinstance(result.get("message"), dict):
            try:
                return BatchItemResult(cid, response=self._parse(result["message"]))
            except ProviderError as exc:
                return BatchItemResult(cid, error=str(exc), retryable=exc.retryable)
        if kind == "errored":
            error = result.get("error") if isinstance(result.get("error"), dict) else {}
            inner = error.get("error") if isinstance(error, dict) else None
            error_type = inner.get("type") if isinstance(inner, dict) else None
            # An invalid request fails again live; server-side errors may not.
            retryable = error_type != "invalid_request_error"
            return BatchItemResult(cid, error=f"errored: {error_message(error)}", retryable=retryable)
        return BatchItemResult(cid, error=f"{kind or 'no result'}", retryable=True)  # canceled, expired

    async def find(self, tag: str) -> str | None:
        return None  # Message Batches carry no metadata to find a batch by

    async def cancel(self, batch_id: str) -> None:
        await self._http.json("POST", f"{self._batches}/{batch_id}/cancel")

    async def aclose(self) -> None:
        await self._http.aclose()

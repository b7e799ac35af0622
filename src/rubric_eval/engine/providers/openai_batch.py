"""The OpenAI Batch API: upload a JSONL file of chat completions, create a batch, poll it, download
the output and error files. Half the price of live calls, results within the 24 h window.

Endpoints: ``POST /files`` (multipart, ``purpose=batch``), ``POST /batches``, ``GET /batches/{id}``,
``POST /batches/{id}/cancel``, ``GET /files/{id}/content``. Made by `OpenAIProvider.batch_api`,
with the provider's endpoint, headers and request body, so a batch line is exactly a live call.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import aiohttp

from rubric_eval.engine._batch_types import BatchItemResult, BatchState
from rubric_eval.engine._types import ProviderError, ProviderRequest, ProviderResponse
from rubric_eval.engine.providers._batch_http import BatchHTTP, error_message, jsonl

CHAT_ENDPOINT = "/v1/chat/completions"
ENDED = frozenset({"completed", "expired", "cancelled", "failed"})
MAX_REQUESTS = 50_000  # per batch file (the API also caps the file at 200 MB)


class OpenAIBatchAPI:
    """Batch client for OpenAI and OpenAI-compatible servers that implement ``/batches``."""

    name = "openai"
    max_requests = MAX_REQUESTS

    def __init__(
        self,
        endpoint: str,
        headers: dict[str, str],
        body: Callable[[ProviderRequest], dict[str, Any]],
        parse: Callable[[bytes], ProviderResponse],
        redact: Callable[[str], str],
    ) -> None:
        self.endpoint = endpoint
        self._body = body
        self._parse = parse
        self._http = BatchHTTP("openai", headers, redact)

    async def submit(self, requests: list[tuple[str, ProviderRequest]], *, tag: str) -> str:
        """Upload the requests as one JSONL file and create a batch on it; returns the batch id."""
        lines = [
            json.dumps({"custom_id": cid, "method": "POST", "url": CHAT_ENDPOINT, "body": self._body(req)})
            for cid, req in requests
        ]
        form = aiohttp.FormData()
        form.add_field("purpose", "batch")
        form.add_field(
            "file",
            ("\n".join(lines) + "\n").encode("utf-8"),
            filename=f"rubric_eval-{tag}.jsonl",
            content_type="application/jsonl",
        )
        uploaded = await self._http.json("POST", f"{self.endpoint}/files", data=form)
        batch = await self._http.json(
            "POST",
            f"{self.endpoint}/batches",
            json_body={
                "input_file_id": uploaded["id"],
                "endpoint": CHAT_ENDPOINT,
                "completion_window": "24h",
                "metadata": {"rubric_eval_submission": tag},
            },
        )
        return str(batch["id"])

    async def _batch(self, batch_id: str) -> dict[str, Any]:
        return await self._http.json("GET", f"{self.endpoint}/batches/{batch_id}")

    async def state(self, batch_id: str) -> BatchState:
        batch = await self._batch(batch_id)
        counts = batch.get("request_counts") or {}
        status = str(batch.get("status"))
        return BatchState(
            batch_id=batch_id,
            status=status,
            ended=status in ENDED,
            total=int(counts.get("total") or 0),
            done=int(counts.get("completed") or 0),
            failed=int(counts.get("failed") or 0),
        )

    async def results(self, batch_id: str) -> list[BatchItemResult]:
        """Every request's outcome, from the output and error files of an ended batch."""
        batch = await self._batch(batch_id)
        if batch.get("status") == "failed":
            # The whole input was rejected (e.g. a malformed line): no request ran.
            errors = (batch.get("errors") or {}).get("data") or []
            reason = "; ".join(str(e.get("message")) for e in errors[:3]) or "the batch failed validation"
            raise ProviderError(f"openai batch {batch_id} failed: {reason}", retryable=False)
        items: list[BatchItemResult] = []
        for file_key in ("output_file_id", "error_file_id"):
            file_id = batch.get(file_key)
            if file_id:
                raw = await self._http.request("GET", f"{self.endpoint}/files/{file_id}/content")
                items += [self._item(row) for row in jsonl(raw)]
        return items

    def _item(self, row: dict[str, Any]) -> BatchItemResult:
        cid = str(row.get("custom_id"))
        response = row.get("response")
        error = row.get("error")
        if isinstance(response, dict) and response.get("status_code") == 200:
            try:
                return BatchItemResult(cid, response=self._parse(json.dumps(response.get("body")).encode()))
            except ProviderError as exc:
                return BatchItemResult(cid, error=str(exc), retryable=exc.retryable)
        if isinstance(response, dict):
            status = int(response.get("status_code") or 0)
            message = f"HTTP {status}: {error_message(response.get('body'))}"
            return BatchItemResult(cid, error=message, retryable=status in {408, 409, 429} or status >= 500)
        code = error.get("code") if isinstance(error, dict) else None
        text = error.get("message") if isinstance(error, dict) else None
        # batch_expired, batch_cancelled, request_timeout: the request never ran to the end.
        return BatchItemResult(cid, error=f"{code or 'error'}: {text or 'no result'}", retryable=True)

    async def find(self, tag: str) -> str | None:
        """The recent batch whose metadata carries ``tag`` (set by `submit`), if there is one."""
        listed = await self._http.json("GET", f"{self.endpoint}/batches?limit=100")
        for batch in listed.get("data") or []:
            metadata = batch.get("metadata") if isinstance(batch, dict) else None
            if isinstance(metadata, dict) and metadata.get("rubric_eval_submission") == tag:
                return str(batch["id"])
        return None

    async def cancel(self, batch_id: str) -> None:
        await self._http.json("POST", f"{self.endpoint}/batches/{batch_id}/cancel")

    async def aclose(self) -> None:
        await self._http.aclose()

"""The test server with the providers' batch endpoints, in their real request and response shapes.

OpenAI Batch: ``POST /v1/files`` (multipart, ``purpose=batch``), ``GET /v1/files/{id}``,
``GET /v1/files/{id}/content``, ``POST /v1/batches``, ``GET /v1/batches``, ``GET /v1/batches/{id}``,
``POST /v1/batches/{id}/cancel``. Anthropic Message Batches: ``POST /v1/messages/batches``,
``GET /v1/messages/batches``, ``GET /v1/messages/batches/{id}``, ``POST .../{id}/cancel``,
``GET .../{id}/results``. Live endpoints are those of `OpenAICompatibleServer`, and a batch
item gets exactly the answer (and usage) the live endpoint would give the same body.

Time is simulated from the clock, so nothing runs in the background: a batch validates for
``validating_s``, then processes ``items_per_s`` requests per second, finalizes for
``finalizing_s`` and completes. ``expire_after_s`` plays the 24-hour window (unprocessed items
expire), ``cancel`` stops processing (finished items keep their results), ``item_faults`` /
``item_error_rate`` make single items fail (partial failure). ``GET /_batch_stats`` counts the
files uploaded, batches created, status polls, result downloads and cancels.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import json
import math
import random
import re
import threading
import time
import uuid
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from rubric_eval.testing._server import OpenAICompatibleServer, Reply

_CUSTOM_ID = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
WINDOW_S = 24 * 3600


def _iso(timestamp: float | None) -> str | None:
    if timestamp is None:
        return None
    return dt.datetime.fromtimestamp(timestamp, dt.timezone.utc).isoformat().replace("+00:00", "Z")


@dataclass
class _Batch:
    id: str
    api: str  # "openai" or "anthropic"
    requests: list[tuple[str, dict[str, Any]]]
    created: float  # time.time()
    started: float  # time.monotonic() when validation began
    input_file_id: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)
    errors: list[dict[str, Any]] = field(default_factory=list)  # validation errors: the batch failed
    cancel_at: float | None = None  # monotonic
    cancelled_wall: float | None = None
    output_file_id: str | None = None
    error_file_id: str | None = None
    results: dict[int, dict[str, Any]] = field(default_factory=dict)


class BatchServer(OpenAICompatibleServer):
    """`OpenAICompatibleServer` plus the OpenAI Batch and Anthropic Message Batches endpoints."""

    def __init__(
        self,
        *args: Any,
        items_per_s: float = 1000.0,
        validating_s: float = 0.0,
        finalizing_s: float = 0.0,
        cancel_s: float = 0.0,
        expire_after_s: float | None = None,
        item_faults: Mapping[int, str] | None = None,
        item_error_rate: float = 0.0,
        prompt_cache: bool = False,
        create_delay_s: float = 0.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.items_per_s = items_per_s
        self.validating_s = validating_s
        self.finalizing_s = finalizing_s
        self.cancel_s = cancel_s
        self.expire_after_s = expire_after_s
        self.item_faults = dict(item_faults or {})  # item index in its batch -> "500" or "400"
        self.item_error_rate = item_error_rate
        self._batch_rng = random.Random(kwargs.get("seed", 0))
        self._batch_lock = threading.Lock()
        self._files: dict[str, tuple[str, str, bytes]] = {}  # id -> (purpose, filename, content)
        self._batches: dict[str, _Batch] = {}
        self.batch_counts: Counter[str] = Counter()
        self.prompt_cache = prompt_cache
        self.create_delay_s = create_delay_s  # the batch exists before the create call answers
        self._cached_prefixes: set[str] = set()

    # -- app ----------------------------------------------------------------------------------
    def make_app(self) -> web.Application:
        app = super().make_app()
        routes = [
            web.post("/v1/files", self._upload),
            web.get("/v1/files/{file_id}", self._file),
            web.get("/v1/files/{file_id}/content", self._file_content),
            web.post("/v1/batches", self._openai_create),
            web.get("/v1/batches", self._openai_list),
            web.get("/v1/batches/{batch_id}", self._openai_retrieve),
            web.post("/v1/batches/{batch_id}/cancel", self._openai_cancel),
            web.post("/v1/messages/batches", self._anthropic_create),
            web.get("/v1/messages/batches", self._anthropic_list),
            web.get("/v1/messages/batches/{batch_id}", self._anthropic_retrieve),
            web.post("/v1/messages/batches/{batch_id}/cancel", self._anthropic_cancel),
            web.get("/v1/messages/batches/{batch_id}/results", self._anthropic_results),
            web.get("/_batch_stats", self._batch_stats),
        ]
        app.router.add_routes(routes)
        return app

    async def _batch_stats(self, request: web.Request) -> web.Response:
        return web.json_response(self.batch_stats())

    def batch_stats(self) -> dict[str, int]:
        """Counters: ``files_uploaded``, ``batches_created``, ``polls``, ``result_downloads``, ``cancels``."""
        with self._batch_lock:
            return dict(self.batch_counts)

    # -- simulated prompt cache -----------------------------------------------------------------
    def _answer_json(self, body: dict[str, Any], content: str, api: str, **kwargs: Any) -> dict[str, Any]:
        """The live server's answer; with ``prompt_cache`` its usage reports cached prompt tokens the way
        each API does: OpenAI caches any prefix of 1,024+ tokens in 128-token steps and reports
        ``prompt_tokens_details.cached_tokens`` (part of ``prompt_tokens``); Anthropic caches up to a
        ``cache_control`` block and reports ``cache_read_input_tokens`` / ``cache_creation_input_tokens``
        apart from ``input_tokens``. Tokens are the server's usual 4 characters each."""
        data = super()._answer_json(body, content, api, **kwargs)
        if not self.prompt_cache or kwargs.get("usage") is not None:
            return data
        with self._batch_lock:
            if api == "anthropic":
                self._anthropic_cache(body, data["usage"])
            else:
                self._openai_cache(body, data["usage"])
        return data

    def _openai_cache(self, body: dict[str, Any], usage: dict[str, Any]) -> None:
        listed = body.get("messages")
        messages: list[Any] = listed if isinstance(listed, list) else []
        text = "\n".join(str(m.get("content", "")) for m in messages if isinstance(m, dict))
        step, least = 128 * 4, 1024 * 4
        cached = 0
        for end in range(least, len(text) + 1, step):
            digest = hashlib.sha256(text[:end].encode()).hexdigest()
            if digest in self._cached_prefixes:
                cached = end // 4
            self._cached_prefixes.add(digest)
        usage["prompt_tokens_details"] = {"cached_tokens": min(cached, usage["prompt_tokens"])}

    def _anthropic_cache(self, body: dict[str, Any], usage: dict[str, Any]) -> None:
        prefix = json.dumps(body.get("tools")) + str(body.get("system", ""))
        marked = False
        for message in body.get("messages") or []:
            blocks = message.get("content") if isinstance(message, dict) else None
            for block in blocks if isinstance(blocks, list) else []:
                prefix += str(block.get("text", ""))
                if isinstance(block, dict) and block.get("cache_control"):
                    marked = True
                    break
            if marked:
                break
        tokens = len(prefix) // 4
        if not marked or tokens < 1024:
            return  # nothing marked, or too short to cache: the API caches nothing
        digest = hashlib.sha256(prefix.encode()).hexdigest()
        hit = digest in self._cached_prefixes
        self._cached_prefixes.add(digest)
        tokens = min(tokens, usage["input_tokens"])
        usage["input_tokens"] -= tokens
        usage["cache_read_input_tokens" if hit else "cache_creation_input_tokens"] = tokens

    # -- simulated processing -------------------------------------------------------------------
    def _frozen_at(self, batch: _Batch) -> float | None:
        """When processing stopped early (cancel or expiry), in monotonic seconds; None if it did not."""
        stops = []
        if batch.cancel_at is not None:
            stops.append(batch.cancel_at)
        if self.expire_after_s is not None:
            stops.append(batch.started + self.expire_after_s)
        stop = min(stops) if stops else None
        if stop is None or self._processed(batch, stop) >= len(batch.requests):
            return None
        return stop if stop <= time.monotonic() else None

    def _processed(self, batch: _Batch, at: float) -> int:
        elapsed = at - batch.started - self.validating_s
        return max(0, min(len(batch.requests), math.floor(elapsed * self.items_per_s)))

    def _phase(self, batch: _Batch) -> tuple[str, int]:
        """(OpenAI status, items processed) right now."""
        now = time.monotonic()
        if batch.errors:
            return "failed", 0
        frozen = self._frozen_at(batch)
        if frozen is not None:
            done = self._processed(batch, frozen)
            if batch.cancel_at is not None and frozen == batch.cancel_at:
                return ("cancelling" if now < frozen + self.cancel_s else "cancelled"), done
            return "expired", done
        if now < batch.started + self.validating_s:
            return "validating", 0
        done = self._processed(batch, now)
        if done < len(batch.requests):
            return "in_progress", done
        all_done_at = batch.started + self.validating_s + len(batch.requests) / self.items_per_s
        return ("finalizing" if now < all_done_at + self.finalizing_s else "completed"), done

    def _item(self, batch: _Batch, index: int) -> dict[str, Any]:
        """The outcome of item ``index``: ``{"ok": bool, "status": int, "body": {...}}``, computed once."""
        if index in batch.results:
            return batch.results[index]
        _, body = batch.requests[index]
        fault = self.item_faults.get(index)
        if fault is None and self.item_error_rate and self._batch_rng.random() < self.item_error_rate:
            fault = "500"
        if fault is not None:
            status = int(fault)
            message = (
                "The server had an error processing your request." if status >= 500 else "Invalid request."
            )
            outcome = {"ok": False, "status": status, "message": message}
        else:
            content = self._batch_content(body, batch.api)
            outcome = {"ok": True, "status": 200, "body": self._answer_json(body, content, batch.api)}
        batch.results[index] = outcome
        return outcome

    def _batch_content(self, body: dict[str, Any], api: str) -> str:
        scripted = self.handler(body) if self.handler is not None else None
        if isinstance(scripted, str):
            return scripted
        if isinstance(scripted, dict):
            return json.dumps(scripted)
        if isinstance(scripted, Reply) and scripted.content is not None:
            return scripted.content
        return self._default_content(body, api)

    # -- OpenAI files ---------------------------------------------------------------------------
    async def _upload(self, request: web.Request) -> web.Response:
        form = await request.post()
        purpose, upload = form.get("purpose"), form.get("file")
        if purpose != "batch" or not isinstance(upload, web.FileField):
            return self._error(400, "expected multipart fields 'purpose=batch' and 'file'", "openai")
        content = upload.file.read()
        file_id = f"file-{uuid.uuid4().hex[:24]}"
        with self._batch_lock:
            self._files[file_id] = ("batch", upload.filename, content)
            self.batch_counts["files_uploaded"] += 1
        return web.json_response(self._file_object(file_id))

    def _file_object(self, file_id: str) -> dict[str, Any]:
        purpose, filename, content = self._files[file_id]
        return {
            "id": file_id,
            "object": "file",
            "bytes": len(content),
            "created_at": int(time.time()),
            "filename": filename,
            "purpose": purpose,
        }

    async def _file(self, request: web.Request) -> web.Response:
        file_id = request.match_info["file_id"]
        if file_id not in self._files:
            return self._error(404, f"No such File object: {file_id}", "openai")
        return web.json_response(self._file_object(file_id))

    async def _file_content(self, request: web.Request) -> web.Response:
        file_id = request.match_info["file_id"]
        if file_id not in self._files:
            return self._error(404, f"No such File object: {file_id}", "openai")
        with self._batch_lock:
            self.batch_counts["result_downloads"] += 1
        return web.Response(body=self._files[file_id][2], content_type="application/octet-stream")

    # -- OpenAI batches -------------------------------------------------------------------------
    async def _openai_create(self, request: web.Request) -> web.Response:
        body = await request.json()
        file_id = body.get("input_file_id")
        if file_id not in self._files:
            return self._error(404, f"No such File object: {file_id}", "openai")
        if body.get("completion_window") != "24h":
            return self._error(400, "completion_window must be '24h'", "openai", param="completion_window")
        endpoint = body.get("endpoint")
        if endpoint not in {"/v1/chat/completions", "/v1/responses", "/v1/embeddings", "/v1/completions"}:
            return self._error(400, f"unsupported endpoint {endpoint!r}", "openai", param="endpoint")
        requests, errors = _parse_input(self._files[file_id][2], endpoint)
        batch = _Batch(
            id=f"batch_{uuid.uuid4().hex[:24]}",
            api="openai",
            requests=requests,
            created=time.time(),
            started=time.monotonic(),
            input_file_id=file_id,
            metadata=dict(body.get("metadata") or {}),
            errors=errors,
        )
        with self._batch_lock:
            self._batches[batch.id] = batch
            self.batch_counts["batches_created"] += 1
        if self.create_delay_s:
            await asyncio.sleep(self.create_delay_s)
        return web.json_response(self._openai_object(batch))

    def _openai_object(self, batch: _Batch) -> dict[str, Any]:
        status, done = self._phase(batch)
        ended = status in {"completed", "expired", "cancelled"}
        if ended and batch.output_file_id is None:
            self._write_openai_files(batch, done, status)
        outcomes = [self._item(batch, i) for i in range(done)]
        failed = sum(not o["ok"] for o in outcomes)
        if status == "expired":
            failed += len(batch.requests) - done  # unprocessed items end in the error file
        created = batch.created
        return {
            "id": batch.id,
            "object": "batch",
            "endpoint": "/v1/chat/completions",
            "errors": {"object": "list", "data": batch.errors} if batch.errors else None,
            "input_file_id": batch.input_file_id,
            "completion_window": "24h",
            "status": status,
            "output_file_id": batch.output_file_id,
            "error_file_id": batch.error_file_id,
            "created_at": int(created),
            "in_progress_at": int(created + self.validating_s) if status != "validating" else None,
            "expires_at": int(created + WINDOW_S),
            "finalizing_at": None,
            "completed_at": int(time.time()) if status == "completed" else None,
            "failed_at": int(created) if status == "failed" else None,
            "expired_at": int(time.time()) if status == "expired" else None,
            "cancelling_at": int(batch.cancelled_wall) if batch.cancelled_wall else None,
            "cancelled_at": int(time.time()) if status == "cancelled" else None,
            "request_counts": {
                "total": len(batch.requests),
                "completed": done - sum(not o["ok"] for o in outcomes),
                "failed": failed,
            },
            "metadata": batch.metadata,
        }

    def _write_openai_files(self, batch: _Batch, done: int, status: str) -> None:
        output: list[str] = []
        errors: list[str] = []
        for index, (custom_id, _) in enumerate(batch.requests):
            line: dict[str, Any] = {"id": f"batch_req_{uuid.uuid4().hex[:24]}", "custom_id": custom_id}
            if index < done:
                outcome = self._item(batch, index)
                body = outcome.get("body") or {
                    "error": {
                        "message": outcome.get("message"),
                        "type": "server_error",
                        "param": None,
                        "code": None,
                    }
                }
                line["response"] = {
                    "status_code": outcome["status"],
                    "request_id": uuid.uuid4().hex,
                    "body": body,
                }
                line["error"] = None
                (output if outcome["ok"] else errors).append(json.dumps(line))
                continue
            code = "batch_expired" if status == "expired" else "batch_cancelled"
            message = (
                "This request could not be executed before the completion window expired."
                if status == "expired"
                else "This request was not executed because the batch was cancelled."
            )
            line["response"] = None
            line["error"] = {"code": code, "message": message}
            errors.append(json.dumps(line))
        for kind, lines in (("output", output), ("error", errors)):
            if not lines:
                continue
            file_id = f"file-{uuid.uuid4().hex[:24]}"
            self._files[file_id] = (
                "batch_output",
                f"{batch.id}_{kind}.jsonl",
                ("\n".join(lines) + "\n").encode(),
            )
            if kind == "output":
                batch.output_file_id = file_id
            else:
                batch.error_file_id = file_id

    async def _openai_retrieve(self, request: web.Request) -> web.Response:
        batch = self._batches.get(request.match_info["batch_id"])
        if batch is None or batch.api != "openai":
            return self._error(404, f"No batch found with id '{request.match_info['batch_id']}'", "openai")
        with self._batch_lock:
            self.batch_counts["polls"] += 1
        return web.json_response(self._openai_object(batch))

    async def _openai_list(self, request: web.Request) -> web.Response:
        data = [self._openai_object(b) for b in self._batches.values() if b.api == "openai"]
        return web.json_response({"object": "list", "data": data, "has_more": False})

    async def _openai_cancel(self, request: web.Request) -> web.Response:
        batch = self._batches.get(request.match_info["batch_id"])
        if batch is None or batch.api != "openai":
            return self._error(404, f"No batch found with id '{request.match_info['batch_id']}'", "openai")
        status, _ = self._phase(batch)
        if status in {"completed", "expired", "failed", "cancelled", "cancelling"}:
            return self._error(400, f"Cannot cancel a batch with status '{status}'.", "openai")
        self._cancel(batch)
        return web.json_response(self._openai_object(batch))

    def _cancel(self, batch: _Batch) -> None:
        with self._batch_lock:
            batch.cancel_at = time.monotonic()
            batch.cancelled_wall = time.time()
            self.batch_counts["cancels"] += 1

    # -- Anthropic message batches ----------------------------------------------------------------
    async def _anthropic_create(self, request: web.Request) -> web.Response:
        body = await request.json()
        items = body.get("requests")
        if not isinstance(items, list) or not items:
            return self._error(400, "requests: field required (a non-empty list)", "anthropic")
        seen: set[str] = set()
        requests: list[tuple[str, dict[str, Any]]] = []
        for number, item in enumerate(items):
            custom_id = item.get("custom_id") if isinstance(item, dict) else None
            params = item.get("params") if isinstance(item, dict) else None
            if not isinstance(custom_id, str) or not _CUSTOM_ID.match(custom_id):
                return self._error(
                    400, f"requests.{number}.custom_id: must match ^[a-zA-Z0-9_-]{{1,64}}$", "anthropic"
                )
            if custom_id in seen:
                return self._error(
                    400, f"requests.{number}.custom_id: duplicate custom_id {custom_id}", "anthropic"
                )
            missing = [
                k
                for k in ("model", "max_tokens", "messages")
                if not isinstance(params, dict) or k not in params
            ]
            if missing:
                return self._error(400, f"requests.{number}.params.{missing[0]}: field required", "anthropic")
            assert isinstance(params, dict)
            seen.add(custom_id)
            requests.append((custom_id, params))
        batch = _Batch(
            id=f"msgbatch_{uuid.uuid4().hex[:24]}",
            api="anthropic",
            requests=requests,
            created=time.time(),
            started=time.monotonic(),
        )
        with self._batch_lock:
            self._batches[batch.id] = batch
            self.batch_counts["batches_created"] += 1
        return web.json_response(self._anthropic_object(batch))

    def _anthropic_object(self, batch: _Batch) -> dict[str, Any]:
        status, done = self._phase(batch)
        ended = status in {"completed", "expired", "cancelled"}
        processing = "ended" if ended else ("canceling" if status == "cancelling" else "in_progress")
        counts = {
            "processing": len(batch.requests),
            "succeeded": 0,
            "errored": 0,
            "canceled": 0,
            "expired": 0,
        }
        if ended:  # the API reports the outcome counts only once processing has ended
            outcomes = [self._item(batch, i) for i in range(done)]
            rest = len(batch.requests) - done
            counts = {
                "processing": 0,
                "succeeded": sum(o["ok"] for o in outcomes),
                "errored": sum(not o["ok"] for o in outcomes),
                "canceled": rest if status == "cancelled" else 0,
                "expired": rest if status == "expired" else 0,
            }
        return {
            "id": batch.id,
            "type": "message_batch",
            "processing_status": processing,
            "request_counts": counts,
            "ended_at": _iso(time.time()) if ended else None,
            "created_at": _iso(batch.created),
            "expires_at": _iso(batch.created + WINDOW_S),
            "archived_at": None,
            "cancel_initiated_at": _iso(batch.cancelled_wall),
            "results_url": f"{self.root_url}/v1/messages/batches/{batch.id}/results" if ended else None,
        }

    def _anthropic_batch(self, request: web.Request) -> _Batch | None:
        batch = self._batches.get(request.match_info["batch_id"])
        return batch if batch is not None and batch.api == "anthropic" else None

    async def _anthropic_retrieve(self, request: web.Request) -> web.Response:
        batch = self._anthropic_batch(request)
        if batch is None:
            return self._error(404, "message batch not found", "anthropic")
        with self._batch_lock:
            self.batch_counts["polls"] += 1
        return web.json_response(self._anthropic_object(batch))

    async def _anthropic_list(self, request: web.Request) -> web.Response:
        data = [self._anthropic_object(b) for b in self._batches.values() if b.api == "anthropic"]
        first, last = (data[0]["id"], data[-1]["id"]) if data else (None, None)
        return web.json_response({"data": data, "has_more": False, "first_id": first, "last_id": last})

    async def _anthropic_cancel(self, request: web.Request) -> web.Response:
        batch = self._anthropic_batch(request)
        if batch is None:
            return self._error(404, "message batch not found", "anthropic")
        if self._anthropic_object(batch)["processing_status"] == "in_progress":
            self._cancel(batch)
        return web.json_response(self._anthropic_object(batch))

    async def _anthropic_results(self, request: web.Request) -> web.Response:
        batch = self._anthropic_batch(request)
        if batch is None:
            return self._error(404, "message batch not found", "anthropic")
        status, done = self._phase(batch)
        if status not in {"completed", "expired", "cancelled"}:
            return self._error(400, "results are not available until processing has ended", "anthropic")
        with self._batch_lock:
            self.batch_counts["result_downloads"] += 1
        lines = []
        for index, (custom_id, _) in enumerate(batch.requests):
            if index < done:
                outcome = self._item(batch, index)
                if outcome["ok"]:
                    result: dict[str, Any] = {"type": "succeeded", "message": outcome["body"]}
                else:
                    kind = "api_error" if outcome["status"] >= 500 else "invalid_request_error"
                    error = {"type": "error", "error": {"type": kind, "message": outcome["message"]}}
                    result = {"type": "errored", "error": error}
            else:
                result = {"type": "canceled" if status == "cancelled" else "expired"}
            lines.append(json.dumps({"custom_id": custom_id, "result": result}))
        return web.Response(text="\n".join(lines) + "\n", content_type="application/binary")


def _parse_input(
    content: bytes, endpoint: str
) -> tuple[list[tuple[str, dict[str, Any]]], list[dict[str, Any]]]:
    """The requests of an OpenAI batch input file, and the validation errors (with line numbers)."""
    requests: list[tuple[str, dict[str, Any]]] = []
    errors: list[dict[str, Any]] = []
    seen: set[str] = set()
    for number, line in enumerate(content.decode("utf-8", "replace").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError:
            errors.append(
                {"code": "invalid_json_line", "message": "This line is not parseable JSON.", "line": number}
            )
            continue
        custom_id = row.get("custom_id") if isinstance(row, dict) else None
        if not isinstance(custom_id, str) or custom_id in seen:
            errors.append(
                {
                    "code": "duplicate_custom_id",
                    "message": "custom_id is missing or not unique.",
                    "line": number,
                }
            )
            continue
        if row.get("method") != "POST" or row.get("url") != endpoint or not isinstance(row.get("body"), dict):
            message = f"Each line needs method POST, url {endpoint} and a JSON body."
            errors.append({"code": "invalid_request", "message": message, "line": number})
            continue
        seen.add(custom_id)
        requests.append((custom_id, row["body"]))
    return requests, errors

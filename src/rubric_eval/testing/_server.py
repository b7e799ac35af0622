"""A real OpenAI-compatible HTTP server on 127.0.0.1 for tests and benchmarks.

In-process (a background thread with its own event loop)::

    with OpenAICompatibleServer(latency_s=0.05, faults=["429", "500"]) as server:
        client = AsyncOpenAI(base_url=server.base_url, api_key="test")
        ...
        assert server.request_count == 3

As a subprocess (for kill tests and benchmarks that must not share the client's CPU)::

    python -m rubric_eval.testing.openai_server --port 0 --latency 0.2 --rate-limit 100

prints ``listening on http://127.0.0.1:PORT/v1`` on its first stdout line; `ServerProcess`
wraps that. ``GET /_stats`` returns the request count and the status codes sent.

Replies are deterministic: with a ``response_format`` JSON schema the answer is a valid
instance synthesised from the schema, seeded by a hash of the request; without one it is
plain text. ``POST /v1/messages`` speaks the Anthropic Messages API the same way (a forced
tool call gets a synthesised ``tool_use`` input).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import hashlib
import json
import math
import random
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from multidict import CIMultiDict

from rubric_eval.testing._faults import REPLY_MODES, Context
from rubric_eval.testing._schema_instance import synthesize_instance

FAULT_KINDS = frozenset(
    {
        "429",  # rate limited, with Retry-After
        "500",
        "503",
        "400",  # bad request, not retryable
        "401",  # unauthorized, not retryable
        "hang",  # never answer (until the client gives up or the server stops)
        "truncate",  # a 200 whose body is cut off mid-way
        "drop",  # close the connection without any response
        "non_json",  # a 200 with an HTML body
        "schema_mismatch",  # valid JSON content that does not match the requested schema
        "not_json_content",  # prose content where JSON was requested
        "reject_response_format",  # 400 when the request has response_format (like servers without it)
        "slow",  # a correct answer after 0.3 s
        *REPLY_MODES,  # hostile replies of misbehaving servers and models (see _faults.py)
    }
)


@dataclass
class Fault:
    """An injected failure; ``kind`` is one of `FAULT_KINDS`."""

    kind: str
    retry_after_s: float | None = None

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault {self.kind!r}; expected one of {sorted(FAULT_KINDS)}")


@dataclass
class Reply:
    """A scripted reply: assistant ``content``, or a raw ``status``/``body`` for full control."""

    content: str | None = None
    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0
    finish_reason: str = "stop"
    usage: tuple[int, int] | None = None


HandlerResult = str | dict[str, Any] | Reply | Fault | None
Handler = Callable[[dict[str, Any]], HandlerResult]


def request_seed(body: Mapping[str, Any]) -> str:
    """The seed of a request's deterministic reply: a hash of its canonical JSON."""
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()


def _count_tokens(text: str) -> int:
    return max(1, math.ceil(len(text) / 4))


def _message_text(messages: Any) -> str:
    parts: list[str] = []
    for message in messages if isinstance(messages, list) else []:
        content = message.get("content") if isinstance(message, dict) else None
        if isinstance(content, str):
            parts.append(content)
        elif isinstance(content, list):
            parts += [c.get("text", "") for c in content if isinstance(c, dict)]
    return "\n".join(parts)


class _TokenBucket:
    """Server-side limit like real APIs: a bucket of ``rate`` tokens (one second of burst)."""

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self.tokens = rate
        self.updated = time.monotonic()

    def take(self) -> float | None:
        """Take a token; None on success, else the seconds until one is available."""
        now = time.monotonic()
        self.tokens = min(self.rate, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= 1:
            self.tokens -= 1
            return None
        return (1 - self.tokens) / self.rate


class OpenAICompatibleServer:
    """An aiohttp server speaking ``/v1/chat/completions``, ``/v1/models`` and ``/v1/messages``.

    - ``handler(request_json)`` scripts replies: return a str (content), a dict (sent as JSON
      content), a `Reply`, a `Fault`, or None for the default deterministic reply.
    - ``faults``: fault kinds (or `Fault`/`Reply`) for the first requests, in arrival order.
    - ``fault_rates``: ``{kind: probability}`` injected at random (seeded by ``seed``).
    - ``rate_limit_per_s``: answer 429 (with Retry-After) above this many requests per second.
    - ``latency_s``: delay before each answer.  ``retry_after_s``: Retry-After on injected 429s.
    - ``api_key``: when set, requests without ``Authorization: Bearer <api_key>`` get a 401.
    """

    def __init__(
        self,
        handler: Handler | None = None,
        *,
        latency_s: float = 0.0,
        faults: Sequence[str | Fault | Reply] = (),
        fault_rates: Mapping[str, float] | None = None,
        retry_after_s: float | None = 0.0,
        rate_limit_per_s: float | None = None,
        hang_s: float = 3600.0,
        seed: int = 0,
        api_key: str | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        log_path: str | None = None,
        keep_bodies: bool = True,
    ) -> None:
        self.handler = handler
        # False keeps only counts (an empty body per request): for long benchmark runs.
        self.keep_bodies = keep_bodies
        self.latency_s = latency_s
        self._faults: collections.deque[Fault | Reply] = collections.deque(
            Fault(f) if isinstance(f, str) else f for f in faults
        )
        self.fault_rates = {k: v for k, v in (fault_rates or {}).items() if Fault(k) and v > 0}
        self.retry_after_s = retry_after_s
        self.hang_s = hang_s
        self.api_key = api_key
        self.host = host
        self.port = port
        self._bucket = _TokenBucket(rate_limit_per_s) if rate_limit_per_s else None
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self._requests: list[dict[str, Any]] = []
        self._headers: list[Mapping[str, str]] = []
        self._in_flight = 0
        self.max_in_flight = 0
        self._statuses: collections.Counter[int] = collections.Counter()
        # Wall-clock (epoch) times of the first and latest request: benchmarks measure a client's
        # time to first request and its request-phase rate from the server's side.
        self.first_request_at: float | None = None
        self.last_request_at: float | None = None
        self._log = open(log_path, "a", encoding="utf-8") if log_path else None  # noqa: SIM115
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._stopping: asyncio.Event | None = None

    # -- inspection ---------------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT/v1``: what an OpenAI client's ``base_url`` should be."""
        return f"http://{self.host}:{self.port}/v1"

    @property
    def root_url(self) -> str:
        """``http://127.0.0.1:PORT``: the Anthropic SDK's ``base_url`` (it adds ``/v1/messages``)."""
        return f"http://{self.host}:{self.port}"

    @property
    def requests(self) -> list[dict[str, Any]]:
        """The JSON bodies of every completion request received, in arrival order."""
        with self._lock:
            return list(self._requests)

    @property
    def request_headers(self) -> list[Mapping[str, str]]:
        """The HTTP headers of every completion request (case-insensitive), aligned with `requests`."""
        with self._lock:
            return list(self._headers)

    @property
    def request_count(self) -> int:
        with self._lock:
            return len(self._requests)

    @property
    def status_counts(self) -> dict[int, int]:
        """How many responses of each HTTP status were sent (``-1`` for dropped/hung ones)."""
        with self._lock:
            return dict(self._statuses)

    def reset(self) -> None:
        """Forget the request log and counters (faults still queued stay queued)."""
        with self._lock:
            self._requests.clear()
            self._headers.clear()
            self._statuses.clear()
            self.max_in_flight = 0
            self.first_request_at = self.last_request_at = None

    def add_faults(self, *faults: str | Fault | Reply) -> None:
        """Queue more faults for the next requests."""
        with self._lock:
            self._faults.extend(Fault(f) if isinstance(f, str) else f for f in faults)

    # -- lifecycle ----------------------------------------------------------------------------
    def make_app(self) -> web.Application:
        app = web.Application(client_max_size=64 * 1024**2)
        app.router.add_post("/v1/chat/completions", self._chat)
        app.router.add_post("/chat/completions", self._chat)
        app.router.add_post("/v1/messages", self._messages)
        app.router.add_get("/v1/models", self._models)
        app.router.add_get("/_stats", self._stats)
        return app

    async def astart(self) -> None:
        """Start serving on the current event loop."""
        self._stopping = asyncio.Event()
        self._runner = web.AppRunner(self.make_app(), access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        self.port = int(self._runner.addresses[0][1])

    async def astop(self) -> None:
        if self._stopping is not None:
            self._stopping.set()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self._log is not None:
            self._log.close()
            self._log = None

    def start(self) -> OpenAICompatibleServer:
        """Serve from a background thread; returns once the port is bound."""
        ready = threading.Event()
        failure: list[BaseException] = []

        def serve() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            try:
                loop.run_until_complete(self.astart())
            except BaseException as exc:  # reported to the starting thread
                failure.append(exc)
                ready.set()
                loop.close()
                return
            ready.set()
            loop.run_forever()
            loop.run_until_complete(self.astop())
            loop.close()

        self._thread = threading.Thread(target=serve, name="openai-test-server", daemon=True)
        self._thread.start()
        ready.wait()
        if failure:
            raise failure[0]
        return self

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)
            self._thread = None
            self._loop = None

    def __enter__(self) -> OpenAICompatibleServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- endpoints ----------------------------------------------------------------------------
    async def _models(self, request: web.Request) -> web.Response:
        return web.json_response(
            {"object": "list", "data": [{"id": "test-model", "object": "model", "owned_by": "rubric-eval"}]}
        )

    async def _stats(self, request: web.Request) -> web.Response:
        with self._lock:
            stats = {
                "requests": len(self._requests),
                "statuses": dict(self._statuses),
                "max_in_flight": self.max_in_flight,
                "first_request_at": self.first_request_at,
                "last_request_at": self.last_request_at,
            }
        return web.json_response(stats)

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        return await self._serve(request, api="openai")

    async def _messages(self, request: web.Request) -> web.StreamResponse:
        return await self._serve(request, api="anthropic")

    async def _serve(self, request: web.Request, *, api: str) -> web.StreamResponse:
        with self._lock:
            self._in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self._in_flight)
        try:
            return await self._handle(request, api=api)
        finally:
            with self._lock:
                self._in_flight -= 1

    async def _handle(self, request: web.Request, *, api: str) -> web.StreamResponse:
        try:
            body = await request.json()
        except ValueError:
            return self._error(400, "request body is not valid JSON", api)
        if not isinstance(body, dict):
            return self._error(400, "request body must be a JSON object", api)
        with self._lock:
            self._requests.append(body if self.keep_bodies else {})
            self.last_request_at = time.time()
            if self.first_request_at is None:
                self.first_request_at = self.last_request_at
            self._headers.append(CIMultiDict(request.headers) if self.keep_bodies else CIMultiDict())
            fault: Fault | Reply | None = self._faults.popleft() if self._faults else None
            if fault is None:
                for kind, rate in self.fault_rates.items():
                    if self._rng.random() < rate:
                        fault = Fault(kind)
                        break
            limited = self._bucket.take() if self._bucket is not None else None
        if self._log is not None:
            self._log.write(json.dumps({"t": time.time(), "model": body.get("model")}) + "\n")
            self._log.flush()
        if self.api_key is not None and not self._authorized(request):
            return self._record(self._error(401, "Incorrect API key provided.", api))
        if limited is not None:
            return self._record(self._rate_limited(limited, api))
        if fault is None and self.handler is not None:
            scripted = self.handler(body)
            fault = scripted if isinstance(scripted, Fault | Reply) else None
            if isinstance(scripted, str | dict):
                text = scripted if isinstance(scripted, str) else json.dumps(scripted)
                fault = Reply(content=text)
        if isinstance(fault, Fault):
            return await self._fault(request, body, fault, api)
        if self.latency_s:
            await asyncio.sleep(self.latency_s)
        if isinstance(fault, Reply):
            return self._record(await self._reply(body, fault, api))
        return self._record(self._answer(body, self._default_content(body, api), api))

    def _authorized(self, request: web.Request) -> bool:
        bearer = request.headers.get("Authorization", "")
        return bearer == f"Bearer {self.api_key}" or request.headers.get("x-api-key") == self.api_key

    def _record(self, response: web.StreamResponse, status: int | None = None) -> web.StreamResponse:
        with self._lock:
            self._statuses[response.status if status is None else status] += 1
        return response

    async def _fault(
        self, request: web.Request, body: dict[str, Any], fault: Fault, api: str
    ) -> web.StreamResponse:
        kind = fault.kind
        if kind == "429":
            retry = fault.retry_after_s if fault.retry_after_s is not None else self.retry_after_s
            return self._record(self._rate_limited(retry, api))
        if kind in {"500", "503", "400", "401"}:
            if self.latency_s:
                await asyncio.sleep(self.latency_s)
            messages = {
                "500": "The server had an error while processing your request.",
                "503": "The engine is currently overloaded, please try again later.",
                "400": "Invalid request: scripted bad request.",
                "401": "Incorrect API key provided.",
            }
            return self._record(self._error(int(kind), messages[kind], api))
        if kind == "reject_response_format":
            if "response_format" in body or ("tools" in body and api == "anthropic"):
                param = "response_format" if api == "openai" else "tools"
                return self._record(
                    self._error(400, f"'{param}' is not supported by this model.", api, param=param)
                )
            return self._record(self._answer(body, self._default_content(body, api), api))
        if kind == "hang":
            assert self._stopping is not None
            self._record(web.Response(status=599), status=-1)
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), timeout=self.hang_s)
            return self._error(504, "hung request released", api)
        if kind == "drop":
            self._record(web.Response(status=599), status=-1)
            if request.transport is not None:
                request.transport.close()
            return web.Response(status=599)
        if kind == "truncate":
            full = json.dumps(self._answer_json(body, self._default_content(body, api), api)).encode()
            response = web.StreamResponse(status=200, headers={"Content-Type": "application/json"})
            response.content_length = len(full)
            await response.prepare(request)
            await response.write(full[: len(full) // 2])
            self._record(response)
            if request.transport is not None:
                request.transport.close()
            return response
        if kind in REPLY_MODES:
            content = self._default_content(body, api)
            context = Context(body, content, lambda text, **kw: self._answer_json(body, text, api, **kw))
            return self._record(REPLY_MODES[kind][1](context))
        if kind == "slow":
            await asyncio.sleep(0.3)
            return self._record(self._answer(body, self._default_content(body, api), api))
        if kind == "non_json":
            html = "<html><body><h1>502 Bad Gateway</h1></body></html>"
            return self._record(web.Response(status=200, text=html, content_type="application/json"))
        if kind == "schema_mismatch":
            content = json.dumps({"unexpected_field": "this does not match the schema"})
            return self._record(self._answer(body, content, api))
        # not_json_content
        return self._record(self._answer(body, "I think the answer is good, but I cannot say more.", api))

    async def _reply(self, body: dict[str, Any], reply: Reply, api: str) -> web.StreamResponse:
        if reply.delay_s:
            await asyncio.sleep(reply.delay_s)
        if reply.body is not None or reply.status != 200:
            payload = reply.body if reply.body is not None else {"error": {"message": "scripted error"}}
            text = payload if isinstance(payload, str) else json.dumps(payload)
            return web.Response(
                status=reply.status, text=text, headers=reply.headers, content_type="application/json"
            )
        content = reply.content if reply.content is not None else self._default_content(body, api)
        data = self._answer_json(body, content, api, finish_reason=reply.finish_reason, usage=reply.usage)
        return web.json_response(data, headers=reply.headers)

    def _rate_limited(self, retry_after_s: float | None, api: str) -> web.Response:
        headers = {}
        if retry_after_s is not None:
            headers["Retry-After"] = str(math.ceil(retry_after_s))
            headers["retry-after-ms"] = str(round(retry_after_s * 1000))
        response = self._error(429, "Rate limit reached for requests. Please try again later.", api)
        response.headers.update(headers)
        return response

    @staticmethod
    def _error(status: int, message: str, api: str, *, param: str | None = None) -> web.Response:
        if api == "anthropic":
            kinds = {400: "invalid_request_error", 401: "authentication_error", 429: "rate_limit_error"}
            payload: dict[str, Any] = {
                "type": "error",
                "error": {"type": kinds.get(status, "api_error"), "message": message},
            }
        else:
            code = {429: "rate_limit_exceeded", 401: "invalid_api_key"}.get(status)
            payload = {"error": {"message": message, "type": "error", "param": param, "code": code}}
        return web.json_response(payload, status=status)

    # -- default answers ----------------------------------------------------------------------
    def _default_content(self, body: dict[str, Any], api: str) -> str:
        seed = request_seed(body)
        schema = _requested_schema(body, api) or _prompted_schema(body)
        if schema is not None:
            return json.dumps(synthesize_instance(schema, seed))
        fmt = body.get("response_format")
        if isinstance(fmt, dict) and fmt.get("type") == "json_object":
            return json.dumps({"answer": f"reply {seed[:8]}"})
        messages = body.get("messages")
        last = _message_text(messages[-1:] if isinstance(messages, list) else [])
        snippet = " ".join(last.split())[:60]
        return f"Deterministic reply {seed[:8]} to: {snippet}"

    def _answer(self, body: dict[str, Any], content: str, api: str) -> web.Response:
        return web.json_response(self._answer_json(body, content, api))

    def _answer_json(
        self,
        body: dict[str, Any],
        content: str,
        api: str,
        *,
        finish_reason: str = "stop",
        usage: tuple[int, int] | None = None,
    ) -> dict[str, Any]:
        prompt = _message_text(body.get("messages")) + str(body.get("system", ""))
        tokens_in, tokens_out = usage or (_count_tokens(prompt), _count_tokens(content))
        rid = request_seed(body)[:24]
        model = str(body.get("model", "test-model"))
        if api == "anthropic":
            tool = _forced_tool(body)
            block: dict[str, Any] = {"type": "text", "text": content}
            if tool is not None:
                # A non-JSON fault stays a text block, as a misbehaving model's would.
                with contextlib.suppress(ValueError):
                    tool_input = json.loads(content)
                    block = {"type": "tool_use", "id": f"toolu_{rid}", "name": tool, "input": tool_input}
            return {
                "id": f"msg_{rid}",
                "type": "message",
                "role": "assistant",
                "model": model,
                "content": [block],
                "stop_reason": (
                    "max_tokens"
                    if finish_reason == "length"
                    else ("tool_use" if block["type"] == "tool_use" else "end_turn")
                ),
                "stop_sequence": None,
                "usage": {"input_tokens": tokens_in, "output_tokens": tokens_out},
            }
        return {
            "id": f"chatcmpl-{rid}",
            "object": "chat.completion",
            "created": 0,
            "model": model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": content, "refusal": None},
                    "finish_reason": finish_reason,
                    "logprobs": None,
                }
            ],
            "usage": {
                "prompt_tokens": tokens_in,
                "completion_tokens": tokens_out,
                "total_tokens": tokens_in + tokens_out,
            },
        }


_SCHEMA_HINT = "matches this JSON schema:\n"


def _prompted_schema(body: dict[str, Any]) -> dict[str, Any] | None:
    """The schema the engine puts in the prompt when a server has no structured output: a model
    that follows the prompt answers with an instance of it, and so does this server."""
    messages = body.get("messages")
    text = _message_text(messages[-1:] if isinstance(messages, list) else [])
    _, found, rest = text.rpartition(_SCHEMA_HINT)
    if not found:
        return None
    try:
        schema = json.loads(rest)
    except ValueError:
        return None
    return schema if isinstance(schema, dict) else None


def _forced_tool(body: dict[str, Any]) -> str | None:
    choice = body.get("tool_choice")
    if isinstance(choice, dict) and choice.get("type") == "tool":
        return str(choice.get("name"))
    return None


def _requested_schema(body: dict[str, Any], api: str) -> dict[str, Any] | None:
    if api == "anthropic":
        name = _forced_tool(body)
        for tool in body.get("tools") or []:
            if isinstance(tool, dict) and tool.get("name") == name:
                schema = tool.get("input_schema")
                return schema if isinstance(schema, dict) else None
        return None
    fmt = body.get("response_format")
    if isinstance(fmt, dict) and fmt.get("type") == "json_schema":
        schema = (fmt.get("json_schema") or {}).get("schema")
        return schema if isinstance(schema, dict) else None
    if isinstance(fmt, dict) and fmt.get("type") == "json_object" and isinstance(fmt.get("schema"), dict):
        return dict(fmt["schema"])  # llama.cpp servers: json_object constrained by a schema
    return None

"""OpenAI-compatible chat completions (OpenAI, Azure/OpenAI-compatible gateways, vLLM, Ollama, llama.cpp).

Speaks ``POST {base_url}/chat/completions`` directly over one shared aiohttp session.
In benchmarks/engine_throughput.py the `openai` SDK on its own transports cost 1.3-3.0 ms
of client CPU per call and reached 0.80-0.88 of the ideal rate; the engine with this
client costs 0.3-0.4 ms per call and reaches 0.94 (see docs/architecture.md, "Engine").
Configuration follows the SDK: ``OPENAI_API_KEY``, ``OPENAI_BASE_URL``, ``OPENAI_ORG_ID``,
``OPENAI_PROJECT_ID``.
"""

from __future__ import annotations

import asyncio
import json
import os
from typing import Any

import aiohttp

from rubric_eval.engine._redact import redact
from rubric_eval.engine._structured import strict_schema
from rubric_eval.engine._types import ModelConfig, ProviderError, ProviderRequest, ProviderResponse
from rubric_eval.engine.providers._setup import check_provider_options, resolve_api_key, retry_after_seconds
from rubric_eval.errors import ConfigError

DEFAULT_BASE_URL = "https://api.openai.com/v1"
# Servers that need no key (vLLM, Ollama, the test server) still get an Authorization header.
PLACEHOLDER_KEY = "sk-no-key-required"
_OPTIONS = frozenset({"base_url", "api_key_env", "headers"})
_RETRYABLE_STATUS = frozenset({408, 409, 425, 429})


def _error_message(body: bytes) -> str:
    text = body.decode("utf-8", "replace").strip()
    try:
        data = json.loads(text)
    except ValueError:
        return text[:500] or "(empty body)"
    error = data.get("error") if isinstance(data, dict) else None
    if isinstance(error, dict) and error.get("message"):
        return str(error["message"])
    if isinstance(error, str):
        return error
    return text[:500]


class OpenAIProvider:
    """One chat completion per `complete` call; errors become `ProviderError`s with redacted messages."""

    name = "openai"
    max_concurrency: int | None = None

    def __init__(self, config: ModelConfig) -> None:
        options = check_provider_options(config, _OPTIONS)
        explicit_url = options.get("base_url") or os.environ.get("OPENAI_BASE_URL")
        self.endpoint = str(explicit_url or DEFAULT_BASE_URL).rstrip("/")
        self._api_key = resolve_api_key(
            config,
            options,
            default_env="OPENAI_API_KEY",
            base_url_env="OPENAI_BASE_URL",
            has_base_url=bool(explicit_url),
            placeholder=PLACEHOLDER_KEY,
        )
        headers = {
            "Authorization": f"Bearer {self._api_key}",
            "Content-Type": "application/json",
            "User-Agent": "rubric-eval",
        }
        for env, header in (
            ("OPENAI_ORG_ID", "OpenAI-Organization"),
            ("OPENAI_PROJECT_ID", "OpenAI-Project"),
        ):
            if os.environ.get(env):
                headers[header] = os.environ[env]
        extra = options.get("headers") or {}
        if not isinstance(extra, dict):
            raise ConfigError(f"config {config.name!r}: provider_options.headers must be a mapping")
        headers.update({str(k): str(v) for k, v in extra.items()})
        self._headers = headers
        self._url = f"{self.endpoint}/chat/completions"
        self._session: aiohttp.ClientSession | None = None

    def _session_for_loop(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            # No connection cap here: the engine's per-endpoint semaphore bounds concurrency.
            connector = aiohttp.TCPConnector(limit=0, ttl_dns_cache=300, keepalive_timeout=60)
            self._session = aiohttp.ClientSession(connector=connector, headers=self._headers)
        return self._session

    def _body(self, request: ProviderRequest) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": request.model,
            "messages": [{"role": m.role, "content": m.content} for m in request.messages],
            **request.params,
        }
        if request.response_schema is not None:
            strict = strict_schema(request.response_schema)
            body["response_format"] = {
                "type": "json_schema",
                "json_schema": {
                    "name": (request.schema_name or "answer")[:64],
                    "schema": strict if strict is not None else request.response_schema,
                    "strict": strict is not None,
                },
            }
        return body

    async def complete(self, request: ProviderRequest) -> ProviderResponse:
        session = self._session_for_loop()
        body = self._body(request)
        timeout = aiohttp.ClientTimeout(total=request.timeout_s)
        try:
            async with session.post(self._url, data=json.dumps(body), timeout=timeout) as response:
                raw = await response.read()
                status = response.status
                headers = response.headers
        except asyncio.TimeoutError:
            raise ProviderError(
                f"openai: no response within {request.timeout_s}s from {self.endpoint}", retryable=True
            ) from None
        except aiohttp.ClientError as exc:
            message = f"openai: connection error talking to {self.endpoint}: {type(exc).__name__}: {exc}"
            raise ProviderError(self._redact(message), retryable=True) from None
        if status >= 400:
            raise self._status_error(status, raw, headers, sent_schema="response_format" in body)
        return self._parse(raw)

    def _status_error(self, status: int, raw: bytes, headers: Any, *, sent_schema: bool) -> ProviderError:
        message = _error_message(raw)
        rejected_schema = (
            sent_schema
            and status in {400, 422}
            and any(word in message.lower() for word in ("response_format", "json_schema"))
        )
        return ProviderError(
            self._redact(f"openai: HTTP {status} from {self.endpoint}: {message}"),
            status=status,
            retryable=status in _RETRYABLE_STATUS or status >= 500,
            retry_after_s=retry_after_seconds(headers),
            structured_unsupported=rejected_schema,
        )

    def _parse(self, raw: bytes) -> ProviderResponse:
        try:
            data = json.loads(raw)
            choice = data["choices"][0]
            message = choice["message"]
        except (ValueError, KeyError, IndexError, TypeError):
            snippet = raw[:200].decode("utf-8", "replace")
            raise ProviderError(
                self._redact(f"openai: malformed response from {self.endpoint}: {snippet!r}"), retryable=True
            ) from None
        if message.get("refusal"):
            raise ProviderError(self._redact(f"openai: the model refused: {message['refusal']}"))
        usage = data.get("usage") or {}
        return ProviderResponse(
            text=message.get("content") or "",
            input_tokens=int(usage.get("prompt_tokens") or 0),
            output_tokens=int(usage.get("completion_tokens") or 0),
            finish_reason=choice.get("finish_reason"),
        )

    def _redact(self, message: str) -> str:
        return redact(message, [self._api_key])

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

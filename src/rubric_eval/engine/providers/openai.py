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
import base64
import json
import os
import urllib.parse
from typing import TYPE_CHECKING, Any

import aiohttp

from rubric_eval.engine._prompt_cache import prompt_cache_key
from rubric_eval.engine._redact import REDACTED, redact
from rubric_eval.engine._structured import (
    JSON_OBJECT,
    JSON_OBJECT_SCHEMA,
    JSON_SCHEMA,
    JSON_SCHEMA_STRICT,
    TEXT,
    strict_schema,
)
from rubric_eval.engine._types import ModelConfig, ProviderError, ProviderRequest, ProviderResponse
from rubric_eval.engine.providers._body_json import encode_body
from rubric_eval.engine.providers._setup import check_provider_options, resolve_api_key, retry_after_seconds
from rubric_eval.errors import ConfigError

if TYPE_CHECKING:
    from rubric_eval.engine.providers.openai_batch import OpenAIBatchAPI

DEFAULT_BASE_URL = "https://api.openai.com/v1"
# Servers that need no key (vLLM, Ollama, the test server) still get an Authorization header.
PLACEHOLDER_KEY = "sk-no-key-required"
_OPTIONS = frozenset({"base_url", "api_key_env", "headers", "prompt_cache_key"})
_RETRYABLE_STATUS = frozenset({408, 409, 425, 429})
# Words in an error reply that say the server rejected the response format (not the prompt).
_FORMAT_WORDS = ("response_format", "response format", "json_schema", "json_object", "guided_json", "grammar")
# Header names whose values are credentials: redacted, and only their names enter cache keys.
_CREDENTIAL_WORDS = ("auth", "key", "token", "secret", "cookie", "signature", "password", "credential")
# Query parameters of a base URL that are credentials (signed URLs, key-in-URL gateways).
_CREDENTIAL_QUERY = ("sig", "signature", "key", "token", "secret", "code", "password", "auth", "se", "sp")


def _error_message(body: bytes) -> str:
    text = body.decode("utf-8", "replace").strip()
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        return text[:500] or "(empty body)"
    error = data.get("error") if isinstance(data, dict) else None
    if isinstance(error, dict) and error.get("message"):
        return str(error["message"])[:1000]
    if isinstance(error, str):
        return error[:1000]
    if isinstance(data, dict) and isinstance(data.get("detail"), str | list):  # FastAPI servers
        return str(data["detail"])[:1000]
    return text[:500]


def _is_credential(name: str) -> bool:
    return any(word in name.lower() for word in _CREDENTIAL_WORDS)


def split_base_url(url: str) -> tuple[str, str, tuple[str, str] | None, list[str], str]:
    """``(request_url, display_url, (user, password) or None, secrets, identity_url)`` of a base URL.

    The request URL has the credentials removed (they become a Basic Authorization header); the
    display URL has every query value replaced too, for messages and endpoint names; the identity
    URL keeps the query values that are not credentials, for cache keys.
    """
    parts = urllib.parse.urlsplit(url)
    secrets: list[str] = []
    userinfo = None
    if parts.username is not None or parts.password is not None:
        user = urllib.parse.unquote(parts.username or "")
        password = urllib.parse.unquote(parts.password or "")
        userinfo = (user, password)
        secrets += [s for s in (password, parts.password or "") if s]
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = host + (f":{parts.port}" if parts.port else "")
    query = urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
    # Values of credential-like parameters, and any long token-like value, are redacted from text.
    secrets += [v for k, v in query if v and (_is_credential_query(k) or len(v) >= 16)]
    shown = [(k, REDACTED if value else value) for k, value in query]
    kept = [(k, "<credential>" if _is_credential_query(k) else value) for k, value in query]

    def build(query_text: str) -> str:
        return urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, query_text, "")).rstrip("/")

    return (
        build(parts.query),
        build(urllib.parse.urlencode(shown, safe="[]")),
        userinfo,
        secrets,
        build(urllib.parse.urlencode(kept, safe="<>")),
    )


def _is_credential_query(name: str) -> bool:
    return name.lower() in _CREDENTIAL_QUERY or _is_credential(name)


class OpenAIProvider:
    """One chat completion per `complete` call; errors become `ProviderError`s with redacted messages.

    Every configured secret (the key, header values, credentials and query values of the base URL)
    is redacted from every message. ``structured_modes`` are tried in order per endpoint: servers
    differ in which ``response_format`` types they accept (see docs/servers.md).
    """

    name = "openai"
    max_concurrency: int | None = None
    structured_modes = (JSON_SCHEMA_STRICT, JSON_SCHEMA, JSON_OBJECT_SCHEMA, JSON_OBJECT, TEXT)

    def __init__(self, config: ModelConfig) -> None:
        options = check_provider_options(config, _OPTIONS)
        # OpenAI's own API gets a prompt_cache_key by default; another server only when asked to.
        self._send_cache_key = options.get("prompt_cache_key")
        explicit_url = options.get("base_url") or os.environ.get("OPENAI_BASE_URL")
        base_url, self.endpoint, userinfo, url_secrets, identity_url = split_base_url(
            str(explicit_url or DEFAULT_BASE_URL)
        )
        self._api_key = resolve_api_key(
            config,
            options,
            default_env="OPENAI_API_KEY",
            base_url_env="OPENAI_BASE_URL",
            has_base_url=bool(explicit_url),
            placeholder=PLACEHOLDER_KEY,
        )
        if userinfo is not None and self._api_key != PLACEHOLDER_KEY:
            raise ConfigError(
                f"config {config.name!r}: the base URL carries credentials (user:password@) and an API key "
                "is set too; both would go in the Authorization header. Keep one of them"
            )
        if userinfo is not None:
            basic = base64.b64encode(f"{userinfo[0]}:{userinfo[1]}".encode()).decode("ascii")
            authorization = f"Basic {basic}"
        else:
            authorization = f"Bearer {self._api_key}"
        headers = {
            "Authorization": authorization,
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
        extra = {str(k): str(v) for k, v in extra.items()}
        headers.update(extra)
        self._headers = headers
        self.secrets = sorted(
            {self._api_key, authorization.split(" ", 1)[1], *url_secrets, *extra.values()} - {""},
            key=len,
            reverse=True,
        )
        # Cache identity: the server and whatever routes a request there (header and query values that
        # are not credentials; credentials by name only, so a rotated key or signature keeps the cache).
        routing = {k.lower(): ("<credential>" if _is_credential(k) else v) for k, v in extra.items()}
        self.cache_identity = identity_url + (
            "|headers:" + json.dumps(routing, sort_keys=True) if routing else ""
        )
        path, _, query = base_url.partition("?")
        self._url = f"{path.rstrip('/')}/chat/completions" + (f"?{query}" if query else "")
        self._session: aiohttp.ClientSession | None = None

    def _session_for_loop(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            # No connection cap here: the engine's per-endpoint semaphore bounds concurrency.
            connector = aiohttp.TCPConnector(limit=0, ttl_dns_cache=300, keepalive_timeout=60)
            self._session = aiohttp.ClientSession(connector=connector, headers=self._headers)
        return self._session

    def _body(self, request: ProviderRequest) -> dict[str, Any]:
        # params first: a config's params cannot replace the model or the messages.
        body: dict[str, Any] = {
            **request.params,
            "model": request.model,
            "messages": [{"role": m.role, "content": m.content} for m in request.messages],
        }
        send_key = self._send_cache_key
        if send_key is None:
            send_key = self.endpoint.startswith(DEFAULT_BASE_URL)
        cache_key = prompt_cache_key(request.model, request.messages) if send_key else None
        if cache_key is not None:
            body.setdefault("prompt_cache_key", cache_key)
        schema = request.response_schema
        mode = request.structured_mode
        if mode not in self.structured_modes:  # None or another provider's mode: the best one
            mode = JSON_SCHEMA_STRICT
        if schema is None or mode == TEXT:
            return body
        if mode in {JSON_SCHEMA_STRICT, JSON_SCHEMA}:
            strict = strict_schema(schema) if mode == JSON_SCHEMA_STRICT else None
            body["response_format"] = {
                "type": "json_schema",
                "json_schema": {
                    "name": (request.schema_name or "answer")[:64],
                    "schema": strict if strict is not None else schema,
                    "strict": strict is not None,
                },
            }
        elif mode == JSON_OBJECT_SCHEMA:
            body["response_format"] = {"type": "json_object", "schema": schema}
        elif mode == JSON_OBJECT:
            body["response_format"] = {"type": "json_object"}
        return body

    async def complete(self, request: ProviderRequest) -> ProviderResponse:
        session = self._session_for_loop()
        body = self._body(request)
        timeout = aiohttp.ClientTimeout(total=request.timeout_s)
        try:
            async with session.post(
                self._url, data=encode_body(body, request.messages), timeout=timeout
            ) as response:
                raw = await response.read()
                status = response.status
                headers = response.headers
        except asyncio.TimeoutError:
            raise ProviderError(
                f"openai: no response within {request.timeout_s}s from {self.endpoint}", retryable=True
            ) from None
        except aiohttp.ClientConnectionError as exc:
            message = f"openai: could not reach {self.endpoint}: {_reason(exc)}"
            raise ProviderError(self._redact(message), retryable=True, connection=True) from None
        except aiohttp.ClientError as exc:
            message = f"openai: bad reply from {self.endpoint}: {_reason(exc)}"
            raise ProviderError(self._redact(message), retryable=True) from None
        if status >= 400:
            raise self._status_error(status, raw, headers, sent_schema="response_format" in body)
        return self._parse(raw)

    def _status_error(self, status: int, raw: bytes, headers: Any, *, sent_schema: bool) -> ProviderError:
        message = _error_message(raw)
        # Servers reject a response_format they lack with 400 (OpenAI, vLLM), 422 (validation) or
        # 500 (llama-cpp-python: "Input should be 'text' or 'json_object'").
        rejected_schema = (
            sent_schema
            and status in {400, 422, 500}
            and any(word in message.lower() for word in _FORMAT_WORDS)
        )
        lowered = message.lower()
        # "'response_format' is not supported": the parameter itself, so every type of it would fail.
        whole_parameter = "response_format" in lowered and not any(
            word in lowered for word in ("json_schema", "json_object", "type")
        )
        return ProviderError(
            self._redact(f"openai: HTTP {status} from {self.endpoint}: {message}"),
            status=status,
            retryable=status in _RETRYABLE_STATUS or status >= 500,
            retry_after_s=retry_after_seconds(headers),
            structured_unsupported=rejected_schema,
            fallback_mode=TEXT if rejected_schema and whole_parameter else None,
        )

    def _parse(self, raw: bytes) -> ProviderResponse:
        try:
            data = json.loads(raw)
            choice = data["choices"][0]
            message = choice["message"]
            if not isinstance(choice, dict) or not isinstance(message, dict):
                raise TypeError("choice or message is not an object")
        except (ValueError, KeyError, IndexError, TypeError, RecursionError):
            snippet = raw[:200].decode("utf-8", "replace")
            raise ProviderError(
                self._redact(f"openai: malformed response from {self.endpoint}: {snippet!r}"), retryable=True
            ) from None
        if message.get("refusal"):
            raise ProviderError(self._redact(f"openai: the model refused: {str(message['refusal'])[:500]}"))
        usage = data.get("usage") if isinstance(data, dict) else None
        usage = usage if isinstance(usage, dict) else {}
        finish = choice.get("finish_reason")
        details = usage.get("prompt_tokens_details")
        cached = _count(details.get("cached_tokens")) if isinstance(details, dict) else 0
        return ProviderResponse(
            text=_content_text(message.get("content")),
            input_tokens=_count(usage.get("prompt_tokens")),
            cached_input_tokens=cached,
            output_tokens=_count(usage.get("completion_tokens")),
            finish_reason=finish if isinstance(finish, str) else None,
        )

    def _redact(self, message: str) -> str:
        return redact(message, self.secrets)

    def batch_api(self) -> OpenAIBatchAPI:
        """This endpoint's Batch API, with the same key, headers and request bodies (``--batch``)."""
        from rubric_eval.engine.providers.openai_batch import OpenAIBatchAPI

        return OpenAIBatchAPI(self.endpoint, self._headers, self._body, self._parse, self._redact)

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


def _reason(exc: BaseException) -> str:
    # aiohttp's messages name the host and the OS error; the class name alone says little to a user.
    return str(exc) or type(exc).__name__


def _content_text(content: Any) -> str:
    """The reply's text: a string, or the text parts of a list of content parts; else empty."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(
            str(part.get("text"))
            for part in content
            if isinstance(part, dict) and part.get("text") is not None
        )
    return ""


def _count(value: Any) -> int:
    """A token count from usage: a non-negative int, else 0 (servers send null, strings, floats)."""
    try:
        number = int(value)
    except (TypeError, ValueError, OverflowError):
        return 0
    return max(0, number)

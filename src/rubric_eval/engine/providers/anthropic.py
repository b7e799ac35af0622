"""Anthropic Messages API through the official SDK (the ``anthropic`` extra).

Structured answers use a forced tool call whose ``input_schema`` is the answer's JSON schema.
The SDK's own retries are off (``max_retries=0``): the engine owns retries.
"""

from __future__ import annotations

import functools
import inspect
import json
import os
from typing import TYPE_CHECKING, Any

from rubric_eval.engine._prompt_cache import anthropic_content
from rubric_eval.engine._redact import redact
from rubric_eval.engine._structured import NATIVE, TEXT
from rubric_eval.engine._types import ModelConfig, ProviderError, ProviderRequest, ProviderResponse
from rubric_eval.engine.providers._setup import check_provider_options, resolve_api_key, retry_after_seconds
from rubric_eval.errors import ConfigError, MissingExtraError

if TYPE_CHECKING:
    from rubric_eval.engine.providers.anthropic_batch import AnthropicBatchAPI

DEFAULT_BASE_URL = "https://api.anthropic.com"
PLACEHOLDER_KEY = "sk-ant-no-key-required"
DEFAULT_MAX_TOKENS = 4096
_OPTIONS = frozenset({"base_url", "api_key_env", "headers"})
_RETRYABLE_STATUS = frozenset({408, 409, 429})


@functools.cache
def _create_parameters(create: Any) -> frozenset[str]:
    return frozenset(inspect.signature(create).parameters)


def _create_arguments(client: Any) -> frozenset[str]:
    return _create_parameters(type(client.messages).create)


class AnthropicProvider:
    """One ``messages.create`` per `complete` call."""

    name = "anthropic"
    max_concurrency: int | None = None
    structured_modes = (NATIVE, TEXT)
    # The Messages API requires max_tokens; the engine adds this when a config has no limit (recorded).
    default_params: dict[str, Any] = {"max_tokens": DEFAULT_MAX_TOKENS}  # noqa: RUF012  # read-only

    def __init__(self, config: ModelConfig) -> None:
        try:
            import anthropic
        except ImportError:
            raise MissingExtraError("anthropic", "anthropic") from None
        self._sdk = anthropic
        options = check_provider_options(config, _OPTIONS)
        explicit_url = options.get("base_url") or os.environ.get("ANTHROPIC_BASE_URL")
        self.endpoint = str(explicit_url or DEFAULT_BASE_URL).rstrip("/")
        self._api_key = resolve_api_key(
            config,
            options,
            default_env="ANTHROPIC_API_KEY",
            base_url_env="ANTHROPIC_BASE_URL",
            has_base_url=bool(explicit_url),
            placeholder=PLACEHOLDER_KEY,
        )
        headers = options.get("headers") or {}
        if not isinstance(headers, dict):
            raise ConfigError(f"config {config.name!r}: provider_options.headers must be a mapping")
        self._headers = {str(k): str(v) for k, v in headers.items()}
        self.secrets = sorted({self._api_key, *self._headers.values()} - {""}, key=len, reverse=True)
        self._client: Any = None

    def _body(self, request: ProviderRequest) -> dict[str, Any]:
        system = "\n\n".join(m.content for m in request.messages if m.role == "system")
        # params first: a config's params cannot replace the model or the messages.
        body: dict[str, Any] = {
            **request.params,
            "model": request.model,
            "messages": [
                {"role": m.role, "content": anthropic_content(m)}
                for m in request.messages
                if m.role != "system"
            ],
        }
        body.setdefault("max_tokens", body.pop("max_completion_tokens", DEFAULT_MAX_TOKENS))
        if system:
            body["system"] = system
        if request.response_schema is not None:
            name = (request.schema_name or "answer")[:64]
            body["tools"] = [
                {"name": name, "description": "Record the answer.", "input_schema": request.response_schema}
            ]
            body["tool_choice"] = {"type": "tool", "name": name}
        return body

    async def complete(self, request: ProviderRequest) -> ProviderResponse:
        sdk = self._sdk
        if self._client is None:
            self._client = sdk.AsyncAnthropic(
                api_key=self._api_key, base_url=self.endpoint, max_retries=0, default_headers=self._headers
            )
        body = self._body(request)
        # Sampling parameters this SDK version has no argument for (e.g. temperature in newer
        # releases) still reach the API, as extra body fields.
        accepted = _create_arguments(self._client)
        extra = {k: body.pop(k) for k in list(body) if k not in accepted}
        try:
            message = await self._client.messages.create(
                **body, extra_body=extra or None, timeout=request.timeout_s
            )
        except sdk.APITimeoutError:
            raise ProviderError(
                f"anthropic: no response within {request.timeout_s}s from {self.endpoint}", retryable=True
            ) from None
        except sdk.APIStatusError as exc:
            raise self._status_error(exc, sent_tools="tools" in body) from None
        except sdk.APIConnectionError as exc:
            raise ProviderError(
                self._redact(f"anthropic: could not reach {self.endpoint}: {exc}"),
                retryable=True,
                connection=True,
            ) from None
        except sdk.APIError as exc:  # e.g. a 200 whose body is not a message
            raise ProviderError(self._redact(f"anthropic: bad response: {exc}"), retryable=True) from None
        return self._parse(message)

    def _status_error(self, exc: Any, *, sent_tools: bool) -> ProviderError:
        status = int(exc.status_code)
        body = exc.body if isinstance(exc.body, dict) else {}
        error = body.get("error")
        detail = error.get("message") if isinstance(error, dict) else None
        message = str(detail or exc.message)
        rejected = sent_tools and status == 400 and ("tool" in message.lower())
        return ProviderError(
            self._redact(f"anthropic: HTTP {status} from {self.endpoint}: {message}"),
            status=status,
            retryable=status in _RETRYABLE_STATUS or status >= 500,
            retry_after_s=retry_after_seconds(exc.response.headers),
            structured_unsupported=rejected,
        )

    def _parse(self, message: Any) -> ProviderResponse:
        texts: list[str] = []
        for block in message.content:
            if block.type == "tool_use":
                texts = [json.dumps(block.input)]
                break
            if block.type == "text":
                texts.append(block.text)
        stop = message.stop_reason
        usage = message.usage
        # Anthropic's input_tokens leaves out the tokens read from or written to the prompt cache.
        cached = int(getattr(usage, "cache_read_input_tokens", None) or 0)
        written = int(getattr(usage, "cache_creation_input_tokens", None) or 0)
        return ProviderResponse(
            text="".join(texts),
            input_tokens=int(usage.input_tokens or 0) + cached + written,
            output_tokens=int(usage.output_tokens or 0),
            cached_input_tokens=cached,
            cache_write_tokens=written,
            finish_reason="length" if stop == "max_tokens" else stop,
        )

    def _redact(self, message: str) -> str:
        return redact(message, self.secrets)

    def batch_api(self) -> AnthropicBatchAPI:
        """This endpoint's Message Batches API, with the same key and request bodies (``--batch``)."""
        from rubric_eval.engine.providers.anthropic_batch import AnthropicBatchAPI

        def parse(message: dict[str, Any]) -> ProviderResponse:
            try:
                return self._parse(self._sdk.types.Message.model_validate(message))
            except ValueError as exc:
                raise ProviderError(f"anthropic: malformed message in batch results: {exc}") from None

        return AnthropicBatchAPI(self.endpoint, self._api_key, self._headers, self._body, parse, self._redact)

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.close()
            self._client = None

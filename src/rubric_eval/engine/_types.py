"""The engine's contract: what a step asks for, what a provider does, what comes back."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, Literal, Protocol, TypeVar

from pydantic import BaseModel, ConfigDict, Field, field_validator

T = TypeVar("T")
# Request fields the engine and providers set; a config's params must not replace them (the cache
# key would describe one request while another is sent).
RESERVED_PARAMS = frozenset(
    {"model", "messages", "prompt", "system", "stream", "response_format", "tools", "tool_choice"}
)


def _non_finite(value: Any) -> bool:
    if isinstance(value, float):
        return not math.isfinite(value)
    if isinstance(value, dict):
        return any(_non_finite(v) for v in value.values())
    if isinstance(value, list | tuple):
        return any(_non_finite(v) for v in value)
    return False


class ModelConfig(BaseModel):
    """What the engine needs to call a model: provider, model, parameters, limits, prices.

    The steps' configs (`rubric_eval.AnnotatorConfig`) extend it with the step and prompt template;
    the engine knows nothing of steps.
    """

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    name: str
    provider: str = Field(description="Registered provider name, e.g. 'openai', 'anthropic', 'local'.")
    model: str
    params: dict[str, Any] = Field(default_factory=dict, description="Sampling parameters sent to the API.")
    provider_options: dict[str, Any] = Field(
        default_factory=dict,
        description="Client options: base_url, api_key_env, headers, model_path, ... (never a key itself).",
    )
    max_concurrency: int | None = Field(default=None, ge=1)
    requests_per_minute: float | None = Field(default=None, gt=0)
    tokens_per_minute: float | None = Field(default=None, gt=0)
    price_per_million_input: float | None = Field(default=None, ge=0)
    price_per_million_output: float | None = Field(default=None, ge=0)

    @field_validator("params")
    @classmethod
    def _check_params(cls, params: dict[str, Any]) -> dict[str, Any]:
        reserved = sorted(set(params) & RESERVED_PARAMS)
        if reserved:
            raise ValueError(f"params may not set {reserved}: the step sets them")
        bad = sorted(k for k, v in params.items() if _non_finite(v))
        if bad:
            raise ValueError(f"params {bad} must be finite numbers (not NaN or infinity)")
        return params

    @property
    def display_name(self) -> str:
        return self.name


class ChatMessage(BaseModel):
    model_config = ConfigDict(frozen=True)

    role: Literal["system", "user", "assistant"]
    content: str
    cache_prefix_chars: int | None = Field(
        default=None, ge=0, description="Length of the content's leading part that other calls share."
    )


class ProviderRequest(BaseModel):
    """One API call, as a provider sees it."""

    model: str
    messages: list[ChatMessage]
    params: dict[str, Any] = Field(default_factory=dict)
    response_schema: dict[str, Any] | None = Field(
        default=None, description="JSON schema of the answer, when the step wants structured output."
    )
    schema_name: str | None = None
    structured_mode: str | None = Field(
        default=None,
        description="How to ask for the schema: one of the provider's `structured_modes`.",
    )
    timeout_s: float | None = None


class ProviderResponse(BaseModel):
    """What one call returned: the text and the usage the API reported."""

    text: str
    input_tokens: int = 0  # every prompt token, cached ones included
    output_tokens: int = 0
    cached_input_tokens: int = 0  # read from the provider's prompt cache
    cache_write_tokens: int = 0  # written to it (Anthropic's cache_creation_input_tokens)
    finish_reason: str | None = None


class ProviderError(Exception):
    """A failed call. ``retryable`` tells the engine whether another attempt can help.

    ``structured_unsupported`` means the endpoint rejected the structured-output mode of the
    request (e.g. ``response_format``); the engine then steps down to the provider's next mode, or
    straight to ``fallback_mode`` when the provider can tell that all modes before it would fail.
    ``connection`` marks a failure to reach the server at all (refused, reset, DNS): the engine's
    circuit breaker counts these.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        retryable: bool = False,
        retry_after_s: float | None = None,
        structured_unsupported: bool = False,
        connection: bool = False,
        fallback_mode: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.retryable = retryable
        self.retry_after_s = retry_after_s
        self.structured_unsupported = structured_unsupported
        self.connection = connection
        self.fallback_mode = fallback_mode


class Provider(Protocol):
    """Does one call and nothing else: no retries, no caching, no throttling.

    ``max_concurrency`` caps the calls in flight to this provider (e.g. 1 for an in-process model);
    None leaves it to the settings and the config. Optional attributes the engine also reads:

    - ``endpoint``: where calls go, safe to show (no credentials); names the endpoint in messages.
    - ``cache_identity``: what identifies the server for cache keys (default: ``endpoint``),
      e.g. the base URL plus routing headers, because a different server can give a different answer.
    - ``structured_modes``: the ways to ask for a schema, best first (default ``("native", "text")``).
    - ``default_params``: sampling parameters the provider adds when a config has none (recorded).
    - ``secrets``: configured secret values (keys, header values, URL credentials) to redact.
    """

    name: str

    @property
    def endpoint(self) -> str: ...

    @property
    def max_concurrency(self) -> int | None: ...

    async def complete(self, request: ProviderRequest) -> ProviderResponse: ...

    async def aclose(self) -> None: ...


ProviderFactory = Callable[[ModelConfig], Provider]


@dataclass
class LLMCall(Generic[T]):
    """What a step asks the engine for.

    ``output_type`` is a pydantic model for a structured answer, or ``str`` for free text.
    ``check`` validates a parsed answer beyond its schema and returns an error message
    to re-ask with (e.g. a missing criterion), or None. ``response_schema`` replaces the schema
    derived from ``output_type`` (for answers whose keys vary per call, like a rubric's criteria,
    validated by ``check`` against a lenient model); build it once and share it between calls.
    """

    config: ModelConfig
    messages: list[ChatMessage]
    output_type: type[T]
    template_key: str
    repeat_index: int = 0
    check: Callable[[T], str | None] | None = None
    label: str = ""
    response_schema: dict[str, Any] | None = None


@dataclass
class Usage:
    """Tokens of one or more requests. ``input_tokens`` counts every prompt token, including
    ``cached_input_tokens`` (read from the provider's prompt cache) and ``cache_write_tokens``
    (written to it, which Anthropic charges extra)."""

    input_tokens: int = 0
    output_tokens: int = 0
    cached_input_tokens: int = 0
    cache_write_tokens: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.input_tokens + other.input_tokens,
            self.output_tokens + other.output_tokens,
            self.cached_input_tokens + other.cached_input_tokens,
            self.cache_write_tokens + other.cache_write_tokens,
        )


@dataclass
class LLMResult(Generic[T]):
    """The outcome of one `LLMCall`. A failure is data: ``ok`` is False and ``error`` says why.

    ``cost_usd`` is the price of the API calls that produced this answer (also when it now
    comes from the cache); ``cost_known`` is False when the model has no known price, in which
    case ``cost_usd`` is 0.0 and must not be read as free.
    """

    ok: bool
    value: T | None = None
    text: str | None = None
    error: str | None = None
    usage: Usage = field(default_factory=Usage)
    cost_usd: float = 0.0
    latency_s: float = 0.0
    attempts: int = 0
    cached: bool = False
    cost_known: bool = True
    params: dict[str, Any] = field(default_factory=dict)
    """The sampling parameters of the last request (the config's plus the provider's defaults)."""
    batched: bool = False  # answered through a provider batch API (``--batch``)
    batch_cost_usd: float = 0.0  # the part of ``cost_usd`` paid at the batch price

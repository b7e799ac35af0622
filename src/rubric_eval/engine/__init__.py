"""The LLM engine: providers do one call; the engine retries, throttles, caches and counts."""

from rubric_eval.engine._cache_io import answers_saved_in_process
from rubric_eval.engine._engine import BUDGET_EXHAUSTED, Engine, EngineSettings, RunTotals, run_blocking
from rubric_eval.engine._pricing import lookup_price, price_for
from rubric_eval.engine._redact import redact
from rubric_eval.engine._registry import create_provider, provider_names, register_provider
from rubric_eval.engine._structured import extract_json, resolve_local_ref
from rubric_eval.engine._summary import totals_lines
from rubric_eval.engine._types import (
    ChatMessage,
    LLMCall,
    LLMResult,
    ModelConfig,
    Provider,
    ProviderError,
    ProviderRequest,
    ProviderResponse,
    Usage,
)

__all__ = [
    "BUDGET_EXHAUSTED",
    "ChatMessage",
    "Engine",
    "EngineSettings",
    "LLMCall",
    "LLMResult",
    "ModelConfig",
    "Provider",
    "ProviderError",
    "ProviderRequest",
    "ProviderResponse",
    "RunTotals",
    "Usage",
    "answers_saved_in_process",
    "create_provider",
    "extract_json",
    "lookup_price",
    "price_for",
    "provider_names",
    "redact",
    "register_provider",
    "resolve_local_ref",
    "run_blocking",
    "totals_lines",
]

"""The LLM engine: providers do one call; the engine retries, throttles, caches and counts."""

from rubric_eval.engine._engine import Engine, EngineSettings
from rubric_eval.engine._registry import create_provider, provider_names, register_provider
from rubric_eval.engine._types import (
    ChatMessage,
    LLMCall,
    LLMResult,
    Provider,
    ProviderError,
    ProviderRequest,
    ProviderResponse,
    Usage,
)

__all__ = [
    "ChatMessage",
    "Engine",
    "EngineSettings",
    "LLMCall",
    "LLMResult",
    "Provider",
    "ProviderError",
    "ProviderRequest",
    "ProviderResponse",
    "Usage",
    "create_provider",
    "provider_names",
    "register_provider",
]

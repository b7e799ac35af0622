"""Provider registry: name -> factory. Built-ins are imported lazily, so an SDK loads only when used."""

from __future__ import annotations

import importlib

from rubric_eval.engine._pool import create_pool, is_pool
from rubric_eval.engine._types import ModelConfig, Provider, ProviderFactory
from rubric_eval.errors import ConfigError

_BUILTIN: dict[str, str] = {
    "openai": "rubric_eval.engine.providers.openai:OpenAIProvider",
    "anthropic": "rubric_eval.engine.providers.anthropic:AnthropicProvider",
    "local": "rubric_eval.engine.providers.local:LocalProvider",
}
_REGISTERED: dict[str, ProviderFactory] = {}


def register_provider(name: str, factory: ProviderFactory) -> None:
    """Register a provider factory (called with the step's config) under `name`."""
    _REGISTERED[name] = factory


def provider_names() -> list[str]:
    return sorted({*_BUILTIN, *_REGISTERED})


def create_provider(config: ModelConfig) -> Provider:
    """Instantiate the provider a config names."""
    factory = _REGISTERED.get(config.provider)
    if factory is None:
        target = _BUILTIN.get(config.provider)
        if target is None:
            raise ConfigError(
                f"config {config.name!r}: unknown provider {config.provider!r}; "
                f"known providers: {', '.join(provider_names())}"
            )
        module_name, _, class_name = target.partition(":")
        module = importlib.import_module(module_name)
        factory = getattr(module, class_name)
    if is_pool(config):
        return create_pool(config, factory)
    return factory(config)

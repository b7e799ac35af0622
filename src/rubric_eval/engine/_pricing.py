"""USD prices per million tokens, for cost reports and the ``max_cost_usd`` budget.

Maintained by hand from the providers' public price pages (standard tier, text, the base
tier where prices depend on prompt length), with the prompt-cache prices: cached input
(`CACHED_INPUT`) and, for Anthropic, cache writes at 1.25x the input price (5-minute cache). Check the date
below when you rely on a number; a config's ``price_per_million_input``/``_output``
overrides this table, and a model that is not here has an *unknown* cost, never 0.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rubric_eval.engine._types import ModelConfig, ProviderResponse, Usage

PRICES_AS_OF = "2025-11"

# model name (or name prefix) -> (input, output) USD per 1M tokens.
PRICES: dict[str, tuple[float, float]] = {
    # OpenAI
    "gpt-5": (1.25, 10.00),
    "gpt-5-mini": (0.25, 2.00),
    "gpt-5-nano": (0.05, 0.40),
    "gpt-5-chat-latest": (1.25, 10.00),
    "gpt-4.1": (2.00, 8.00),
    "gpt-4.1-mini": (0.40, 1.60),
    "gpt-4.1-nano": (0.10, 0.40),
    "gpt-4o": (2.50, 10.00),
    "gpt-4o-2024-05-13": (5.00, 15.00),
    "gpt-4o-mini": (0.15, 0.60),
    "o1": (15.00, 60.00),
    "o3": (2.00, 8.00),
    "o3-pro": (20.00, 80.00),
    "o3-mini": (1.10, 4.40),
    "o4-mini": (1.10, 4.40),
    "gpt-4-turbo": (10.00, 30.00),
    "gpt-3.5-turbo": (0.50, 1.50),
    # Anthropic
    "claude-opus-4-5": (5.00, 25.00),
    "claude-opus-4-1": (15.00, 75.00),
    "claude-opus-4": (15.00, 75.00),
    "claude-sonnet-4-5": (3.00, 15.00),
    "claude-sonnet-4": (3.00, 15.00),
    "claude-haiku-4-5": (1.00, 5.00),
    "claude-3-7-sonnet": (3.00, 15.00),
    "claude-3-5-haiku": (0.80, 4.00),
    # Google
    "gemini-2.5-pro": (1.25, 10.00),
    "gemini-2.5-flash": (0.30, 2.50),
    "gemini-2.5-flash-lite": (0.10, 0.40),
}
# model -> USD per 1M input tokens read from the provider's prompt cache (OpenAI: automatic for
# prompts of 1,024+ tokens; Anthropic: blocks marked with cache_control; Gemini: implicit caching).
CACHED_INPUT: dict[str, float] = {
    "gpt-5": 0.125,
    "gpt-5-mini": 0.025,
    "gpt-5-nano": 0.005,
    "gpt-5-chat-latest": 0.125,
    "gpt-4.1": 0.50,
    "gpt-4.1-mini": 0.10,
    "gpt-4.1-nano": 0.025,
    "gpt-4o": 1.25,
    "gpt-4o-mini": 0.075,
    "o1": 7.50,
    "o3": 0.50,
    "o3-mini": 0.55,
    "o4-mini": 0.275,
    "claude-opus-4-5": 0.50,
    "claude-opus-4-1": 1.50,
    "claude-opus-4": 1.50,
    "claude-sonnet-4-5": 0.30,
    "claude-sonnet-4": 0.30,
    "claude-haiku-4-5": 0.10,
    "claude-3-7-sonnet": 0.30,
    "claude-3-5-haiku": 0.08,
    "gemini-2.5-pro": 0.3125,
    "gemini-2.5-flash": 0.075,
    "gemini-2.5-flash-lite": 0.025,
}
CACHE_WRITE_FACTOR = {"claude-": 1.25}  # model-name prefix -> cache write price / input price
FREE_PROVIDERS = frozenset({"local"})
_VERSION_SUFFIX = re.compile(r"(-\d{4}-\d{2}-\d{2}|-\d{8}|-\d{4}|-latest|-preview[-\w]*|@[-\w.]+)$")


@dataclass(frozen=True)
class Price:
    """USD per million tokens. Cached input and cache writes cost the input price unless given."""

    input_per_million: float
    output_per_million: float
    cached_input_per_million: float | None = None
    cache_write_per_million: float | None = None

    def cost(
        self, input_tokens: int, output_tokens: int, *, cached_input: int = 0, cache_write: int = 0
    ) -> float:
        """``input_tokens`` counts every prompt token; ``cached_input`` and ``cache_write`` are part of it."""
        cached_rate = (
            self.input_per_million if self.cached_input_per_million is None else self.cached_input_per_million
        )
        write_rate = (
            self.input_per_million if self.cache_write_per_million is None else self.cache_write_per_million
        )
        plain = max(0, input_tokens - cached_input - cache_write)
        return (
            plain * self.input_per_million
            + cached_input * cached_rate
            + cache_write * write_rate
            + output_tokens * self.output_per_million
        ) / 1e6

    def cost_of(self, usage: Usage) -> float:
        return self.cost(
            usage.input_tokens,
            usage.output_tokens,
            cached_input=usage.cached_input_tokens,
            cache_write=usage.cache_write_tokens,
        )


def usage_of(response: ProviderResponse) -> Usage:
    """The usage one response reported."""
    return Usage(
        response.input_tokens,
        response.output_tokens,
        response.cached_input_tokens,
        response.cache_write_tokens,
    )


def _table_price(name: str) -> Price:
    base_in, base_out = PRICES[name]
    factor = next((f for prefix, f in CACHE_WRITE_FACTOR.items() if name.startswith(prefix)), None)
    return Price(base_in, base_out, CACHED_INPUT.get(name), base_in * factor if factor else None)


def lookup_price(model: str) -> Price | None:
    """The table's price for a model: the exact name, else the name without a date or version
    suffix (``gpt-4o-2024-08-06`` -> ``gpt-4o``, ``claude-sonnet-4-5-20250929``); a ``vendor/``
    prefix is ignored. Any other variant is unknown rather than guessed."""
    name = model.rsplit("/", 1)[-1].lower()
    if name in PRICES:
        return _table_price(name)
    base = _VERSION_SUFFIX.sub("", name)
    return _table_price(base) if base in PRICES else None


def price_for(config: ModelConfig) -> Price | None:
    """The price of a config's calls: config overrides, then free providers, then the table."""
    given_in, given_out = config.price_per_million_input, config.price_per_million_output
    if given_in is not None and given_out is not None:
        return Price(given_in, given_out)
    if config.provider in FREE_PROVIDERS and given_in is None and given_out is None:
        return Price(0.0, 0.0)
    table = lookup_price(config.model)
    if table is None:
        return None  # one side given and the other unknown: the cost is unknown, not half of it
    if given_in is not None:  # the table's cache prices belong to the table's input price
        return Price(given_in, table.output_per_million if given_out is None else given_out)
    return Price(
        table.input_per_million,
        table.output_per_million if given_out is None else given_out,
        table.cached_input_per_million,
        table.cache_write_per_million,
    )

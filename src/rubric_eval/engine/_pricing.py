"""USD prices per million tokens, for cost reports and the ``max_cost_usd`` budget.

Maintained by hand from the providers' public price pages (standard tier, text, no
caching discounts, the base tier where prices depend on prompt length). Check the date
below when you rely on a number; a config's ``price_per_million_input``/``_output``
overrides this table, and a model that is not here has an *unknown* cost, never 0.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rubric_eval.engine._types import ModelConfig

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
FREE_PROVIDERS = frozenset({"local"})
_VERSION_SUFFIX = re.compile(r"(-\d{4}-\d{2}-\d{2}|-\d{8}|-\d{4}|-latest|-preview[-\w]*|@[-\w.]+)$")


@dataclass(frozen=True)
class Price:
    input_per_million: float
    output_per_million: float

    def cost(self, input_tokens: int, output_tokens: int) -> float:
        return (input_tokens * self.input_per_million + output_tokens * self.output_per_million) / 1e6


def lookup_price(model: str) -> Price | None:
    """The table's price for a model: the exact name, else the name without a date or version
    suffix (``gpt-4o-2024-08-06`` -> ``gpt-4o``, ``claude-sonnet-4-5-20250929``); a ``vendor/``
    prefix is ignored. Any other variant is unknown rather than guessed."""
    name = model.rsplit("/", 1)[-1].lower()
    if name in PRICES:
        return Price(*PRICES[name])
    base = _VERSION_SUFFIX.sub("", name)
    return Price(*PRICES[base]) if base in PRICES else None


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
    return Price(
        table.input_per_million if given_in is None else given_in,
        table.output_per_million if given_out is None else given_out,
    )

"""Output-token limits: which parameter holds a request's limit, and the most a model allows.

Used when a reply is cut off at the token limit: the re-ask raises the limit (doubling it, at
most to the model's maximum) instead of sending the same request again, and is not made when the
limit is already the model's maximum. Maximums are from the providers' model pages (2025-11);
an unknown model's maximum is unknown, so its limit is raised once and never guessed further.
"""

from __future__ import annotations

import re
from typing import Any

LIMIT_PARAMS = ("max_completion_tokens", "max_tokens", "max_output_tokens", "num_predict")

MAX_OUTPUT_TOKENS: dict[str, int] = {
    "gpt-5": 128_000,
    "gpt-5-mini": 128_000,
    "gpt-5-nano": 128_000,
    "gpt-4.1": 32_768,
    "gpt-4.1-mini": 32_768,
    "gpt-4.1-nano": 32_768,
    "gpt-4o": 16_384,
    "gpt-4o-mini": 16_384,
    "o3": 100_000,
    "o4-mini": 100_000,
    "claude-opus-4-5": 64_000,
    "claude-opus-4-1": 32_000,
    "claude-sonnet-4-5": 64_000,
    "claude-sonnet-4": 64_000,
    "claude-haiku-4-5": 64_000,
    "claude-3-5-haiku": 8_192,
    "smollm2-135m-instruct": 8_192,
}
_VERSION_SUFFIX = re.compile(r"(-\d{4}-\d{2}-\d{2}|-\d{8}|-latest|@[-\w.]+)$")


def model_max_output(model: str) -> int | None:
    name = model.rsplit("/", 1)[-1].lower()
    return MAX_OUTPUT_TOKENS.get(name) or MAX_OUTPUT_TOKENS.get(_VERSION_SUFFIX.sub("", name))


def output_limit(params: dict[str, Any]) -> tuple[str, int] | None:
    """The parameter that limits the reply's length and its value, if the request sets one."""
    for name in LIMIT_PARAMS:
        value = params.get(name)
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return name, value
    return None


def raised_limit(model: str, params: dict[str, Any], raised_before: bool) -> dict[str, Any] | None:
    """Params with the output limit doubled (within the model's maximum), or None when it cannot grow."""
    current = output_limit(params)
    if current is None:
        return None
    name, value = current
    maximum = model_max_output(model)
    if maximum is None:
        if raised_before:
            return None
        new = value * 2
    else:
        new = min(value * 2, maximum)
    if new <= value:
        return None
    return {**params, name: new}


def with_defaults(defaults: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    """A provider's default params under a config's; a default limit yields to any limit the config sets."""
    if output_limit(params) is not None or any(name in params for name in LIMIT_PARAMS):
        defaults = {k: v for k, v in defaults.items() if k not in LIMIT_PARAMS}
    return {**defaults, **params}

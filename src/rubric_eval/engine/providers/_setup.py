"""What every provider does when created from a config: check its options, resolve its API key.

Keys come from the environment only.
"""

from __future__ import annotations

import email.utils
import math
import os
import time
from collections.abc import Collection
from typing import Any

from rubric_eval.engine._types import ModelConfig
from rubric_eval.errors import ConfigError


def check_provider_options(config: ModelConfig, allowed: Collection[str]) -> dict[str, Any]:
    """A copy of the config's ``provider_options``; a ConfigError names any option the provider lacks."""
    options = dict(config.provider_options)
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise ConfigError(
            f"config {config.name!r}: unknown provider_options {unknown} for provider "
            f"{config.provider!r}; expected {sorted(allowed)}"
        )
    return options


def resolve_api_key(
    config: ModelConfig,
    options: dict[str, Any],
    *,
    default_env: str,
    base_url_env: str,
    has_base_url: bool,
    placeholder: str,
) -> str:
    """The key from ``provider_options.api_key_env``, else ``default_env``.

    A self-hosted server (explicit base URL) may need no key, so it gets ``placeholder``;
    otherwise a missing key fails fast, naming the variable (never a value).
    """
    env_name = options.get("api_key_env")
    if env_name:
        key = os.environ.get(str(env_name))
        if not key:
            raise ConfigError(
                f"config {config.name!r}: provider_options.api_key_env names {env_name!r}, "
                "but that environment variable is not set"
            )
        return key
    key = os.environ.get(default_env)
    if key:
        return key
    if has_base_url:
        return placeholder
    raise ConfigError(
        f"config {config.name!r} uses provider {config.provider!r} but {default_env} is not set. "
        f"Export {default_env}, or set {base_url_env} / provider_options.base_url for a server "
        "that needs no key."
    )


# The most a server may ask us to wait; a longer (or absurd) Retry-After is capped, not obeyed.
MAX_RETRY_AFTER_S = 3600.0


def retry_after_seconds(headers: Any) -> float | None:
    """Seconds to wait from ``retry-after-ms`` or ``Retry-After`` (seconds or an HTTP date).

    Anything else (``soon``, negative or non-finite numbers, a malformed date) gives None: the
    engine's own backoff applies. The result is at most `MAX_RETRY_AFTER_S`.
    """
    try:
        millis = _finite(headers.get("retry-after-ms"))
        if millis is not None:
            return min(MAX_RETRY_AFTER_S, millis / 1000)
        value = headers.get("retry-after")
    except Exception:  # a headers object that misbehaves is no reason to fail the call
        return None
    seconds = _finite(value)
    if seconds is not None:
        return min(MAX_RETRY_AFTER_S, seconds)
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        parsed = email.utils.parsedate_to_datetime(value.strip())
        wait = parsed.timestamp() - time.time()
    except (TypeError, ValueError, IndexError, OverflowError, OSError):
        return None
    return min(MAX_RETRY_AFTER_S, max(0.0, wait)) if math.isfinite(wait) else None


def _finite(value: Any) -> float | None:
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (ValueError, OverflowError):
        return None
    return number if math.isfinite(number) and number >= 0 else None

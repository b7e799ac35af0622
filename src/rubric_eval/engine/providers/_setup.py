"""What every provider does when created from a config: check its options, resolve its API key.

Keys come from the environment only.
"""

from __future__ import annotations

import email.utils
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


def retry_after_seconds(headers: Any) -> float | None:
    """Seconds to wait from ``retry-after-ms`` or ``Retry-After`` (seconds or an HTTP date)."""
    value = headers.get("retry-after-ms")
    if value is not None:
        try:
            return max(0.0, float(value) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        parsed = email.utils.parsedate_to_datetime(value) if value else None
        return None if parsed is None else max(0.0, parsed.timestamp() - time.time())

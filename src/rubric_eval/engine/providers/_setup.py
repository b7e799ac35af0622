"""What every provider does when created from a config: check its options, resolve its API key.

Keys come from the environment only.
"""

from __future__ import annotations

import os
from collections.abc import Collection
from typing import Any

from rubric_eval._config import AnnotatorConfig
from rubric_eval.errors import ConfigError


def check_provider_options(config: AnnotatorConfig, allowed: Collection[str]) -> dict[str, Any]:
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
    config: AnnotatorConfig,
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

"""API key resolution shared by the HTTP providers. Keys come from the environment only."""

from __future__ import annotations

import os
from typing import Any

from rubric_eval._config import AnnotatorConfig
from rubric_eval.errors import ConfigError


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

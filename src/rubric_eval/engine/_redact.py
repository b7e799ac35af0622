"""Keep API keys out of every message the engine produces (errors, logs, reports)."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable

REDACTED = "[REDACTED]"

# Key shapes of the common providers, plus "key=..." in URLs and Authorization headers.
_PATTERNS = [
    re.compile(r"\bsk-[A-Za-z0-9_\-]{8,}"),  # OpenAI (sk-..., sk-proj-...), Anthropic (sk-ant-...)
    re.compile(r"\bAIza[0-9A-Za-z_\-]{20,}"),  # Google API keys
    re.compile(r"(?i)\b(bearer)\s+[A-Za-z0-9._~+/\-]{8,}=*"),
    re.compile(
        r"(?i)\b(api[_-]?key|x-api-key|key|token|access_token)([\"']?\s*[:=]\s*[\"']?)[^\s\"'&,;}]{6,}"
    ),
]
_ENV_HINTS = ("KEY", "TOKEN", "SECRET")


def _env_secrets() -> list[str]:
    return [
        value
        for name, value in os.environ.items()
        if any(hint in name.upper() for hint in _ENV_HINTS) and len(value) >= 8
    ]


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """Replace known secrets, key-like env var values and key-shaped tokens with ``[REDACTED]``."""
    for secret in sorted({*secrets, *_env_secrets()}, key=len, reverse=True):
        if secret and len(secret) >= 4:
            text = text.replace(secret, REDACTED)
    text = _PATTERNS[0].sub(REDACTED, text)
    text = _PATTERNS[1].sub(REDACTED, text)
    text = _PATTERNS[2].sub(lambda m: f"{m.group(1)} {REDACTED}", text)
    return _PATTERNS[3].sub(lambda m: f"{m.group(1)}{m.group(2)}{REDACTED}", text)

"""Provider prompt caching: which part of a request other requests share, and how to say so.

A template with an ``answer`` block renders one user message whose leading ``cache_prefix_chars``
are the same for every answer to one instruction (see _templates.py). Providers use it:
Anthropic puts a ``cache_control`` breakpoint there; OpenAI caches prefixes automatically and
gets a ``prompt_cache_key`` naming the shared block, so requests that share it reach the same
cache. Calls of one instruction are sent close together (the evaluate step orders them), so
the cache is warm when they arrive.
"""

from __future__ import annotations

import hashlib

from rubric_eval.engine._types import ChatMessage


def shared_prefix(messages: list[ChatMessage]) -> str | None:
    """The text every call with this prefix shares (system messages and the marked leading part), or None."""
    parts: list[str] = []
    for message in messages:
        if message.cache_prefix_chars is not None:
            parts.append(f"{message.role}\n{message.content[: message.cache_prefix_chars]}")
            return "\n\n".join(parts)
        parts.append(f"{message.role}\n{message.content}")
    return None


def prompt_cache_key(model: str, messages: list[ChatMessage]) -> str | None:
    """A stable, short name for the shared block (OpenAI's ``prompt_cache_key``), or None without one."""
    prefix = shared_prefix(messages)
    if prefix is None:
        return None
    digest = hashlib.sha256(f"{model}\n{prefix}".encode()).hexdigest()
    return f"rubric-eval-{digest[:32]}"


def anthropic_content(message: ChatMessage) -> str | list[dict[str, object]]:
    """A message's content for Anthropic: two text blocks with a cache breakpoint after the shared one."""
    cut = message.cache_prefix_chars
    if not cut or cut >= len(message.content):
        return message.content
    return [
        {"type": "text", "text": message.content[:cut], "cache_control": {"type": "ephemeral"}},
        {"type": "text", "text": message.content[cut:]},
    ]

"""A request body's JSON text, byte for byte what ``json.dumps(body)`` gives, without re-encoding what
calls share: the answer schema's ``response_format`` (one object per rubric, sent by tens of calls) and
the shared prefix of a message (``cache_prefix_chars``: the judge prompt's instruction, rubric and
reference, the same for every answer to one instruction). Together they are most of a body's text.

JSON escapes each character on its own, so a string's encoding is its parts' encodings joined, and a
dict's is its items' joined by ", "; each memo is bounded.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from rubric_eval.engine._types import ChatMessage

_MEMO_MAX = 1024
# (id(schema), the response_format's other values) -> (schema, its text): the schema is held so its
# id cannot be reused while cached.
_FORMATS: dict[tuple[Any, ...], tuple[dict[str, Any], str]] = {}
# shared prefix -> its JSON string without the closing quote
_PREFIXES: dict[str, str] = {}


def _spliced(value: Any, schema: dict[str, Any], schema_text: str) -> str:
    if value is schema:
        return schema_text
    if isinstance(value, dict) and value and all(isinstance(k, str) for k in value):
        items = (f"{json.dumps(k)}: {_spliced(v, schema, schema_text)}" for k, v in value.items())
        return "{" + ", ".join(items) + "}"
    return json.dumps(value)


def _format_text(response_format: Any) -> str | None:
    """The ``response_format``'s text, memoised per schema object and shape; None: not memoisable."""
    if not isinstance(response_format, dict):
        return None
    holder = response_format.get("json_schema", response_format)
    schema = holder.get("schema") if isinstance(holder, dict) else None
    if not isinstance(schema, dict) or not isinstance(holder, dict):
        return None
    others = tuple((k, v) for k, v in response_format.items() if v is not holder) + tuple(
        (k, v) for k, v in holder.items() if v is not schema
    )
    key = (id(schema), tuple(response_format), tuple(holder), *others)
    try:
        hit = _FORMATS.get(key)
    except TypeError:  # an unhashable value: encode it as it is
        return None
    if hit is not None and hit[0] is schema:
        return hit[1]
    if len(_FORMATS) >= _MEMO_MAX:
        _FORMATS.clear()
    text = _spliced(response_format, schema, json.dumps(schema))
    _FORMATS[key] = (schema, text)
    return text


def _content_text(message: ChatMessage) -> str:
    content, cut = message.content, message.cache_prefix_chars
    if not cut:
        return json.dumps(content)
    prefix = content[:cut]
    head = _PREFIXES.get(prefix)
    if head is None:
        if len(_PREFIXES) >= _MEMO_MAX:
            _PREFIXES.clear()
        head = _PREFIXES[prefix] = json.dumps(prefix)[:-1]
    return head + json.dumps(content[cut:])[1:]


def _messages_text(sent: Any, messages: Sequence[ChatMessage]) -> str | None:
    """The text of the body's ``messages`` when they are ``messages`` as role and content; else None."""
    if not isinstance(sent, list) or len(sent) != len(messages):
        return None
    for item, message in zip(sent, messages, strict=True):
        if not (
            isinstance(item, dict)
            and list(item) == ["role", "content"]
            and item["role"] == message.role
            and item["content"] is message.content
        ):
            return None
    return (
        "["
        + ", ".join(f'{{"role": {json.dumps(m.role)}, "content": {_content_text(m)}}}' for m in messages)
        + "]"
    )


def encode_body(body: dict[str, Any], messages: Sequence[ChatMessage] = ()) -> str:
    """``json.dumps(body)``, byte for byte. ``messages``: the request's messages, when the body's
    ``messages`` are their roles and contents (their shared prefixes are then encoded once)."""
    special: dict[str, str] = {}
    if messages and (text := _messages_text(body.get("messages"), messages)) is not None:
        special["messages"] = text
    if (text := _format_text(body.get("response_format"))) is not None:
        special["response_format"] = text
    if not special:
        return json.dumps(body)
    parts: list[str] = []
    run: dict[Any, Any] = {}
    for key, value in body.items():
        if key in special:
            if run:
                parts.append(json.dumps(run)[1:-1])
                run = {}
            parts.append(f"{json.dumps(key)}: {special[key]}")
        else:
            run[key] = value
    if run:
        parts.append(json.dumps(run)[1:-1])
    return "{" + ", ".join(parts) + "}"

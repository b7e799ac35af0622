"""Structured answers: JSON schema for the request, and lenient JSON extraction from replies."""

from __future__ import annotations

import functools
import json
import re
from typing import Any

from pydantic import BaseModel, ValidationError

_FENCE = re.compile(r"```(?:json|JSON)?\s*\n?(.*?)```", re.DOTALL)

# Ways to ask a server for an answer that follows a JSON schema, from the most to the least
# constrained. A provider lists the ones its API has (``structured_modes``); when an endpoint
# rejects one, the engine steps down to the next for that endpoint.
NATIVE = "native"  # the provider's own mechanism (Anthropic's forced tool, llama.cpp's grammar)
JSON_SCHEMA_STRICT = "json_schema_strict"  # response_format json_schema, strict: true
JSON_SCHEMA = "json_schema"  # response_format json_schema, strict: false
JSON_OBJECT_SCHEMA = "json_object_schema"  # response_format json_object with a "schema" (llama.cpp servers)
JSON_OBJECT = "json_object"  # response_format json_object: any JSON object
TEXT = "text"  # no response_format: the schema in the prompt, JSON extracted from the reply
MODE_DESCRIPTIONS = {
    NATIVE: "the provider's native structured output",
    JSON_SCHEMA_STRICT: "response_format json_schema (strict)",
    JSON_SCHEMA: "response_format json_schema (non-strict)",
    JSON_OBJECT_SCHEMA: "response_format json_object with the schema",
    JSON_OBJECT: "response_format json_object",
    TEXT: "plain text with the schema in the prompt",
}
# Modes in which the server does not enforce the schema, so the prompt carries it.
SCHEMA_IN_PROMPT = frozenset({JSON_OBJECT_SCHEMA, JSON_OBJECT, TEXT})


@functools.lru_cache(maxsize=4096)
def json_schema_for(output_type: type[BaseModel]) -> dict[str, Any]:
    """The answer model's JSON schema, as sent to providers (see `strict_schema` for OpenAI strict mode).

    Built once per model class (``model_json_schema`` costs milliseconds); callers must not mutate it.
    """
    return output_type.model_json_schema()


# Keywords OpenAI's strict structured outputs accept; anything else (minLength, default, oneOf,
# allOf, dict-valued additionalProperties, ...) makes us fall back to a non-strict schema.
_STRICT_KEYWORDS = frozenset(
    {
        "type", "properties", "required", "additionalProperties", "items", "enum", "const", "anyOf",
        "$ref", "$defs", "description", "title", "pattern", "format", "minimum", "maximum",
        "exclusiveMinimum", "exclusiveMaximum", "multipleOf", "minItems", "maxItems",
    }
)  # fmt: skip


# id(schema) -> (schema, its strict form): the schema is held so its id cannot be reused while cached.
_STRICT_MEMO: dict[int, tuple[dict[str, Any], dict[str, Any] | None]] = {}
_STRICT_MEMO_MAX = 4096


def strict_schema(schema: dict[str, Any]) -> dict[str, Any] | None:
    """The schema in OpenAI strict form (objects closed), or None when strict mode cannot express it.

    Strict mode needs every property required and ``additionalProperties: false``; a model
    with optional fields or unsupported keywords is sent non-strict instead. Computed once per
    schema object (the engine sends the same object for every call with one answer model).
    """
    memo = _STRICT_MEMO.get(id(schema))
    if memo is not None and memo[0] is schema:
        return memo[1]
    if len(_STRICT_MEMO) >= _STRICT_MEMO_MAX:
        _STRICT_MEMO.clear()
    result = _to_strict(schema)
    _STRICT_MEMO[id(schema)] = (schema, result)
    return result


def _to_strict(schema: dict[str, Any]) -> dict[str, Any] | None:
    def convert(node: Any) -> Any:
        if isinstance(node, list):
            return [convert(item) for item in node]
        if not isinstance(node, dict):
            return node
        if not set(node) <= _STRICT_KEYWORDS:
            raise ValueError("unsupported keyword")
        out = {
            key: ({k: convert(v) for k, v in val.items()} if key in {"properties", "$defs"} else convert(val))
            for key, val in node.items()
        }
        if node.get("type") == "object" or "properties" in node:
            if node.get("additionalProperties", False) is not False:
                raise ValueError("open object")
            if set(node.get("required", [])) != set(node.get("properties", {})):
                raise ValueError("optional property")
            out["additionalProperties"] = False
        return out

    try:
        converted = convert(schema)
    except ValueError:
        return None
    return converted if isinstance(converted, dict) else None


def extract_json(text: str) -> Any:
    """Parse JSON from a reply that may wrap it in prose or a code fence.

    Raises ValueError with a short reason when no JSON object is found.
    """
    stripped = text.strip()
    candidates = [stripped]
    candidates += [m.group(1).strip() for m in _FENCE.finditer(text)]
    start = stripped.find("{")
    end = stripped.rfind("}")
    if start != -1 and end > start:
        candidates.append(stripped[start : end + 1])
    for candidate in candidates:
        try:
            return json.loads(candidate, parse_constant=_reject_constant)
        except json.JSONDecodeError:
            continue
        except RecursionError:
            raise ValueError("the reply's JSON is nested too deeply to read") from None
    raise ValueError("the reply contains no parseable JSON object")


def _reject_constant(name: str) -> Any:
    # NaN and Infinity are not JSON; a judge that writes them has not given a usable answer.
    raise json.JSONDecodeError(f"non-finite number {name} is not valid JSON", name, 0)


def parse_reply(text: str, output_type: type[BaseModel]) -> BaseModel:
    """Validate a reply against the step's answer model; raises ValueError with a re-ask message."""
    data = extract_json(text)
    try:
        return output_type.model_validate(data)
    except RecursionError:
        raise ValueError("the reply's JSON is nested too deeply to read") from None
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '<root>'}: {err['msg']}" for err in exc.errors()[:5]
        )
        raise ValueError(f"the JSON does not match the schema: {problems}") from None


def resolve_local_ref(root: dict[str, Any], ref: str) -> dict[str, Any]:
    """The sub-schema a local JSON pointer (``#/$defs/Name``) names; ValueError if it names none."""
    if not ref.startswith("#"):
        raise ValueError(f"only local $refs are supported, got {ref!r}")
    node: Any = root
    for part in [p for p in ref[1:].split("/") if p]:
        part = part.replace("~1", "/").replace("~0", "~")
        if not isinstance(node, dict) or part not in node:
            raise ValueError(f"unresolvable $ref {ref!r}")
        node = node[part]
    if not isinstance(node, dict):
        raise ValueError(f"$ref {ref!r} does not point to a schema")
    return node

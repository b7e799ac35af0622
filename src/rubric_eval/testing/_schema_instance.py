"""Deterministic, valid JSON instances synthesised from a JSON schema (the subset LLM APIs use)."""

from __future__ import annotations

import random
import string
from typing import Any

from rubric_eval.engine import resolve_local_ref

_WORDS = (
    "clear",
    "accurate",
    "concise",
    "relevant",
    "complete",
    "helpful",
    "correct",
    "detailed",
    "coherent",
    "thorough",
    "precise",
    "careful",
    "sound",
    "balanced",
    "specific",
    "grounded",
    "consistent",
    "direct",
)
_MAX_DEPTH = 12


class SchemaError(ValueError):
    """The schema uses something the synthesiser cannot satisfy (e.g. an unresolvable $ref)."""


def synthesize_instance(schema: dict[str, Any], seed: int | str = 0) -> Any:
    """Return a JSON value that validates against ``schema``; the same seed gives the same value.

    Supports ``$defs``/``definitions`` with local ``$ref``, ``anyOf``/``oneOf``/``allOf``, ``enum``,
    ``const``, the seven JSON types (or a list of them), ``required``, ``properties``,
    ``additionalProperties``, ``minItems``/``maxItems``, ``minLength``/``maxLength``,
    ``minimum``/``maximum`` and their exclusive forms.
    """
    rng = random.Random(str(seed))
    return _Synth(schema, rng).value(schema, 0)


class _Synth:
    def __init__(self, root: dict[str, Any], rng: random.Random) -> None:
        self.root = root
        self.rng = rng

    def resolve(self, ref: str) -> dict[str, Any]:
        try:
            return resolve_local_ref(self.root, ref)
        except ValueError as exc:
            raise SchemaError(str(exc)) from None

    def value(self, schema: Any, depth: int) -> Any:
        if schema is True or schema == {}:
            return self.rng.choice(_WORDS)
        if not isinstance(schema, dict):
            raise SchemaError(f"expected a schema object, got {schema!r}")
        if depth > _MAX_DEPTH:
            raise SchemaError("schema recursion is too deep to synthesise a finite instance")
        if "$ref" in schema:
            merged = {**self.resolve(schema["$ref"]), **{k: v for k, v in schema.items() if k != "$ref"}}
            return self.value(merged, depth + 1)
        if "allOf" in schema:
            merged = {k: v for k, v in schema.items() if k != "allOf"}
            for part in schema["allOf"]:
                part = self.resolve(part["$ref"]) if "$ref" in part else part
                merged = _merge(merged, part)
            return self.value(merged, depth + 1)
        if "const" in schema:
            return schema["const"]
        if "enum" in schema:
            return self.rng.choice(list(schema["enum"]))
        for key in ("anyOf", "oneOf"):
            if key in schema:
                options = list(schema[key])
                # Prefer non-null branches so optional fields get real values more often.
                non_null = [o for o in options if not (isinstance(o, dict) and o.get("type") == "null")]
                choice = self.rng.choice(non_null or options)
                rest = {k: v for k, v in schema.items() if k not in {"anyOf", "oneOf"}}
                return self.value(_merge(rest, choice) if rest else choice, depth + 1)
        kind = schema.get("type")
        if isinstance(kind, list):
            kinds = [k for k in kind if k != "null"] or kind
            kind = self.rng.choice(kinds)
        if kind is None:
            kind = _infer_type(schema)
        maker = getattr(self, f"_{kind}", None)
        if maker is None:
            raise SchemaError(f"unsupported schema type {kind!r}")
        return maker(schema, depth)

    def _object(self, schema: dict[str, Any], depth: int) -> dict[str, Any]:
        props: dict[str, Any] = schema.get("properties", {})
        required = set(schema.get("required", []))
        out: dict[str, Any] = {}
        for name, sub in props.items():
            if name in required or self.rng.random() < 0.5:
                out[name] = self.value(sub, depth + 1)
        for name in required - set(props):
            extra = schema.get("additionalProperties", True)
            out[name] = self.value(extra if isinstance(extra, dict) else True, depth + 1)
        return out

    def _array(self, schema: dict[str, Any], depth: int) -> list[Any]:
        low = int(schema.get("minItems", 0))
        high = int(schema.get("maxItems", low + 3))
        count = self.rng.randint(low, max(low, min(high, low + 3)))
        prefix = schema.get("prefixItems", [])
        items = schema.get("items", True)
        return [self.value(prefix[i] if i < len(prefix) else items, depth + 1) for i in range(count)]

    def _string(self, schema: dict[str, Any], depth: int) -> str:
        low = int(schema.get("minLength", 0))
        high = int(schema.get("maxLength", max(low, 40)))
        words = [self.rng.choice(_WORDS) for _ in range(self.rng.randint(1, 6))]
        text = " ".join(words)
        while len(text) < low:
            text += " " + self.rng.choice(_WORDS)
        if len(text) > high:
            text = text[:high]
        if len(text) < low:  # a maxLength below the words' length with a minLength above 0
            text = "".join(self.rng.choice(string.ascii_lowercase) for _ in range(low))
        return text

    def _integer(self, schema: dict[str, Any], depth: int) -> int:
        low, high = _bounds(schema, integer=True)
        return self.rng.randint(int(low), int(high))

    def _number(self, schema: dict[str, Any], depth: int) -> float:
        low, high = _bounds(schema, integer=False)
        return round(self.rng.uniform(low, high), 3) if high > low else float(low)

    def _boolean(self, schema: dict[str, Any], depth: int) -> bool:
        return self.rng.random() < 0.5

    def _null(self, schema: dict[str, Any], depth: int) -> None:
        return None


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, val in extra.items():
        if key == "properties":
            merged["properties"] = {**merged.get("properties", {}), **val}
        elif key == "required":
            merged["required"] = sorted({*merged.get("required", []), *val})
        else:
            merged[key] = val
    return merged


def _infer_type(schema: dict[str, Any]) -> str:
    if "properties" in schema or "additionalProperties" in schema:
        return "object"
    if "items" in schema or "prefixItems" in schema:
        return "array"
    if "minimum" in schema or "maximum" in schema:
        return "number"
    return "string"


def _bounds(schema: dict[str, Any], *, integer: bool) -> tuple[float, float]:
    step = 1 if integer else 0.001
    low: float = schema.get("minimum", 0 if "maximum" not in schema else schema["maximum"] - 10)
    high: float = schema.get("maximum", low + 10)
    if "exclusiveMinimum" in schema:
        low = (
            max(low, schema["exclusiveMinimum"] + step)
            if "minimum" in schema
            else (schema["exclusiveMinimum"] + step)
        )
        high = max(high, low)
    if "exclusiveMaximum" in schema:
        high = min(high, schema["exclusiveMaximum"] - step)
    if integer:
        import math

        low, high = math.ceil(low), math.floor(high)
    if high < low:
        raise SchemaError(f"empty numeric range in {schema!r}")
    return low, high

"""JSON schema -> bounded GBNF grammar, for constrained decoding with llama.cpp.

Why our own converter rather than llama-cpp-python's ``json_schema_to_gbnf``: that one lets
strings contain raw control characters (newlines), which strict JSON parsers reject; it cannot
bound the number of keys of a ``dict[str, X]`` field; and it does not size anything to the
token budget. A small model given an unbounded grammar can write one string until
``max_tokens`` and end with truncated, unparseable JSON.

`bound_schema` inlines ``$ref``s and gives every free string a ``maxLength`` and every array
and map a ``maxItems`` / ``maxProperties``, sized so that the worst-case answer fits in the
call's ``max_tokens`` (at an assumed :data:`CHARS_PER_TOKEN`). `schema_to_gbnf` turns the
bounded schema into a grammar whose every accepted string is valid JSON for that schema,
except for what grammars cannot express (``pattern``, numeric ranges other than small
integer ranges, uniqueness), which pydantic validation and the engine's re-ask catch.
"""

from __future__ import annotations

import copy
import json
import math
from dataclasses import dataclass
from typing import Any

from rubric_eval.engine._structured import resolve_local_ref

Schema = dict[str, Any]

# Part of the local provider's cache identity: bump when the grammar for a schema changes.
GRAMMAR_VERSION = "1"

# Free text in English runs at ~4 characters per token; 2 leaves room for punctuation and digits.
# Text that tokenizes worse (long digit runs, non-Latin scripts) can still reach max_tokens; the
# engine then re-asks, and records the call as failed if that happens again.
CHARS_PER_TOKEN = 2.0


class UnsupportedSchemaError(ValueError):
    """The schema uses something a grammar cannot express (recursion, remote refs)."""


@dataclass(frozen=True)
class Bounds:
    """How `bound_schema` sizes strings and collections."""

    max_tokens: int
    chars_per_token: float = CHARS_PER_TOKEN
    budget_fraction: float = 0.9
    min_string_chars: int = 32
    max_string_chars: int = 4000
    max_items: int = 6
    nested_max_items: int = 4
    max_properties: int = 6
    key_chars: int = 32
    digits: int = 6
    decimals: int = 3
    enum_int_range: int = 64


# --------------------------------------------------------------------------- refs


def inline_refs(schema: Schema) -> Schema:
    """A copy of ``schema`` with local ``$ref``s replaced by (copies of) their targets."""
    root = copy.deepcopy(schema)

    def target(ref: str) -> Schema:
        try:
            return resolve_local_ref(root, ref)
        except ValueError as exc:
            raise UnsupportedSchemaError(str(exc)) from None

    def visit(node: Any, active: tuple[str, ...]) -> Any:
        if isinstance(node, list):
            return [visit(item, active) for item in node]
        if not isinstance(node, dict):
            return node
        ref = node.get("$ref")
        if isinstance(ref, str):
            if ref in active:
                raise UnsupportedSchemaError(f"recursive schema ({ref}) cannot be bounded")
            resolved = visit(copy.deepcopy(target(ref)), (*active, ref))
            siblings = {k: visit(v, active) for k, v in node.items() if k != "$ref"}
            return {**resolved, **siblings}
        return {k: visit(v, active) for k, v in node.items() if k not in {"$defs", "definitions"}}

    inlined = _flatten_all_of(visit(root, ()))
    assert isinstance(inlined, dict)
    return inlined


def _flatten_all_of(node: Any) -> Any:
    """Merge ``allOf`` (pydantic wraps described refs in it) into its parent."""
    if isinstance(node, list):
        return [_flatten_all_of(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = {k: _flatten_all_of(v) for k, v in node.items()}
    parts = node.pop("allOf", None)
    if not parts:
        return node
    merged: Schema = {}
    for part in parts:
        for key, value in part.items():
            if key == "properties":
                merged.setdefault("properties", {}).update(value)
            elif key == "required":
                merged["required"] = [*merged.get("required", []), *value]
            else:
                merged[key] = value
    return {**merged, **node}


# --------------------------------------------------------------------------- bounding


def _types(node: Schema) -> list[str]:
    kind = node.get("type")
    if isinstance(kind, list):
        return [str(k) for k in kind]
    if isinstance(kind, str):
        return [kind]
    if "properties" in node or "additionalProperties" in node:
        return ["object"]
    if "items" in node or "prefixItems" in node:
        return ["array"]
    return []


def _is_free_string(node: Schema) -> bool:
    return node.get("type") == "string" and "enum" not in node and "const" not in node


def bound_schema(schema: Schema, bounds: Bounds) -> Schema:
    """Inline refs and add ``maxLength``/``maxItems``/``maxProperties`` so the answer fits the budget.

    Free strings share one length, the largest that fits. When even strings of
    ``min_string_chars`` do not fit, collections get fewer items first: those this function
    bounded, then those the schema bounded (never below ``minItems``); then strings get shorter.
    A value that must be written (the root, a required property, an item) gets at least one
    item or character: small models otherwise answer ``[]`` or ``""``.
    """
    tree = inline_refs(schema)
    free_strings: list[Schema] = []
    added_caps: list[tuple[Schema, str, int]] = []  # (node, key, lowest allowed)
    given_caps: list[tuple[Schema, str, int]] = []

    def cap(node: Schema, key: str, low_key: str, default: int) -> None:
        low = int(node.get(low_key, 0))
        if key in node:
            given_caps.append((node, key, max(low, 1)))
        else:
            node[key] = max(default, low)
            added_caps.append((node, key, max(low, 1)))

    def collect(node: Any, depth: int, needed: bool) -> None:
        if not isinstance(node, dict):
            return
        for alt in node.get("anyOf", []) + node.get("oneOf", []):
            collect(alt, depth, False)
        types = _types(node)
        if "string" in types and _is_free_string(node):
            if needed and "minLength" not in node:
                node["minLength"] = 1  # see the grammar's `lead`: not blank either
            if "maxLength" not in node:
                free_strings.append(node)
        if "array" in types:
            if isinstance(node.get("items"), dict):
                if needed and "minItems" not in node:
                    node["minItems"] = 1
                cap(node, "maxItems", "minItems", bounds.max_items if depth == 0 else bounds.nested_max_items)
                collect(node["items"], depth + 1, True)
            for item in node.get("prefixItems", []):
                collect(item, depth, True)
        if "object" in types:
            required = set(node.get("required", []))
            for key, prop in node.get("properties", {}).items():
                collect(prop, depth, key in required)
            extra = node.get("additionalProperties")
            if not node.get("properties") and extra is not False:
                cap(node, "maxProperties", "minProperties", bounds.max_properties)
                if isinstance(extra, dict):
                    collect(extra, depth + 1, True)

    collect(tree, 0, True)
    budget = bounds.max_tokens * bounds.budget_fraction

    def cost_with(length: int) -> float:
        for node in free_strings:
            node["maxLength"] = max(length, int(node.get("minLength", 0)))
        return worst_case_tokens(tree, bounds)

    floor = bounds.min_string_chars
    for caps in (added_caps, given_caps):
        while cost_with(floor) > budget:
            shrinkable = [(n, k) for n, k, low in caps if n[k] > low]
            if not shrinkable:
                break
            node, key = max(shrinkable, key=lambda c: c[0][c[1]])
            node[key] -= 1
    low, high = 1, max(floor, bounds.max_string_chars)
    while low < high:  # the longest strings that fit
        mid = (low + high + 1) // 2
        if cost_with(mid) <= budget:
            low = mid
        else:
            high = mid - 1
    cost_with(low)
    return tree


def _text_tokens(chars: float, bounds: Bounds) -> float:
    return math.ceil(chars / bounds.chars_per_token) + 1


def worst_case_tokens(node: Any, bounds: Bounds) -> float:
    """Worst-case tokens of a JSON value matching the (bounded) schema."""
    if not isinstance(node, dict) or not node:
        return _scalar_cost(bounds)
    if "const" in node:
        return _text_tokens(len(json.dumps(node["const"])), bounds)
    if "enum" in node:
        return max((_text_tokens(len(json.dumps(v)), bounds) for v in node["enum"]), default=1)
    alternatives = node.get("anyOf") or node.get("oneOf")
    if alternatives:
        return max(worst_case_tokens(alt, bounds) for alt in alternatives)
    types = _types(node)
    if not types:
        return _scalar_cost(bounds)
    return max(_cost_of_type(node, kind, bounds) for kind in types)


def _cost_of_type(node: Schema, kind: str, bounds: Bounds) -> float:
    if kind == "string":
        return _text_tokens(node.get("maxLength", bounds.max_string_chars) + 2, bounds)
    if kind == "integer" and isinstance(node.get("maximum"), int) and isinstance(node.get("minimum"), int):
        return _text_tokens(len(str(node["maximum"])) + 1, bounds)
    if kind in {"number", "integer"}:
        return _text_tokens(bounds.digits + bounds.decimals + 2, bounds)
    if kind in {"boolean", "null"}:
        return 2
    if kind == "array":
        if "prefixItems" in node:
            return 2 + sum(worst_case_tokens(item, bounds) + 1 for item in node["prefixItems"])
        items = int(node.get("maxItems", bounds.max_items))
        return 2 + items * (worst_case_tokens(node.get("items", {}), bounds) + 1)
    if kind == "object":
        props = node.get("properties") or {}
        if props:
            return 2 + sum(
                _text_tokens(len(json.dumps(k)) + 2, bounds) + worst_case_tokens(v, bounds)
                for k, v in props.items()
            )
        extra = node.get("additionalProperties")
        value = extra if isinstance(extra, dict) else {}
        key = _text_tokens(bounds.key_chars + 4, bounds)
        pairs = int(node.get("maxProperties", bounds.max_properties))
        return 2 + pairs * (key + worst_case_tokens(value, bounds))
    return _scalar_cost(bounds)


def _scalar_cost(bounds: Bounds) -> float:
    return _text_tokens(bounds.key_chars + 2, bounds)


# --------------------------------------------------------------------------- grammar

_PRELUDE = {
    "space": '" "?',
    "char": r'[^"\\\x00-\x1F] | "\\" ["\\/nrt]',
    # First character of a non-empty string: not blank, so "  " cannot stand in for an answer.
    "lead": r'[^"\\\x00-\x20]',
}


def _gbnf_literal(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r")
    return f'"{escaped}"'


def _repeat(item: str, low: int, high: int | None, sep: str | None = None) -> str:
    """``item`` repeated low..high times (``sep`` between), as GBNF."""
    if high is not None and high <= 0:
        return ""
    if sep is None:
        upper = "" if high is None else str(high)
        if low == 0 and high is None:
            return f"{item}*"
        return f"{item}{{{low},{upper}}}"
    tail = f"({sep} {item})"
    rest_low = max(low - 1, 0)
    rest_high = None if high is None else high - 1
    if rest_high == 0:
        body = item
    elif rest_high is None:
        body = f"{item} {tail}{{{rest_low},}}" if rest_low else f"{item} {tail}*"
    else:
        body = f"{item} {tail}{{{rest_low},{rest_high}}}"
    return body if low >= 1 else f"({body})?"


class _Converter:
    def __init__(self, bounds: Bounds) -> None:
        self.bounds = bounds
        self.rules: dict[str, str] = dict(_PRELUDE)
        self._names: dict[str, str] = {}

    def rule(self, prefix: str, body: str) -> str:
        """Name for ``body`` (one rule per distinct body)."""
        if body in self._names:
            return self._names[body]
        name = f"{prefix}{len(self.rules)}"
        self.rules[name] = body
        self._names[body] = name
        return name

    def value(self, node: Any) -> str:
        if node is True or (isinstance(node, dict) and not node):
            return self.any_scalar()
        if not isinstance(node, dict):
            raise UnsupportedSchemaError(f"expected a schema object, got {node!r}")
        if "const" in node:
            return self.rule("const", f"{_gbnf_literal(json.dumps(node['const']))} space")
        if "enum" in node:
            if not node["enum"]:
                raise UnsupportedSchemaError("empty enum")
            options = " | ".join(_gbnf_literal(json.dumps(v)) for v in node["enum"])
            return self.rule("enum", f"({options}) space")
        alternatives = node.get("anyOf") or node.get("oneOf")
        if alternatives:
            return self.rule("alt", " | ".join(self.value(alt) for alt in alternatives))
        types = _types(node)
        if not types:
            return self.any_scalar()
        names = [self.typed(node, kind) for kind in types]
        return names[0] if len(names) == 1 else self.rule("alt", " | ".join(names))

    def typed(self, node: Schema, kind: str) -> str:
        if kind == "string":
            low, high = int(node.get("minLength", 0)), node.get("maxLength")
            if low == 0:
                chars = _repeat("char", 0, None if high is None else int(high))
            else:
                chars = "lead " + _repeat("char", low - 1, None if high is None else int(high) - 1)
            return self.rule("str", f'"\\"" {chars} "\\"" space')
        if kind == "integer":
            return self.integer(node)
        if kind == "number":
            return self.number(node)
        if kind == "boolean":
            return self.rule("bool", '("true" | "false") space')
        if kind == "null":
            return self.rule("null", '"null" space')
        if kind == "array":
            return self.array(node)
        if kind == "object":
            return self.object(node)
        raise UnsupportedSchemaError(f"unsupported type {kind!r}")

    def _sign(self, node: Schema) -> str:
        low = node.get("minimum", node.get("exclusiveMinimum"))
        return "" if isinstance(low, (int, float)) and low >= 0 else '"-"? '

    def integer(self, node: Schema) -> str:
        low, high = node.get("minimum"), node.get("maximum")
        if isinstance(low, int) and isinstance(high, int) and 0 <= high - low < self.bounds.enum_int_range:
            options = " | ".join(f'"{v}"' for v in range(low, high + 1))
            return self.rule("int", f"({options}) space")
        digits = _repeat("[0-9]", 0, self.bounds.digits - 1)
        return self.rule("int", f'{self._sign(node)}("0" | [1-9] {digits}) space')

    def number(self, node: Schema) -> str:
        digits = _repeat("[0-9]", 0, self.bounds.digits - 1)
        decimals = _repeat("[0-9]", 1, self.bounds.decimals)
        return self.rule("num", f'{self._sign(node)}("0" | [1-9] {digits}) ("." {decimals})? space')

    def array(self, node: Schema) -> str:
        if "prefixItems" in node:
            items = [self.value(item) for item in node["prefixItems"]]
            body = ' "," space '.join(items)
            return self.rule("tuple", f'"[" space {body} "]" space')
        item = self.value(node.get("items", {}))
        high = node.get("maxItems")
        inner = _repeat(item, int(node.get("minItems", 0)), None if high is None else int(high), '"," space')
        return self.rule("arr", f'"[" space {inner} "]" space')

    def object(self, node: Schema) -> str:
        props: dict[str, Any] = node.get("properties") or {}
        if props:
            return self.fixed_object(props, set(node.get("required", [])))
        extra = node.get("additionalProperties", True)
        if extra is False:
            return self.rule("obj", '"{" space "}" space')
        names = node.get("propertyNames", {})
        if "enum" in names:
            key = self.value({"enum": names["enum"]})
        else:
            key = self.typed({"type": "string", "maxLength": self.bounds.key_chars, "minLength": 1}, "string")
        pair = self.rule("kv", f'{key} ":" space {self.value(extra if isinstance(extra, dict) else {})}')
        high = node.get("maxProperties")
        inner = _repeat(
            pair, int(node.get("minProperties", 0)), None if high is None else int(high), '"," space'
        )
        return self.rule("map", f'"{{" space {inner} "}}" space')

    def fixed_object(self, props: dict[str, Any], required: set[str]) -> str:
        """Properties in declared order; optional ones may be left out."""
        pairs = [
            (
                self.rule("kv", f'{_gbnf_literal(json.dumps(k))} space ":" space {self.value(v)}'),
                k in required,
            )
            for k, v in props.items()
        ]
        memo: dict[tuple[int, bool], str] = {}

        def tail(i: int, first: bool) -> str:
            # The properties from i on; `first` when nothing was written yet (no comma before).
            if i == len(pairs):
                return ""
            if (i, first) not in memo:
                pair, is_required = pairs[i]
                lead = "" if first else '"," space '
                taken = f"{lead}{pair} {tail(i + 1, False)}".strip()
                if is_required:
                    memo[i, first] = taken
                else:
                    skipped = tail(i + 1, first)
                    memo[i, first] = (
                        f"({taken})?" if not skipped else self.rule("props", f"({taken}) | ({skipped})")
                    )
            return memo[i, first]

        return self.rule("obj", f'"{{" space {tail(0, True)} "}}" space')

    def any_scalar(self) -> str:
        text = self.typed({"type": "string", "maxLength": self.bounds.key_chars}, "string")
        number = self.number({})
        return self.rule("any", f'{text} | {number} | ("true" | "false" | "null") space')


def schema_to_gbnf(schema: Schema, bounds: Bounds) -> str:
    """GBNF accepting JSON documents of ``schema`` (refs inlined; use `bound_schema` first)."""
    converter = _Converter(bounds)
    root = converter.value(inline_refs(schema))
    lines = [f"root ::= {root}"] + [f"{name} ::= {body}" for name, body in converter.rules.items()]
    return "\n".join(lines) + "\n"


def json_grammar(schema: Schema, max_tokens: int) -> str:
    """The grammar a local model decodes with: the schema, bounded to fit ``max_tokens``."""
    bounds = Bounds(max_tokens=max_tokens)
    return schema_to_gbnf(bound_schema(schema, bounds), bounds)

"""The JSON-schema -> bounded grammar conversion (pure functions; no model needed)."""

from __future__ import annotations

import re
import sys
from typing import Literal

import pytest
from pydantic import BaseModel, Field

from rubric_eval._config import resolve_config
from rubric_eval.engine import create_provider
from rubric_eval.engine._json_grammar import (
    Bounds,
    UnsupportedSchemaError,
    bound_schema,
    inline_refs,
    json_grammar,
    schema_to_gbnf,
    worst_case_tokens,
)
from rubric_eval.errors import ConfigError, MissingExtraError
from rubric_eval.records import BrainstormedRubric, Rubric

from .conftest import local_extra_installed


class Grade(BaseModel):
    feedback: str
    level: Literal["excellent", "good", "fair", "poor"]


class Judge(BaseModel):
    correctness: Grade
    clarity: Grade
    note: str | None = None


class Mixed(BaseModel):
    title: str = Field(max_length=10)
    tags: list[str] = Field(min_length=2, max_length=3)
    optional_list: list[str] = Field(default_factory=list)
    rating: int = Field(ge=1, le=5)
    weight: float = Field(ge=0)
    delta: float
    labels: dict[str, str]
    pair: tuple[int, str]
    flag: bool


def _strings(node: object) -> list[dict[str, object]]:
    found: list[dict[str, object]] = []
    if isinstance(node, dict):
        if node.get("type") == "string" and "enum" not in node:
            found.append(node)
        for value in node.values():
            found += _strings(value)
    elif isinstance(node, list):
        for value in node:
            found += _strings(value)
    return found


@pytest.mark.parametrize("model", [Judge, Mixed, BrainstormedRubric, Rubric])
@pytest.mark.parametrize("max_tokens", [256, 1024, 4000])
def test_bounded_schema_fits_the_token_budget(model: type[BaseModel], max_tokens: int) -> None:
    bounds = Bounds(max_tokens=max_tokens)
    bounded = bound_schema(model.model_json_schema(), bounds)
    assert "$defs" not in bounded and "$ref" not in str(bounded)
    assert all("maxLength" in node for node in _strings(bounded))
    assert worst_case_tokens(bounded, bounds) <= max_tokens


def test_strings_grow_with_the_budget_and_explicit_bounds_are_kept() -> None:
    small = bound_schema(Mixed.model_json_schema(), Bounds(max_tokens=300))
    large = bound_schema(Mixed.model_json_schema(), Bounds(max_tokens=3000))
    assert small["properties"]["delta"] == large["properties"]["delta"]
    assert (
        small["properties"]["tags"]["items"]["maxLength"] < large["properties"]["tags"]["items"]["maxLength"]
    )
    for bounded in (small, large):
        assert bounded["properties"]["title"]["maxLength"] == 10
        assert bounded["properties"]["tags"]["minItems"] == 2
        assert bounded["properties"]["tags"]["maxItems"] == 3
        assert bounded["properties"]["labels"]["maxProperties"] >= 1


def test_required_lists_need_an_item_optional_ones_may_be_empty() -> None:
    bounded = bound_schema(Mixed.model_json_schema(), Bounds(max_tokens=1024))
    assert bounded["properties"]["optional_list"].get("minItems", 0) == 0
    brainstorm = bound_schema(BrainstormedRubric.model_json_schema(), Bounds(max_tokens=1024))
    assert brainstorm["minItems"] == 1  # an empty rubric is not an answer
    assert brainstorm["items"]["properties"]["checklist"].get("minItems", 0) == 0


def test_required_strings_are_not_blank_optional_ones_may_be_empty() -> None:
    bounded = bound_schema(Judge.model_json_schema(), Bounds(max_tokens=512))
    assert bounded["properties"]["correctness"]["properties"]["feedback"]["minLength"] == 1
    note = next(alt for alt in bounded["properties"]["note"]["anyOf"] if alt.get("type") == "string")
    assert note.get("minLength", 0) == 0
    grammar = schema_to_gbnf(bounded, Bounds(max_tokens=512))
    assert r'lead ::= [^"\\\x00-\x20]' in grammar  # no space, quote, backslash or control first


def test_schema_bounds_shrink_only_when_the_budget_demands_it() -> None:
    class Many(BaseModel):
        items: list[str] = Field(min_length=3, max_length=8)

    roomy = bound_schema(Many.model_json_schema(), Bounds(max_tokens=2000))
    tight = bound_schema(Many.model_json_schema(), Bounds(max_tokens=60))
    assert roomy["properties"]["items"]["maxItems"] == 8
    assert tight["properties"]["items"]["maxItems"] == 3  # never below minItems
    assert worst_case_tokens(tight, Bounds(max_tokens=60)) <= 60


def test_collections_shrink_before_strings_get_uselessly_short() -> None:
    bounds = Bounds(max_tokens=256)
    bounded = bound_schema(BrainstormedRubric.model_json_schema(), bounds)
    assert bounded["maxItems"] < Bounds(max_tokens=4000).max_items
    assert min(int(str(node["maxLength"])) for node in _strings(bounded)) >= bounds.min_string_chars


def test_refs_are_inlined_and_recursion_is_refused() -> None:
    schema = {
        "$defs": {"Leaf": {"type": "string"}},
        "type": "object",
        "properties": {"a": {"$ref": "#/$defs/Leaf", "description": "first"}, "b": {"$ref": "#/$defs/Leaf"}},
    }
    inlined = inline_refs(schema)
    assert inlined["properties"]["a"] == {"type": "string", "description": "first"}
    assert inlined["properties"]["b"] == {"type": "string"}
    recursive = {
        "$defs": {"Node": {"type": "object", "properties": {"child": {"$ref": "#/$defs/Node"}}}},
        "$ref": "#/$defs/Node",
    }
    with pytest.raises(UnsupportedSchemaError, match="recursive"):
        inline_refs(recursive)
    with pytest.raises(UnsupportedSchemaError, match="local"):
        inline_refs({"$ref": "https://example.invalid/schema.json"})


def test_grammar_keeps_property_order_enums_and_optional_fields() -> None:
    grammar = json_grammar(Judge.model_json_schema(), 512)
    rules = dict(line.split(" ::= ", 1) for line in grammar.strip().splitlines())
    assert "root" in rules

    def kv_rule(key: str) -> str:
        return next(name for name, body in rules.items() if body.startswith(f'"\\"{key}\\"" space'))

    feedback, level = kv_rule("feedback"), kv_rule("level")
    grade_rule = next(body for body in rules.values() if feedback in body and level in body)
    assert grade_rule.index(feedback) < grade_rule.index(level)  # declared order: evidence, then level
    judge_rule = rules[rules["root"]]
    assert judge_rule.index(kv_rule("correctness")) < judge_rule.index(kv_rule("clarity"))
    assert '"\\"excellent\\""' in grammar and '"\\"poor\\""' in grammar
    # `note` is optional: the object rule offers it in an optional group.
    assert f'("," space {kv_rule("note")})?' in judge_rule


def test_grammar_strings_are_bounded_and_exclude_raw_control_characters() -> None:
    grammar = json_grammar(Mixed.model_json_schema(), 1024)
    assert r'char ::= [^"\\\x00-\x1F]' in grammar
    assert "char*" not in grammar  # every string has an upper bound
    assert '"\\"" lead char{0,9} "\\""' in grammar  # title: max_length=10, required so not blank
    assert '("1" | "2" | "3" | "4" | "5")' in grammar  # small integer range -> enum
    weight = re.search(r'"\\"weight\\"" space ":" space (\S+)', grammar)
    assert weight is not None
    weight_rule = next(line for line in grammar.splitlines() if line.startswith(weight.group(1) + " ::="))
    assert '"-"' not in weight_rule  # minimum 0: no sign


def test_property_names_are_escaped_in_grammar_literals() -> None:
    schema = {
        "type": "object",
        "properties": {'say "hi" \\ now': {"type": "string"}},
        "required": ['say "hi" \\ now'],
    }
    grammar = schema_to_gbnf(schema, Bounds(max_tokens=100))
    assert r'"\"say \\\"hi\\\" \\\\ now\""' in grammar


def test_unknown_provider_options_and_params_are_config_errors() -> None:
    if not local_extra_installed():
        pytest.skip("the `local` extra is not installed")
    base = resolve_config("evaluator", "local")
    with pytest.raises(ConfigError, match="base_url"):
        create_provider(base.model_copy(update={"provider_options": {"base_url": "http://x"}}))
    with pytest.raises(ConfigError, match="reasoning_effort"):
        create_provider(base.model_copy(update={"params": {"reasoning_effort": "low"}}))


def test_missing_llama_cpp_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "llama_cpp", None)  # as if not installed
    with pytest.raises(MissingExtraError, match=r"rubric-eval\[local\]"):
        create_provider(resolve_config("evaluator", "local"))

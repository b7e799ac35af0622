"""The OpenAI-compatible test server: real HTTP, deterministic schema-valid replies, fault injection."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any, Literal

import jsonschema
import pytest
from pydantic import BaseModel, Field

from rubric_eval.testing import (
    Fault,
    OpenAICompatibleServer,
    Reply,
    SchemaError,
    ServerProcess,
    synthesize_instance,
)

MakeServer = Callable[..., OpenAICompatibleServer]


class Level(BaseModel):
    name: Literal["excellent", "good", "fair", "poor"]
    note: str | None = None


class Grade(BaseModel):
    criterion: str = Field(min_length=3, max_length=12)
    level: Level
    score: float = Field(ge=1, le=10)
    count: int = Field(gt=0, lt=5)
    flags: list[bool] = Field(min_length=2, max_length=4)
    kind: Literal["grade"] = "grade"
    extra: dict[str, int] = Field(default_factory=dict)


class Tree(BaseModel):
    label: str
    grades: list[Grade]
    children: list[Tree] = Field(default_factory=list, max_length=0)
    either: int | str | None


RAW_SCHEMAS: list[dict[str, Any]] = [
    {"type": "object", "properties": {"a": {"const": 3}}, "required": ["a"], "additionalProperties": False},
    {"oneOf": [{"type": "integer", "minimum": 5, "maximum": 5}, {"type": "string", "maxLength": 0}]},
    {"type": ["null", "number"], "exclusiveMinimum": 0, "exclusiveMaximum": 1},
    {"type": "array", "items": {"enum": ["x", 1, None]}, "minItems": 7, "maxItems": 7},
    {"type": "string", "minLength": 50, "maxLength": 50},
    {
        "$defs": {"A": {"allOf": [{"$ref": "#/$defs/B"}], "required": ["b"]}, "B": {"properties": {"b": {}}}},
        "$ref": "#/$defs/A",
    },
    {"type": "boolean"},
    {"type": "null"},
]


def _post(url: str, body: dict[str, Any]) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def _chat(
    server: OpenAICompatibleServer, content: str = "hi", **extra: Any
) -> tuple[int, dict[str, str], bytes]:
    body = {"model": "m", "messages": [{"role": "user", "content": content}], **extra}
    return _post(f"{server.base_url}/chat/completions", body)


def _schema_format(model: type[BaseModel]) -> dict[str, Any]:
    return {
        "type": "json_schema",
        "json_schema": {"name": model.__name__, "schema": model.model_json_schema()},
    }


@pytest.mark.parametrize("model", [Level, Grade, Tree])
@pytest.mark.parametrize("seed", range(25))
def test_synthesized_instances_validate_against_pydantic_models(model: type[BaseModel], seed: int) -> None:
    instance = synthesize_instance(model.model_json_schema(), seed)
    model.model_validate(instance)
    jsonschema.validate(instance, model.model_json_schema())


@pytest.mark.parametrize("schema", RAW_SCHEMAS)
@pytest.mark.parametrize("seed", range(10))
def test_synthesized_instances_validate_against_raw_schemas(schema: dict[str, Any], seed: int) -> None:
    jsonschema.validate(synthesize_instance(schema, seed), schema)


def test_synthesis_is_deterministic_per_seed_and_varies_across_seeds() -> None:
    schema = Tree.model_json_schema()
    assert synthesize_instance(schema, "abc") == synthesize_instance(schema, "abc")
    assert len({json.dumps(synthesize_instance(schema, s)) for s in range(10)}) > 1


def test_unresolvable_ref_is_a_schema_error() -> None:
    with pytest.raises(SchemaError, match="unresolvable"):
        synthesize_instance({"$ref": "#/$defs/Missing"})


def test_json_schema_request_gets_valid_deterministic_answer_and_usage(
    openai_server: OpenAICompatibleServer,
) -> None:
    status, _, raw = _chat(openai_server, response_format=_schema_format(Grade))
    assert status == 200
    body = json.loads(raw)
    Grade.model_validate_json(body["choices"][0]["message"]["content"])
    assert body["usage"]["prompt_tokens"] > 0 and body["usage"]["completion_tokens"] > 0
    assert (
        body["usage"]["total_tokens"] == body["usage"]["prompt_tokens"] + body["usage"]["completion_tokens"]
    )
    _, _, again = _chat(openai_server, response_format=_schema_format(Grade))
    assert json.loads(again)["choices"][0]["message"]["content"] == body["choices"][0]["message"]["content"]
    _, _, other = _chat(openai_server, "different prompt", response_format=_schema_format(Grade))
    assert json.loads(other)["choices"][0]["message"] != body["choices"][0]["message"]


def test_plain_request_gets_deterministic_text(openai_server: OpenAICompatibleServer) -> None:
    first = json.loads(_chat(openai_server, "Explain rubrics")[2])["choices"][0]["message"]["content"]
    second = json.loads(_chat(openai_server, "Explain rubrics")[2])["choices"][0]["message"]["content"]
    assert first == second and "Explain rubrics" in first


def test_request_log_and_models_endpoint(openai_server: OpenAICompatibleServer) -> None:
    _chat(openai_server, "one")
    _chat(openai_server, "two")
    assert openai_server.request_count == 2
    assert [r["messages"][0]["content"] for r in openai_server.requests] == ["one", "two"]
    assert openai_server.status_counts == {200: 2}
    with urllib.request.urlopen(f"{openai_server.base_url}/models", timeout=10) as response:
        assert json.load(response)["data"][0]["id"]
    openai_server.reset()
    assert openai_server.request_count == 0


def test_handler_scripts_replies(make_openai_server: MakeServer) -> None:
    def handler(body: dict[str, Any]) -> Any:
        text = body["messages"][-1]["content"]
        return {"echo": text} if text == "json" else (None if text == "default" else f"said {text}")

    server = make_openai_server(handler)
    assert json.loads(json.loads(_chat(server, "json")[2])["choices"][0]["message"]["content"]) == {
        "echo": "json"
    }
    assert json.loads(_chat(server, "x")[2])["choices"][0]["message"]["content"] == "said x"
    assert (
        "Deterministic reply" in json.loads(_chat(server, "default")[2])["choices"][0]["message"]["content"]
    )


def test_fault_sequence_then_normal(make_openai_server: MakeServer) -> None:
    server = make_openai_server(
        faults=[Fault("429", retry_after_s=2.5), "500", "503", "400", "non_json", "schema_mismatch"],
    )
    status, headers, _ = _chat(server)
    assert status == 429 and headers["Retry-After"] == "3" and headers["retry-after-ms"] == "2500"
    assert [_chat(server)[0] for _ in range(3)] == [500, 503, 400]
    status, _, raw = _chat(server)
    assert status == 200
    with pytest.raises(json.JSONDecodeError):
        json.loads(raw)
    _, _, raw = _chat(server, response_format=_schema_format(Grade))
    content = json.loads(raw)["choices"][0]["message"]["content"]
    with pytest.raises(ValueError):
        Grade.model_validate_json(content)
    assert _chat(server)[0] == 200
    assert server.request_count == 7


def test_reject_response_format_only_when_present(make_openai_server: MakeServer) -> None:
    server = make_openai_server(faults=["reject_response_format", "reject_response_format"])
    status, _, raw = _chat(server, response_format=_schema_format(Level))
    assert status == 400 and "response_format" in json.loads(raw)["error"]["message"]
    assert _chat(server)[0] == 200


def test_truncated_and_dropped_responses_fail_at_the_client(make_openai_server: MakeServer) -> None:
    server = make_openai_server(faults=["truncate", "drop"])
    for _ in range(2):
        with pytest.raises((OSError, urllib.error.URLError, http_client_errors())):
            _chat(server)
    assert server.request_count == 2


def http_client_errors() -> type[Exception]:
    import http.client

    return http.client.HTTPException


def test_hang_outlasts_the_client_timeout(make_openai_server: MakeServer) -> None:
    server = make_openai_server(faults=["hang"])
    request = urllib.request.Request(
        f"{server.base_url}/chat/completions",
        data=json.dumps({"model": "m", "messages": []}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with pytest.raises((TimeoutError, urllib.error.URLError)):
        urllib.request.urlopen(request, timeout=0.3)


def test_server_rate_limit_answers_429_with_retry_after(make_openai_server: MakeServer) -> None:
    server = make_openai_server(rate_limit_per_s=5)
    statuses = [_chat(server)[0] for _ in range(8)]
    assert statuses.count(429) >= 2 and statuses[:5] == [200] * 5


def test_scripted_reply_sets_status_headers_and_usage(make_openai_server: MakeServer) -> None:
    server = make_openai_server(
        faults=[
            Reply(status=429, body={"error": {"message": "slow"}}, headers={"retry-after-ms": "10"}),
            Reply(content="fixed", usage=(7, 3), finish_reason="length"),
        ]
    )
    status, headers, _ = _chat(server)
    assert status == 429 and headers["retry-after-ms"] == "10"
    body = json.loads(_chat(server)[2])
    assert body["choices"][0]["message"]["content"] == "fixed"
    assert body["choices"][0]["finish_reason"] == "length"
    assert body["usage"]["prompt_tokens"] == 7 and body["usage"]["completion_tokens"] == 3


def test_api_key_is_enforced_when_set(make_openai_server: MakeServer) -> None:
    server = make_openai_server(api_key="sk-right")
    assert _chat(server)[0] == 401


def test_anthropic_messages_forced_tool_gets_schema_valid_input(
    openai_server: OpenAICompatibleServer,
) -> None:
    body = {
        "model": "claude",
        "max_tokens": 100,
        "messages": [{"role": "user", "content": "grade"}],
        "tools": [{"name": "answer", "input_schema": Grade.model_json_schema()}],
        "tool_choice": {"type": "tool", "name": "answer"},
    }
    status, _, raw = _post(f"{openai_server.base_url}/messages", body)
    reply = json.loads(raw)
    assert status == 200 and reply["content"][0]["type"] == "tool_use"
    Grade.model_validate(reply["content"][0]["input"])
    assert reply["usage"]["input_tokens"] > 0


@pytest.mark.integration
def test_subprocess_server_counts_requests() -> None:
    with ServerProcess(["--faults", "503"]) as process:
        base = process.base_url
        assert _post(f"{base}/chat/completions", {"model": "m", "messages": []})[0] == 503
        assert _post(f"{base}/chat/completions", {"model": "m", "messages": []})[0] == 200
        stats = process.stats()
        assert stats["requests"] == 2 and stats["statuses"] == {"503": 1, "200": 1}
        assert stats["first_request_at"] <= stats["last_request_at"]


@pytest.mark.integration
def test_subprocess_server_can_forget_bodies_and_still_count() -> None:
    before = time.time()
    with ServerProcess(["--forget-bodies"]) as process:
        for _ in range(3):
            assert _post(f"{process.base_url}/chat/completions", {"model": "m", "messages": []})[0] == 200
        stats = process.stats()
    assert stats["requests"] == 3
    assert before <= stats["first_request_at"] <= stats["last_request_at"] <= time.time()

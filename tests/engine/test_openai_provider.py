"""The OpenAI provider and the engine's retry paths, against the real local server."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import pytest
from engine_helpers import Verdict, config_for, make_calls
from pydantic import BaseModel

from rubric_eval.engine import ChatMessage, Engine, EngineSettings, LLMCall, create_provider
from rubric_eval.errors import ConfigError
from rubric_eval.testing import Fault, OpenAICompatibleServer, Reply

MakeServer = Callable[..., OpenAICompatibleServer]


class WithOptional(BaseModel):
    level: str
    comment: str | None = None


def run_one(
    settings: EngineSettings, server: OpenAICompatibleServer, output_type: type[Any] = Verdict
) -> Any:
    (result,) = Engine(settings).run(make_calls(config_for(server), 1, output_type))
    return result


def test_structured_answer_with_usage_and_cost(
    engine_settings: EngineSettings, openai_server: OpenAICompatibleServer
) -> None:
    result = run_one(engine_settings, openai_server)
    assert result.ok and isinstance(result.value, Verdict)
    assert result.attempts == 1 and not result.cached
    assert result.usage.input_tokens > 0 and result.usage.output_tokens > 0
    expected = (result.usage.input_tokens * 0.15 + result.usage.output_tokens * 0.60) / 1e6
    assert result.cost_known and result.cost_usd == pytest.approx(expected)
    sent = openai_server.requests[0]
    assert sent["model"] == "gpt-4o-mini" and sent["temperature"] == 0.0
    assert sent["messages"] == [{"role": "user", "content": "question 0"}]
    assert sent["response_format"]["type"] == "json_schema"
    assert sent["response_format"]["json_schema"]["strict"] is True
    assert sent["response_format"]["json_schema"]["schema"]["additionalProperties"] is False


def test_optional_fields_are_sent_non_strict(
    engine_settings: EngineSettings, openai_server: OpenAICompatibleServer
) -> None:
    assert run_one(engine_settings, openai_server, WithOptional).ok
    assert openai_server.requests[0]["response_format"]["json_schema"]["strict"] is False


def test_plain_text_has_no_response_format(
    engine_settings: EngineSettings, openai_server: OpenAICompatibleServer
) -> None:
    result = run_one(engine_settings, openai_server, str)
    assert result.ok and result.value.startswith("Deterministic reply")
    assert "response_format" not in openai_server.requests[0]


@pytest.mark.parametrize("fault", ["429", "500", "503", "truncate", "drop", "non_json"])
def test_retryable_faults_are_retried(
    fault: str, engine_settings: EngineSettings, make_openai_server: MakeServer
) -> None:
    server = make_openai_server(faults=[fault, fault])
    result = run_one(engine_settings, server)
    assert result.ok and result.attempts == 3
    assert server.request_count == 3


def test_hang_past_the_timeout_is_retried(
    engine_settings: EngineSettings, make_openai_server: MakeServer
) -> None:
    server = make_openai_server(faults=["hang"])
    result = run_one(engine_settings.model_copy(update={"timeout_s": 0.3}), server)
    assert result.ok and result.attempts == 2


def test_timeouts_exhaust_attempts_into_a_failure(
    engine_settings: EngineSettings, make_openai_server: MakeServer
) -> None:
    server = make_openai_server(faults=["hang", "hang"])
    result = run_one(engine_settings.model_copy(update={"timeout_s": 0.2, "max_attempts": 2}), server)
    assert not result.ok and "no response within 0.2s" in (result.error or "")
    assert result.value is None and result.attempts == 2


def test_retries_are_bounded(engine_settings: EngineSettings, make_openai_server: MakeServer) -> None:
    server = make_openai_server(faults=["503"] * 10)
    result = run_one(engine_settings.model_copy(update={"max_attempts": 4}), server)
    assert not result.ok and result.attempts == 4 and server.request_count == 4
    assert "HTTP 503" in (result.error or "") and "overloaded" in (result.error or "")


@pytest.mark.parametrize("status", ["400", "401"])
def test_client_errors_are_not_retried(
    status: str, engine_settings: EngineSettings, make_openai_server: MakeServer
) -> None:
    server = make_openai_server(faults=[status])
    result = run_one(engine_settings, server)
    assert not result.ok and result.attempts == 1 and server.request_count == 1
    assert f"HTTP {status}" in (result.error or "")


def test_404_carries_the_provider_message(
    engine_settings: EngineSettings, make_openai_server: MakeServer
) -> None:
    body = {"error": {"message": "The model `gpt-9` does not exist", "code": "model_not_found"}}
    server = make_openai_server(faults=[Reply(status=404, body=body)])
    result = run_one(engine_settings, server)
    assert not result.ok and result.attempts == 1
    assert "The model `gpt-9` does not exist" in (result.error or "")


def test_retry_after_is_honoured(engine_settings: EngineSettings, make_openai_server: MakeServer) -> None:
    server = make_openai_server(faults=[Fault("429", retry_after_s=0.3)])
    loop_time: list[float] = []

    async def go() -> Any:
        loop_time.append(asyncio.get_running_loop().time())
        (result,) = await Engine(engine_settings).arun(make_calls(config_for(server), 1))
        loop_time.append(asyncio.get_running_loop().time())
        return result

    result = asyncio.run(go())
    assert result.ok and result.attempts == 2
    # Behaviour, not performance: with zero backoff configured, only Retry-After can cause this wait.
    assert loop_time[1] - loop_time[0] >= 0.3


def test_api_key_never_appears_in_errors(
    engine_settings: EngineSettings, make_openai_server: MakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = "sk-proj-SECRETsecretSECRET1234"
    body = {"error": {"message": f"Incorrect API key provided: {secret}. Also Bearer {secret}"}}
    server = make_openai_server(faults=[Reply(status=401, body=body)])
    monkeypatch.setenv("MY_GATEWAY_KEY", secret)
    config = config_for(
        server, provider_options={"base_url": server.base_url, "api_key_env": "MY_GATEWAY_KEY"}
    )
    (result,) = Engine(engine_settings).run(make_calls(config, 1))
    assert not result.ok and "Incorrect API key provided" in (result.error or "")
    assert secret not in (result.error or "") and "SECRET" not in (result.error or "")
    assert server.request_headers[0]["Authorization"] == f"Bearer {secret}"


def test_invalid_answer_is_reasked_with_the_validation_error(
    engine_settings: EngineSettings, make_openai_server: MakeServer
) -> None:
    server = make_openai_server(faults=["schema_mismatch"])
    result = run_one(engine_settings, server)
    assert result.ok and result.attempts == 2
    reask = server.requests[1]["messages"]
    assert reask[1]["role"] == "assistant" and "unexpected_field" in reask[1]["content"]
    assert "not valid" in reask[2]["content"] and "level" in reask[2]["content"]


def test_answer_still_invalid_after_reasks_is_a_failure_with_raw_text(
    engine_settings: EngineSettings, make_openai_server: MakeServer
) -> None:
    server = make_openai_server(faults=["not_json_content"] * 3)
    result = run_one(engine_settings.model_copy(update={"max_parse_retries": 2}), server)
    assert not result.ok and result.attempts == 3 and server.request_count == 3
    assert result.error is not None and result.error.startswith("invalid answer:")
    assert result.text == "I think the answer is good, but I cannot say more."
    assert result.usage.output_tokens > 0


def test_check_failure_is_reasked(engine_settings: EngineSettings, make_openai_server: MakeServer) -> None:
    answers = iter([{"level": "great", "score": 3}, {"level": "good", "score": 3}])
    server = make_openai_server(lambda body: next(answers))
    config = config_for(server)
    call = LLMCall(
        config,
        [ChatMessage(role="user", content="grade")],
        Verdict,
        "t@1",
        check=lambda v: None if v.level == "good" else f"level must be 'good', got {v.level!r}",
    )
    (result,) = Engine(engine_settings).run([call])
    assert result.ok and result.value.level == "good" and result.attempts == 2
    assert "level must be 'good'" in server.requests[1]["messages"][-1]["content"]


def test_rejected_response_format_falls_back_to_json_in_text(
    engine_settings: EngineSettings, make_openai_server: MakeServer
) -> None:
    def handler(body: dict[str, Any]) -> Any:
        if "response_format" in body:
            return Fault("reject_response_format")
        return 'Sure! ```json\n{"level": "good", "score": 7}\n```'

    server = make_openai_server(handler)
    results = Engine(engine_settings.model_copy(update={"max_concurrency": 1})).run(
        make_calls(config_for(server), 3)
    )
    assert all(r.ok for r in results) and results[0].value == Verdict(level="good", score=7)
    assert [("response_format" in r) for r in server.requests] == [True, False, False, False]
    assert "JSON schema" in server.requests[1]["messages"][-1]["content"]


def test_malformed_choices_are_retried(
    engine_settings: EngineSettings, make_openai_server: MakeServer
) -> None:
    server = make_openai_server(faults=[Reply(body={"id": "x", "choices": []})])
    result = run_one(engine_settings, server)
    assert result.ok and result.attempts == 2


def test_base_url_env_without_key_uses_a_placeholder(
    engine_settings: EngineSettings, openai_server: OpenAICompatibleServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", openai_server.base_url)
    config = config_for(openai_server, provider_options={})
    (result,) = Engine(engine_settings).run(make_calls(config, 1))
    assert result.ok
    assert openai_server.request_headers[0]["Authorization"].startswith("Bearer sk-")


def test_headers_option_and_sdk_env_vars_are_sent(
    engine_settings: EngineSettings, openai_server: OpenAICompatibleServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-env-key-123456")
    monkeypatch.setenv("OPENAI_PROJECT_ID", "proj_1")
    options = {"base_url": openai_server.base_url, "headers": {"X-Team": "eval"}}
    Engine(engine_settings).run(make_calls(config_for(openai_server, provider_options=options), 1))
    headers = openai_server.request_headers[0]
    assert headers["X-Team"] == "eval" and headers["OpenAI-Project"] == "proj_1"
    assert headers["Authorization"] == "Bearer sk-env-key-123456"


def test_missing_key_fails_fast_naming_openai_api_key(
    engine_settings: EngineSettings, openai_server: OpenAICompatibleServer
) -> None:
    config = config_for(openai_server, provider_options={})
    with pytest.raises(ConfigError, match="OPENAI_API_KEY"):
        Engine(engine_settings).run(make_calls(config, 2))
    assert openai_server.request_count == 0


def test_missing_api_key_env_and_unknown_options_are_config_errors(
    openai_server: OpenAICompatibleServer,
) -> None:
    with pytest.raises(ConfigError, match="NOPE_KEY"):
        create_provider(config_for(openai_server, provider_options={"api_key_env": "NOPE_KEY"}))
    with pytest.raises(ConfigError, match="base_ur"):
        create_provider(config_for(openai_server, provider_options={"base_ur": "x"}))


def test_run_works_inside_a_running_event_loop(
    engine_settings: EngineSettings, openai_server: OpenAICompatibleServer
) -> None:
    async def notebook_cell() -> Any:
        return Engine(engine_settings).run(make_calls(config_for(openai_server), 2))

    assert all(r.ok for r in asyncio.run(notebook_cell()))


def test_server_json_is_what_the_openai_sdk_parses(openai_server: OpenAICompatibleServer) -> None:
    openai = pytest.importorskip("openai")
    client = openai.OpenAI(base_url=openai_server.base_url, api_key="sk-test", max_retries=0)
    reply = client.chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}])
    assert reply.choices[0].message.content and reply.usage is not None
    assert json.dumps(openai_server.requests[0]["messages"]) == '[{"role": "user", "content": "hi"}]'


def test_request_body_with_memoised_parts_is_exactly_json_dumps() -> None:
    # The answer schema's response_format and messages' shared prefixes are encoded once and spliced
    # in: the bytes sent must be those of encoding the whole body at once, in every structured-output
    # mode, wherever a prefix ends, and whatever else the body holds.
    from rubric_eval.engine.providers._body_json import encode_body

    schema: dict[str, Any] = {
        "type": "object",
        "properties": {"Précision \u2028": {"type": "string", "enum": ["très bien", "\ud800", 'x"\\']}},
        "required": ["Précision \u2028"],
        "additionalProperties": False,
    }
    other = json.loads(json.dumps(schema))  # equal content, another object
    other["title"] = "another"
    user_text = 'Rubric "a" \x00 \x7f ü \U0001f600 \ud83d\ude00 \ud800 ' + "".join(map(chr, range(128)))
    formats: list[Any] = [
        {"type": "json_schema", "json_schema": {"name": "Ans", "schema": schema, "strict": True}},
        {"type": "json_schema", "json_schema": {"name": "Ans", "schema": other, "strict": False}},
        {"type": "json_object", "schema": schema},
        {"type": "json_object"},
        {"type": "json_schema", "json_schema": {"name": "Ans", "schema": schema, "strict": True, "x": [1]}},
    ]
    for cut in (None, 1, 12, 14, 20, 22, 23, len(user_text), len(user_text) + 3):
        for answer in ("", " answer", " \u65e5 answer"):
            chat = [
                ChatMessage(role="system", content="Be fair. ü \x00 \ud83d\ude00"),
                ChatMessage(role="user", content=user_text + answer, cache_prefix_chars=cut),
            ]
            sent = [{"role": m.role, "content": m.content} for m in chat]
            head = {
                "temperature": 0.5,
                "stop": ["a", {"b": [1.5, None, True]}],
                "model": "m",
                "messages": sent,
            }
            for response_format in formats:
                body = {**head, "prompt_cache_key": "k", "response_format": response_format}
                assert encode_body(body, chat) == json.dumps(body)
                assert encode_body(body) == json.dumps(body)
            assert encode_body(head, chat) == json.dumps(head)
            # Not the last key (no provider builds that, but the text must still be right).
            body = {"response_format": formats[0], 1: "int key", **head}
            assert encode_body(body, chat) == json.dumps(body)
            # Messages that are not the request's as sent: encoded as they are.
            changed = {**head, "messages": [*sent[:1], {"role": "user", "content": "other"}]}
            assert encode_body(changed, chat) == json.dumps(changed)

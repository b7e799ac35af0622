"""The Anthropic provider (official SDK) against the local server's /v1/messages."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from engine_helpers import Verdict, make_calls

from rubric_eval._config import AnnotatorConfig
from rubric_eval.engine import ChatMessage, Engine, EngineSettings, LLMCall, create_provider
from rubric_eval.errors import ConfigError
from rubric_eval.testing import OpenAICompatibleServer, Reply

pytest.importorskip("anthropic")
MakeServer = Callable[..., OpenAICompatibleServer]


def claude(server: OpenAICompatibleServer, **extra: object) -> AnnotatorConfig:
    body = {
        "name": "claude-judge",
        "step": "evaluator",
        "provider": "anthropic",
        "model": "claude-haiku-4-5",
        "params": {"temperature": 0.0},
        "provider_options": {"base_url": server.root_url},
        **extra,
    }
    return AnnotatorConfig.model_validate(body)


def test_structured_answer_via_forced_tool(
    engine_settings: EngineSettings, openai_server: OpenAICompatibleServer
) -> None:
    call = LLMCall(
        claude(openai_server),
        [ChatMessage(role="system", content="Be strict."), ChatMessage(role="user", content="grade")],
        Verdict,
        "t@1",
    )
    (result,) = Engine(engine_settings).run([call])
    assert result.ok and isinstance(result.value, Verdict)
    assert result.cost_known and result.cost_usd > 0
    sent = openai_server.requests[0]
    assert sent["system"] == "Be strict." and sent["messages"] == [{"role": "user", "content": "grade"}]
    assert sent["tool_choice"] == {"type": "tool", "name": "Verdict"} and sent["max_tokens"] == 4096


def test_plain_text_and_usage(engine_settings: EngineSettings, openai_server: OpenAICompatibleServer) -> None:
    (result,) = Engine(engine_settings).run(make_calls(claude(openai_server), 1, str))
    assert result.ok and result.value.startswith("Deterministic reply")
    assert result.usage.input_tokens > 0 and "tools" not in openai_server.requests[0]


@pytest.mark.parametrize("fault", ["429", "500", "503", "drop"])
def test_retryable_errors_are_retried(
    fault: str, engine_settings: EngineSettings, make_openai_server: MakeServer
) -> None:
    server = make_openai_server(faults=[fault])
    (result,) = Engine(engine_settings).run(make_calls(claude(server), 1))
    assert result.ok and result.attempts == 2


def test_overloaded_529_is_retried(engine_settings: EngineSettings, make_openai_server: MakeServer) -> None:
    body = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
    server = make_openai_server(faults=[Reply(status=529, body=body)])
    (result,) = Engine(engine_settings).run(make_calls(claude(server), 1))
    assert result.ok and result.attempts == 2


def test_bad_request_is_not_retried_and_key_is_redacted(
    engine_settings: EngineSettings, make_openai_server: MakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = "sk-ant-api03-TOPSECRETvalue99"
    monkeypatch.setenv("ANTHROPIC_API_KEY", secret)
    body = {"type": "error", "error": {"type": "invalid_request_error", "message": f"bad key {secret}"}}
    server = make_openai_server(faults=[Reply(status=400, body=body)])
    (result,) = Engine(engine_settings).run(make_calls(claude(server), 1))
    assert not result.ok and result.attempts == 1 and "HTTP 400" in (result.error or "")
    assert "TOPSECRET" not in (result.error or "")
    headers = server.request_headers[0]
    assert secret in (headers.get("x-api-key"), headers.get("Authorization", "").removeprefix("Bearer "))


def test_timeout_is_retried(engine_settings: EngineSettings, make_openai_server: MakeServer) -> None:
    server = make_openai_server(faults=["hang"])
    # The retry's own answer must arrive within the timeout on a loaded 2-core machine, SDK start-up included.
    settings = engine_settings.model_copy(update={"timeout_s": 1.5})
    (result,) = Engine(settings).run(make_calls(claude(server), 1))
    assert result.ok and result.attempts == 2


def test_missing_key_names_anthropic_api_key(openai_server: OpenAICompatibleServer) -> None:
    with pytest.raises(ConfigError, match="ANTHROPIC_API_KEY"):
        create_provider(claude(openai_server, provider_options={}))

"""The engine contract with the scripted provider: failures are data, never exceptions."""

from __future__ import annotations

from engine_helpers import Verdict

from rubric_eval._config import AnnotatorConfig
from rubric_eval.engine import ChatMessage, Engine, EngineSettings, LLMCall, ProviderError
from rubric_eval.engine.providers.scripted import ScriptedProvider

CONFIG = AnnotatorConfig(name="s", step="evaluator", provider="openai", model="gpt-4o-mini")


def _call(text: str = "q") -> LLMCall[Verdict]:
    return LLMCall(CONFIG, [ChatMessage(role="user", content=text)], Verdict, "t@1")


def test_a_provider_bug_becomes_a_failed_result(engine_settings: EngineSettings) -> None:
    script = ScriptedProvider([RuntimeError("boom"), '{"level": "ok", "score": 2}'])
    results = Engine(engine_settings, providers={"openai": script}).run([_call("a"), _call("b")])
    failed = [r for r in results if not r.ok]
    assert len(failed) == 1 and "failed unexpectedly: boom" in (failed[0].error or "")
    assert sum(r.ok for r in results) == 1


def test_scripted_retryable_errors_then_success(engine_settings: EngineSettings) -> None:
    script = ScriptedProvider(
        [ProviderError("busy", status=503, retryable=True), '{"level": "ok", "score": 2}']
    )
    (result,) = Engine(engine_settings, providers={"openai": script}).run([_call()])
    assert result.ok and result.attempts == 2 and len(script.requests) == 2
    assert script.requests[0].response_schema is not None and script.requests[0].schema_name == "Verdict"


def test_empty_batch(engine_settings: EngineSettings) -> None:
    engine = Engine(engine_settings, providers={"openai": ScriptedProvider([])})
    assert engine.run([]) == [] and engine.totals.calls == 0

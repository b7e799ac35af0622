"""Engine test helpers: configs pointing at a local server, calls, answer models."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from rubric_eval._config import AnnotatorConfig
from rubric_eval.engine import ChatMessage, LLMCall
from rubric_eval.testing import OpenAICompatibleServer


class Verdict(BaseModel):
    """A small structured answer, all fields required (OpenAI strict mode applies)."""

    level: str
    score: int


def config_for(server: OpenAICompatibleServer, **overrides: Any) -> AnnotatorConfig:
    body: dict[str, Any] = {
        "name": "test-judge",
        "step": "evaluator",
        "provider": "openai",
        "model": "gpt-4o-mini",
        "params": {"temperature": 0.0},
        "provider_options": {"base_url": server.base_url},
    }
    body.update(overrides)
    return AnnotatorConfig.model_validate(body)


def make_calls(
    config: AnnotatorConfig,
    n: int,
    output_type: type[Any] = Verdict,
    *,
    template_key: str = "evaluate/v1@abc",
) -> list[LLMCall[Any]]:
    return [
        LLMCall(config, [ChatMessage(role="user", content=f"question {i}")], output_type, template_key)
        for i in range(n)
    ]

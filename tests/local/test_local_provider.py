"""The local provider with the real embedded model (SmolLM2-135M-Instruct, ~100 MB, CPU).

Every structured answer must parse: decoding is constrained by a grammar built from the
answer schema and bounded to max_tokens. The model is loaded once per process.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any, Literal

import pytest
from pydantic import BaseModel, ConfigDict, Field

from rubric_eval._config import AnnotatorConfig, resolve_config
from rubric_eval.datasets import load_benchmark
from rubric_eval.engine import (
    ChatMessage,
    Engine,
    EngineSettings,
    LLMCall,
    ProviderError,
    ProviderRequest,
    ProviderResponse,
    create_provider,
)
from rubric_eval.engine._json_grammar import Bounds, bound_schema
from rubric_eval.records import BrainstormedRubric

from ._schema_check import problems
from .conftest import local_config

pytestmark = pytest.mark.local_model

LEVELS = Literal["excellent", "good", "fair", "poor"]


class CriterionGrade(BaseModel):
    model_config = ConfigDict(extra="forbid")
    feedback: str
    level: LEVELS


class JudgeAnswer(BaseModel):
    """Judge-like: several required criterion objects (one name with quotes), enums, an optional note."""

    model_config = ConfigDict(extra="forbid")
    correctness: CriterionGrade
    clarity: CriterionGrade = Field(alias='clarity ("plain" words)')
    completeness: CriterionGrade
    overall_comment: str | None = None


def _settings(tmp_path: Path, **kw: Any) -> EngineSettings:
    return EngineSettings(cache_dir=tmp_path / "cache", progress="quiet", backoff_base_s=0, **kw)


def _judge_messages(instruction: str, answer: str) -> list[ChatMessage]:
    return [
        ChatMessage(role="system", content="You are a strict grader. Reply with JSON only."),
        ChatMessage(
            role="user",
            content=f"Instruction:\n{instruction}\n\nAnswer:\n{answer}\n\n"
            "Grade the answer on correctness, clarity and completeness: for each, feedback then a level "
            "(excellent, good, fair, poor).",
        ),
    ]


class CountingProvider:
    """Wraps a real provider and counts the calls that reach it."""

    name = "local"

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.endpoint = inner.endpoint
        self.max_concurrency = inner.max_concurrency
        self.calls = 0

    async def complete(self, request: ProviderRequest) -> ProviderResponse:
        self.calls += 1
        response: ProviderResponse = await self.inner.complete(request)
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()


def test_judge_answers_always_parse(embedded_gguf: Path, tmp_path: Path) -> None:
    cases = [
        ("What is 12 * 7?", "12 * 7 = 84."),
        ("Name three primary colours.", "Red, yellow and blue."),
        (
            "Write a haiku about autumn.",
            "Leaves fall on the path\nquiet amber afternoon\nthe wind keeps the count",
        ),
    ]
    calls: list[LLMCall[Any]] = []
    for temperature, seed in ((0.0, None), (1.0, 1)):
        params: dict[str, Any] = {"temperature": temperature, "max_tokens": 256}
        if seed is not None:
            params["seed"] = seed
        config = local_config("evaluator", **params)
        calls += [
            LLMCall(config, _judge_messages(i, a), JudgeAnswer, template_key="test/judge") for i, a in cases
        ]
    with Engine(_settings(tmp_path, max_parse_retries=0)) as engine:
        results = engine.run(calls)
    schema = bound_schema(JudgeAnswer.model_json_schema(), Bounds(max_tokens=256))
    for result in results:
        assert result.ok, (result.error, result.text)
        assert isinstance(result.value, JudgeAnswer)
        assert result.value.correctness.level in {"excellent", "good", "fair", "poor"}
        assert problems(json.loads(result.text or ""), schema) == []
        assert result.usage.input_tokens > 50 and 0 < result.usage.output_tokens <= 256
        assert result.cost_usd == 0.0 and result.cost_known
        assert result.attempts == 1 and not result.cached


def test_brainstorm_like_arrays_parse_and_respect_bounds(embedded_gguf: Path) -> None:
    provider = create_provider(local_config("brainstormer"))
    schema = BrainstormedRubric.model_json_schema()
    bounded = bound_schema(schema, Bounds(max_tokens=400))

    async def ask(seed: int) -> ProviderResponse:
        request = ProviderRequest(
            model="smollm2-135m-instruct",
            messages=[
                ChatMessage(
                    role="user",
                    content="List the criteria (with weights in percent and a checklist each) for grading "
                    "an answer to: 'Explain why the sky is blue to a ten-year-old.'",
                )
            ],
            params={"temperature": 0.9, "seed": seed, "max_tokens": 400},
            response_schema=schema,
            schema_name="BrainstormedRubric",
        )
        return await provider.complete(request)

    async def ask_all() -> list[ProviderResponse]:
        return [await ask(seed) for seed in range(3)]

    for response in asyncio.run(ask_all()):
        data = json.loads(response.text)  # strict JSON: no raw control characters, no truncation
        assert isinstance(data, list) and data, response.text
        assert problems(data, bounded) == []
        assert response.finish_reason == "stop"
        assert response.output_tokens <= 400


def test_long_judge_prompt(embedded_gguf: Path, tmp_path: Path) -> None:
    record = next(r for r in load_benchmark() if r.rubric is not None and r.excellent_response)
    rubric_text = json.dumps(record.model_dump(mode="json")["rubric"], indent=1)
    prompt = (
        f"Instruction:\n{record.instruction}\n\nRubric:\n{rubric_text}\n\nAnswer:\n"
        + (record.excellent_response or "") * 2
    )
    config = local_config("evaluator", max_tokens=128)
    call = LLMCall(
        config,
        [ChatMessage(role="user", content=prompt + "\n\nGrade correctness, clarity and completeness.")],
        JudgeAnswer,
        template_key="test/long",
    )
    with Engine(_settings(tmp_path)) as engine:
        (result,) = engine.run([call])
    assert result.ok, result.error
    assert result.usage.input_tokens > 1500


def test_concurrent_calls_on_one_model_are_serialised(embedded_gguf: Path) -> None:
    """Called concurrently (bypassing the engine's limit of 1), calls still succeed and match sequential ones."""
    provider = create_provider(local_config("generator"))
    requests = [
        ProviderRequest(
            model="smollm2-135m-instruct",
            messages=[ChatMessage(role="user", content=f"Count from {n} to {n + 5}.")],
            params={"temperature": 0.0, "max_tokens": 24},
        )
        for n in range(4)
    ]

    async def together() -> list[ProviderResponse]:
        return list(await asyncio.gather(*(provider.complete(r) for r in requests)))

    async def one_by_one() -> list[ProviderResponse]:
        return [await provider.complete(r) for r in requests]

    parallel, sequential = asyncio.run(together()), asyncio.run(one_by_one())
    assert [r.text for r in parallel] == [r.text for r in sequential]
    assert all(r.text and r.output_tokens <= 24 for r in parallel)


def test_explicit_gguf_path_via_provider_model_form(embedded_gguf: Path, tmp_path: Path) -> None:
    config = resolve_config("evaluator", f"local/{embedded_gguf}")
    assert (config.provider, config.model) == ("local", str(embedded_gguf))
    config = config.model_copy(update={"params": {"temperature": 0.0, "max_tokens": 200}})
    call = LLMCall(config, _judge_messages("What is 2+2?", "4"), JudgeAnswer, template_key="test/path")
    with Engine(_settings(tmp_path)) as engine:
        (result,) = engine.run([call])
    assert result.ok, result.error
    embedded = create_provider(local_config("evaluator"))
    assert create_provider(config).endpoint == embedded.endpoint  # same file


def test_missing_gguf_is_a_clear_non_retryable_failure(embedded_gguf: Path, tmp_path: Path) -> None:
    missing = tmp_path / "models" / "no-such-model.gguf"
    config = resolve_config("evaluator", f"local/{missing}")
    call = LLMCall(config, _judge_messages("Q", "A"), JudgeAnswer, template_key="test/missing")
    with Engine(_settings(tmp_path, max_attempts=3)) as engine:
        (result,) = engine.run([call])
    assert not result.ok
    assert result.error is not None
    assert "not found" in result.error and str(missing) in result.error
    assert result.attempts == 1  # not retried


def test_a_file_that_is_not_a_gguf_model_is_a_clear_failure(embedded_gguf: Path, tmp_path: Path) -> None:
    bogus = tmp_path / "notes.gguf"
    bogus.write_text("not a model")
    provider = create_provider(resolve_config("evaluator", f"local/{bogus}"))
    request = ProviderRequest(model=str(bogus), messages=[ChatMessage(role="user", content="Hi")])
    with pytest.raises(ProviderError) as info:
        asyncio.run(provider.complete(request))
    assert "could not load local model" in str(info.value) and str(bogus) in str(info.value)
    assert not info.value.retryable


def test_context_overflow_is_reported_with_the_fix(embedded_gguf: Path) -> None:
    config = local_config("evaluator", max_tokens=64)
    config = config.model_copy(update={"provider_options": {"n_ctx": 256}})
    provider = create_provider(config)
    request = ProviderRequest(
        model=config.model,
        messages=[ChatMessage(role="user", content="Summarise: " + "the cat sat on the mat. " * 200)],
        params=config.params,
    )
    with pytest.raises(ProviderError) as info:
        asyncio.run(provider.complete(request))
    assert "n_ctx" in str(info.value) and "256" in str(info.value)
    assert not info.value.retryable


def test_cache_answers_a_rerun_without_calling_the_model(embedded_gguf: Path, tmp_path: Path) -> None:
    config = local_config("evaluator", max_tokens=200)
    calls = [
        LLMCall(
            config, _judge_messages(f"What is {n} + {n}?", str(2 * n)), JudgeAnswer, template_key="t/cache"
        )
        for n in range(3)
    ]
    first, second = CountingProvider(create_provider(config)), CountingProvider(create_provider(config))
    with Engine(_settings(tmp_path), providers={"local": first}) as engine:
        before = engine.run(calls)
    with Engine(_settings(tmp_path), providers={"local": second}) as engine:
        after = engine.run(calls)
        assert engine.totals.cache_hits == 3 and engine.totals.api_calls == 0
    assert first.calls == 3 and second.calls == 0
    assert all(r.ok for r in before) and all(r.cached for r in after)
    assert [r.text for r in after] == [r.text for r in before]
    assert [r.usage for r in after] == [r.usage for r in before]


def test_free_text_answer_respects_max_tokens(embedded_gguf: Path, tmp_path: Path) -> None:
    config: AnnotatorConfig = local_config("generator", max_tokens=40, temperature=0.0)
    call = LLMCall(
        config,
        [ChatMessage(role="user", content="Write a long story about a dragon.")],
        str,
        template_key="t/free",
    )
    with Engine(_settings(tmp_path)) as engine:
        (result,) = engine.run([call])
    assert result.ok and isinstance(result.value, str) and result.value.strip()
    assert result.usage.output_tokens == 40

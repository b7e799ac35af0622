"""The summariser: grounded Pro/Con lists per category and overall, chunked within a context budget."""

from __future__ import annotations

import json

from rubric_eval.engine import EngineSettings, ProviderError, ProviderRequest
from rubric_eval.records import Record
from rubric_eval.steps.summarize import distinct_points, estimate_tokens, pack_chunks, summarize_feedback
from rubric_eval.testing import unfence

from ._helpers import record, scripted_engine


def evaluated(index: int, category: str, feedback: str = "Cites the key formula.") -> Record:
    grades = [
        {"criterion": "Accuracy", "status": "scored", "level": "good", "score": 7.0, "feedback": feedback},
        {"criterion": "Clarity", "status": "unscored", "reason": "judge failed"},
    ]
    return Record.model_validate(record(index, category=category, grades=grades, score=7.0))


def reply(request: ProviderRequest) -> str:
    prompt = request.messages[-1].content
    kind = "merged" if "partial summaries" in prompt else "chunk"
    return json.dumps({"strengths": [f"{kind} strength"], "weaknesses": [f"{kind} weakness"]})


def prompts(provider: object) -> list[str]:
    return [unfence(r.messages[-1].content) for r in provider.requests]  # type: ignore[attr-defined]


def test_pack_chunks_respects_the_budget_and_keeps_order() -> None:
    items = ["a" * 40, "b" * 40, "c" * 40]
    assert pack_chunks(items, budget_tokens=20) == [["a" * 40, "b" * 40], ["c" * 40]]  # 80 chars per chunk
    assert pack_chunks(items, budget_tokens=1000) == [items]
    (only,) = pack_chunks(["x" * 1000], budget_tokens=10)
    assert len(only[0]) == 40 and only[0].endswith("[...truncated]")
    # Merging must make progress even when two summaries exceed the budget.
    short = ["a" * 20, "b" * 20, "c" * 20, "d" * 20]
    assert pack_chunks(short[:3], budget_tokens=5, min_per_chunk=2) == [short[:3]]
    assert pack_chunks(short, budget_tokens=5, min_per_chunk=2) == [short[:2], short[2:]]
    assert estimate_tokens("abcde") == 2


def test_one_category_one_call_and_grounded_prompt(engine_settings: EngineSettings) -> None:
    engine, provider = scripted_engine(engine_settings, reply)
    records = [evaluated(0, "Math", "Quotes </feedback> the answer."), evaluated(1, "Math")]
    summaries = summarize_feedback(records, summarizer=_config(), engine=engine)
    summary = summaries["model-a"]
    assert summary.status == "ok"
    assert summary.per_category["Math"].pros == ["chunk strength"]
    assert summary.overall == summary.per_category["Math"]
    assert summary.n_calls == 1
    (prompt,) = prompts(provider)
    assert "1-10 scale (excellent = 10, good = 7, fair = 4, poor = 1)" in prompt
    assert prompt.count("<feedback>") == 2 and "Quotes [/feedback] the answer." in prompt
    assert 'Criterion "Accuracy", weight 60%: level good = 7/10.' in prompt
    assert "judge failed" not in prompt  # unscored criteria carry no feedback to summarise


def test_small_budget_summarises_in_chunks_then_merges(engine_settings: EngineSettings) -> None:
    engine, provider = scripted_engine(engine_settings, reply)
    long_feedback = "The answer explains the derivation step by step. " * 30  # ~1500 characters
    records = [evaluated(i, "Math", long_feedback) for i in range(6)]
    summaries = summarize_feedback(records, summarizer=_config(), engine=engine, context_tokens=1400)
    sent = prompts(provider)
    chunk_calls = [p for p in sent if "graded answers" in p]
    merge_calls = [p for p in sent if "partial summaries" in p]
    assert len(chunk_calls) > 1 and len(merge_calls) >= 1
    assert all(estimate_tokens(p) <= 1400 for p in chunk_calls)
    assert "<summary>" in merge_calls[0]
    assert summaries["model-a"].overall is not None
    assert summaries["model-a"].overall.pros == ["merged strength"]


def test_several_categories_are_merged_into_an_overall_summary(engine_settings: EngineSettings) -> None:
    engine, provider = scripted_engine(engine_settings, reply)
    records = [evaluated(0, "Math"), evaluated(1, "Coding"), evaluated(2, "Math")]
    summary = summarize_feedback(records, summarizer=_config(), engine=engine)["model-a"]
    assert set(summary.per_category) == {"Math", "Coding"}
    assert summary.overall is not None and summary.overall.cons == ["merged weakness"]
    assert len(provider.requests) == 3  # two categories, one merge
    assert any("instructions of the category <category>\nCoding\n</category>" in p for p in prompts(provider))


def test_a_failed_category_is_reported_and_not_merged(engine_settings: EngineSettings) -> None:
    def flaky(request: ProviderRequest) -> str | Exception:
        if "Coding" in request.messages[-1].content:
            return ProviderError("context length exceeded", status=400)
        return reply(request)

    engine, _ = scripted_engine(engine_settings, flaky)
    summary = summarize_feedback(
        [evaluated(0, "Math"), evaluated(1, "Coding")], summarizer=_config(), engine=engine
    )["model-a"]
    assert summary.status == "partial"
    assert "Math" in summary.per_category and "Coding" not in summary.per_category
    assert "context length exceeded" in summary.errors["Coding"]
    assert summary.overall is None and "overall" in summary.errors


def _config():  # type: ignore[no-untyped-def]
    from rubric_eval._config import resolve_config

    return resolve_config("summarizer", "openai/summ")


def test_repeated_or_blank_points_are_kept_once() -> None:
    points = ["Clear code.", "  clear   CODE. ", "", "   ", "Misses edge cases.", "Clear code."]
    assert distinct_points(points) == ["Clear code.", "Misses edge cases."]

"""Prompt caching: the v2 judge prompt's shared prefix, cache_control / prompt_cache_key on the wire,
cached tokens read from usage and priced at the cached rate, answers to one instruction sent together."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from rubric_eval._config import resolve_config
from rubric_eval._templates import load_template
from rubric_eval.engine import Engine, EngineSettings, lookup_price
from rubric_eval.engine._pricing import Price
from rubric_eval.records import Record
from rubric_eval.steps.evaluate import DEFAULT_TEMPLATE, evaluate_records, judge_messages
from rubric_eval.testing import BatchServer, OpenAICompatibleServer

LEVELS = ["excellent", "good", "fair", "poor"]
LONG = "Explain, with care and worked detail, the reasoning behind each step of the method. " * 60


def record(instruction: str, answer: str, model: str = "m") -> Record:
    rubric = [
        {
            "criterion": name,
            "weight": 50.0,
            "performance_to_description": {lv: f"{name} is {lv}. {LONG[:400]}" for lv in LEVELS},
        }
        for name in ("Accuracy", "Clarity")
    ]
    return Record.model_validate(
        {"instruction": instruction, "rubric": rubric, "output": answer, "model": model}
    )


def test_v2_puts_everything_but_the_answer_in_one_shared_prefix() -> None:
    template = load_template(DEFAULT_TEMPLATE)
    assert DEFAULT_TEMPLATE == "evaluate/v2"
    first = judge_messages(template, record("Prove it. " + LONG, "Answer one."))
    second = judge_messages(template, record("Prove it. " + LONG, "A different answer."))
    user1, user2 = first[-1], second[-1]
    assert user1.cache_prefix_chars is not None
    prefix = user1.content[: user1.cache_prefix_chars]
    assert prefix == user2.content[: user2.cache_prefix_chars]
    assert "## How to grade" in prefix and "## Answer to grade" not in prefix
    assert user1.content[user1.cache_prefix_chars :].startswith("## Answer to grade")
    assert "Answer one." in user1.content[user1.cache_prefix_chars :]
    # v1 stays loadable (old cache keys and configs keep working) and marks no prefix.
    old = judge_messages(load_template("evaluate/v1"), record("Prove it.", "Answer one."))
    assert all(m.cache_prefix_chars is None for m in old)
    assert old[-1].content.index("## Answer to grade") < old[-1].content.index("## How to grade")


def test_anthropic_requests_carry_a_cache_breakpoint_and_cached_tokens_are_priced(
    make_openai_server: Callable[..., Any], engine_settings: EngineSettings
) -> None:
    pytest.importorskip("anthropic")
    server: BatchServer = make_openai_server(server_class=BatchServer, prompt_cache=True)
    config = resolve_config("evaluator", "anthropic/claude-haiku-4-5").model_copy(
        update={"provider_options": {"base_url": server.root_url}}
    )
    records = [record("Prove it. " + LONG, f"Answer {i}.") for i in range(3)]
    engine = Engine(engine_settings)
    out = evaluate_records(records, config=config, engine=engine)
    assert all(r.score is not None for r in out)
    blocks = server.requests[0]["messages"][0]["content"]
    assert blocks[0]["cache_control"] == {"type": "ephemeral"} and "cache_control" not in blocks[1]
    assert "Answer 0." in blocks[1]["text"] and "Answer 0." not in blocks[0]["text"]
    totals = engine.totals
    assert totals.cached_input_tokens > 0 and totals.cache_write_tokens > 0
    price = lookup_price("claude-haiku-4-5")
    assert price is not None and price.cached_input_per_million == pytest.approx(0.10)
    assert totals.cost_usd == pytest.approx(
        price.cost(
            totals.input_tokens,
            totals.output_tokens,
            cached_input=totals.cached_input_tokens,
            cache_write=totals.cache_write_tokens,
        )
    )
    assert totals.cost_usd < price.cost(totals.input_tokens, totals.output_tokens)


def test_openai_gets_a_stable_prompt_cache_key_per_instruction_and_reports_cached_tokens(
    make_openai_server: Callable[..., Any], engine_settings: EngineSettings
) -> None:
    server: BatchServer = make_openai_server(server_class=BatchServer, prompt_cache=True)
    config = resolve_config("evaluator", "openai/gpt-4.1-mini").model_copy(
        update={"provider_options": {"base_url": server.base_url, "prompt_cache_key": True}}
    )
    # Interleaved as files of several models are: A, B, A, B. They are sent A, A, B, B.
    records = [
        record("Instruction A. " + LONG, "Answer A1."),
        record("Instruction B. " + LONG, "Answer B1."),
        record("Instruction A. " + LONG, "Answer A2."),
        record("Instruction B. " + LONG, "Answer B2."),
    ]
    engine = Engine(engine_settings.model_copy(update={"max_concurrency": 1}))
    out = evaluate_records(records, config=config, engine=engine)
    assert [r.output for r in out] == ["Answer A1.", "Answer B1.", "Answer A2.", "Answer B2."]
    sent = [json.dumps(body["messages"]) for body in server.requests]
    assert ["Instruction A" in s for s in sent] == [True, True, False, False]
    keys = [body["prompt_cache_key"] for body in server.requests]
    assert keys[0] == keys[1] != keys[2] == keys[3]
    assert engine.totals.cached_input_tokens > 0
    assert [(r.evaluation_cached_input_tokens or 0) > 0 for r in out] == [
        False,
        False,
        True,
        True,
    ]


def test_prompt_cache_key_goes_only_to_openai_unless_asked(
    openai_server: OpenAICompatibleServer, engine_settings: EngineSettings
) -> None:
    config = resolve_config("evaluator", "openai/gpt-4.1-mini").model_copy(
        update={"provider_options": {"base_url": openai_server.base_url}}
    )
    evaluate_records([record("Instruction A.", "Answer.")], config=config, engine=Engine(engine_settings))
    assert "prompt_cache_key" not in openai_server.requests[0]


def test_cached_input_is_priced_at_the_cached_rate() -> None:
    price = Price(2.0, 8.0, cached_input_per_million=0.5, cache_write_per_million=2.5)
    assert price.cost(1_000_000, 0, cached_input=600_000) == pytest.approx(0.4 * 2.0 + 0.6 * 0.5)
    assert price.cost(1_000_000, 0, cache_write=1_000_000) == pytest.approx(2.5)
    assert Price(1.0, 1.0).cost(10, 0, cached_input=10) == pytest.approx(Price(1.0, 1.0).cost(10, 0))
    table = lookup_price("gpt-5-mini")
    assert table is not None and table.cached_input_per_million == pytest.approx(0.025)
    sonnet = lookup_price("claude-sonnet-4-5-20250929")
    assert sonnet is not None and sonnet.cache_write_per_million == pytest.approx(3.75)

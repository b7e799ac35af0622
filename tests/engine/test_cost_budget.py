"""Prices, cost per call, unknown prices, and the max_cost_usd budget."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from engine_helpers import config_for, make_calls

from rubric_eval._config import AnnotatorConfig
from rubric_eval.engine import Engine, EngineSettings
from rubric_eval.engine._pricing import PRICES, lookup_price, price_for
from rubric_eval.errors import ConfigError
from rubric_eval.steps._bookkeeping import bookkeeping_fields
from rubric_eval.testing import OpenAICompatibleServer, Reply

MakeServer = Callable[..., OpenAICompatibleServer]


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        ("gpt-5-mini", (0.25, 2.0)),
        ("gpt-5-mini-2025-08-07", (0.25, 2.0)),
        ("gpt-4o-2024-08-06", (2.5, 10.0)),
        ("gpt-4o-2024-05-13", (5.0, 15.0)),
        ("gpt-4o-mini", (0.15, 0.6)),
        ("claude-sonnet-4-5-20250929", (3.0, 15.0)),
        ("openai/gpt-4.1", (2.0, 8.0)),
        ("gemini-2.5-flash", (0.3, 2.5)),
    ],
)
def test_price_lookup(model: str, expected: tuple[float, float]) -> None:
    price = lookup_price(model)
    assert price is not None and (price.input_per_million, price.output_per_million) == expected


def test_table_covers_the_current_models() -> None:
    wanted = [
        "gpt-5", "gpt-5-mini", "gpt-5-nano", "gpt-4.1", "gpt-4.1-mini", "gpt-4o", "gpt-4o-mini", "o3",
        "o4-mini", "claude-opus-4-1", "claude-sonnet-4-5", "claude-haiku-4-5", "gemini-2.5-pro",
        "gemini-2.5-flash",
    ]  # fmt: skip
    assert all(name in PRICES for name in wanted)
    assert lookup_price("some-new-model") is None and lookup_price("gpt-4o-minimal") is None


def _config(**extra: object) -> AnnotatorConfig:
    body = {"name": "c", "step": "evaluator", "provider": "openai", "model": "mystery-model", **extra}
    return AnnotatorConfig.model_validate(body)


def test_config_overrides_local_is_free_unknown_is_none() -> None:
    assert price_for(_config(price_per_million_input=1, price_per_million_output=2)).cost(10**6, 10**6) == 3  # type: ignore[union-attr]
    assert price_for(_config(provider="local")).cost(10**6, 10**6) == 0  # type: ignore[union-attr]
    assert price_for(_config()) is None
    assert price_for(_config(price_per_million_input=1)) is None  # half a price is not a price
    assert price_for(_config(model="gpt-4o", price_per_million_output=1)).input_per_million == 2.5  # type: ignore[union-attr]


def test_unknown_price_is_reported_as_unknown(
    engine_settings: EngineSettings, openai_server: OpenAICompatibleServer
) -> None:
    engine = Engine(engine_settings)
    (result,) = engine.run(make_calls(config_for(openai_server, model="test-model"), 1))
    assert result.ok and not result.cost_known and result.cost_usd == 0.0
    assert engine.totals.unpriced_calls == 1
    fields = bookkeeping_fields("evaluation", result)
    assert fields["evaluation_price_per_example"] is None and fields["evaluation_cost_known"] is False


def test_budget_with_unknown_price_is_a_config_error(
    engine_settings: EngineSettings, openai_server: OpenAICompatibleServer
) -> None:
    settings = engine_settings.model_copy(update={"max_cost_usd": 1.0})
    with pytest.raises(ConfigError, match="price"):
        Engine(settings).run(make_calls(config_for(openai_server, model="test-model"), 1))
    assert openai_server.request_count == 0


def test_budget_stops_cleanly_before_spending_past_it(
    engine_settings: EngineSettings, make_openai_server: MakeServer
) -> None:
    # Every call costs exactly $0.002: 1000 tokens in and out at $1 per million each.
    server = make_openai_server(lambda body: Reply(content='{"level": "ok", "score": 1}', usage=(1000, 1000)))
    config = config_for(server, price_per_million_input=1.0, price_per_million_output=1.0)
    settings = engine_settings.model_copy(update={"max_cost_usd": 0.0071, "max_concurrency": 1})
    engine = Engine(settings)
    results = engine.run(make_calls(config, 6))
    assert [r.ok for r in results] == [True, True, True, False, False, False]
    assert all((r.error or "").startswith("budget exhausted: not sent") for r in results if not r.ok)
    assert all(r.attempts == 0 for r in results if not r.ok)
    assert server.request_count == 3
    assert engine.totals.cost_usd == pytest.approx(0.006) and engine.totals.cost_usd <= 0.0071
    assert engine.totals.budget_exhausted == 3
    # Finished work is kept: a rerun with a bigger budget asks only for the rest.
    more = engine_settings.model_copy(update={"max_cost_usd": 1.0})
    rerun = Engine(more).run(make_calls(config, 6))
    assert all(r.ok for r in rerun) and [r.cached for r in rerun] == [True] * 3 + [False] * 3
    assert server.request_count == 6


def test_cached_answers_do_not_spend_budget(
    engine_settings: EngineSettings, openai_server: OpenAICompatibleServer
) -> None:
    config = config_for(openai_server)
    Engine(engine_settings).run(make_calls(config, 3))
    zero_budget = engine_settings.model_copy(update={"max_cost_usd": 0.0})
    results = Engine(zero_budget).run(make_calls(config, 4))
    assert [r.ok for r in results] == [True, True, True, False]
    assert (results[3].error or "").startswith("budget exhausted: not sent")

"""Concurrency limits, client-side pacing and run totals, against the real local server."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from engine_helpers import config_for, make_calls

from rubric_eval import resolve_config
from rubric_eval.engine import ChatMessage, Engine, EngineSettings, LLMCall
from rubric_eval.testing import OpenAICompatibleServer

MakeServer = Callable[..., OpenAICompatibleServer]


def test_concurrency_is_capped_per_endpoint(
    engine_settings: EngineSettings, make_openai_server: MakeServer
) -> None:
    server = make_openai_server(latency_s=0.05)
    settings = engine_settings.model_copy(update={"max_concurrency": 4})
    results = Engine(settings).run(make_calls(config_for(server), 24))
    assert all(r.ok for r in results)
    assert 1 < server.max_in_flight <= 4


def test_config_concurrency_applies_when_no_flag_is_given(
    engine_settings: EngineSettings, make_openai_server: MakeServer
) -> None:
    server = make_openai_server(latency_s=0.05)
    settings = engine_settings.model_copy()  # max_concurrency not set explicitly
    Engine(settings).run(make_calls(config_for(server, max_concurrency=2), 12))
    assert server.max_in_flight == 2


def test_explicit_flag_overrides_config_concurrency(tmp_path: object, make_openai_server: MakeServer) -> None:
    server = make_openai_server(latency_s=0.05)
    settings = EngineSettings(max_concurrency=1, backoff_base_s=0, progress="quiet", use_cache=False)
    Engine(settings).run(make_calls(config_for(server, max_concurrency=8), 6))
    assert server.max_in_flight == 1


def test_pacing_keeps_under_the_server_limit(
    engine_settings: EngineSettings, make_openai_server: MakeServer
) -> None:
    server = make_openai_server(rate_limit_per_s=20)
    # 80% of the server's limit: pacing spaces requests out, so the server never says 429.
    settings = engine_settings.model_copy(
        update={"max_concurrency": 32, "requests_per_minute": 0.8 * 20 * 60}
    )
    results = Engine(settings).run(make_calls(config_for(server), 30))
    assert all(r.ok for r in results)
    assert server.status_counts == {200: 30}


def test_without_pacing_429s_are_retried_until_all_succeed(
    engine_settings: EngineSettings, make_openai_server: MakeServer
) -> None:
    server = make_openai_server(rate_limit_per_s=10)
    # The one test with non-zero backoff: jittered backoff is what spreads the retries out here.
    update = {"max_concurrency": 32, "max_attempts": 10, "backoff_base_s": 0.05, "backoff_max_s": 1.0}
    settings = engine_settings.model_copy(update=update)
    engine = Engine(settings)
    results = engine.run(make_calls(config_for(server), 20))
    assert all(r.ok for r in results)
    statuses = server.status_counts
    assert statuses[200] == 20 and statuses.get(429, 0) > 0
    assert engine.totals.api_calls == 20 + statuses[429]


def test_tokens_per_minute_pacing_still_completes(
    engine_settings: EngineSettings, make_openai_server: MakeServer
) -> None:
    server = make_openai_server()
    settings = engine_settings.model_copy(update={"tokens_per_minute": 60_000})
    results = Engine(settings).run(make_calls(config_for(server), 10))
    assert all(r.ok for r in results) and server.request_count == 10


def test_totals_count_calls_failures_tokens_and_cost(
    engine_settings: EngineSettings, make_openai_server: MakeServer
) -> None:
    server = make_openai_server(faults=["500", "400"])
    engine = Engine(engine_settings.model_copy(update={"max_concurrency": 1}))
    results = engine.run(make_calls(config_for(server), 3))
    totals = engine.totals
    assert [r.ok for r in results].count(False) == 1
    assert (totals.calls, totals.failures, totals.cache_hits, totals.api_calls) == (3, 1, 0, 4)
    assert totals.input_tokens == sum(r.usage.input_tokens for r in results)
    assert totals.cost_usd == sum(r.cost_usd for r in results) and totals.cost_usd > 0
    engine.run(make_calls(config_for(server), 3))
    assert engine.totals.calls == 6 and engine.totals.cache_hits == 2  # the failure was not cached
    assert totals.wall_s > 0


def test_results_come_back_in_input_order(
    engine_settings: EngineSettings, openai_server: OpenAICompatibleServer
) -> None:
    calls = make_calls(config_for(openai_server), 20, str)
    results = Engine(engine_settings.model_copy(update={"max_concurrency": 8})).run(calls)
    assert [r.value.split(": ", 1)[1] for r in results] == [f"question {i}" for i in range(20)]


@pytest.mark.slow
def test_a_provider_that_ignores_its_timeout_is_cut_off_by_the_engine(
    engine_settings: EngineSettings,
) -> None:
    # The engine's own deadline (timeout * 1.5 + 5 s) stops a provider that never answers: the call
    # fails with the reason, retried as the settings allow, and the run goes on.
    from rubric_eval.engine.providers.scripted import ScriptedProvider

    provider = ScriptedProvider(['{"level": "good"}'] * 3, latency_s=60.0)
    settings = engine_settings.model_copy(update={"timeout_s": 0.01, "max_attempts": 1})
    started = time.monotonic()
    (result,) = Engine(settings, providers={"openai": provider}).run(
        [
            LLMCall(
                config=resolve_config("evaluator", "openai/m"),
                messages=[ChatMessage(role="user", content="q")],
                output_type=str,
                template_key="t",
            )
        ]
    )
    elapsed = time.monotonic() - started
    assert not result.ok and result.error is not None and "no response within 5s" in result.error
    assert result.attempts == 1 and 5.0 <= elapsed < 20.0

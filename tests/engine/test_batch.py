"""``--batch`` through the engine against the real local batch server (OpenAI Batch, Anthropic Message Batches)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from engine_helpers import Verdict, config_for, make_calls

from rubric_eval._config import AnnotatorConfig
from rubric_eval.engine import Engine, EngineSettings
from rubric_eval.errors import ConfigError
from rubric_eval.testing import BatchServer

pytest.importorskip("anthropic")

MakeBatchServer = Callable[..., BatchServer]


@pytest.fixture
def make_batch_server(make_openai_server: Callable[..., Any]) -> MakeBatchServer:
    return lambda **kwargs: make_openai_server(server_class=BatchServer, **kwargs)


@pytest.fixture
def batch_settings(engine_settings: EngineSettings) -> EngineSettings:
    return engine_settings.model_copy(update={"batch": True, "batch_poll_s": 0.02})


def anthropic_config(server: BatchServer) -> AnnotatorConfig:
    return config_for(
        server,
        provider="anthropic",
        model="claude-haiku-4-5",
        params={"max_tokens": 500},
        provider_options={"base_url": server.root_url},
    )


def live_cost(config: AnnotatorConfig, n: int, tmp_path: Path, engine_settings: EngineSettings) -> float:
    settings = engine_settings.model_copy(update={"cache_dir": tmp_path / "live-cache"})
    engine = Engine(settings)
    assert all(r.ok for r in engine.run(make_calls(config, n)))
    return engine.totals.cost_usd


@pytest.mark.parametrize("api", ["openai", "anthropic"])
def test_a_batch_answers_every_call_at_half_the_live_price(
    api: str, make_batch_server: MakeBatchServer, batch_settings: EngineSettings, tmp_path: Path
) -> None:
    server = make_batch_server()
    config = config_for(server) if api == "openai" else anthropic_config(server)
    engine = Engine(batch_settings)
    results = engine.run(make_calls(config, 30))
    assert all(r.ok and r.batched and isinstance(r.value, Verdict) for r in results)
    stats = server.batch_stats()
    assert stats["batches_created"] == 1 and server.request_count == 0  # nothing went live
    assert engine.totals.batch_calls == 30
    live = live_cost(config, 30, tmp_path, batch_settings.model_copy(update={"batch": False}))
    assert server.request_count == 30
    assert engine.totals.cost_usd == pytest.approx(live / 2)
    assert engine.totals.cost_at_live_price_usd == pytest.approx(live)
    # The answers are in the same cache as live ones: a rerun without --batch makes no call.
    again = Engine(batch_settings.model_copy(update={"batch": False})).run(make_calls(config, 30))
    assert all(r.cached for r in again) and server.request_count == 30


@pytest.mark.parametrize("api", ["openai", "anthropic"])
def test_failed_items_are_retried_live(
    api: str, make_batch_server: MakeBatchServer, batch_settings: EngineSettings
) -> None:
    server = make_batch_server(item_faults={3: "500", 7: "400"})
    config = config_for(server) if api == "openai" else anthropic_config(server)
    engine = Engine(batch_settings)
    results = engine.run(make_calls(config, 12))
    assert all(r.ok for r in results)
    assert [r.batched for r in results].count(False) == 2 and server.request_count == 2
    assert engine.totals.batch_calls == 10


@pytest.mark.parametrize("api", ["openai", "anthropic"])
def test_expired_items_are_retried_live(
    api: str, make_batch_server: MakeBatchServer, batch_settings: EngineSettings
) -> None:
    # 20 items/s and a 0.3 s "24-hour window": about 6 items are processed, the rest expire.
    server = make_batch_server(items_per_s=20, expire_after_s=0.3)
    config = config_for(server) if api == "openai" else anthropic_config(server)
    results = Engine(batch_settings).run(make_calls(config, 20))
    assert all(r.ok for r in results)
    batched = sum(r.batched for r in results)
    assert 0 < batched < 20 and server.request_count == 20 - batched


@pytest.mark.parametrize("api", ["openai", "anthropic"])
def test_a_batch_still_running_after_the_wait_is_cancelled_and_finished_live(
    api: str, make_batch_server: MakeBatchServer, batch_settings: EngineSettings
) -> None:
    server = make_batch_server(items_per_s=20, cancel_s=0.05)
    config = config_for(server) if api == "openai" else anthropic_config(server)
    settings = batch_settings.model_copy(update={"batch_max_wait_s": 0.3})
    results = Engine(settings).run(make_calls(config, 40))
    assert all(r.ok for r in results)
    assert server.batch_stats()["cancels"] == 1
    batched = sum(r.batched for r in results)
    assert 0 < batched < 40 and server.request_count == 40 - batched


def test_an_interrupted_run_resumes_the_same_batch(
    make_batch_server: MakeBatchServer, batch_settings: EngineSettings
) -> None:
    server = make_batch_server(items_per_s=50)
    config = config_for(server)
    calls = make_calls(config, 25)

    async def interrupted() -> None:
        task = asyncio.ensure_future(Engine(batch_settings).arun(calls))
        while not server.batch_stats().get("polls"):
            await asyncio.sleep(0.01)
        task.cancel()  # like Ctrl-C while polling
        with pytest.raises(asyncio.CancelledError):
            await task

    thread = threading.Thread(target=lambda: asyncio.run(interrupted()))
    thread.start()
    thread.join()
    assert server.batch_stats()["batches_created"] == 1
    engine = Engine(batch_settings)
    results = engine.run(calls)
    assert all(r.ok and r.batched for r in results)
    stats = server.batch_stats()
    assert stats["batches_created"] == 1 and stats["files_uploaded"] == 1 and server.request_count == 0


def test_only_uncached_calls_are_batched(
    make_batch_server: MakeBatchServer, batch_settings: EngineSettings
) -> None:
    server = make_batch_server()
    config = config_for(server)
    Engine(batch_settings.model_copy(update={"batch": False})).run(make_calls(config, 5))
    results = Engine(batch_settings).run(make_calls(config, 8))
    assert [r.cached for r in results] == [True] * 5 + [False] * 3
    assert all(r.batched for r in results[5:])


def test_an_invalid_batch_answer_is_asked_again_live_and_both_are_paid(
    make_batch_server: MakeBatchServer, batch_settings: EngineSettings
) -> None:
    seen: set[str] = set()

    def first_answer_wrong(body: dict[str, Any]) -> str | None:
        text = body["messages"][0]["content"]
        if text in seen:
            return None
        seen.add(text)
        return '{"unexpected": true}'

    server = make_batch_server(handler=first_answer_wrong)
    config = config_for(server)
    engine = Engine(batch_settings)
    results = engine.run(make_calls(config, 4))
    assert all(r.ok and not r.batched for r in results) and server.request_count == 4
    assert all(r.batch_cost_usd > 0 and r.cost_usd > r.batch_cost_usd for r in results)
    assert engine.totals.cost_at_live_price_usd == pytest.approx(
        sum(r.cost_usd + r.batch_cost_usd for r in results)
    )


def test_batch_needs_the_cache_and_a_batch_api(
    make_batch_server: MakeBatchServer, batch_settings: EngineSettings
) -> None:
    server = make_batch_server()
    with pytest.raises(ConfigError, match="needs the cache"):
        Engine(batch_settings.model_copy(update={"use_cache": False})).run(make_calls(config_for(server), 2))
    pool = config_for(server, provider_options={"pool": "p", "endpoints": [server.base_url]})
    with pytest.raises(ConfigError, match="no batch API"):
        Engine(batch_settings).run(make_calls(pool, 2))


def test_a_batch_over_the_budget_is_refused_before_it_is_submitted(
    make_batch_server: MakeBatchServer, batch_settings: EngineSettings
) -> None:
    server = make_batch_server()
    config = config_for(server)
    tight = batch_settings.model_copy(update={"max_cost_usd": 0.000001})
    with pytest.raises(ConfigError, match="cannot be stopped half way"):
        Engine(tight).run(make_calls(config, 10))
    assert server.batch_stats().get("batches_created", 0) == 0
    roomy = Engine(batch_settings.model_copy(update={"max_cost_usd": 1.0}))
    assert all(r.ok and r.batched for r in roomy.run(make_calls(config, 10)))


def test_a_batch_created_while_the_client_died_is_adopted_not_paid_again(
    make_batch_server: MakeBatchServer, batch_settings: EngineSettings
) -> None:
    # The API has created the batch but the client is gone before the answer arrives.
    server = make_batch_server(create_delay_s=5.0)
    calls = make_calls(config_for(server), 8)

    async def died_while_creating() -> None:
        task = asyncio.ensure_future(Engine(batch_settings).arun(calls))
        while not server.batch_stats().get("batches_created"):
            await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    thread = threading.Thread(target=lambda: asyncio.run(died_while_creating()))
    thread.start()
    thread.join()
    server.create_delay_s = 0.0
    results = Engine(batch_settings).run(calls)
    assert all(r.ok and r.batched for r in results)
    assert server.batch_stats()["batches_created"] == 1 and server.request_count == 0

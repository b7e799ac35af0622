"""Endpoint pools against several real local servers: routing, a replica dying, probing, cache identity."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from engine_helpers import config_for, make_calls

from rubric_eval._config import AnnotatorConfig
from rubric_eval.engine import Engine, EngineSettings, create_provider
from rubric_eval.errors import ConfigError
from rubric_eval.testing import OpenAICompatibleServer

MakeServer = Callable[..., OpenAICompatibleServer]


def pool_config(
    servers: list[OpenAICompatibleServer] | list[str],
    *,
    pool: str = "judges",
    capacity: int = 2,
    **extra: Any,
) -> AnnotatorConfig:
    urls = [s if isinstance(s, str) else s.base_url for s in servers]
    options = {"pool": pool, "endpoints": [{"base_url": u, "max_concurrency": capacity} for u in urls]}
    dummy = OpenAICompatibleServer()  # only for config_for's defaults; never started
    config = config_for(dummy, **extra)
    return config.model_copy(update={"provider_options": {**options, "probe_interval_s": 0.05}})


def test_calls_spread_over_replicas_within_each_capacity(
    engine_settings: EngineSettings, make_openai_server: MakeServer
) -> None:
    servers = [make_openai_server(latency_s=0.02), make_openai_server(latency_s=0.06)]
    results = Engine(engine_settings).run(make_calls(pool_config(servers, capacity=3), 60))
    assert all(r.ok for r in results)
    counts = [s.request_count for s in servers]
    assert sum(counts) == 60
    # Both replicas were used to their capacity and never above it; the faster one served more.
    assert [s.max_in_flight for s in servers] == [3, 3]
    assert counts[0] > counts[1] > 0


def test_a_replica_stopped_mid_run_loses_no_call(
    engine_settings: EngineSettings, make_openai_server: MakeServer
) -> None:
    servers = [make_openai_server(latency_s=0.03) for _ in range(3)]
    victim = servers[1]
    stopped = threading.Event()

    def stop_after_some(body: dict[str, Any]) -> None:
        if victim.request_count == 8 and not stopped.is_set():
            stopped.set()
            threading.Thread(target=victim.stop).start()  # stops while its other calls are in flight

    victim.handler = stop_after_some
    config = pool_config(servers)
    pool = create_provider(config)
    engine = Engine(engine_settings, providers={"openai": pool})
    results = engine.run(make_calls(config, 120))
    assert stopped.is_set()
    assert all(r.ok for r in results), [r.error for r in results if not r.ok][:3]
    assert engine.totals.failures == 0
    stats = {s.base_url: s for s in pool.stats()}  # type: ignore[attr-defined]
    assert stats[victim.base_url].taken_out == 1
    assert sum(s.served for s in stats.values()) == 120
    live = [servers[0], servers[2]]
    assert sum(s.status_counts.get(200, 0) for s in live) + victim.status_counts.get(200, 0) >= 120


def test_a_replica_that_comes_back_is_probed_in(
    engine_settings: EngineSettings, make_openai_server: MakeServer
) -> None:
    live = make_openai_server(latency_s=0.03)
    gone = make_openai_server()
    port = gone.port
    gone.stop()  # nothing listens on its port: connections are refused
    revived: list[OpenAICompatibleServer] = []

    def revive() -> None:
        revived.append(make_openai_server(port=port))

    timer = threading.Timer(0.3, revive)
    timer.start()
    try:
        config = pool_config([live.base_url, f"http://127.0.0.1:{port}/v1"], capacity=2)
        results = Engine(engine_settings).run(make_calls(config, 80))
    finally:
        timer.cancel()
    assert all(r.ok for r in results)
    assert revived and revived[0].request_count > 0
    assert live.request_count + revived[0].request_count == 80


def test_the_pool_name_is_the_cache_identity(
    engine_settings: EngineSettings, make_openai_server: MakeServer
) -> None:
    first = [make_openai_server(), make_openai_server()]
    Engine(engine_settings).run(make_calls(pool_config(first), 10))
    moved = make_openai_server()
    # The same pool on another replica: every answer comes from the cache.
    again = Engine(engine_settings).run(make_calls(pool_config([moved]), 10))
    assert all(r.cached for r in again) and moved.request_count == 0
    # Another pool name is another model deployment: asked again.
    other = Engine(engine_settings).run(make_calls(pool_config([moved], pool="other"), 10))
    assert not any(r.cached for r in other) and moved.request_count == 10


def test_when_every_replica_is_down_calls_fail_with_the_reason(engine_settings: EngineSettings) -> None:
    dead = OpenAICompatibleServer().start()
    url = dead.base_url
    dead.stop()
    settings = engine_settings.model_copy(update={"max_attempts": 2})
    results = Engine(settings).run(make_calls(pool_config([url]), 3))
    assert [r.ok for r in results] == [False] * 3
    assert all("no healthy endpoint" in (r.error or "") or "connection" in (r.error or "") for r in results)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"endpoints": ["http://a/v1"]}, "provider_options.pool"),
        ({"pool": "p", "endpoints": []}, "endpoints"),
        ({"pool": "p", "endpoints": ["http://a/v1"], "base_url": "http://b/v1"}, "either"),
        ({"pool": "p", "endpoints": [{"base_url": "http://a/v1", "weight": 2}]}, "weight"),
    ],
)
def test_pool_config_errors_are_clear(options: dict[str, Any], message: str) -> None:
    config = config_for(OpenAICompatibleServer()).model_copy(update={"provider_options": options})
    with pytest.raises(ConfigError, match=message):
        create_provider(config)

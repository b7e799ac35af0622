"""`Engine.astream`: calls drawn lazily within a window, results as they finish, input errors after
the calls already started have finished (and been cached)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from engine_helpers import config_for, make_calls

from rubric_eval.engine import Engine, EngineSettings, LLMCall, LLMResult
from rubric_eval.testing import OpenAICompatibleServer


def _collect(engine: Engine, calls: Any, **kwargs: Any) -> list[tuple[int, LLMResult[Any]]]:
    async def main() -> list[tuple[int, LLMResult[Any]]]:
        return [item async for item in engine.astream(calls, **kwargs)]

    return asyncio.run(main())


def test_stream_draws_no_further_than_the_window_ahead(
    engine_settings: EngineSettings, make_openai_server: Any
) -> None:
    server: OpenAICompatibleServer = make_openai_server(latency_s=0.01)
    calls = make_calls(config_for(server), 40)
    drawn = 0
    finished = 0
    ahead: list[int] = []

    def lazily() -> Iterator[LLMCall[Any]]:
        nonlocal drawn
        for call in calls:
            ahead.append(drawn - finished)
            drawn += 1
            yield call

    async def main() -> list[int]:
        nonlocal finished
        seen = []
        async for index, result in Engine(engine_settings).astream(lazily(), window=5):
            assert result.ok
            finished += 1
            seen.append(index)
        return seen

    seen = asyncio.run(main())
    assert sorted(seen) == list(range(40))
    assert max(ahead) <= 5  # never more than the window in flight
    assert server.max_in_flight <= 5


def test_input_error_stops_the_stream_and_finished_calls_are_kept(
    engine_settings: EngineSettings, make_openai_server: Any
) -> None:
    server: OpenAICompatibleServer = make_openai_server(latency_s=0.05)
    calls = make_calls(config_for(server), 8)

    def broken() -> Iterator[LLMCall[Any]]:
        yield from calls[:3]
        raise ValueError("record 3: bad rubric")

    yielded: list[int] = []

    async def main() -> None:
        async for index, _ in Engine(engine_settings).astream(broken(), window=2):
            yielded.append(index)

    with pytest.raises(ValueError, match="record 3: bad rubric"):
        asyncio.run(main())
    # The window of 2 let the first calls finish before record 3 was drawn; they were cached.
    assert len(yielded) >= 1
    requests = server.request_count
    rerun = _collect(Engine(engine_settings), calls)
    assert len(rerun) == 8 and sum(r.cached for _, r in rerun) >= len(yielded)
    assert server.request_count == requests + 8 - sum(r.cached for _, r in rerun)


def test_run_keeps_input_order(
    engine_settings: EngineSettings, openai_server: OpenAICompatibleServer
) -> None:
    calls = make_calls(config_for(openai_server), 12, output_type=str)
    results = Engine(engine_settings).run(calls)
    assert [f"question {i}" in (r.text or "") for i, r in enumerate(results)] == [True] * 12

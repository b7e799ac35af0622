"""The SQLite cache: keys, hits and misses, bypass, failures, and resume after SIGKILL."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from engine_helpers import Verdict, config_for, make_calls

from rubric_eval.engine import ChatMessage, Engine, EngineSettings, LLMCall
from rubric_eval.engine._cache import cache_key
from rubric_eval.testing import OpenAICompatibleServer

MakeServer = Callable[..., OpenAICompatibleServer]


def test_second_run_makes_zero_calls(
    engine_settings: EngineSettings, openai_server: OpenAICompatibleServer
) -> None:
    calls = make_calls(config_for(openai_server), 5)
    first = Engine(engine_settings).run(calls)
    assert openai_server.request_count == 5
    engine = Engine(engine_settings)
    second = engine.run(calls)
    assert openai_server.request_count == 5
    assert all(r.cached for r in second) and not any(r.cached for r in first)
    assert [r.value for r in second] == [r.value for r in first]
    assert [r.cost_usd for r in second] == [r.cost_usd for r in first]
    assert engine.totals.cache_hits == 5 and engine.totals.cost_usd == 0.0
    assert (engine_settings.cache_dir or Path()).joinpath("llm_cache.sqlite3").is_file()


@pytest.mark.parametrize(
    "change",
    [
        {"template_key": "evaluate/v2@def"},
        {"params": {"temperature": 0.7}},
        {"model": "gpt-4.1-mini"},
        {"repeat_index": 1},
        {"content": "a different prompt"},
        {"output_type": str},
    ],
    ids=lambda c: next(iter(c)),
)
def test_what_changes_the_answer_misses(
    change: dict[str, object], engine_settings: EngineSettings, openai_server: OpenAICompatibleServer
) -> None:
    def call(**kw: object) -> LLMCall[object]:
        config = config_for(
            openai_server,
            **{k: kw[k] for k in ("params", "model") if k in kw},
        )
        return LLMCall(
            config,
            [ChatMessage(role="user", content=str(kw.get("content", "grade this")))],
            kw.get("output_type", Verdict),  # type: ignore[arg-type]
            str(kw.get("template_key", "evaluate/v1@abc")),
            repeat_index=int(kw.get("repeat_index", 0)),  # type: ignore[call-overload]
        )

    Engine(engine_settings).run([call()])
    Engine(engine_settings).run([call()])
    assert openai_server.request_count == 1
    (result,) = Engine(engine_settings).run([call(**change)])
    assert not result.cached and openai_server.request_count == 2


def test_concurrency_labels_timeouts_and_keys_do_not_change_the_key(
    engine_settings: EngineSettings, openai_server: OpenAICompatibleServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = config_for(openai_server, max_concurrency=3, requests_per_minute=600)
    Engine(engine_settings).run(make_calls(config, 2))
    other = config_for(openai_server, name="renamed", max_concurrency=50)
    relabelled = [
        LLMCall(c.config, c.messages, c.output_type, c.template_key, label="x") for c in make_calls(other, 2)
    ]
    monkeypatch.setenv("OPENAI_API_KEY", "sk-another-key-0000")
    settings = engine_settings.model_copy(update={"max_concurrency": 1, "timeout_s": 99.0})
    results = Engine(settings).run(relabelled)
    assert all(r.cached for r in results) and openai_server.request_count == 2


def test_key_is_a_stable_sha256_of_the_answer_inputs(openai_server: OpenAICompatibleServer) -> None:
    config = config_for(openai_server)
    messages = [ChatMessage(role="user", content="x")]
    args = {"endpoint": "http://h/v1", "response_schema": None, "template_key": "t", "repeat_index": 0}
    key = cache_key(config, messages=messages, **args)  # type: ignore[arg-type]
    assert len(key) == 64 and key == cache_key(config, messages=list(messages), **args)  # type: ignore[arg-type]
    moved = {**args, "endpoint": "http://other/v1"}
    assert key != cache_key(config, messages=messages, **moved)  # type: ignore[arg-type]


def test_no_cache_bypasses_reading_and_writing(
    engine_settings: EngineSettings, openai_server: OpenAICompatibleServer
) -> None:
    calls = make_calls(config_for(openai_server), 2)
    off = engine_settings.model_copy(update={"use_cache": False})
    Engine(off).run(calls)
    Engine(off).run(calls)
    assert openai_server.request_count == 4
    assert not (engine_settings.cache_dir or Path()).joinpath("llm_cache.sqlite3").exists()


def test_failures_are_not_served_from_the_cache(
    engine_settings: EngineSettings, make_openai_server: MakeServer
) -> None:
    server = make_openai_server(faults=["400"])
    calls = make_calls(config_for(server), 1)
    assert not Engine(engine_settings).run(calls)[0].ok
    result = Engine(engine_settings).run(calls)[0]
    assert result.ok and not result.cached and server.request_count == 2
    db = sqlite3.connect((engine_settings.cache_dir or Path()) / "llm_cache.sqlite3")
    assert db.execute("SELECT COUNT(*) FROM failures").fetchone()[0] == 1
    assert db.execute("SELECT COUNT(*) FROM answers").fetchone()[0] == 1


def test_a_cached_answer_failing_a_new_check_is_asked_again(
    engine_settings: EngineSettings, openai_server: OpenAICompatibleServer
) -> None:
    (call,) = make_calls(config_for(openai_server), 1)
    Engine(engine_settings).run([call])
    strict = LLMCall(
        call.config, call.messages, Verdict, call.template_key, check=lambda v: "never good enough"
    )
    (result,) = Engine(engine_settings.model_copy(update={"max_parse_retries": 0})).run([strict])
    assert not result.cached and not result.ok and openai_server.request_count == 2


def test_cache_dir_env_var_is_the_default_location(
    openai_server: OpenAICompatibleServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RUBRIC_EVAL_CACHE_DIR", str(tmp_path / "env-cache"))
    engine = Engine(EngineSettings(progress="quiet"))
    engine.run(make_calls(config_for(openai_server), 1))
    assert engine.cache_path == tmp_path / "env-cache" / "llm_cache.sqlite3" and engine.cache_path.is_file()


RUNNER = textwrap.dedent(
    """
    import sys
    from pydantic import BaseModel
    from rubric_eval._config import AnnotatorConfig
    from rubric_eval.engine import ChatMessage, Engine, EngineSettings, LLMCall

    class Verdict(BaseModel):
        level: str
        score: int

    base_url, cache_dir, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    config = AnnotatorConfig(name="j", step="evaluator", provider="openai", model="gpt-4o-mini",
                             provider_options={"base_url": base_url})
    calls = [LLMCall(config, [ChatMessage(role="user", content=f"q{i}")], Verdict, "t@1") for i in range(n)]
    settings = EngineSettings(cache_dir=cache_dir, max_concurrency=4, backoff_base_s=0, progress="plain")
    results = Engine(settings).run(calls)
    print(sum(r.ok for r in results), sum(r.cached for r in results))
    """
)


@pytest.mark.integration
def test_sigkill_halfway_then_rerun_repeats_no_finished_call(
    make_openai_server: MakeServer, tmp_path: Path
) -> None:
    n = 40
    server = make_openai_server(latency_s=0.1)
    cache_dir = tmp_path / "cache"
    command = [sys.executable, "-c", RUNNER, server.base_url, str(cache_dir), str(n)]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    child = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while server.request_count < n // 2 and time.monotonic() < deadline and child.poll() is None:
        time.sleep(0.01)
    child.send_signal(signal.SIGKILL)
    child.communicate()
    assert child.returncode == -signal.SIGKILL
    first_run = [r["messages"][0]["content"] for r in server.requests]
    db = sqlite3.connect(cache_dir / "llm_cache.sqlite3")
    finished = db.execute("SELECT COUNT(*) FROM answers").fetchone()[0]
    db.close()
    assert 0 < finished < n, "the kill should land halfway"
    server.reset()

    rerun = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120, check=True)
    ok, cached = map(int, rerun.stdout.split())
    second_run = [r["messages"][0]["content"] for r in server.requests]
    assert ok == n and cached == finished
    assert len(second_run) == n - finished  # zero repeated calls for what had finished
    assert set(second_run) | set(first_run) == {f"q{i}" for i in range(n)}
    assert len(set(second_run)) == len(second_run)


def test_cache_keys_are_the_sha256_of_the_whole_canonical_material() -> None:
    # The schema's JSON is memoised per schema object and spliced in; the key must stay exactly the
    # digest of the whole material encoded at once (as before), whatever the texts and the schema.
    import hashlib
    import json

    from rubric_eval.engine import ChatMessage, ModelConfig
    from rubric_eval.engine._cache import KEY_VERSION, cache_key

    def reference(config: ModelConfig, messages: list[ChatMessage], schema: object, repeat: int) -> str:
        material = {
            "v": KEY_VERSION,
            "provider": config.provider,
            "endpoint": "http://x/v1",
            "model": config.model,
            "messages": [[m.role, m.content] for m in messages],
            "params": config.params,
            "schema": schema,
            "template": "evaluate/v2@abc",
            "repeat": repeat,
        }
        text = json.dumps(material, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
        return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()

    config = ModelConfig(
        name="j", provider="openai", model="m", params={"temperature": 0.5, "z": [1, {"b": 2}]}
    )
    schema = {"type": "object", "properties": {"Zeta \u00e9": {"enum": ["good", "bad"]}, "alpha": {}}}
    messages = [
        ChatMessage(role="system", content='Grade "fairly" \u2028 \\ </x>'),
        ChatMessage(role="user", content='"\u0000schema\u0000" \ud800 \u65e5\u672c'),
    ]
    other = {"type": "object", "properties": {"alpha": {"enum": ["x"]}}}

    def checked_key(messages: list[ChatMessage], schema: object, repeat: int) -> str:
        key = cache_key(
            config,
            endpoint="http://x/v1",
            messages=messages,
            response_schema=schema,  # type: ignore[arg-type]  # None or a schema dict
            template_key="evaluate/v2@abc",
            repeat_index=repeat,
        )
        assert key == reference(config, messages, schema, repeat)
        return key

    keys = []
    for s, repeat in ((schema, 0), (schema, 0), (None, 0), (other, 1), (dict(schema), 0), (schema, 2)):
        keys.append(checked_key(messages, s, repeat))
    assert keys[0] == keys[1] == keys[4] and len(set(keys)) == 4
    # ASCII-only messages take the faster encoder; every ASCII character (DEL, controls, quotes,
    # backslashes included) must give the same key as the whole material.
    every_ascii = "".join(map(chr, range(128)))
    for texts in (["plain"], [every_ascii, "x"], ["a\x7fb"], ["ascii", "and \u00e9"]):
        checked_key([ChatMessage(role="user", content=text) for text in texts], schema, 0)
    # A message with a shared prefix (cache_prefix_chars): the digest's state after the prefix is
    # memoised; the key is the same wherever the prefix ends (inside an escape, between the halves of
    # a surrogate pair, past the end), whatever the messages before and after it.
    system = ChatMessage(role="system", content="Be fair \u00e9.")
    user_text = 'Rubric "a"\n\x7f \U0001f600 \ud83d\ude00 \ud800 ' + every_ascii + " answer \u65e5"
    for cut in (1, 10, 13, 16, 17, 18, 19, 20, 60, len(user_text), len(user_text) + 5):
        for before, later in (
            ([], []),
            ([system], []),
            ([system], [system, ChatMessage(role="user", content="x")]),
        ):
            for answer in ("", " the answer", " answer \u00e9"):
                shared = ChatMessage(role="user", content=user_text + answer, cache_prefix_chars=cut)
                checked_key([*before, shared, *later], schema, 1)

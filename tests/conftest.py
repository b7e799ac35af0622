"""Shared fixtures: real local OpenAI-compatible servers, fast engine settings, the shared data folder."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from rubric_eval.engine import EngineSettings
from rubric_eval.testing import OpenAICompatibleServer

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(autouse=True)
def _private_llm_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test gets its own LLM cache folder, so no test reads another's answers or ~/.cache."""
    monkeypatch.setenv("RUBRIC_EVAL_CACHE_DIR", str(tmp_path_factory.mktemp("llm-cache")))
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def make_openai_server() -> Iterator[Callable[..., OpenAICompatibleServer]]:
    """Factory: ``make_openai_server(handler=..., faults=[...], latency_s=...)`` -> a started server
    (``server_class=BatchServer`` for the one with batch endpoints).

    Every server started through it is stopped at teardown.
    """
    servers: list[OpenAICompatibleServer] = []

    def make(
        *args: Any, server_class: type[OpenAICompatibleServer] = OpenAICompatibleServer, **kwargs: Any
    ) -> OpenAICompatibleServer:
        server = server_class(*args, **kwargs).start()
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.stop()


@pytest.fixture
def openai_server(make_openai_server: Callable[..., OpenAICompatibleServer]) -> OpenAICompatibleServer:
    """A started server with default (deterministic, schema-valid) replies."""
    return make_openai_server()


@pytest.fixture
def openai_env(
    monkeypatch: pytest.MonkeyPatch, openai_server: OpenAICompatibleServer
) -> OpenAICompatibleServer:
    """Point OPENAI_BASE_URL/OPENAI_API_KEY at `openai_server` (so `openai/<model>` configs use it)."""
    monkeypatch.setenv("OPENAI_BASE_URL", openai_server.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-key")
    return openai_server


@pytest.fixture
def engine_settings(tmp_path: Path) -> EngineSettings:
    """Engine settings for tests: zero backoff, short timeout, a private cache folder, no progress bar."""
    return EngineSettings(
        backoff_base_s=0.0,
        backoff_max_s=0.0,
        timeout_s=10.0,
        cache_dir=tmp_path / "llm-cache",
        progress="quiet",
    )


@pytest.fixture
def shared_data() -> Path:
    """The real data folder next to the repository; skips the test when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared data not found at {SHARED_DATA}")
    return SHARED_DATA


CHROMIUM = Path("/usr/bin/chromium")


def chromium_path() -> str | None:
    """Debian's chromium (Playwright's own browser download is not used)."""
    if CHROMIUM.exists():
        return str(CHROMIUM)
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """One chromium for the whole session, driven by Playwright's sync API; skips where either is absent.

    Shared by every browser test: two sync Playwright instances cannot run in one thread.
    """
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    executable = chromium_path()
    if executable is None:
        pytest.skip("no chromium executable (apt install chromium)")
    with sync_api.sync_playwright() as p:
        launched = p.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        yield launched
        launched.close()

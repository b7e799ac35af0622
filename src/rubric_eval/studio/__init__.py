"""Rubric Studio: domain experts review, edit and pilot brainstorms and rubrics in a browser.

``rubric_eval studio --input_path rubrics.json`` serves a local web app for one record file; see
docs/studio.md. `run_studio` is what the command calls; `create_app` and `StudioState` build the
aiohttp application (for tests and embedding).
"""

from __future__ import annotations

import asyncio
import socket
import webbrowser
from collections.abc import Callable
from pathlib import Path

from aiohttp import web

from rubric_eval import AnnotatorConfig
from rubric_eval.engine import EngineSettings
from rubric_eval.studio._assist import Assistant
from rubric_eval.studio._server import StudioState, create_app
from rubric_eval.studio._store import (
    STATUSES,
    AcceptedDraft,
    RecordStore,
    Review,
    SaveRequest,
    SaveResult,
    record_key,
)

LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})

__all__ = [
    "STATUSES",
    "AcceptedDraft",
    "Assistant",
    "RecordStore",
    "Review",
    "SaveRequest",
    "SaveResult",
    "StudioState",
    "create_app",
    "record_key",
    "run_studio",
    "studio_url",
]


def studio_url(host: str, port: int, token: str) -> str:
    """The URL to open: host as given (the machine's name for a wildcard bind), the port, the token."""
    shown = socket.getfqdn() if host in {"0.0.0.0", "::", ""} else host
    if ":" in shown:
        shown = f"[{shown}]"
    return f"http://{shown}:{port}/?token={token}"


async def _serve(state: StudioState, host: str, port: int, on_ready: Callable[[str], None]) -> None:
    runner = web.AppRunner(create_app(state), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    bound = runner.addresses[0][1]  # the port the OS picked when `port` is 0
    on_ready(studio_url(host, int(bound), state.token))
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()


def run_studio(
    input_path: str | Path,
    *,
    brainstormer: AnnotatorConfig,
    rubric_generator: AnnotatorConfig,
    evaluator: AnnotatorConfig,
    settings: EngineSettings,
    levels: list[str] | None = None,
    host: str = "127.0.0.1",
    port: int = 0,
    open_browser: bool = True,
    echo: Callable[[str], None] = print,
) -> None:
    """Serve the Studio for `input_path` until interrupted (Ctrl+C)."""
    state = StudioState(
        RecordStore(input_path),
        Assistant(
            brainstormer=brainstormer,
            rubric_generator=rubric_generator,
            evaluator=evaluator,
            settings=settings,
        ),
        levels=levels,
    )

    def ready(url: str) -> None:
        echo(f"Rubric Studio for {input_path}: {url}")
        if host not in LOOPBACK:
            echo("bound to a non-loopback interface: anyone with this URL (and its token) can edit the file")
        echo("press Ctrl+C to stop; every save is written to the file at once")
        if open_browser:
            webbrowser.open(url)

    try:
        asyncio.run(_serve(state, host, port, ready))
    except KeyboardInterrupt:
        echo("Rubric Studio stopped")

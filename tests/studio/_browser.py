"""Helpers for the browser tests: the `rubric_eval studio` command as a subprocess and a watched page."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

CONFIG = "openai/test-llm"
PWNED_PROBE = "window.__pwned === undefined && document.querySelectorAll('img, svg, iframe').length === 0"


def rubric_eval(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run the CLI (it inherits OPENAI_BASE_URL from the `openai_env` fixture)."""
    return subprocess.run(
        [sys.executable, "-m", "rubric_eval", *args], capture_output=True, text=True, check=False, cwd=cwd
    )


@contextmanager
def studio(path: Path, cache_dir: Path) -> Iterator[str]:
    """`rubric_eval studio` on `path`, with the test server as generator and judge; yields the printed URL."""
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "rubric_eval",
            "studio",
            "--input_path",
            str(path),
            "--no_browser",
            "--brainstormer_configs",
            CONFIG,
            "--rubric_generator_configs",
            CONFIG,
            "--evaluator_configs",
            CONFIG,
            "--cache_dir",
            str(cache_dir),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert "http://127.0.0.1:" in line, (
            line,
            process.stderr.read() if process.poll() is not None else "",
        )
        yield line.split(": ", 1)[1].strip()
    finally:
        process.terminate()
        process.wait(timeout=10)


class Watched:
    """A page whose script errors and dialogs (alert/confirm) are collected; both must stay empty."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        page.on("pageerror", lambda exc: self.errors.append(str(exc)))
        page.on("dialog", self._dialog)

    def _dialog(self, dialog: Any) -> None:
        if dialog.type == "beforeunload":
            self.dialogs.append("beforeunload: leaving with unsaved edits")
        else:
            self.dialogs.append(dialog.message)
        dialog.dismiss()

    def open(self, url: str) -> Any:
        self.page.goto(url)
        self.page.wait_for_selector("#record:not([hidden])")
        return self.page

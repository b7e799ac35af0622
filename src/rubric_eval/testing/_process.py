"""Run the test server as a child process (for SIGKILL tests and benchmarks)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from typing import Any


class ServerProcess:
    """``python -m rubric_eval.testing.openai_server`` in a child process.

    ``args`` are the server's command-line flags, e.g. ``["--latency", "0.2", "--rate-limit", "100"]``.
    Use as a context manager; ``base_url`` is known once it has started.
    """

    def __init__(
        self,
        args: list[str] | None = None,
        *,
        startup_timeout_s: float = 30.0,
        module: str = "rubric_eval.testing.openai_server",
    ) -> None:
        self.args = list(args or [])
        self.module = module
        self.startup_timeout_s = startup_timeout_s
        self.process: subprocess.Popen[str] | None = None
        self.base_url = ""

    def start(self) -> ServerProcess:
        command = [sys.executable, "-m", self.module, "--port", "0", *self.args]
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env)
        assert self.process.stdout is not None
        line = self.process.stdout.readline().strip()
        if not line.startswith("listening on "):
            self.stop()
            raise RuntimeError(f"test server did not start (first line: {line!r})")
        self.base_url = line.removeprefix("listening on ")
        return self

    def stats(self) -> dict[str, Any]:
        """``{"requests": n, "statuses": {"200": n, ...}}`` from the running server."""
        root = self.base_url.removesuffix("/v1")
        with urllib.request.urlopen(f"{root}/_stats", timeout=10) as response:
            data: dict[str, Any] = json.load(response)
        return data

    @property
    def request_count(self) -> int:
        return int(self.stats()["requests"])

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            if self.process.stdout is not None:
                self.process.stdout.close()
            self.process = None

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

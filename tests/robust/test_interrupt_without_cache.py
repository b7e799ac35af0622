"""Ctrl-C during a `--no_cache` run: the one line says nothing was saved instead of promising a resume."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rubric_eval.testing import ServerProcess

from ._helpers import judge_config, record, write_records


@pytest.mark.slow
def test_sigint_with_no_cache_says_no_answer_was_saved(tmp_path: Path) -> None:
    # It said "0 new answers are saved in the LLM cache; rerunning the same command resumes".
    with ServerProcess(["--latency", "0.3"]) as server:
        inputs = write_records(tmp_path / "outputs.json", [record(i) for i in range(40)])
        config = judge_config(tmp_path / "j.yaml", server.base_url)
        command = [
            sys.executable, "-m", "rubric_eval", "evaluate", "--input_path", str(inputs),
            "--output_path", str(tmp_path / "evaluations.json"), "--evaluator_configs", str(config),
            "--no_cache", "--max_concurrency", "2", "--quiet",
        ]  # fmt: skip
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 30
        while server.request_count < 4 and time.monotonic() < deadline:
            time.sleep(0.1)
        process.send_signal(signal.SIGINT)
        _stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert lines == [
        "Stopped by SIGINT: no new answer was saved in the LLM cache (none had finished, or --no_cache); "
        "rerunning the same command asks for every answer again."
    ]
    assert not (tmp_path / "evaluations.json").exists()

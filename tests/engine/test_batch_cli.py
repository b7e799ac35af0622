"""`rubric_eval evaluate --batch`: 2,000 judge calls through the batch server in its own process; the
command is SIGKILLed while polling and rerun: it resumes the same batch, pays nothing twice, and its
run summary shows half the cost of the same job run live."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from rubric_eval.testing import ServerProcess

LEVELS = ["excellent", "good", "fair", "poor"]
N_CALLS = 2000


def records(n: int) -> list[dict[str, Any]]:
    rubric = [
        {
            "criterion": name,
            "weight": weight,
            "performance_to_description": {
                level: f"The answer's {name.lower()} is {level}." for level in LEVELS
            },
        }
        for name, weight in (("Accuracy", 60.0), ("Clarity", 40.0))
    ]
    return [
        {
            "id": i,
            "instruction": f"Instruction {i}: explain why the sky is blue.",
            "rubric": rubric,
            "output": f"Answer {i}: Rayleigh scattering.",
        }
        for i in range(n)
    ]


def batch_stats(server: ServerProcess) -> dict[str, int]:
    root = server.base_url.removesuffix("/v1")
    with urllib.request.urlopen(f"{root}/_batch_stats", timeout=10) as response:
        data: dict[str, int] = json.load(response)
    return data


def evaluate_command(input_path: Path, output_path: Path, *extra: str) -> list[str]:
    return [
        sys.executable, "-m", "rubric_eval", "evaluate", "--input_path", str(input_path),
        "--output_path", str(output_path), "--evaluator_configs", "openai/gpt-4o-mini", *extra,
    ]  # fmt: skip


def summary_cost(stdout: str) -> tuple[float, float | None]:
    match = re.search(r"cost \$([0-9.]+)(?: \(at live prices \$([0-9.]+)\))?", stdout.split("LLM calls:")[1])
    assert match, stdout
    return float(match.group(1)), float(match.group(2)) if match.group(2) else None


@pytest.mark.slow
def test_batch_job_killed_mid_poll_resumes_without_resubmitting_at_half_the_live_cost(tmp_path: Path) -> None:
    input_path = tmp_path / "outputs.json"
    input_path.write_text(json.dumps(records(N_CALLS)))
    # 2,000 items at 400/s: the batch runs about 5 s, so the kill lands while the command polls.
    with ServerProcess(["--items-per-s", "400"], module="rubric_eval.testing.batch_server") as server:
        env = {
            **os.environ,
            "OPENAI_BASE_URL": server.base_url,
            "OPENAI_API_KEY": "sk-test-batch",
            "RUBRIC_EVAL_CACHE_DIR": str(tmp_path / "cache"),
        }
        batched_out = tmp_path / "evaluations_batch.json"
        command = evaluate_command(input_path, batched_out, "--batch", "--batch_poll", "0.2")
        first = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 120
        while (
            batch_stats(server).get("polls", 0) < 2 and first.poll() is None and time.monotonic() < deadline
        ):
            time.sleep(0.05)
        assert first.poll() is None, first.communicate()
        first.send_signal(signal.SIGKILL)
        first.communicate()
        assert not batched_out.exists()
        assert batch_stats(server)["batches_created"] == 1

        second = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
        assert second.returncode == 0, second.stderr
        stats = batch_stats(server)
        assert stats["batches_created"] == 1 and stats["files_uploaded"] == 1
        assert server.request_count == 0  # no call went live
        assert f"{N_CALLS} through provider batches at half price, 0 live" in second.stdout
        assert "submitted" in second.stderr and "in progress" in second.stderr
        batch_cost, at_live = summary_cost(second.stdout)
        evaluations = json.loads(batched_out.read_text())
        assert len(evaluations) == N_CALLS and all(r["score"] is not None for r in evaluations)

        # The same job live, on a fresh cache: the batch cost is half of it.
        live_env = {**env, "RUBRIC_EVAL_CACHE_DIR": str(tmp_path / "live-cache")}
        live_out = tmp_path / "evaluations_live.json"
        live = subprocess.run(
            evaluate_command(input_path, live_out, "--max_concurrency", "64"),
            env=live_env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert live.returncode == 0, live.stderr
        assert server.request_count == N_CALLS
        live_cost, _ = summary_cost(live.stdout)
        print("batched, resumed:", second.stdout.split("LLM calls:")[1].splitlines()[0])
        print("live:", live.stdout.split("LLM calls:")[1].splitlines()[0])
    assert live_cost > 0
    assert batch_cost == pytest.approx(live_cost / 2, rel=1e-3)
    assert at_live == pytest.approx(live_cost, rel=1e-3)

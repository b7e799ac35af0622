"""A one-step run stopped by Ctrl-C or SIGTERM is recorded: status `interrupted` with its counts, in the
run log and as a flagged, unranked leaderboard row that leaves the complete row in place; the exit code
and the one-line message stay (130 / 143). A real subprocess against the local test server with latency."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rubric_eval.testing import ServerProcess

from ._helpers import record

pytestmark = pytest.mark.slow  # two subprocess runs, one of them stopped mid-way


def judge_config(path: Path, base_url: str) -> Path:
    body = {"name": "test-judge", "provider": "openai", "model": "gpt-4o-mini",
            "params": {"temperature": 0.0}, "provider_options": {"base_url": base_url}}  # fmt: skip
    path.write_text(json.dumps(body), encoding="utf-8")  # JSON is YAML
    return path


def one_step(inputs: Path, config: Path, cache: Path, concurrency: int) -> list[str]:
    return [
        sys.executable, "-m", "rubric_eval", "--input_path", str(inputs), "--evaluator_configs", str(config),
        "--summarize", "False", "--cache_dir", str(cache), "--max_concurrency", str(concurrency), "--quiet",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("signum", "code", "name"), [(signal.SIGINT, 130, "SIGINT"), (signal.SIGTERM, 143, "SIGTERM")]
)
def test_an_interrupted_run_is_a_flagged_row_beside_the_complete_one(
    signum: int, code: int, name: str, tmp_path: Path
) -> None:
    n = 10
    inputs = tmp_path / "outputs_model-a.json"
    inputs.write_text(json.dumps([record(i) for i in range(n)]), encoding="utf-8")
    with ServerProcess(["--latency", "0.3"]) as server:
        config = judge_config(tmp_path / "j.yaml", server.base_url)
        done = subprocess.run(
            one_step(inputs, config, tmp_path / "cache1", n), capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 0, done.stderr
        before = server.request_count
        # The same run again, with an empty cache and one call at a time: stopped after a few answers.
        process = subprocess.Popen(
            one_step(inputs, config, tmp_path / "cache2", 1),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + 30
        while server.request_count < before + 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        process.send_signal(signum)
        _stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == code, stderr
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith(f"Stopped by {name}: "), stderr

    board = json.loads((tmp_path / "leaderboard.json").read_text())["runs"]
    statuses = sorted(run["status"] for run in board)
    assert statuses == ["complete", "interrupted"], board
    complete = next(run for run in board if run["status"] == "complete")
    stopped = next(run for run in board if run["status"] == "interrupted")
    assert complete["counts"]["n_scored"] == n
    counts = stopped["counts"]
    assert counts["n_instructions"] == n
    assert 2 <= counts["n_scored"] < n and counts["n_scored"] + counts["n_unscored"] == n
    assert counts["n_interrupted"] == counts["n_unscored"]

    # The complete run's files are intact; the interrupted run's are the `.partial` ones.
    kept = json.loads((tmp_path / "evaluations_model-a.json").read_text())
    assert all(r["score"] is not None for r in kept)
    partial = json.loads((tmp_path / "evaluations_model-a.partial.json").read_text())
    assert sum(r["score"] is not None for r in partial) == counts["n_scored"]
    unscored = [r for r in partial if r["score"] is None]
    assert unscored and all(r["judge_issues"]["error"].startswith("interrupted") for r in unscored)
    log = json.loads((tmp_path / "evaluations_model-a.partial.runs.json").read_text())["runs"]
    assert [run["status"] for run in log] == ["interrupted"]

    # The leaderboard view ranks the complete run and lists the interrupted one flagged, unranked.
    shown = subprocess.run(
        [sys.executable, "-m", "rubric_eval", "leaderboard", "--leaderboard_path", str(tmp_path / "leaderboard.json"),
         "--format", "json"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert shown.returncode == 0, shown.stderr
    (view,) = json.loads(shown.stdout)  # one (dataset, judge) view
    rows = view["rows"]
    ranked = [r for r in rows if r["rank"] is not None]
    flagged = [r for r in rows if r["flagged"]]
    assert [r["status"] for r in ranked] == ["complete"]
    assert [r["status"] for r in flagged] == ["interrupted"]
    assert f"{counts['n_scored']} of {n} scored" in flagged[0]["status_text"]

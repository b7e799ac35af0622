"""`--dry_run`: a plan before spending (calls, cache hits, tokens, cost live/batch/cached, time), and a
real run's plan-vs-actual line, against the real local test server."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from rubric_eval.cli import cli
from rubric_eval.testing import OpenAICompatibleServer

LEVELS = ["excellent", "good", "fair", "poor"]
MIXTRAL = "rubriceval_sampled/outputs_Mixtral-8x22B-Instruct-v0.1.json"


def records(n: int) -> list[dict[str, Any]]:
    rubric = [
        {"criterion": c, "weight": 50.0, "performance_to_description": {lv: f"{c} {lv}." for lv in LEVELS}}
        for c in ("Accuracy", "Clarity")
    ]
    return [{"instruction": f"Question {i}?", "rubric": rubric, "output": f"Answer {i}."} for i in range(n)]


def evaluate(input_path: Path, output_path: Path, *extra: str) -> Any:
    args = ["evaluate", "--input_path", str(input_path), "--output_path", str(output_path)]
    args += ["--evaluator_configs", "openai/gpt-4.1-mini", "--quiet", *extra]
    return CliRunner().invoke(cli, args, catch_exceptions=False)


def deltas(stdout: str) -> dict[str, float]:
    """The percentages of the plan-vs-actual line: input, output, cost."""
    line = next(line for line in stdout.splitlines() if line.startswith("plan vs actual"))
    found = re.findall(r"\(plan ([0-9.]+)% (over|under) actual\)", line)
    signed = (float(x) if side == "over" else -float(x) for x, side in found)
    return dict(zip(("input", "output", "cost"), signed, strict=True))


def dollars(label: str, stdout: str) -> float:
    match = re.search(rf"{label} \$([0-9.,]+)", stdout)
    assert match, stdout
    return float(match.group(1).replace(",", ""))


def test_dry_run_calls_nothing_writes_nothing_and_prints_the_plan(
    openai_env: OpenAICompatibleServer, tmp_path: Path
) -> None:
    input_path = tmp_path / "outputs.json"
    input_path.write_text(json.dumps(records(6)))
    out = tmp_path / "evaluations.json"
    result = evaluate(input_path, out, "--dry_run")
    assert result.exit_code == 0, result.output
    assert openai_env.request_count == 0 and not out.exists()
    assert "6 calls, 0 already cached, 6 to make" in result.output
    assert "estimate: 4 characters per token" in result.output and "prior: 400 per call" in result.output
    assert dollars("with --batch", result.output) == pytest.approx(
        dollars("cost live", result.output) / 2, abs=1e-4
    )


def test_after_a_pilot_the_plan_knows_the_cache_and_the_output_length(
    openai_env: OpenAICompatibleServer, tmp_path: Path
) -> None:
    input_path = tmp_path / "outputs.json"
    input_path.write_text(json.dumps(records(20)))
    assert evaluate(input_path, tmp_path / "pilot.json", "--max_instances", "5").exit_code == 0
    plan = evaluate(input_path, tmp_path / "evaluations.json", "--dry_run")
    assert "20 calls, 5 already cached, 15 to make" in plan.output
    assert "mean of 5 earlier answers in the cache" in plan.output
    assert openai_env.request_count == 5
    run = evaluate(input_path, tmp_path / "evaluations.json")
    assert run.exit_code == 0 and openai_env.request_count == 20
    assert "plan vs actual (15 calls answered by the provider)" in run.output
    found = deltas(run.output)
    assert abs(found["input"]) <= 10 and abs(found["cost"]) <= 10


@pytest.mark.slow
def test_dry_run_on_the_sampled_set_predicts_tokens_and_cost_within_ten_percent(
    openai_env: OpenAICompatibleServer, shared_data: Path, tmp_path: Path
) -> None:
    input_path = tmp_path / "outputs.json"
    shutil.copy(shared_data / MIXTRAL, input_path)
    assert evaluate(input_path, tmp_path / "pilot.json", "--max_instances", "8").exit_code == 0
    plan = evaluate(input_path, tmp_path / "evaluations.json", "--dry_run")
    assert "80 calls, 8 already cached, 72 to make" in plan.output
    planned_in = int(re.search(r"input tokens\s+([0-9,]+)", plan.output).group(1).replace(",", ""))  # type: ignore[union-attr]
    planned_cost = dollars("cost live", plan.output)
    run = evaluate(input_path, tmp_path / "evaluations.json")
    assert run.exit_code == 0, run.output
    reported_in = int(re.search(r"tokens ([0-9,]+) in", run.output).group(1).replace(",", ""))  # type: ignore[union-attr]
    reported_cost = dollars("cost", run.output.split("LLM calls:")[1])
    assert planned_in == pytest.approx(reported_in, rel=0.10)
    assert planned_cost == pytest.approx(reported_cost, rel=0.10)
    found = deltas(run.output)
    assert abs(found["input"]) <= 10 and abs(found["cost"]) <= 10

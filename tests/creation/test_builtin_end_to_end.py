"""The built-in benchmark end to end through the CLI: generate_outputs (no --input_path), then evaluate."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from rubric_eval import read_records
from rubric_eval.datasets import load_benchmark
from rubric_eval.testing import OpenAICompatibleServer

pytestmark = pytest.mark.integration


def cli(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "rubric_eval", *args, "--cache_dir", str(tmp_path / "cache"), "--quiet"],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
    )


def test_generate_outputs_then_evaluate_on_the_builtin_benchmark(
    tmp_path: Path, openai_env: OpenAICompatibleServer
) -> None:
    result = cli(
        tmp_path,
        "generate_outputs",
        "--output_path",
        "outputs.json",
        "--model_configs",
        "openai/model-under-test",
    )
    assert result.returncode == 0, result.stderr
    outputs = read_records(tmp_path / "outputs.json")
    benchmark = load_benchmark()
    assert [r.instruction for r in outputs] == [r.instruction for r in benchmark]
    assert all(r.output and r.model == "model-under-test" for r in outputs)
    # The dataset is named, so the report and the leaderboard say what was evaluated.
    assert {r.dataset_name for r in outputs} == {"rubric_eval built-in benchmark"}

    result = cli(
        tmp_path,
        "evaluate",
        "--input_path",
        "outputs.json",
        "--output_path",
        "evaluations.json",
        "--evaluator_configs",
        "openai/judge",
    )
    assert result.returncode == 0, result.stderr
    evaluated = read_records(tmp_path / "evaluations.json")
    assert len(evaluated) == len(benchmark)
    for record in evaluated:
        assert record.rubric is not None and record.grades is not None
        assert [g.criterion for g in record.grades] == record.rubric.names
        assert record.score is not None and 1 <= record.score <= 10
        assert record.model == "model-under-test"

    report = cli(
        tmp_path,
        "generate_report",
        "--input_path",
        "evaluations.json",
        "--output_path",
        "report.md",
        "--summarize",
        "False",
    )
    assert report.returncode == 0, report.stderr
    assert "**Dataset**: rubric_eval built-in benchmark" in (tmp_path / "report.md").read_text()

    # Each judge prompt carries one of the generated answers.
    judge_bodies = [b for b in openai_env.requests if b["model"] == "judge"]
    assert len(judge_bodies) == len(benchmark)
    prompts = ["\n".join(m["content"] for m in body["messages"]) for body in judge_bodies]
    assert all(any(r.output in p for p in prompts) for r in outputs if r.output)

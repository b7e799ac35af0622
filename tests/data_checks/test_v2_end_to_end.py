"""Benchmark v2 end to end through the CLI against the local OpenAI-compatible test server."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from rubric_eval import read_records
from rubric_eval.cli import cli as main_cli
from rubric_eval.datasets import benchmark_files, load_benchmark
from rubric_eval.testing import OpenAICompatibleServer

pytestmark = pytest.mark.integration


def cli(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "rubric_eval", *args],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
    )


def test_each_v2_file_validates_on_the_command_line() -> None:
    for path in benchmark_files("rubriceval_builtin_v2"):
        args = ["validate", "--input_path", str(path), "--levels", "excellent,good,fair,poor"]
        result = CliRunner().invoke(main_cli, args)
        assert result.exit_code == 0, result.output
        assert "0 errors, 0 warnings" in result.output


def test_generate_outputs_then_evaluate_on_v2(tmp_path: Path, openai_env: OpenAICompatibleServer) -> None:
    common = ("--cache_dir", str(tmp_path / "cache"), "--quiet")
    result = cli(
        tmp_path,
        "generate_outputs",
        "--benchmark",
        "rubriceval_builtin_v2",
        "--output_path",
        "outputs.json",
        "--model_configs",
        "openai/model-under-test",
        *common,
    )
    assert result.returncode == 0, result.stderr
    outputs = read_records(tmp_path / "outputs.json")
    v2 = load_benchmark("rubriceval_builtin_v2")
    assert [r.id for r in outputs] == [r.id for r in v2]
    assert all(r.output for r in outputs)
    labels = {(r.model_extra or {}).get("dataset_name") for r in outputs}
    assert labels == {"rubric_eval built-in benchmark rubriceval_builtin_v2"}

    result = cli(
        tmp_path,
        "evaluate",
        "--input_path",
        "outputs.json",
        "--output_path",
        "evaluations.json",
        "--evaluator_configs",
        "openai/judge",
        *common,
    )
    assert result.returncode == 0, result.stderr
    evaluated = read_records(tmp_path / "evaluations.json")
    assert [r.id for r in evaluated] == [r.id for r in v2]
    for record in evaluated:
        assert record.rubric is not None and record.grades is not None
        assert [g.criterion for g in record.grades] == record.rubric.names
        assert record.score is not None and 1 <= record.score <= 10
    judged = [b for b in openai_env.requests if b["model"] == "judge"]
    assert len(judged) == len(v2)

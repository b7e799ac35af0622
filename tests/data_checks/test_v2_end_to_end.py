"""Benchmark v2 end to end through the CLI against the local OpenAI-compatible test server."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from rubric_eval import Record, read_records
from rubric_eval.cli import cli as main_cli
from rubric_eval.datasets import benchmark_files, load_benchmark
from rubric_eval.testing import OpenAICompatibleServer

pytestmark = pytest.mark.integration


def test_each_v2_file_validates_on_the_command_line() -> None:
    for path in benchmark_files("rubriceval_builtin_v2"):
        args = ["validate", "--input_path", str(path), "--levels", "excellent,good,fair,poor"]
        result = CliRunner().invoke(main_cli, args)
        assert result.exit_code == 0, result.output
        assert "0 errors, 0 warnings" in result.output


def test_validate_benchmark_by_name_checks_every_file() -> None:
    args = ["validate", "--benchmark", "rubriceval_builtin_v2", "--levels", "excellent,good,fair,poor"]
    result = CliRunner().invoke(main_cli, args)
    assert result.exit_code == 0, result.output
    assert result.output.count("problems: 0 errors, 0 warnings") == len(
        benchmark_files("rubriceval_builtin_v2")
    )
    assert result.output.count(".json: 10 records") == 10


@pytest.mark.parametrize("args", [[], ["--input_path", "x.json", "--benchmark", "rubriceval_builtin_v2"]])
def test_validate_needs_exactly_one_source(args: list[str]) -> None:
    result = CliRunner().invoke(main_cli, ["validate", *args])
    assert result.exit_code == 2 and "--input_path FILE or --benchmark NAME" in result.output


def _generate_then_evaluate(tmp_path: Path, server: OpenAICompatibleServer, *sample: str) -> list[Record]:
    common = ("--cache_dir", str(tmp_path / "cache"), "--quiet")
    outputs_path, evaluations_path = str(tmp_path / "outputs.json"), str(tmp_path / "evaluations.json")
    runner = CliRunner()
    result = runner.invoke(
        main_cli,
        [
            "generate_outputs",
            "--benchmark",
            "rubriceval_builtin_v2",
            "--output_path",
            outputs_path,
            "--model_configs",
            "openai/model-under-test",
            *sample,
            *common,
        ],
    )
    assert result.exit_code == 0, result.output
    outputs = read_records(tmp_path / "outputs.json")
    assert all(r.output for r in outputs)
    result = runner.invoke(
        main_cli,
        [
            "evaluate",
            "--input_path",
            outputs_path,
            "--output_path",
            evaluations_path,
            "--evaluator_configs",
            "openai/judge",
            *common,
        ],
    )
    assert result.exit_code == 0, result.output
    evaluated = read_records(tmp_path / "evaluations.json")
    assert [r.id for r in evaluated] == [r.id for r in outputs]
    for record in evaluated:
        assert record.rubric is not None and record.grades is not None
        assert [g.criterion for g in record.grades] == record.rubric.names
        assert record.score is not None and 1 <= record.score <= 10
    judged = [b for b in server.requests if b["model"] == "judge"]
    assert len(judged) == len(evaluated)
    return evaluated


def test_generate_outputs_then_evaluate_on_a_v2_sample(
    tmp_path: Path, openai_env: OpenAICompatibleServer
) -> None:
    evaluated = _generate_then_evaluate(tmp_path, openai_env, "--max_instances", "10", "--seed", "3")
    v2_ids = [r.id for r in load_benchmark("rubriceval_builtin_v2")]
    assert len(evaluated) == 10 and [r.id for r in evaluated] == [
        i for i in v2_ids if i in {r.id for r in evaluated}
    ]
    labels = {r.dataset_name for r in evaluated}
    assert labels == {"rubric_eval built-in benchmark rubriceval_builtin_v2 (sample of 10, seed 3)"}


def test_generate_outputs_then_evaluate_on_all_of_v2(
    tmp_path: Path, openai_env: OpenAICompatibleServer
) -> None:
    evaluated = _generate_then_evaluate(tmp_path, openai_env)
    assert [r.id for r in evaluated] == [r.id for r in load_benchmark("rubriceval_builtin_v2")]
    labels = {r.dataset_name for r in evaluated}
    assert labels == {"rubric_eval built-in benchmark rubriceval_builtin_v2"}


def test_one_step_run_on_v2(tmp_path: Path, openai_env: OpenAICompatibleServer) -> None:
    args = [
        "run",
        "--model_configs",
        "openai/model-under-test",
        "--benchmark",
        "rubriceval_builtin_v2",
        "--max_instances",
        "3",
        "--evaluator_configs",
        "openai/judge",
        "--output_dir",
        str(tmp_path / "runs"),
        "--summarize",
        "False",
        "--cache_dir",
        str(tmp_path / "cache"),
        "--quiet",
    ]
    result = CliRunner().invoke(main_cli, args)
    assert result.exit_code == 0, result.output
    evaluated = read_records(tmp_path / "runs" / "evaluations_model-under-test.json")
    v2_ids = {r.id for r in load_benchmark("rubriceval_builtin_v2")}
    assert len(evaluated) == 3 and {r.id for r in evaluated} <= v2_ids
    report = (tmp_path / "runs" / "evaluation_report_model-under-test.md").read_text(encoding="utf-8")
    assert "rubric_eval built-in benchmark rubriceval_builtin_v2 (sample of 3, seed 0)" in report


def test_run_refuses_benchmark_with_input_path(tmp_path: Path) -> None:
    path = tmp_path / "outputs.json"
    path.write_text("[]", encoding="utf-8")
    result = CliRunner().invoke(
        main_cli, ["run", "--input_path", str(path), "--benchmark", "rubriceval_builtin_v2"]
    )
    assert result.exit_code == 2 and "--benchmark" in result.output

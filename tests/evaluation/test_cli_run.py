"""End-to-end: the one-step command and the seed README's commands against a real local judge server."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from rubric_eval.cli import cli
from rubric_eval.testing import OpenAICompatibleServer

from ._helpers import record

JUDGE = ["--evaluator_configs", "openai/test-judge", "--summarizer_configs", "openai/test-summarizer"]
MIXTRAL = "rubriceval_sampled/outputs_Mixtral-8x22B-Instruct-v0.1.json"


def invoke(args: list[str]) -> Any:
    result = CliRunner().invoke(cli, args, catch_exceptions=False)
    return result


def schema_name(body: dict[str, Any]) -> str | None:
    fmt = body.get("response_format") or {}
    return (fmt.get("json_schema") or {}).get("name")


def judge_requests(server: OpenAICompatibleServer) -> list[dict[str, Any]]:
    return [b for b in server.requests if schema_name(b) == "RubricGrading"]


@pytest.mark.integration
def test_one_step_command_grades_the_shared_outputs_and_uses_the_cache(
    openai_env: OpenAICompatibleServer, shared_data: Path, tmp_path: Path
) -> None:
    outputs = tmp_path / "outputs.json"
    shutil.copy(shared_data / MIXTRAL, outputs)
    raw = json.loads(outputs.read_text())
    args = [f"--input_path={outputs}", *JUDGE, "--cache_dir", str(tmp_path / "cache"), "--quiet"]

    first = invoke(args)
    assert first.exit_code == 0, first.output
    judged = judge_requests(openai_env)
    assert len(judged) == 80
    # Every judge request asks for a complete grading: all of that rubric's criteria required.
    expected = sorted(sorted(c["criterion"] for c in r["rubric"]) for r in raw)
    asked = sorted(sorted(b["response_format"]["json_schema"]["schema"]["required"]) for b in judged)
    assert asked == expected

    evaluations = json.loads((tmp_path / "evaluations_Mixtral-8x22B-Instruct-v0.1.json").read_text())
    assert len(evaluations) == 80
    n_criteria = sum(len(r["rubric"]) for r in raw)
    graded = [g for r in evaluations for g in r["grades"]]
    assert len(graded) == n_criteria == 389
    assert all(g["status"] == "scored" and 1 <= g["score"] <= 10 for g in graded)
    assert all(r["score"] is not None and r["fraction_scored"] == 1.0 for r in evaluations)
    assert [r["id"] for r in evaluations] == [r["id"] for r in raw]  # order and user fields kept

    markdown = (tmp_path / "evaluation_report_Mixtral-8x22B-Instruct-v0.1.md").read_text()
    assert markdown.startswith("# Evaluation report for Mixtral-8x22B-Instruct-v0.1 on rubriceval_sampled/")
    for heading in ("## Overview", "## Details", "## Quantitative evaluation", "## Qualitative evaluation"):
        assert heading in markdown
    report = json.loads((tmp_path / "evaluation_report_Mixtral-8x22B-Instruct-v0.1.json").read_text())
    (model,) = report["models"]
    assert model["score"]["n"] == 80 and model["score"]["n_unscored"] == 0
    assert model["grading"]["n_criteria"] == 389 and model["grading"]["n_scored"] == 389
    assert len(model["categories"]) == 8
    assert model["summary"]["status"] == "ok" and model["summary"]["summarizer"] == "openai/test-summarizer"
    mean = sum(r["score"] for r in evaluations) / 80
    assert model["score"]["mean"] == pytest.approx(mean)
    assert f"**Score**: {mean:.2f} ± " in markdown

    board = json.loads((tmp_path / "leaderboard.json").read_text())
    assert [run["model"] for run in board["runs"]] == ["Mixtral-8x22B-Instruct-v0.1"]
    assert board["runs"][0]["status"] == "complete"
    assert len(board["runs"][0]["results"]["instruction_scores"]) == 80
    assert "Leaderboard" in first.output and "Mixtral-8x22B-Instruct-v0.1" in first.output

    n_requests = openai_env.request_count
    second = invoke(args)
    assert second.exit_code == 0, second.output
    assert openai_env.request_count == n_requests  # every judge and summary call came from the cache
    assert "80 from cache" in second.output
    again = json.loads((tmp_path / "evaluations_Mixtral-8x22B-Instruct-v0.1.json").read_text())
    assert [r["score"] for r in again] == [r["score"] for r in evaluations]
    assert len(json.loads((tmp_path / "leaderboard.json").read_text())["runs"]) == 1  # run replaced


@pytest.mark.integration
def test_seed_readme_flags_summarize_false_and_flag_equals_value(
    openai_env: OpenAICompatibleServer, tmp_path: Path
) -> None:
    outputs = tmp_path / "outputs.json"
    outputs.write_text(json.dumps([record(i, category="Math" if i % 2 else "Coding") for i in range(6)]))
    result = invoke(
        [
            f"--input_path={outputs}",
            "--evaluator_configs=openai/test-judge",
            "--summarize",
            "False",
            f"--cache-dir={tmp_path / 'cache'}",  # dashes work too
            "--quiet",
        ]
    )
    assert result.exit_code == 0, result.output
    assert openai_env.request_count == 6  # judge calls only: no summariser call
    markdown = (tmp_path / "evaluation_report_model-a.md").read_text()
    assert "summary skipped (summarize=False)" in markdown
    assert "| Coding |" in markdown and "| Math |" in markdown
    report = json.loads((tmp_path / "evaluation_report_model-a.json").read_text())
    assert report["models"][0]["summary"]["status"] == "skipped"
    assert report["summarizer"] is None


@pytest.mark.integration
def test_seed_readme_two_commands_evaluate_then_generate_report(
    openai_env: OpenAICompatibleServer, tmp_path: Path
) -> None:
    outputs = tmp_path / "outputs.json"
    outputs.write_text(json.dumps([record(i) for i in range(4)]))
    evaluations = tmp_path / "evaluations.json"
    cache = ["--cache_dir", str(tmp_path / "cache"), "--quiet"]
    result = invoke(
        [
            "evaluate",
            "--input_path",
            str(outputs),
            "--output_path",
            str(evaluations),
            "--summarize",
            "False",
            *JUDGE[:2],
            *cache,
        ]
    )
    assert result.exit_code == 0, result.output
    assert "4 records: 8 criteria graded, 8 scored" in result.output
    report_md = tmp_path / "reports" / "evaluation_report.md"
    result = invoke(
        ["generate_report", f"--input_path={evaluations}", f"--output_path={report_md}", *JUDGE[2:], *cache]
    )
    assert result.exit_code == 0, result.output
    assert report_md.read_text().startswith("# Evaluation report for model-a")
    twin = json.loads((tmp_path / "reports" / "evaluation_report.json").read_text())
    assert twin["models"][0]["score"]["n"] == 4
    assert (tmp_path / "reports" / "leaderboard.json").is_file()


@pytest.mark.integration
def test_several_models_in_one_file_are_ranked_together(
    openai_env: OpenAICompatibleServer, tmp_path: Path
) -> None:
    records = [record(i, model=m, output=f"{m} answer {i}") for m in ("model-a", "model-b") for i in range(5)]
    outputs = tmp_path / "outputs.json"
    outputs.write_text(json.dumps(records))
    result = invoke(
        [
            "evaluate_and_generate_report",
            "--input_path",
            str(outputs),
            "--summarize=False",
            *JUDGE[:2],
            "--cache_dir",
            str(tmp_path / "cache"),
            "--quiet",
        ]
    )
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "evaluation_report_outputs.json").read_text())
    assert sorted(m["model"] for m in report["models"]) == ["model-a", "model-b"]
    assert [row["rank"] for row in report["leaderboard"]] == [1, 2]
    assert report["leaderboard"][0]["n_paired_with_next"] == 5
    markdown = (tmp_path / "evaluation_report_outputs.md").read_text()
    assert markdown.startswith("# Evaluation report for 2 models on")
    assert "## Model: model-a" in markdown and "## Model: model-b" in markdown
    assert "### Overview" in markdown


@pytest.mark.integration
def test_run_with_model_configs_generates_outputs_first(
    openai_env: OpenAICompatibleServer, tmp_path: Path
) -> None:
    instructions = [record(i) for i in range(3)]
    for item in instructions:
        del item["output"], item["model"]
    path = tmp_path / "benchmark.json"
    path.write_text(json.dumps(instructions))
    out_dir = tmp_path / "run"
    result = invoke(
        [
            f"--input_path={path}",
            "--model_configs=openai/candidate",
            f"--output_dir={out_dir}",
            "--summarize=False",
            *JUDGE[:2],
            "--cache_dir",
            str(tmp_path / "cache"),
            "--quiet",
        ]
    )
    assert result.exit_code == 0, result.output
    generated = json.loads((out_dir / "outputs_candidate.json").read_text())
    assert all(r["output"] and r["model"] == "candidate" for r in generated)
    evaluations = json.loads((out_dir / "evaluations_candidate.json").read_text())
    assert all(r["score"] is not None for r in evaluations)
    assert (out_dir / "evaluation_report_candidate.md").is_file()
    assert json.loads(path.read_text()) == instructions  # the input is untouched


@pytest.mark.integration
def test_judge_replies_missing_a_criterion_over_http_are_unscored_and_reported(
    make_openai_server: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    def handler(body: dict[str, Any]) -> Any:
        if schema_name(body) == "RubricGrading":
            return {
                "Accuracy": {"feedback": "Quotes the answer.", "level": "good"},
                "Invented": {"level": "poor"},
            }
        return None

    server = make_openai_server(handler=handler)
    monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    outputs = tmp_path / "outputs.json"
    outputs.write_text(json.dumps([record(0), record(1)]))
    result = invoke(
        [
            f"--input_path={outputs}",
            *JUDGE[:2],
            "--summarize=False",
            "--cache_dir",
            str(tmp_path / "c"),
            "--quiet",
        ]
    )
    # A missing criterion is not a failed call, but it is unscored: exit 1, with the reason counted.
    assert result.exit_code == 1, result.output
    assert "top reasons for 2 unscored criteria:" in result.output
    assert "2 x the judge did not grade this criterion" in result.output
    assert len(judge_requests(server)) == 2 * 3  # each asked once and re-asked twice
    evaluations = json.loads((tmp_path / "evaluations_model-a.json").read_text())
    for rec in evaluations:
        assert rec["score_per_criteria"] == {"Accuracy": 7.0, "Clarity": None}
        assert rec["judge_issues"]["invented_criteria"] == ["Invented"]
    report = json.loads((tmp_path / "evaluation_report_model-a.json").read_text())
    grading = report["models"][0]["grading"]
    assert (grading["n_scored"], grading["n_unscored"], grading["n_invented_criteria"]) == (2, 2, 2)
    markdown = (tmp_path / "evaluation_report_model-a.md").read_text()
    assert "2 invented criteria" in markdown
    assert "the judge did not grade this criterion" in markdown


def test_record_without_output_is_a_clear_error(tmp_path: Path, openai_env: OpenAICompatibleServer) -> None:
    bad = record(3)
    del bad["output"]
    outputs = tmp_path / "outputs.json"
    outputs.write_text(json.dumps([record(0), bad]))
    args = ["--output_path", str(tmp_path / "e.json"), "--cache_dir", str(tmp_path / "cache")]
    result = CliRunner().invoke(cli, ["evaluate", "--input_path", str(outputs), *args])
    assert result.exit_code == 2
    assert f"{outputs}, record 1 (id=3), field 'output'" in result.output
    assert not (tmp_path / "e.json").exists()


def test_generate_report_on_unevaluated_records_names_the_record(tmp_path: Path) -> None:
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps([record(0)]))
    result = CliRunner().invoke(cli, ["generate_report", "--input_path", str(path), "--summarize", "False"])
    assert result.exit_code == 2
    assert "record 0 (id=0)" in result.output and "not evaluated" in result.output
    assert not (tmp_path / "evaluation_report.md").exists()


def test_generate_report_rejects_a_json_markdown_path(tmp_path: Path) -> None:
    path = tmp_path / "evaluations.json"
    path.write_text("[]")
    result = CliRunner().invoke(
        cli, ["generate_report", "--input_path", str(path), "--output_path", str(tmp_path / "report.json")]
    )
    assert result.exit_code == 2
    assert "JSON twin" in result.output


def test_run_without_input_or_model_is_a_usage_error() -> None:
    result = CliRunner().invoke(cli, ["run", "--summarize", "False"])
    assert result.exit_code == 2
    assert "--input_path" in result.output and "--model_configs" in result.output


@pytest.mark.integration
def test_model_configs_without_input_uses_the_builtin_benchmark(
    openai_env: OpenAICompatibleServer, tmp_path: Path
) -> None:
    out_dir = tmp_path / "runs"
    result = invoke(
        [
            "--model_configs=openai/candidate",
            "--max_instances=2",
            f"--output_dir={out_dir}",
            "--summarize=False",
            *JUDGE[:2],
            "--cache_dir",
            str(tmp_path / "cache"),
            "--quiet",
        ]
    )
    assert result.exit_code == 0, result.output
    report = json.loads((out_dir / "evaluation_report_candidate.json").read_text())
    assert report["dataset"] == "rubric_eval built-in benchmark (sample of 2, seed 0)"
    assert report["models"][0]["score"]["n"] == 2


@pytest.mark.integration
def test_generator_configs_is_model_configs_with_the_same_cached_answers(
    openai_env: OpenAICompatibleServer, tmp_path: Path
) -> None:
    instructions = [record(i) for i in range(2)]
    for item in instructions:
        del item["output"], item["model"]
    path = tmp_path / "instructions.json"
    path.write_text(json.dumps(instructions))
    cache = ["--cache_dir", str(tmp_path / "cache"), "--quiet"]
    first = invoke(["generate_outputs", f"--input_path={path}", f"--output_path={tmp_path / 'a.json'}",
                    "--model_configs=openai/candidate", *cache])  # fmt: skip
    assert first.exit_code == 0, first.output
    sent = len(openai_env.requests)
    assert sent >= 2  # the first run asked the model
    second = invoke(["generate_outputs", f"--input_path={path}", f"--output_path={tmp_path / 'b.json'}",
                     "--generator_configs=openai/candidate", *cache])  # fmt: skip
    assert second.exit_code == 0, second.output
    assert len(openai_env.requests) == sent  # the role's name changes no cache key: all answers reused
    a, b = (json.loads((tmp_path / name).read_text()) for name in ("a.json", "b.json"))
    assert [r["output"] for r in a] == [r["output"] for r in b]
    assert {r["generator"] for r in b} == {"openai/candidate"}  # the record field keeps its name

"""Nothing good is destroyed: a user's second, third and failed runs, through the CLI against the local
test server (issue 9's "Done when"): alpha then beta in one folder, a rerun with the judge down, a run
stopped by --max_cost, and the CLI and the Python API landing in one leaderboard row."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from rubric_eval import evaluate_and_generate_report, generate_outputs, read_records
from rubric_eval.cli import cli
from rubric_eval.engine import Engine, EngineSettings
from rubric_eval.testing import OpenAICompatibleServer

from ._helpers import record

pytestmark = pytest.mark.integration

JUDGE = ["--evaluator_configs", "openai/test-judge", "--summarize", "False", "--quiet"]


def invoke(args: list[str]) -> Any:
    return CliRunner().invoke(cli, args, catch_exceptions=False)


def seed_records(n: int, prefix: str) -> list[dict[str, Any]]:
    """Seed-README records: instruction, rubric, outputs; no model field."""
    rows = []
    for i in range(n):
        item = record(i, output=f"{prefix} answers {i}")
        del item["model"], item["output"]
        item["outputs"] = f"{prefix} answers {i}"
        rows.append(item)
    return rows


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"  # nothing listens there once the socket is closed


def board_runs(folder: Path) -> list[dict[str, Any]]:
    runs: list[dict[str, Any]] = json.loads((folder / "leaderboard.json").read_text())["runs"]
    return runs


def test_alpha_then_beta_in_one_folder_keeps_both(openai_env: OpenAICompatibleServer, tmp_path: Path) -> None:
    (tmp_path / "alpha.json").write_text(json.dumps(seed_records(4, "alpha")))
    (tmp_path / "beta.json").write_text(json.dumps(seed_records(4, "beta")))
    cache = ["--cache_dir", str(tmp_path / "cache")]
    first = invoke(["--input_path", str(tmp_path / "alpha.json"), *JUDGE, *cache])
    assert first.exit_code == 0, first.output
    alpha_files = {
        name: (tmp_path / name).read_bytes()
        for name in (
            "evaluations_alpha.json",
            "evaluations_alpha.runs.json",
            "evaluation_report_alpha.md",
            "evaluation_report_alpha.json",
        )
    }
    second = invoke(["--input_path", str(tmp_path / "beta.json"), *JUDGE, *cache])
    assert second.exit_code == 0, second.output
    for name, content in alpha_files.items():
        assert (tmp_path / name).read_bytes() == content, f"{name} was overwritten"
    assert {r.model for r in read_records(tmp_path / "evaluations_beta.json")} == {"beta"}
    assert (tmp_path / "evaluation_report_beta.md").read_text().startswith("# Evaluation report for beta")
    runs = board_runs(tmp_path)
    assert sorted((r["model"], r["status"]) for r in runs) == [("alpha", "complete"), ("beta", "complete")]
    assert len({r["dataset"]["fingerprint"] for r in runs}) == 1  # same instructions: one leaderboard
    report = json.loads((tmp_path / "evaluation_report_beta.json").read_text())
    assert sorted((row["rank"], row["model"]) for row in report["leaderboard"])[0][0] == 1
    assert {row["model"] for row in report["leaderboard"]} == {"alpha", "beta"}
    run = report["models"][0]["run"]
    assert run["judge"]["name"] == "openai/test-judge" and run["judge"]["model"] == "test-judge"
    assert run["judge"]["template"].startswith("evaluate/v")  # template id and content hash
    assert "@" in run["judge"]["template"]
    assert run["input_path"] == str(tmp_path / "beta.json")
    assert run["timing"]["wall_time_s"] > 0 and "summed_call_latency_s" in run["timing"]
    assert run["totals"]["calls"] == 4


def test_another_judge_gets_its_own_files_and_overwrite_replaces(
    openai_env: OpenAICompatibleServer, tmp_path: Path
) -> None:
    (tmp_path / "alpha.json").write_text(json.dumps(seed_records(3, "alpha")))
    cache = ["--cache_dir", str(tmp_path / "cache")]
    assert invoke(["--input_path", str(tmp_path / "alpha.json"), *JUDGE, *cache]).exit_code == 0
    before = (tmp_path / "evaluations_alpha.json").read_bytes()
    other = ["--evaluator_configs", "openai/other-judge", "--summarize", "False", "--quiet"]
    assert invoke(["--input_path", str(tmp_path / "alpha.json"), *other, *cache]).exit_code == 0
    assert (tmp_path / "evaluations_alpha.json").read_bytes() == before
    judged = read_records(tmp_path / "evaluations_alpha_judge-openai-other-judge.json")
    assert {r.evaluator for r in judged} == {"openai/other-judge"}
    assert len(board_runs(tmp_path)) == 2  # one row per judge
    # `evaluate --output_path` onto another judge's file is refused without --overwrite.
    target = tmp_path / "evaluations_alpha.json"
    args = [
        "evaluate",
        "--input_path",
        str(tmp_path / "alpha.json"),
        "--output_path",
        str(target),
        *other,
        *cache,
    ]
    refused = CliRunner().invoke(cli, args)
    assert refused.exit_code == 2 and "--overwrite" in refused.output
    assert target.read_bytes() == before
    assert invoke([*args, "--overwrite"]).exit_code == 0
    assert {r.evaluator for r in read_records(target)} == {"openai/other-judge"}


def test_a_rerun_with_the_judge_down_keeps_the_complete_results(
    openai_env: OpenAICompatibleServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "alpha.json").write_text(json.dumps(seed_records(4, "alpha")))
    assert (
        invoke(
            ["--input_path", str(tmp_path / "alpha.json"), *JUDGE, "--cache_dir", str(tmp_path / "c1")]
        ).exit_code
        == 0
    )
    complete = board_runs(tmp_path)[0]
    kept = {p.name: p.read_bytes() for p in tmp_path.glob("evaluat*_alpha*")}

    monkeypatch.setenv("OPENAI_BASE_URL", closed_port_url())
    down = invoke(
        [
            "--input_path",
            str(tmp_path / "alpha.json"),
            *JUDGE,
            "--cache_dir",
            str(tmp_path / "c2"),
            "--max_attempts",
            "1",
        ]
    )
    assert down.exit_code == 1
    for name, content in kept.items():
        assert (tmp_path / name).read_bytes() == content, f"{name} was overwritten by the failed rerun"
    runs = board_runs(tmp_path)
    assert sorted(r["status"] for r in runs) == ["complete", "failed"]
    assert next(r for r in runs if r["status"] == "complete") == complete
    partial = (tmp_path / "evaluation_report_alpha.partial.md").read_text()
    assert "**alpha: failed: 0 of 4 scored**" in partial.split("## Overview")[0]
    report = json.loads((tmp_path / "evaluation_report_alpha.partial.json").read_text())
    ranked = [(row["rank"], row["status"]) for row in report["leaderboard"]]
    assert ranked == [(1, "complete"), (None, "failed")]
    assert "failed: 0 of 4 scored" in down.output


def test_a_run_stopped_by_max_cost_is_flagged_and_never_ranked_above_the_complete_row(
    openai_env: OpenAICompatibleServer, tmp_path: Path
) -> None:
    judge = tmp_path / "priced_judge.yaml"
    judge.write_text(
        "name: priced-judge\nprovider: openai\nmodel: test-judge\n"
        "price_per_million_input: 1000\nprice_per_million_output: 1000\n"
    )
    (tmp_path / "alpha.json").write_text(json.dumps(seed_records(8, "alpha")))
    args = [
        "--input_path",
        str(tmp_path / "alpha.json"),
        "--evaluator_configs",
        str(judge),
        "--summarize",
        "False",
    ]
    args += ["--quiet", "--max_concurrency", "1"]
    assert invoke([*args, "--cache_dir", str(tmp_path / "c1")]).exit_code == 0
    (complete,) = board_runs(tmp_path)
    spent = complete["totals"]["spent_usd"]
    assert spent > 0 and complete["totals"]["answers_cost_usd"] == pytest.approx(spent)

    stopped = invoke([*args, "--cache_dir", str(tmp_path / "c2"), "--max_cost", str(spent * 0.45)])
    assert stopped.exit_code == 1
    runs = {r["status"]: r for r in board_runs(tmp_path)}
    assert set(runs) == {"complete", "budget_stopped"}
    assert runs["complete"] == complete
    counts = runs["budget_stopped"]["counts"]
    assert 0 < counts["n_scored"] < 8 and counts["n_budget_stopped"] == 8 - counts["n_scored"]
    report = json.loads((tmp_path / "evaluation_report_alpha.partial.json").read_text())
    assert [(row["rank"], row["status"]) for row in report["leaderboard"]] == [
        (1, "complete"),
        (None, "budget_stopped"),
    ]
    assert f"budget_stopped: {counts['n_scored']} of 8 scored" in stopped.output


def test_cli_and_python_api_outputs_of_one_model_from_two_files_meet_in_one_row(
    openai_env: OpenAICompatibleServer, tmp_path: Path, engine_settings: EngineSettings
) -> None:
    instructions = [{k: v for k, v in record(i).items() if k not in ("output", "model")} for i in range(3)]
    (tmp_path / "bench_a.json").write_text(json.dumps(instructions))
    # The same instructions in another file: reversed, rubrics in the seed README's dict-of-dicts form.
    other = []
    for item in reversed(instructions):
        rubric = {row["criterion"]: row["performance_to_description"] for row in item["rubric"]}
        other.append({**item, "rubric": rubric, "note": "mine"})
    (tmp_path / "bench_b.json").write_text(json.dumps(other))
    # Equal weights in dict-of-dicts: make the list form equal too, so both rubrics are the same rubric.
    for item in instructions:
        for row in item["rubric"]:
            row["weight"] = 50.0
    (tmp_path / "bench_a.json").write_text(json.dumps(instructions))

    result = invoke(
        [
            "--input_path",
            str(tmp_path / "bench_a.json"),
            "--model_configs",
            "gpt-4o-mini",
            *JUDGE,
            "--cache_dir",
            str(tmp_path / "cache"),
        ]
    )
    assert result.exit_code == 0, result.output
    board = tmp_path / "leaderboard.json"
    (cli_run,) = json.loads(board.read_text())["runs"]
    assert cli_run["model"] == "gpt-4o-mini"

    engine = Engine(engine_settings)
    outputs = generate_outputs(
        read_records(tmp_path / "bench_b.json"), model="openai/gpt-4o-mini", engine=engine
    )
    _, report = evaluate_and_generate_report(
        outputs, evaluator="openai/test-judge", summarize=False, engine=engine, leaderboard_path=board
    )
    assert report.models[0].model == "gpt-4o-mini"
    (api_run,) = json.loads(board.read_text())["runs"]  # one row: the API's run replaced the CLI's
    assert api_run["run_id"] != cli_run["run_id"]
    assert api_run["dataset"]["fingerprint"] == cli_run["dataset"]["fingerprint"]
    assert (api_run["model"], api_run["judge"]["name"]) == ("gpt-4o-mini", "openai/test-judge")


def test_after_a_max_cost_stop_the_summaries_are_skipped_once_with_the_reason(
    openai_env: OpenAICompatibleServer, tmp_path: Path
) -> None:
    judge = tmp_path / "priced_judge.yaml"
    judge.write_text(
        "name: priced-judge\nprovider: openai\nmodel: test-judge\n"
        "price_per_million_input: 1000\nprice_per_million_output: 1000\n"
    )
    (tmp_path / "alpha.json").write_text(json.dumps(seed_records(8, "alpha")))
    args = ["--input_path", str(tmp_path / "alpha.json"), "--evaluator_configs", str(judge)]
    args += ["--quiet", "--max_concurrency", "1"]
    first = invoke([*args, "--summarize", "False", "--cache_dir", str(tmp_path / "c1")])
    assert first.exit_code == 0
    (complete,) = board_runs(tmp_path)
    n_requests = openai_env.request_count

    budget = str(complete["totals"]["spent_usd"] * 0.45)
    stopped = invoke([*args, "--cache_dir", str(tmp_path / "c2"), "--max_cost", budget])
    assert stopped.exit_code == 1
    counts = {r["status"]: r for r in board_runs(tmp_path)}["budget_stopped"]["counts"]
    assert 0 < counts["n_scored"] < 8  # some feedback exists, so a summary would have been asked for
    report = (tmp_path / "evaluation_report_alpha.partial.md").read_text()
    assert "summary skipped (the --max_cost budget is spent)" in report
    # Only the judge was asked: no summariser call was attempted after the budget was spent.
    assert {body["model"] for body in openai_env.requests[n_requests:]} == {"test-judge"}

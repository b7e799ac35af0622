"""`rubric_eval leaderboard`: list, filter, compare, export CSV/markdown, remove; DataFrames for notebooks."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from click.testing import CliRunner

from rubric_eval.cli import cli
from rubric_eval.reporting import generate_report, load_leaderboard, update_leaderboard
from rubric_eval.reporting.frames import leaderboard_frame

from ._helpers import record, run_record

KEYS = [str(i) for i in range(12)]


@pytest.fixture
def board(tmp_path: Path) -> Path:
    path = tmp_path / "leaderboard.json"
    update_leaderboard(
        path,
        [
            run_record("strong", {k: 9.0 for k in KEYS}),
            run_record("weak", {k: 3.0 for k in KEYS}),
            run_record("mid", {k: 6.0 + (0.5 if int(k) % 2 else -0.5) for k in KEYS}),
            run_record("other-judge-model", {k: 5.0 for k in KEYS}, judge="judge-2"),
        ],
    )
    update_leaderboard(
        path, [run_record("strong", {"0": 1.0}, status="budget_stopped", n_unscored=11, run_id="r2")]
    )
    return path


def lb(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["leaderboard", *args])
    return result.exit_code, result.output


def test_lists_each_dataset_and_judge_group_ranked_with_incomplete_runs_flagged(board: Path) -> None:
    code, out = lb("--leaderboard_path", str(board), "--n_resamples", "200")
    assert code == 0, out
    assert out.index("), judge judge ") < out.index("), judge judge-2")
    assert out.index("strong") < out.index("mid") < out.index("weak")
    assert "strong (budget_stopped: 1 of 12 scored)" in out
    assert "Every pair" in out and "Holm" in out
    assert "Score per model and category" in out


def test_filters_and_csv_export(board: Path, tmp_path: Path) -> None:
    out_csv = tmp_path / "board.csv"
    code, out = lb(
        "--leaderboard_path",
        str(board),
        "--judge",
        "judge",
        "--format",
        "csv",
        "--output_path",
        str(out_csv),
        "--n_resamples",
        "200",
    )
    assert code == 0, out
    rows = list(csv.DictReader(io.StringIO(out_csv.read_text())))
    assert [(r["rank"], r["model"], r["status"]) for r in rows] == [
        ("1", "strong", "complete"),
        ("2", "mid", "complete"),
        ("3", "weak", "complete"),
        ("", "strong", "budget_stopped"),
    ]
    assert rows[0]["category:Math"] == "9.0" and rows[0]["judge"] == "judge"
    code, out = lb("--leaderboard_path", str(board), "--model", "weak", "--format", "csv")
    assert [r["model"] for r in csv.DictReader(io.StringIO(out))] == ["weak"]


def test_markdown_export_has_pairwise_holm_and_baseline_tables(board: Path) -> None:
    code, out = lb(
        "--leaderboard_path",
        str(board),
        "--judge",
        "judge",
        "--format",
        "markdown",
        "--baseline",
        "weak",
        "--n_resamples",
        "500",
    )
    assert code == 0, out
    assert out.startswith("# Leaderboard (leaderboard.json)")
    assert "| 1 | strong | complete | 9.00 |" in out
    assert "| - | strong | budget_stopped: 1 of 12 scored |" in out
    assert "Every pair (paired sign-flip test on shared instructions; Holm-adjusted over 3 comparisons" in out
    assert "Against the baseline weak" in out
    assert "| strong | weak | 6.00 | 12 |" in out


def test_remove_needs_a_filter_and_removes_matching_runs(board: Path) -> None:
    code, out = lb("--leaderboard_path", str(board), "--remove")
    assert code == 2 and "needs a filter" in out
    code, out = lb(
        "--leaderboard_path", str(board), "--remove", "--model", "strong", "--status", "incomplete"
    )
    assert code == 0, out
    assert "removed strong (budget_stopped: 1 of 12 scored" in out
    assert sorted((r.model, r.status) for r in load_leaderboard(board).runs) == [
        ("mid", "complete"),
        ("other-judge-model", "complete"),
        ("strong", "complete"),
        ("weak", "complete"),
    ]


def test_a_missing_leaderboard_is_a_clear_error(tmp_path: Path) -> None:
    code, out = lb("--leaderboard_path", str(tmp_path / "none.json"))
    assert code == 2 and "no leaderboard file" in out


def test_reports_and_leaderboards_convert_to_dataframes() -> None:
    pd = pytest.importorskip("pandas")
    records = [
        record(
            i,
            grades=[
                {"criterion": "Accuracy", "status": "scored", "level": "good", "score": 7.0, "feedback": "f"}
            ],
            score=7.0,
        )
        for i in range(3)
    ]
    report = generate_report(records, n_resamples=100)
    models = report.to_dataframe()
    assert list(models["model"]) == ["model-a"] and models["score"][0] == pytest.approx(7.0)
    answers = report.to_dataframe("answers")
    assert len(answers) == 3 and set(answers["category"]) == {"Reasoning"}
    grades = report.to_dataframe("grades")
    assert list(grades["level"]) == ["good"] * 3
    frame = leaderboard_frame(report.leaderboard)
    assert isinstance(frame, pd.DataFrame) and list(frame["model"]) == ["model-a"]
    with pytest.raises(ValueError, match="unknown level"):
        report.to_dataframe("nope")


def test_category_table_names_a_flagged_run_with_its_status(board: Path) -> None:
    # The model x category table listed the budget-stopped run as a second bare "strong" row.
    code, out = lb("--leaderboard_path", str(board), "--judge", "judge", "--format", "markdown")
    assert code == 0, out
    table = out[out.index("Score per model and category") :]
    assert "| strong | 9.00 |" in table
    assert "| strong (budget_stopped: 1 of 12 scored) | 1.00 |" in table

"""The leaderboard file: run records keyed by (dataset, judge, model), the never-lose-a-complete-row rule,
ranking with paired tests, Holm-corrected pairwise and baseline comparisons, removal, format 1 files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from rich.console import Console

from rubric_eval import InputError
from rubric_eval.reporting.leaderboard import (
    Leaderboard,
    instruction_key,
    leaderboard_views,
    load_leaderboard,
    print_leaderboard,
    rank_runs,
    remove_from_leaderboard,
    update_leaderboard,
)

from ._helpers import run_record as run


def test_update_creates_the_file_and_a_complete_run_replaces_its_key(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "leaderboard.json"
    update_leaderboard(path, [run("a", {"1": 5.0}), run("b", {"1": 4.0})])
    board = update_leaderboard(path, [run("a", {"1": 9.0}, run_id="r2")])
    assert sorted((r.model, r.run_id) for r in board.runs) == [("a", "r2"), ("b", "r1")]
    assert load_leaderboard(path) == board
    assert [p.name for p in path.parent.iterdir() if p.suffix == ".tmp"] == []


def test_an_incomplete_run_never_replaces_a_complete_one_and_is_kept_flagged(tmp_path: Path) -> None:
    path = tmp_path / "leaderboard.json"
    update_leaderboard(path, [run("a", {"1": 5.9, "2": 5.9}), run("b", {"1": 3.0, "2": 3.0})])
    board = update_leaderboard(
        path, [run("a", {"1": 9.0}, status="budget_stopped", n_unscored=1, run_id="r2")]
    )
    assert sorted((r.model, r.status) for r in board.runs) == [
        ("a", "budget_stopped"),
        ("a", "complete"),
        ("b", "complete"),
    ]
    rows = rank_runs(board.runs, n_resamples=100)
    assert [(r.rank, r.model, r.flagged) for r in rows] == [
        (1, "a", False),
        (2, "b", False),
        (None, "a", True),
    ]
    assert rows[0].score == pytest.approx(5.9)  # the complete row, not the higher partial one
    assert rows[2].status_text == "budget_stopped: 1 of 2 scored"
    # A second incomplete run replaces the first incomplete one only; a complete rerun clears it.
    board = update_leaderboard(path, [run("a", {}, status="failed", n_unscored=2, run_id="r3")])
    assert sorted((r.model, r.run_id) for r in board.runs) == [("a", "r1"), ("a", "r3"), ("b", "r1")]
    board = update_leaderboard(path, [run("a", {"1": 6.0, "2": 6.0}, run_id="r4")])
    assert sorted((r.model, r.run_id) for r in board.runs) == [("a", "r4"), ("b", "r1")]


def test_runs_differing_in_dataset_or_judge_are_kept_apart(tmp_path: Path) -> None:
    path = tmp_path / "leaderboard.json"
    board = update_leaderboard(
        path,
        [run("a", {"1": 5.0}), run("a", {"1": 6.0}, judge="other-judge"), run("a", {"1": 7.0}, dataset="x")],
    )
    assert len(board.runs) == 3
    assert [r.results.score.mean for r in board.select(judge="other-judge") if r.results] == [6.0]
    assert len(leaderboard_views(board.runs)) == 3


def test_remove_by_model_and_status(tmp_path: Path) -> None:
    path = tmp_path / "leaderboard.json"
    update_leaderboard(path, [run("a", {"1": 5.0}), run("b", {"1": 4.0})])
    update_leaderboard(path, [run("a", {}, status="partial", n_unscored=1, run_id="r2")])
    removed = remove_from_leaderboard(path, model="a", status="incomplete")
    assert [(r.model, r.status) for r in removed] == [("a", "partial")]
    assert sorted(r.model for r in load_leaderboard(path).runs) == ["a", "b"]
    assert remove_from_leaderboard(path, model="nobody") == []


def test_missing_file_is_empty_and_a_bad_file_is_a_clear_error(tmp_path: Path) -> None:
    assert load_leaderboard(tmp_path / "none.json").runs == []
    bad = tmp_path / "leaderboard.json"
    bad.write_text('{"runs": [{"model": "a"}]}')
    with pytest.raises(InputError, match="not a rubric_eval leaderboard"):
        load_leaderboard(bad)


def test_a_format_1_file_is_read_as_run_records(tmp_path: Path) -> None:
    path = tmp_path / "leaderboard.json"
    row = {
        "model": "a",
        "dataset": "bench",
        "evaluator": "gpt-5-mini",
        "score": 5.9,
        "sem": 0.2,
        "n": 41,
        "n_unscored": 0,
        "date": "2026-11-01",
        "instruction_scores": {"k": 5.9},
    }
    path.write_text(
        json.dumps({"format_version": 1, "rows": [row, {**row, "model": "b", "n": 4, "n_unscored": 37}]})
    )
    board = load_leaderboard(path)
    assert [(r.model, r.status, r.judge.name) for r in board.runs] == [
        ("a", "complete", "gpt-5-mini"),
        ("b", "partial", "gpt-5-mini"),
    ]
    assert [(r.rank, r.model) for r in rank_runs(board.runs)] == [(1, "a"), (None, "b")]


def test_ranking_tests_each_model_against_the_next_on_shared_instructions() -> None:
    keys = [str(i) for i in range(15)]
    top = run("top", {k: 9.0 for k in keys})
    mid = run("mid", {k: 5.0 + (i % 2) for i, k in enumerate(keys)})
    # `close` shares only 10 instructions with `mid` and differs by a coin flip on each.
    close = run("close", {k: 5.0 + ((i + 1) % 2) for i, k in enumerate(keys[:10])} | {"x": 4.0})
    unscored = run("broken", {}, n_unscored=15)
    ranked = rank_runs([close, unscored, mid, top], n_resamples=500)
    assert [r.model for r in ranked] == ["top", "mid", "close", "broken"]
    assert ranked[0].above_next is True and ranked[0].n_paired_with_next == 15
    assert ranked[1].above_next is False and ranked[1].n_paired_with_next == 10
    assert ranked[2].n_paired_with_next is None  # the next one has no score
    assert ranked[3].above_next is None


def test_every_pair_is_tested_with_holm_correction_and_against_a_baseline() -> None:
    keys = [str(i) for i in range(20)]
    runs = [
        run("high", {k: 9.0 for k in keys}),
        run("low", {k: 2.0 for k in keys}),
        run("noisy", {k: 5.0 + (1 if i % 2 else -1) for i, k in enumerate(keys)}),
    ]
    (view,) = leaderboard_views(runs, baseline="low", n_resamples=2000)
    assert view.correction == "holm"
    pairs = {(c.model_a, c.model_b): c for c in view.pairwise}
    assert set(pairs) == {("high", "noisy"), ("high", "low"), ("noisy", "low")}
    for c in pairs.values():
        assert c.p_value is not None and c.p_adjusted is not None and c.p_adjusted >= c.p_value
    assert pairs[("high", "low")].significant and pairs[("high", "low")].mean_difference == pytest.approx(7.0)
    assert [(c.model_a, c.model_b) for c in view.vs_baseline] == [("high", "low"), ("noisy", "low")]
    assert view.rows[0].categories == {"Math": 9.0}


def test_printed_table_marks_significance_and_flags_incomplete_runs() -> None:
    keys = [str(i) for i in range(15)]
    ranked = rank_runs(
        [
            run("a", {k: 9.0 for k in keys}),
            run("b [bold]", {k: 2.0 for k in keys}),
            run("c", {k: 9.9 for k in keys[:4]}, status="budget_stopped", n_unscored=11),
        ]
    )
    console = Console(record=True, width=200)
    print_leaderboard(ranked, title="Leaderboard", console=console)
    text = console.export_text()
    assert "yes (p=" in text and "n paired=15" in text
    assert "b [bold]" in text  # model names are not rich markup
    assert "c (budget_stopped: 4 of 15 scored)" in text
    assert text.index("b [bold]") < text.index("c (budget_stopped")


def test_add_refuses_a_run_without_results() -> None:
    bare = run("a", {"1": 1.0}).model_copy(update={"results": None})
    with pytest.raises(ValueError, match="without results"):
        Leaderboard().add(bare)


def test_instruction_key_uses_id_and_text() -> None:
    assert instruction_key("Write a poem.", 3) == instruction_key("Write a poem.  ", 3)
    assert instruction_key("Write a poem.", 3) != instruction_key("Write a poem.", 4)
    assert instruction_key("Write a poem.") != instruction_key("Write a song.")

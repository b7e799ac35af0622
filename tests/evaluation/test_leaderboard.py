"""The leaderboard file: upsert, atomic persistence, ranking and the paired comparison."""

from __future__ import annotations

from pathlib import Path

import pytest
from rich.console import Console

from rubric_eval import InputError
from rubric_eval.reporting.leaderboard import (
    LeaderboardRow,
    instruction_key,
    load_leaderboard,
    print_leaderboard,
    rank_rows,
    update_leaderboard,
)


def row(model: str, scores: dict[str, float], **kw: object) -> LeaderboardRow:
    mean = sum(scores.values()) / len(scores) if scores else None
    fields: dict[str, object] = {
        "model": model,
        "dataset": "bench",
        "evaluator": "judge",
        "score": mean,
        "sem": 0.1,
        "n": len(scores),
        "n_unscored": 0,
        "date": "2026-01-01",
        "instruction_scores": scores,
    }
    fields.update(kw)
    return LeaderboardRow.model_validate(fields)


def test_update_creates_the_file_and_replaces_the_same_model(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "leaderboard.json"
    update_leaderboard(path, [row("a", {"1": 5.0}), row("b", {"1": 4.0})])
    board = update_leaderboard(path, [row("a", {"1": 9.0})])
    assert sorted((r.model, r.score) for r in board.rows) == [("a", 9.0), ("b", 4.0)]
    assert load_leaderboard(path) == board
    assert [p.name for p in path.parent.iterdir() if p.suffix == ".tmp"] == []


def test_rows_differing_in_dataset_or_judge_are_kept_apart(tmp_path: Path) -> None:
    path = tmp_path / "leaderboard.json"
    board = update_leaderboard(path, [row("a", {"1": 5.0}), row("a", {"1": 6.0}, evaluator="other-judge")])
    assert len(board.rows) == 2
    assert [r.score for r in board.select(evaluator="other-judge")] == [6.0]


def test_missing_file_is_empty_and_a_bad_file_is_a_clear_error(tmp_path: Path) -> None:
    assert load_leaderboard(tmp_path / "none.json").rows == []
    bad = tmp_path / "leaderboard.json"
    bad.write_text('{"rows": [{"model": "a"}]}')
    with pytest.raises(InputError, match="not a rubric_eval leaderboard"):
        load_leaderboard(bad)


def test_ranking_tests_each_model_against_the_next_on_shared_instructions() -> None:
    keys = [str(i) for i in range(15)]
    top = row("top", {k: 9.0 for k in keys})
    mid = row("mid", {k: 5.0 + (i % 2) for i, k in enumerate(keys)})
    # `close` shares only 10 instructions with `mid` and differs by a coin flip on each.
    close = row("close", {k: 5.0 + ((i + 1) % 2) for i, k in enumerate(keys[:10])} | {"x": 4.0})
    unscored = row("broken", {}, n_unscored=15)
    ranked = rank_rows([close, unscored, mid, top], n_resamples=500)
    assert [r.model for r in ranked] == ["top", "mid", "close", "broken"]
    assert ranked[0].above_next is True and ranked[0].n_paired_with_next == 15
    assert ranked[1].above_next is False and ranked[1].n_paired_with_next == 10
    assert ranked[2].n_paired_with_next is None  # the next one has no score
    assert ranked[3].above_next is None


def test_printed_table_marks_significance(tmp_path: Path) -> None:
    keys = [str(i) for i in range(15)]
    ranked = rank_rows([row("a", {k: 9.0 for k in keys}), row("b [bold]", {k: 2.0 for k in keys})])
    console = Console(record=True, width=160)
    print_leaderboard(ranked, title="Leaderboard", console=console)
    text = console.export_text()
    assert "yes (p=" in text and "n paired=15" in text
    assert "b [bold]" in text  # model names are not rich markup


def test_instruction_key_uses_id_and_text() -> None:
    assert instruction_key("Write a poem.", 3) == instruction_key("Write a poem.  ", 3)
    assert instruction_key("Write a poem.", 3) != instruction_key("Write a poem.", 4)
    assert instruction_key("Write a poem.") != instruction_key("Write a song.")

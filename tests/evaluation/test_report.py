"""`generate_report`: every number against hand-computed values, markdown safety, JSON twin, leaderboard."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from rubric_eval import InputError, Record, evaluate_and_generate_report, generate_report
from rubric_eval.cli import cli
from rubric_eval.engine import EngineSettings, ProviderError
from rubric_eval.pipeline import report_evaluations, summarize_evaluations
from rubric_eval.records import Record as RecordModel
from rubric_eval.reporting.report import report_from_json

from ._helpers import grading, record, scripted_engine

SCORES = {"excellent": 10.0, "good": 7.0, "fair": 4.0, "poor": 1.0}


def graded(
    index: int, category: str, accuracy: str | None, clarity: str | None, **extra: Any
) -> dict[str, Any]:
    """An evaluated record; a level of None is an unscored criterion."""
    grades = []
    for name, level in (("Accuracy", accuracy), ("Clarity", clarity)):
        if level is None:
            grades.append({"criterion": name, "status": "unscored", "reason": "judge call failed: HTTP 500"})
        else:
            grades.append(
                {
                    "criterion": name,
                    "status": "scored",
                    "level": level,
                    "score": SCORES[level],
                    "feedback": "ok",
                }
            )
    return record(index, category=category, grades=grades, evaluator="openai/judge", **extra)


def sample() -> list[dict[str, Any]]:
    return [
        graded(0, "Math", "good", "excellent"),  # 0.6*7 + 0.4*10 = 8.2
        graded(1, "Math", "poor", "fair"),  # 0.6*1 + 0.4*4 = 2.2
        graded(2, "Coding", None, "good"),  # renormalised over Clarity: 7.0
        graded(3, "Coding", None, None),  # unscored
        graded(4, "Writing", "fair", "fair"),  # 4.0, a one-instruction category
    ]


def test_scores_sem_and_categories_by_hand() -> None:
    report = generate_report(sample(), n_resamples=500)
    (model,) = report.models
    assert model.n_instructions == 5
    assert model.score.mean == pytest.approx((8.2 + 2.2 + 7.0 + 4.0) / 4)  # 5.35
    # deviations 2.85, -3.15, 1.65, -1.35: sum of squares 22.59; SEM = sqrt(22.59 / 3) / 2
    assert model.score.sem == pytest.approx((22.59 / 3) ** 0.5 / 2)
    assert (model.score.n, model.score.n_unscored) == (4, 1)
    assert model.score.ci_low is not None and model.score.ci_low < 5.35 < (model.score.ci_high or 0)
    cats = {c.category: c for c in model.categories}
    assert (cats["Math"].mean, cats["Math"].sem, cats["Math"].n) == (
        pytest.approx(5.2),
        pytest.approx(3.0),
        2,
    )
    assert (cats["Coding"].mean, cats["Coding"].sem, cats["Coding"].n, cats["Coding"].n_unscored) == (
        7.0,
        None,
        1,
        1,
    )
    assert (cats["Writing"].mean, cats["Writing"].sem, cats["Writing"].n) == (4.0, None, 1)
    assert model.grading.n_criteria == 10
    assert (model.grading.n_scored, model.grading.n_unscored) == (7, 3)
    assert model.grading.n_instructions_partially_scored == 1
    assert model.grading.unscored_reasons == {"judge call failed: HTTP 500": 3}


def test_markdown_follows_the_seed_layout_and_shows_n_sem_and_unscored() -> None:
    markdown = generate_report(sample(), n_resamples=500).markdown
    assert markdown.startswith("# Evaluation report for model-a on unnamed dataset (5 instructions, ")
    sections = ["## Overview", "## Details", "## Quantitative evaluation", "## Qualitative evaluation"]
    assert [markdown.index(s) for s in sections] == sorted(markdown.index(s) for s in sections)
    assert (
        "**Score**: 5.35 ± 1.37 (1-10 scale; mean ± SEM over n = 4 scored instructions; 1 unscored)"
        in markdown
    )
    assert "| Coding | 7.00 | n/a | 1 | 1 |" in markdown
    assert "| Math | 5.20 | 3.00 | 2 | 0 |" in markdown
    assert "| judge call failed: HTTP 500 | 3 |" in markdown
    assert "**Num. instructions**: 5" in markdown
    assert "_No feedback summary: summary skipped (no summariser run)._" in markdown


def test_a_report_of_a_run_that_is_not_complete_says_so_at_the_top() -> None:
    report = generate_report(sample(), n_resamples=100)
    (model,) = report.models
    assert model.run.status == "partial" and model.status == "partial: 4 of 5 scored"
    head = report.markdown.split("## Overview")[0]
    assert "**model-a: partial: 4 of 5 scored**" in head
    assert [r.flagged for r in report.leaderboard] == [True]


def test_summarizer_none_skips_the_summary_and_says_so() -> None:
    records = [RecordModel.model_validate(r) for r in sample()]
    summaries, name = summarize_evaluations(records, summarizer="None")
    report = generate_report(records, summaries=summaries, summarizer=name)
    assert report.summarizer is None
    assert report.models[0].summary.status == "skipped"
    assert "summary skipped (summarizer 'None')" in report.markdown


def test_same_input_same_report_numbers() -> None:
    first = generate_report(sample(), n_resamples=300).models[0].score
    second = generate_report(sample(), n_resamples=300).models[0].score
    assert first == second


def test_model_text_cannot_break_tables_or_inject_html() -> None:
    records = [graded(0, "A|B\nC <script>", "good", "good", model="evil|model\n# heading")]
    markdown = generate_report(records).markdown
    assert "| A\\|B<br>C &lt;script&gt; | 7.00 |" in markdown
    assert "<script>" not in markdown
    assert "\n# heading" not in markdown
    for line in markdown.splitlines():
        if line.startswith("| ") and "evil" in line:
            assert "evil\\|model<br># heading" in line


def test_json_twin_has_every_number_and_never_overwrites_the_markdown(tmp_path: Path) -> None:
    report = generate_report(sample(), n_resamples=300)
    md, js = report.write(tmp_path / "evaluation_report.md")
    assert (md.name, js.name) == ("evaluation_report.md", "evaluation_report.json")
    assert md.read_text().startswith("# Evaluation report")
    data = json.loads(js.read_text())
    assert data["models"][0]["score"]["sem"] == pytest.approx(report.models[0].score.sem)
    assert report_from_json(js.read_text()) == report
    with pytest.raises(InputError, match="JSON twin"):
        report.write(tmp_path / "report.json")


def test_unequal_instruction_weights_are_used_and_noted() -> None:
    records = [
        graded(0, "Math", "poor", "poor", weight=1),
        graded(1, "Math", "excellent", "excellent", weight=3),
    ]
    report = generate_report(records, n_resamples=200)
    assert report.models[0].score.mean == pytest.approx((1 * 1 + 3 * 10) / 4)
    assert report.models[0].score.weighted
    assert any("weight" in note for note in report.notes)


def test_equal_instruction_weights_give_the_plain_mean() -> None:
    records = [
        graded(0, "Math", "poor", "poor", weight=2),
        graded(1, "Math", "excellent", "excellent", weight=2),
    ]
    assert generate_report(records).models[0].score.mean == pytest.approx(5.5)


def test_bad_instruction_weight_names_the_record() -> None:
    records = [graded(0, "Math", "good", "good"), graded(9, "Math", "good", "good", weight="heavy")]
    with pytest.raises(InputError, match=r"record 1 \(id=9\), field 'weight'"):
        generate_report(records)


def test_seed_format_evaluations_with_only_score_per_criteria() -> None:
    seed = record(0, score_per_criteria={"Accuracy": 7.0, "Clarity": 10.0})
    assert generate_report([seed]).models[0].score.mean == pytest.approx(8.2)


def test_leaderboard_file_ranks_models_and_replaces_rows(tmp_path: Path) -> None:
    board = tmp_path / "leaderboard.json"
    strong = [graded(i, "Math", "excellent", "good", dataset_name="bench") for i in range(14)]
    weak = [graded(i, "Math", "fair", "poor", dataset_name="bench", model="model-b") for i in range(14)]
    as_records = [RecordModel.model_validate(r) for r in strong]
    report_evaluations(as_records, leaderboard_path=board)
    report = report_evaluations([RecordModel.model_validate(r) for r in weak], leaderboard_path=board)
    assert [(r.rank, r.model) for r in report.leaderboard] == [(1, "model-a"), (2, "model-b")]
    top = report.leaderboard[0]
    assert top.above_next is True and top.n_paired_with_next == 14
    assert "yes (p=" in report.markdown and "n paired=14" in report.markdown
    # Re-evaluating model-a (now worse) replaces its row.
    worse = [graded(i, "Math", "poor", "poor", dataset_name="bench") for i in range(14)]
    report = report_evaluations([RecordModel.model_validate(r) for r in worse], leaderboard_path=board)
    assert [r.model for r in report.leaderboard] == ["model-b", "model-a"]
    assert len(json.loads(board.read_text())["runs"]) == 2


def test_records_as_models_are_accepted() -> None:
    report = generate_report([Record.model_validate(r) for r in sample()])
    assert report.models[0].score.n == 4


def test_failed_summary_is_reported_not_invented(engine_settings: EngineSettings) -> None:
    engine, _ = scripted_engine(engine_settings, lambda request: ProviderError("summariser down", status=400))
    records = [RecordModel.model_validate(r) for r in sample()]
    summaries, name = summarize_evaluations(records, summarizer="openai/summ", engine=engine)
    report = generate_report(records, summaries=summaries, summarizer=name)
    summary = report.models[0].summary
    assert summary.status == "failed"
    assert summary.overall is None and summary.per_category == {}
    assert "summariser down" in (summary.reason or "")
    assert "the summary failed (" in report.markdown
    assert "Pro:" not in report.markdown


def test_python_api_with_a_dataframe_returns_a_dataframe(engine_settings: EngineSettings) -> None:
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame([record(i) for i in range(3)])
    engine, provider = scripted_engine(engine_settings, [grading(Accuracy="good", Clarity="fair")] * 3)
    evaluations, report = evaluate_and_generate_report(
        frame, evaluator="openai/judge", summarize=False, engine=engine
    )
    assert isinstance(evaluations, pd.DataFrame)
    assert list(evaluations["score"]) == pytest.approx([0.6 * 7 + 0.4 * 4] * 3)
    assert report.models[0].score.n == 3
    assert report.models[0].evaluator == "openai/judge"
    assert len(provider.requests) == 3


def test_a_model_outside_the_leaderboards_group_is_named_not_dropped(tmp_path: Path) -> None:
    # Model "b" answered only two of the instructions: another instruction set, so another leaderboard group.
    records = [{**r, "model": "a"} for r in sample()] + [{**r, "model": "b"} for r in sample()[:2]]
    report = generate_report(records, n_resamples=100)
    assert {m.model for m in report.models} == {"a", "b"}
    best, other = report.models[0].model, report.models[1].model
    ranked = [row.model for row in report.leaderboard]
    assert best in ranked and other not in ranked
    note = next(n for n in report.notes if n.startswith("Not ranked"))
    assert f": {other}." in note
    line = next(x for x in report.markdown.splitlines() if x.startswith("> Note: Not ranked"))
    assert other in line
    # The command prints the notes under its leaderboard table too.
    evaluations = tmp_path / "evaluations.json"
    evaluations.write_text(json.dumps(records), encoding="utf-8")
    out = CliRunner().invoke(
        cli,
        ["generate_report", "--input_path", str(evaluations), "--summarize", "False"],
    )
    assert out.exit_code == 0, out.output
    assert (
        "note: Not ranked in this report's leaderboard" in out.output and other in out.output.splitlines()[-1]
    )

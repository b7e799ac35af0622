"""An interrupted run's file names: always the `.partial` ones, never another model's or judge's."""

from __future__ import annotations

import json
from pathlib import Path

from rubric_eval.pipeline import choose_output_files, partial_path

from ._helpers import record


def choose(folder: Path, *, interrupted: bool, overwrite: bool = False) -> tuple[str, str]:
    files = choose_output_files(
        folder,
        name="model-a",
        models=frozenset({"model-a"}),
        judge="judge-x",
        complete=not interrupted,
        overwrite=overwrite,
        interrupted=interrupted,
    )
    return files.evaluations.name, files.report.name


def test_an_interrupted_run_never_takes_the_final_names(tmp_path: Path) -> None:
    assert choose(tmp_path, interrupted=False) == ("evaluations_model-a.json", "evaluation_report_model-a.md")
    partial = ("evaluations_model-a.partial.json", "evaluation_report_model-a.partial.md")
    assert choose(tmp_path, interrupted=True) == partial
    assert choose(tmp_path, interrupted=True, overwrite=True) == partial


def test_an_interrupted_run_leaves_another_judges_partial_files_alone(tmp_path: Path) -> None:
    other = [record(i, evaluator="judge-y", score=None) for i in range(2)]
    (tmp_path / "evaluations_model-a.partial.json").write_text(json.dumps(other), encoding="utf-8")
    assert choose(tmp_path, interrupted=True) == (
        "evaluations_model-a_judge-judge-x.partial.json",
        "evaluation_report_model-a_judge-judge-x.partial.md",
    )
    mine = [record(i, evaluator="judge-x", score=None) for i in range(2)]
    (tmp_path / "evaluations_model-a.partial.json").write_text(json.dumps(mine), encoding="utf-8")
    assert choose(tmp_path, interrupted=True)[0] == "evaluations_model-a.partial.json"  # its own: replaced


def test_partial_path_keeps_the_format_and_is_idempotent() -> None:
    assert partial_path(Path("out/evaluations.json")) == Path("out/evaluations.partial.json")
    assert partial_path(Path("out/evaluations.jsonl")) == Path("out/evaluations.partial.jsonl")
    assert partial_path(Path("out/evaluations.partial.json")) == Path("out/evaluations.partial.json")


def test_evaluate_writes_its_interrupted_output_beside_the_file_never_over_input_or_another_judge(
    tmp_path: Path,
) -> None:
    from rubric_eval.pipeline import interrupted_output_path

    output = tmp_path / "evaluations.json"
    models, judges = frozenset({"model-a"}), frozenset({"judge-x"})

    def target(input_path: Path | None = None, overwrite: bool = False) -> Path | None:
        return interrupted_output_path(
            output, models=models, judges=judges, overwrite=overwrite, input_path=input_path
        )

    assert target() == tmp_path / "evaluations.partial.json"
    assert target(input_path=tmp_path / "evaluations.partial.json") is None  # the run's own input
    other = [record(i, evaluator="judge-y", score=None) for i in range(2)]
    (tmp_path / "evaluations.partial.json").write_text(json.dumps(other), encoding="utf-8")
    assert target() is None
    assert target(overwrite=True) == tmp_path / "evaluations.partial.json"

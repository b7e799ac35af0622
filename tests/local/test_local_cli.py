"""Every step's config flag can name the local provider with an explicit GGUF path (`local/<path.gguf>`)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from rubric_eval._io import read_records, write_records
from rubric_eval.cli import cli
from rubric_eval.datasets import load_benchmark
from rubric_eval.records import Record
from rubric_eval.steps.evaluate import evaluate

pytestmark = pytest.mark.local_model


def test_generate_outputs_and_evaluate_with_an_explicit_gguf_path(
    embedded_gguf: Path, tmp_path: Path
) -> None:
    source = min((r for r in load_benchmark() if r.rubric is not None), key=lambda r: len(r.rubric.root))
    assert source.rubric is not None
    record = Record.model_validate(
        {k: v for k, v in source.dump().items() if k in {"instruction", "id", "category", "rubric"}}
    )
    instructions, outputs, evaluations = (tmp_path / n for n in ("in.json", "outputs.json", "evals.json"))
    write_records([record], instructions)
    spec = f"local/{embedded_gguf}"
    yaml_config = tmp_path / "tiny_model.yaml"  # a YAML config naming the GGUF, with load options and params
    yaml_config.write_text(
        f"name: tiny\nprovider: local\nmodel: {json.dumps(str(embedded_gguf))}\n"
        "params: {temperature: 0.0, max_tokens: 64}\nprovider_options: {n_ctx: 4096, n_threads: 1}\n"
    )
    runner = CliRunner()

    args = ["generate_outputs", f"--input_path={instructions}", f"--output_path={outputs}", "--quiet"]
    result = runner.invoke(cli, [*args, "--model_configs", str(yaml_config)])
    assert result.exit_code == 0, result.output
    (answered,) = read_records(outputs)
    assert answered.output and answered.model == "tiny"
    assert json.loads(outputs.read_text())[0]["output_output_tokens"] <= 64

    result = runner.invoke(
        cli,
        [
            "evaluate",
            "--input_path",
            str(outputs),
            "--output_path",
            str(evaluations),
            "--evaluator_configs",
            spec,
            "--quiet",
        ],
    )
    assert result.exit_code == 0, result.output
    (graded,) = read_records(evaluations)
    assert graded.evaluator == spec
    assert graded.grades is not None and len(graded.grades) == len(source.rubric.root)
    assert all(g.status == "scored" for g in graded.grades), [g.reason for g in graded.grades]
    assert graded.score is not None and 1.0 <= graded.score <= 10.0
    raw = json.loads(evaluations.read_text())[0]
    assert raw["evaluation_price_per_example"] == 0.0 and raw["evaluation_input_tokens"] > 0


def test_a_missing_gguf_judge_leaves_every_criterion_unscored_with_the_reason(
    embedded_gguf: Path, tmp_path: Path
) -> None:
    source = next(r for r in load_benchmark() if r.rubric is not None)
    record = source.model_copy(update={"output": "An answer."})
    missing = tmp_path / "gone.gguf"
    (graded,) = evaluate([record], evaluator=f"local/{missing}")
    assert graded.score is None and graded.grades
    assert all(g.status == "unscored" for g in graded.grades)
    assert all(g.reason and "not found" in g.reason and str(missing) in g.reason for g in graded.grades)

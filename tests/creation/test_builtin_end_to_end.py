"""The built-in benchmark end to end: generate_outputs (CLI, no --input_path) then evaluate, over real HTTP."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from rubric_eval import Record, read_records
from rubric_eval.datasets import load_benchmark
from rubric_eval.engine import Engine, EngineSettings
from rubric_eval.steps.evaluate import evaluate
from rubric_eval.testing import OpenAICompatibleServer

pytestmark = pytest.mark.integration


def test_generate_outputs_then_evaluate_on_the_builtin_benchmark(
    tmp_path: Path, openai_env: OpenAICompatibleServer, engine_settings: EngineSettings
) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "rubric_eval",
            "generate_outputs",
            "--output_path",
            "outputs.json",
            "--model_configs",
            "openai/model-under-test",
            "--cache_dir",
            str(tmp_path / "cache"),
            "--quiet",
        ],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    outputs = read_records(tmp_path / "outputs.json")
    benchmark = load_benchmark()
    assert [r.instruction for r in outputs] == [r.instruction for r in benchmark]
    assert all(r.output and r.model == "openai/model-under-test" for r in outputs)

    evaluated = evaluate(outputs, evaluator="openai/judge", engine=Engine(engine_settings))
    assert len(evaluated) == len(benchmark)
    for record in evaluated:
        assert isinstance(record, Record)
        assert record.grades is not None and len(record.grades) == len(record.rubric.criteria)
        assert record.score is not None and 1 <= record.score <= 10
    judge_bodies = [b for b in openai_env.requests if b["model"] == "judge"]
    assert len(judge_bodies) == len(benchmark)
    # Each judge prompt carries one of the generated answers.
    prompts = ["\n".join(m["content"] for m in body["messages"]) for body in judge_bodies]
    assert all(any(r.output in p for p in prompts) for r in outputs)

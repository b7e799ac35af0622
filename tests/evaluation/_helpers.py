"""Builders shared by the evaluation tests."""

from __future__ import annotations

import json
from typing import Any

from rubric_eval.engine import Engine, EngineSettings
from rubric_eval.engine.providers.scripted import ScriptedProvider
from rubric_eval.runs import RunRecord

LEVELS = ["excellent", "good", "fair", "poor"]


def rubric(*criteria: tuple[str, float]) -> list[dict[str, Any]]:
    return [
        {
            "criterion": name,
            "weight": weight,
            "performance_to_description": {level: f"{name} is {level}." for level in LEVELS},
        }
        for name, weight in criteria
    ]


def record(index: int = 0, **fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": index,
        "instruction": f"Instruction number {index}: explain something.",
        "category": "Reasoning",
        "rubric": rubric(("Accuracy", 60.0), ("Clarity", 40.0)),
        "output": f"An answer to instruction {index}.",
        "model": "model-a",
    }
    base.update(fields)
    return base


def grading(**levels: str) -> str:
    """A judge reply grading each named criterion at the given level."""
    return json.dumps(
        {name: {"feedback": f"The answer says X about {name}.", "level": lv} for name, lv in levels.items()}
    )


def scripted_engine(settings: EngineSettings, replies: Any) -> tuple[Engine, ScriptedProvider]:
    provider = ScriptedProvider(replies)
    return Engine(settings, providers={"openai": provider}), provider


def run_record(
    model: str,
    scores: dict[str, float],
    *,
    status: str = "complete",
    judge: str = "judge",
    dataset: str = "fp-bench",
    n_unscored: int = 0,
    run_id: str = "r1",
) -> RunRecord:
    mean = sum(scores.values()) / len(scores) if scores else None
    n = len(scores)
    return RunRecord.model_validate(
        {
            "run_id": run_id,
            "rubric_eval_version": "rubric_eval==test",
            "status": status,
            "counts": {"n_instructions": n + n_unscored, "n_scored": n, "n_unscored": n_unscored},
            "model": model,
            "judge": {"name": judge, "provider": "openai", "model": judge, "template": "evaluate/v1@x"},
            "dataset": {"name": "bench", "fingerprint": dataset, "n_instructions": n + n_unscored},
            "timing": {"started_at": "2026-01-01T00:00:00+00:00", "finished_at": "2026-01-01T00:01:00+00:00"},
            "results": {
                "score": {
                    "mean": mean,
                    "sem": 0.1,
                    "ci_low": None,
                    "ci_high": None,
                    "n": n,
                    "n_unscored": n_unscored,
                    "weighted": False,
                    "n_resamples": 100,
                    "seed": 0,
                },
                "categories": [{"category": "Math", "mean": mean, "sem": None, "n": n, "n_unscored": 0}],
                "instruction_scores": scores,
            },
        }
    )

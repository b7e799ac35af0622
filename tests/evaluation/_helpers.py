"""Builders shared by the evaluation tests."""

from __future__ import annotations

import json
from typing import Any

from rubric_eval.engine import Engine, EngineSettings
from rubric_eval.engine.providers.scripted import ScriptedProvider

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

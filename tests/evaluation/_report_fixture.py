"""A realistic evaluations file for the report's equivalence tests (deterministic, no LLM).

Six models on 36 instructions in three categories (and one without a category), rubrics of 3-5 criteria
on four levels (two instructions on three levels), instruction weights on one model's records, unscored
criteria with reasons, a failed judge call, a failed generation, invented criteria and unknown levels,
a duplicated instruction, one model in the seed format (``score_per_criteria`` only), one model judged
three times per answer (``judge_samples``), one judged by a panel of two with escalation.
"""

from __future__ import annotations

import random
from typing import Any

LEVELS = ["excellent", "good", "fair", "poor"]
SHORT_LEVELS = ["good", "ok", "bad"]
CATEGORIES = ["Coding", "Reasoning", "Writing"]
MODELS = ["m-strong", "m-mid", "m-weak", "m-seed", "m-repeats", "m-panel"]
REASONS = ["the judge gave no level", "unknown level 'superb'", "judge answer was not valid JSON"]


def _scores(levels: list[str]) -> dict[str, float]:
    step = 9.0 / (len(levels) - 1)
    return {level: round(10.0 - i * step, 10) for i, level in enumerate(levels)}


def _rubric(rng: random.Random, index: int) -> list[dict[str, Any]]:
    levels = SHORT_LEVELS if index in (5, 17) else LEVELS
    n = 3 + index % 3
    weights = [rng.choice([10, 15, 20, 25, 30]) for _ in range(n)]
    return [
        {
            "criterion": f"criterion {index}.{c}",
            "weight": float(w),
            "performance_to_description": {lv: f"Row {c} of instruction {index} is {lv}." for lv in levels},
        }
        for c, w in enumerate(weights)
    ]


def _level(rng: random.Random, levels: list[str], skill: float) -> str:
    position = min(len(levels) - 1, max(0, int(rng.gauss((1 - skill) * len(levels), 1.0))))
    return levels[position]


def report_fixture_records(seed: int = 7) -> list[dict[str, Any]]:
    """The evaluated records (JSON-ready dicts), grouped by model."""
    rng = random.Random(seed)
    instructions = []
    for index in range(36):
        instructions.append(
            {
                "id": f"q{index:03d}",
                "instruction": f"Instruction {index}: "
                + " ".join(rng.choice("abcdefgh") * 3 for _ in range(12)),
                "category": None if index == 35 else CATEGORIES[index % 3],
                "rubric": _rubric(rng, index),
            }
        )
    records: list[dict[str, Any]] = []
    for m, model in enumerate(MODELS):
        skill = [0.85, 0.6, 0.35, 0.55, 0.5, 0.7][m]
        rows = instructions + ([instructions[3]] if model == "m-mid" else [])  # a duplicated instruction
        for k, base in enumerate(rows):
            levels = list(base["rubric"][0]["performance_to_description"])
            values = _scores(levels)
            record: dict[str, Any] = {
                **base,
                "output": f"{model} answers {base['id']} with {rng.randint(100, 999)} words.",
                "model": model,
                "evaluator": "judge-x",
                "evaluation_date": f"2026-11-{10 + m:02d}T10:{k % 60:02d}:00+00:00",
                "evaluation_version": "rubric_eval==0.9",
                "evaluation_run_id": f"run-{model}",
                "evaluation_price_per_example": round(rng.uniform(0.0005, 0.002), 6),
                "evaluation_cost_known": not (model == "m-weak" and k % 10 == 0),
                "evaluation_time_per_example": round(rng.uniform(0.2, 1.5), 3),
                "evaluation_cached": k % 4 == 0,
            }
            if model == "m-mid" and k % 5 == 0:
                record["weight"] = 2.0
            grades = []
            for row in base["rubric"]:
                name = row["criterion"]
                level = _level(rng, levels, skill)
                if rng.random() < 0.06:
                    grades.append(
                        {
                            "criterion": name,
                            "status": "unscored",
                            "level": None,
                            "score": None,
                            "feedback": "",
                            "reason": rng.choice(REASONS),
                        }
                    )
                else:
                    grades.append(
                        {
                            "criterion": name,
                            "status": "scored",
                            "level": level,
                            "score": values[level],
                            "feedback": f"{name}: {level} because of {rng.choice(['x', 'y', 'z'])}.",
                            "reason": None,
                        }
                    )
            issues: dict[str, Any] = {}
            if model == "m-weak" and k == 4:  # a failed call: nothing scored
                grades = [
                    {
                        "criterion": row["criterion"],
                        "status": "unscored",
                        "reason": "judge call failed: timeout",
                    }
                    for row in base["rubric"]
                ]
                issues = {"error": "judge call failed: timeout"}
            if model == "m-weak" and k == 9:  # a failed generation
                record["output"] = None
                record["output_error"] = "generation failed: context length exceeded"
                grades = [
                    {"criterion": row["criterion"], "status": "unscored", "reason": "no answer to grade"}
                    for row in base["rubric"]
                ]
            if model == "m-strong" and k in (2, 11):
                issues = {
                    "invented_criteria": ["style"],
                    "unknown_levels": {grades[0]["criterion"]: "superb"},
                }
            scored = [(row["weight"], g.get("score")) for row, g in zip(base["rubric"], grades, strict=True)]
            total = sum(w for w, s in scored if s is not None)
            record["score"] = sum(w * s for w, s in scored if s is not None) / total if total else None
            record["fraction_scored"] = total / sum(w for w, _ in scored)
            if model == "m-seed":  # the seed README's format: no grades
                record["score_per_criteria"] = {g["criterion"]: g.get("score") for g in grades}
                record["feedback_per_criteria"] = {g["criterion"]: g.get("feedback", "") for g in grades}
                record["level_per_criteria"] = {g["criterion"]: g.get("level") for g in grades}
                del record["score"], record["fraction_scored"]
            else:
                record["grades"] = grades
            if issues:
                record["judge_issues"] = issues
            if model == "m-repeats":
                record["judge_aggregate"] = "mean"
                record["judge_samples"] = [
                    {
                        "repeat": r,
                        "score": round(rng.uniform(3, 9), 3),
                        "level_per_criteria": {
                            row["criterion"]: _level(rng, levels, skill) for row in base["rubric"]
                        },
                    }
                    for r in range(3)
                ]
            if model == "m-panel":
                panel = [
                    {
                        "evaluator": judge,
                        "score": round(rng.uniform(3, 9), 3),
                        "price": 0.001,
                        "level_per_criteria": {
                            row["criterion"]: _level(rng, levels, skill) for row in base["rubric"]
                        },
                    }
                    for judge in ("judge-a", "judge-b")
                ]
                record["judge_panel"] = panel
                record["judge_aggregate"] = "median"
                disagrees = panel[0]["level_per_criteria"] != panel[1]["level_per_criteria"]
                record["judge_panel_disagrees"] = disagrees
                record["escalated"] = (
                    {"evaluator": "judge-strong", "score": 6.0, "price": 0.004, "level_per_criteria": {}}
                    if disagrees and k % 2 == 0
                    else None
                )
            records.append(record)
    return records

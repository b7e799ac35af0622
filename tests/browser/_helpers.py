"""Evaluated records for the HTML report tests: several models, categories, unscored criteria, hostile text."""

from __future__ import annotations

from typing import Any

from rubric_eval import Record

LEVELS = ["excellent", "good", "fair", "poor"]
SCORES = {"excellent": 10.0, "good": 7.0, "fair": 4.0, "poor": 1.0}
HOSTILE = (
    "<script>window.__pwned = 1</script>"
    '<img src=x onerror="window.__pwned = 2">'
    '</textarea><svg onload="window.__pwned = 3"></svg>'
    "</script><script>window.__pwned = 4</script>\u2028&amp; <!-- --> ]]>"
)


def rubric(index: int) -> list[dict[str, Any]]:
    names = [f"Accuracy of item {index}", f"Clarity of item {index}", f"Depth {index} <b>bold</b>"]
    weights = [50.0, 30.0, 20.0]
    return [
        {
            "criterion": name,
            "weight": weight,
            "performance_to_description": {lv: f"{name} is {lv}: details for {lv}." for lv in LEVELS},
        }
        for name, weight in zip(names, weights, strict=True)
    ]


def evaluated(
    models: int = 3, instructions: int = 12, *, hostile_model: int | None = None, unscored_every: int = 5
) -> list[Record]:
    """``models`` x ``instructions`` evaluated records with deterministic levels.

    Every ``unscored_every``-th answer has its last criterion unscored; with ``hostile_model`` that
    model's answers, feedback and instruction 0's text carry script-injection attempts.
    """
    categories = ["Math", "Coding", "Writing <i>&</i>"]
    records = []
    for m in range(models):
        for i in range(instructions):
            rub = rubric(i)
            grades = []
            for c, row in enumerate(rub):
                level = LEVELS[(i + m * 2 + c) % 4]
                if (i + m) % unscored_every == 0 and c == len(rub) - 1:
                    grades.append(
                        {
                            "criterion": row["criterion"],
                            "status": "unscored",
                            "reason": "judge call failed: HTTP 500",
                        }
                    )
                else:
                    feedback = f"Feedback on {row['criterion']} for model {m}."
                    if m == hostile_model:
                        feedback += " " + HOSTILE
                    grades.append(
                        {
                            "criterion": row["criterion"],
                            "status": "scored",
                            "level": level,
                            "score": SCORES[level],
                            "feedback": feedback,
                        }
                    )
            output = f"Answer of model {m} to instruction {i}.\nSecond line."
            if m == hostile_model:
                output = HOSTILE + "\n" + output
            records.append(
                Record.model_validate(
                    {
                        "id": i,
                        "instruction": f"Instruction {i}: explain topic {i}."
                        + (" " + HOSTILE if i == 0 else ""),
                        "category": categories[i % 3],
                        "rubric": rub,
                        "output": output,
                        "model": f"model-{m}" if m != hostile_model else "evil <script>model</script>",
                        "grades": grades,
                        "evaluator": "openai/judge",
                    }
                )
            )
    return records

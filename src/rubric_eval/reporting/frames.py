"""Reports and leaderboards as pandas DataFrames, for notebooks. pandas is optional (the ``pandas`` extra)
and imported only here, when a frame is asked for; the data model stays pydantic."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from rubric_eval.errors import MissingExtraError

if TYPE_CHECKING:
    from rubric_eval.reporting.leaderboard import RankedRow
    from rubric_eval.reporting.report import EvaluationReport

REPORT_LEVELS = ("models", "categories", "answers", "grades")


def _pandas() -> Any:
    try:
        import pandas as pd
    except ImportError:
        raise MissingExtraError("pandas", "pandas") from None
    return pd


def report_rows(report: EvaluationReport, level: str) -> list[dict[str, Any]]:
    """The rows of `report_frame` as plain dicts (no pandas needed)."""
    if level == "models":
        return [
            {
                "model": m.model,
                "status": m.run.status,
                "score": m.score.mean,
                "sem": m.score.sem,
                "ci_low": m.score.ci_low,
                "ci_high": m.score.ci_high,
                "n": m.score.n,
                "n_unscored": m.score.n_unscored,
                "n_instructions": m.n_instructions,
                "judge": m.evaluator,
                "dataset": m.dataset,
                "cost_usd": m.total_cost_usd,
                "run_id": m.run.run_id,
            }
            for m in report.models
        ]
    if level == "categories":
        return [
            {
                "model": m.model,
                "category": c.category,
                "score": c.mean,
                "sem": c.sem,
                "n": c.n,
                "n_unscored": c.n_unscored,
            }
            for m in report.models
            for c in m.categories
        ]
    instructions = {i.key: i for i in report.instructions}
    if level == "answers":
        return [
            {
                "model": m.model,
                "key": a.key,
                "id": instructions[a.key].id if a.key in instructions else None,
                "category": instructions[a.key].category if a.key in instructions else None,
                "instruction": instructions[a.key].instruction if a.key in instructions else None,
                "output": a.output,
                "score": a.score,
                "error": a.error,
            }
            for m in report.models
            for a in report.answers_of(m)
        ]
    if level == "grades":
        return [
            {
                "model": m.model,
                "key": a.key,
                "criterion": g.criterion,
                "status": g.status,
                "level": g.level,
                "score": g.score,
                "feedback": g.feedback,
                "reason": g.reason,
            }
            for m in report.models
            for a in report.answers_of(m)
            for g in a.grades
        ]
    raise ValueError(f"unknown level {level!r}; expected one of {', '.join(REPORT_LEVELS)}")


def report_frame(report: EvaluationReport, level: str = "models") -> Any:
    """A DataFrame of the report at one level: models, categories, answers or grades."""
    rows = report_rows(report, level)
    return _pandas().DataFrame(rows)


def leaderboard_rows(rows: Sequence[RankedRow]) -> list[dict[str, Any]]:
    return [row.model_dump(exclude={"categories"}) for row in rows]


def leaderboard_frame(rows: Sequence[RankedRow]) -> Any:
    """A DataFrame of leaderboard rows (one per run)."""
    return _pandas().DataFrame(leaderboard_rows(rows))

"""The orchestrator: the one place where the steps are chained into a run.

The CLI's one-step commands, the Python API and the demo call these functions.
"""

from __future__ import annotations

import os
from typing import Any

from rubric_eval._api_edge import RecordsLike, to_records
from rubric_eval._config import AnnotatorConfig, resolve_config
from rubric_eval.engine import Engine
from rubric_eval.reporting import EvaluationReport, generate_report
from rubric_eval.steps.panel import JudgingPlan, evaluate_with_plan, judging_plan


def evaluate_and_generate_report(
    records: RecordsLike,
    *,
    evaluator: str | AnnotatorConfig | None = None,
    summarizer: str | AnnotatorConfig | None = None,
    summarize: bool = True,
    engine: Engine | None = None,
    max_instances: int | None = None,
    dataset: str | None = None,
    leaderboard_path: str | os.PathLike[str] | None = None,
    context_tokens: int | None = None,
    judging: JudgingPlan | None = None,
) -> tuple[Any, EvaluationReport]:
    """`evaluate` then `generate_report` with one engine.

    ``judging`` (`rubric_eval.steps.panel.judging_plan`: repeats, a panel, escalation) replaces
    ``evaluator``. Returns ``(evaluations in the input's kind, report)``.
    """
    items, convert_back = to_records(records)
    if max_instances is not None:
        items = items[:max_instances]
    engine = engine or Engine()
    plan = judging or judging_plan(resolve_config("evaluator", evaluator))
    evaluations = evaluate_with_plan(items, plan, engine=engine)
    report = generate_report(
        evaluations,
        summarizer=summarizer,
        summarize=summarize,
        engine=engine,
        dataset=dataset,
        leaderboard_path=leaderboard_path,
        context_tokens=context_tokens,
    )
    return convert_back(evaluations), report

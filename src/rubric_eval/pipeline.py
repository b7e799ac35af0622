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
from rubric_eval.steps.evaluate import evaluate_records


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
) -> tuple[Any, EvaluationReport]:
    """`evaluate` then `generate_report` with one engine.

    Returns ``(evaluations in the input's kind, report)``.
    """
    items, convert_back = to_records(records)
    if max_instances is not None:
        items = items[:max_instances]
    engine = engine or Engine()
    config = resolve_config("evaluator", evaluator)
    evaluations = evaluate_records(items, config=config, engine=engine)
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

"""Judging plans: one judge, repeated judging, a panel of judges, and escalation to a stronger judge.

A `JudgingPlan` says how each answer is graded:

- ``evaluators``: one judge, or a panel whose gradings are combined per criterion by ``aggregate``
  (`rubric_eval.trust.combine_grades`: ``mean`` = mean score and median level, ``majority`` = most
  frequent level, ties to the worse level);
- ``n_judge_samples``: each judge grades each answer k times (repeat index in the cache key),
  combined by the same rule; the repeats are kept in ``judge_samples``;
- ``escalate_to``: a stronger judge called only for the answers where the panel disagrees (some
  criterion got different levels from two judges); its grades replace the panel's for those answers
  (criteria it leaves unscored keep the panel's grade).

Each record keeps every judge's score and levels in ``judge_panel`` (and ``escalated``), so the report
can show agreement between judges and the calls and cost escalation saved.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from rubric_eval._api_edge import RecordsLike, to_records
from rubric_eval._config import AnnotatorConfig, resolve_config
from rubric_eval.engine import BUDGET_EXHAUSTED, Engine, LLMResult
from rubric_eval.errors import INTERRUPTED, ConfigError, DryRun, EvaluationInterrupted
from rubric_eval.records import CriterionGrade, JudgeIssues, PanelEntry, Record
from rubric_eval.reporting.scoring import level_scores
from rubric_eval.runs import judge_calls
from rubric_eval.steps.evaluate import (
    combine_issues,
    evaluate_records,
    graded_fields,
    graded_record,
    interrupted_record,
)
from rubric_eval.trust import AGGREGATES, Aggregate, combine_grades


class JudgingPlan(BaseModel):
    """How answers are graded: which judges, how many samples each, how grades combine, escalation."""

    model_config = ConfigDict(frozen=True)

    evaluators: list[AnnotatorConfig] = Field(min_length=1)
    n_judge_samples: int = Field(default=1, ge=1)
    aggregate: Aggregate = "mean"
    escalate_to: AnnotatorConfig | None = None

    @property
    def name(self) -> str:
        """The ``evaluator`` written to records: the judge's name, or ``panel(a+b)`` / ``panel(a+b)->c``."""
        if len(self.evaluators) == 1 and self.escalate_to is None:
            return self.evaluators[0].name
        name = "panel(" + "+".join(c.name for c in self.evaluators) + ")"
        return name + (f"->{self.escalate_to.name}" if self.escalate_to else "")


def judging_plan(
    evaluator_configs: str | AnnotatorConfig | Sequence[str | AnnotatorConfig] | None = None,
    *,
    n_judge_samples: int = 1,
    aggregate: str = "mean",
    escalate_to: str | AnnotatorConfig | None = None,
) -> JudgingPlan:
    """Build a plan from the CLI's spellings: ``"a,b,c"`` (comma-separated configs) or a list."""
    if aggregate not in AGGREGATES:
        raise ConfigError(f"aggregate must be one of {', '.join(AGGREGATES)}, got {aggregate!r}")
    if evaluator_configs is None or isinstance(evaluator_configs, AnnotatorConfig):
        specs: list[str | AnnotatorConfig | None] = [evaluator_configs]
    elif isinstance(evaluator_configs, str):
        specs = [s.strip() for s in evaluator_configs.split(",") if s.strip()] or [None]
    else:
        specs = list(evaluator_configs)
    configs = [resolve_config("evaluator", spec) for spec in specs]
    names = [c.name for c in configs]
    if len(set(names)) != len(names):
        raise ConfigError(
            f"the same judge is named twice in {names}; use --n_judge_samples to repeat a judge"
        )
    if escalate_to is not None and len(configs) < 2:
        raise ConfigError("--escalate_to needs a panel of at least two judges (--evaluator_configs a,b)")
    if n_judge_samples < 1:
        raise ConfigError(f"n_judge_samples must be >= 1, got {n_judge_samples}")
    return JudgingPlan(
        evaluators=configs,
        n_judge_samples=n_judge_samples,
        aggregate=aggregate,
        escalate_to=None if escalate_to is None else resolve_config("evaluator", escalate_to),
    )


def _disagree(judged: Sequence[Record]) -> bool:
    """True when two judges gave different levels to one criterion (unscored grades do not count)."""
    by_criterion: dict[str, set[str]] = {}
    for record in judged:
        for grade in record.grades or []:
            if grade.status == "scored" and grade.level is not None:
                by_criterion.setdefault(grade.criterion, set()).add(grade.level)
    return any(len(levels) > 1 for levels in by_criterion.values())


def _issues(judged: Sequence[Record], grades: list[CriterionGrade]) -> JudgeIssues:
    issues = [r.judge_issues or JudgeIssues() for r in judged]
    return JudgeIssues(**combine_issues(grades, issues).model_dump())  # every field set: all are written


def _bookkeeping(judged: Sequence[Record]) -> dict[str, Any]:
    """Summed per-answer bookkeeping of several judges' calls (price None when any is unknown)."""
    first = judged[0]
    calls = [judge_calls(r) for r in judged]
    prices = [r.evaluation_price_per_example for r in judged]
    known = [p for p in prices if p is not None]
    return {
        "evaluation_date": first.evaluation_date,
        "evaluation_version": first.evaluation_version,
        "evaluation_price_per_example": round(sum(known), 8) if len(known) == len(prices) else None,
        "evaluation_cost_known": all(r.evaluation_cost_known is not False for r in judged),
        "evaluation_time_per_example": sum(r.evaluation_time_per_example or 0.0 for r in judged),
        "evaluation_input_tokens": sum(r.evaluation_input_tokens or 0 for r in judged),
        "evaluation_output_tokens": sum(r.evaluation_output_tokens or 0 for r in judged),
        "evaluation_cached": all(bool(r.evaluation_cached) for r in judged),
        # The calls of every judge (and repeat): how many, how many from the cache (each judge's answers
        # may be partly cached), failed and unpriced, and what the cached ones had cost (see the tally).
        "evaluation_calls": sum(c.calls for c in calls),
        "evaluation_cached_calls": sum(c.cached for c in calls),
        "evaluation_failed_calls": sum(c.failed for c in calls),
        "evaluation_unpriced_calls": sum(c.unpriced for c in calls),
        "evaluation_cached_price": round(sum(c.cached_price for c in calls), 8),
    }


def _panel_entry(record: Record) -> PanelEntry:
    return PanelEntry(
        evaluator=record.evaluator,
        score=record.score,
        level_per_criteria=record.level_per_criteria or {},
        price=record.evaluation_price_per_example,
        **({"judge_samples": record.judge_samples} if record.judge_samples else {}),
    )


def evaluate_with_plan(
    records: Sequence[Record], plan: JudgingPlan, *, engine: Engine | None = None, source: str = "records"
) -> list[Record]:
    """Grade records as the plan says (see the module doc); one engine for every judge."""
    engine = engine or Engine()
    records = list(records)
    # Ctrl-C / SIGTERM: judges not yet asked count as stopped; an answer is graded only if every judge
    # (and the escalation, where due) graded it, the rest is unscored ("interrupted"), then re-raised.
    per_judge: list[list[Record]] = []
    stopped = False
    planned: list[str] = []  # --dry_run: every judge's plan, not only the first one's
    for config in plan.evaluators:
        if stopped:
            per_judge.append([interrupted_record(r, config, plan.aggregate) for r in records])
            continue
        try:
            per_judge.append(
                evaluate_records(
                    records,
                    config=config,
                    engine=engine,
                    source=source,
                    n_judge_samples=plan.n_judge_samples,
                    aggregate=plan.aggregate,
                )
            )
        except EvaluationInterrupted as stop:
            per_judge.append(stop.records)
            stopped = True
        except DryRun as dry:
            if len(plan.evaluators) == 1:
                raise
            planned = planned or [f"dry run (evaluate ({plan.name})): nothing was called"]
            planned += dry.lines[1:]
    if planned:
        raise DryRun(planned + _escalation_plan(plan, records))
    if len(per_judge) == 1:
        if stopped:
            raise EvaluationInterrupted(per_judge[0])
        return per_judge[0]
    disagreeing = [i for i in range(len(records)) if _disagree([judged[i] for judged in per_judge])]
    escalated: dict[int, Record] = {}
    if plan.escalate_to is not None and disagreeing and not stopped:
        try:
            strong = evaluate_records(
                [records[i] for i in disagreeing],
                config=plan.escalate_to,
                engine=engine,
                source=source,
                n_judge_samples=plan.n_judge_samples,
                aggregate=plan.aggregate,
            )
        except EvaluationInterrupted as stop:
            strong, stopped = stop.records, True
        escalated = dict(zip(disagreeing, strong, strict=True))
    disagree_set = set(disagreeing)
    out = []
    for index, record in enumerate(records):
        assert record.rubric is not None
        judged = [judged[index] for judged in per_judge]
        rubric = record.rubric
        grades = combine_grades(
            rubric.names,
            rubric.levels,
            level_scores(rubric.levels),
            [r.grades or [] for r in judged],
            plan.aggregate,
        )
        strong_record = escalated.get(index)
        asked = [r for r in [*judged, strong_record] if r is not None]
        if stopped or any(_was_stopped(r) for r in asked):  # an interrupt, or --max_cost reached
            finished = [r for r in asked if not _was_stopped(r)]
            if len(finished) < len(judged) + (index in disagree_set and plan.escalate_to is not None):
                made = [r for r in asked if judge_calls(r).calls]
                why = next((r for r in asked if _was_stopped(r)), None)
                out.append(_stopped_panel_record(record, plan, finished, made, why))
                continue
        if strong_record is not None:
            by_name = {g.criterion: g for g in strong_record.grades or [] if g.status == "scored"}
            grades = [by_name.get(g.criterion, g) for g in grades]
        update = {
            **_bookkeeping([*judged, *([strong_record] if strong_record else [])]),
            **graded_fields(rubric, grades),
            "evaluator": plan.name,
            "judge_issues": _issues(judged, grades),
            "judge_aggregate": plan.aggregate,
            "judge_panel": [_panel_entry(r) for r in judged],
            "judge_panel_disagrees": index in disagree_set,
        }
        if plan.escalate_to is not None:
            update["escalated"] = _panel_entry(strong_record) if strong_record is not None else None
        out.append(record.model_copy(update=update))
    if stopped:
        raise EvaluationInterrupted(out)
    return out


def _escalation_plan(plan: JudgingPlan, records: Sequence[Record]) -> list[str]:
    if plan.escalate_to is None:
        return []
    gradable = sum(r.output is not None for r in records) * plan.n_judge_samples
    return [
        f"  {plan.escalate_to.name} ({plan.escalate_to.model}), --escalate_to: up to {gradable} calls, "
        "one per answer the judges disagree on (known only once they have graded)"
    ]


def _was_stopped(record: Record) -> bool:
    """Some call of this judge's grading was not sent (an interrupt, or --max_cost reached)."""
    error = record.judge_issues.error if record.judge_issues is not None else None
    return error is not None and (error.startswith(INTERRUPTED) or error.startswith(BUDGET_EXHAUSTED))


def _stopped_panel_record(
    record: Record, plan: JudgingPlan, finished: list[Record], made: list[Record], why: Record | None
) -> Record:
    """An answer some judge of the panel (or its escalation) did not grade before an interrupt or a
    budget stop: unscored with ``why``'s error (else "interrupted"), with the finished judges' entries,
    and the bookkeeping of the judges that ``made`` calls (also one stopped between its repeats)."""
    if why is None or why.judge_issues is None or why.judge_issues.error is None:
        stopped = interrupted_record(record, plan.evaluators[0], plan.aggregate)
    else:
        stop = LLMResult[Any](ok=False, error=why.judge_issues.error)
        stopped = graded_record(record, plan.evaluators[0], [stop], plan.aggregate)
    update: dict[str, Any] = {
        "evaluator": plan.name,
        "judge_aggregate": plan.aggregate,
        "judge_panel": [_panel_entry(r) for r in finished],
    }
    if made:
        update.update(_bookkeeping(made))
    return stopped.model_copy(update=update)


def evaluate_panel(
    records: RecordsLike,
    *,
    evaluators: str | Sequence[str | AnnotatorConfig],
    n_judge_samples: int = 1,
    aggregate: str = "mean",
    escalate_to: str | AnnotatorConfig | None = None,
    engine: Engine | None = None,
    max_instances: int | None = None,
) -> Any:
    """Grade records with a panel of judges (``"a,b,c"`` or a list), combined per criterion by ``aggregate``.

    Adds the fields of `rubric_eval.evaluate` plus ``judge_panel`` (each judge's score and levels),
    ``judge_panel_disagrees`` and, with ``escalate_to``, ``escalated``. Returns the input's kind.
    """
    items, convert_back = to_records(records)
    if max_instances is not None:
        items = items[:max_instances]
    plan = judging_plan(
        evaluators, n_judge_samples=n_judge_samples, aggregate=aggregate, escalate_to=escalate_to
    )
    return convert_back(evaluate_with_plan(items, plan, engine=engine))

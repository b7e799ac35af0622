"""The evaluation report: every number as a pydantic model, rendered to markdown and JSON.

`generate_report` groups evaluated records by ``model``, computes scores with `rubric_eval.reporting.scoring`,
optionally summarises the feedback (`steps.summarize`), updates the leaderboard file and returns an
`EvaluationReport` whose ``.markdown`` follows the seed README and whose ``.to_json()`` holds every number.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import os
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from pydantic import BaseModel, Field

from rubric_eval._api_edge import RecordsLike, to_records
from rubric_eval._config import AnnotatorConfig, is_none, resolve_config
from rubric_eval._io import atomic_write_text
from rubric_eval._version import package_version
from rubric_eval.engine import Engine
from rubric_eval.errors import InputError
from rubric_eval.records import Record
from rubric_eval.reporting.leaderboard import (
    LeaderboardRow,
    RankedRow,
    instruction_key,
    rank_rows,
    update_leaderboard,
)
from rubric_eval.reporting.scoring import (
    DEFAULT_ALPHA,
    DEFAULT_RESAMPLES,
    DEFAULT_SEED,
    InstructionScore,
    instruction_score,
    score_stats,
)
from rubric_eval.reporting.summary import NO_CATEGORY, FeedbackSummary
from rubric_eval.trust import (
    AuditReport,
    JudgingSummary,
    MetaEvaluation,
    RubricDiagnostics,
    judging_summary,
    rubric_diagnostics,
)

UNKNOWN_MODEL = "unknown model"


class ScoreSummary(BaseModel):
    """Mean instruction score (1-10) over scored instructions, with its uncertainty."""

    mean: float | None
    sem: float | None = Field(description="Standard error of the mean (ddof=1); None when n < 2.")
    ci_low: float | None
    ci_high: float | None
    confidence: float = 0.95
    n: int = Field(description="Scored instructions.")
    n_unscored: int = Field(description="Instructions with no scored criterion (excluded from the mean).")
    weighted: bool = Field(description="True when instructions carry unequal `weight` fields.")
    n_resamples: int
    seed: int


class CategoryScore(BaseModel):
    category: str
    mean: float | None
    sem: float | None
    n: int
    n_unscored: int


class GradingCounts(BaseModel):
    """What happened to the criteria: scored, unscored (and why), dropped judge output."""

    n_criteria: int = 0
    n_scored: int = 0
    n_unscored: int = 0
    n_instructions_partially_scored: int = 0
    n_invented_criteria: int = Field(0, description="Criteria the judge made up (dropped).")
    n_unknown_levels: int = Field(0, description="Grades with a level not in the rubric (unscored).")
    n_failed_calls: int = Field(0, description="Judge calls that failed after retries and re-asks.")
    unscored_reasons: dict[str, int] = Field(default_factory=dict)


class ModelReport(BaseModel):
    """Everything reported about one model."""

    model: str
    dataset: str
    evaluator: str
    date: str
    n_instructions: int
    score: ScoreSummary
    categories: list[CategoryScore]
    grading: GradingCounts
    evaluation_cost_usd: float = Field(description="Sum of judge call costs (priced calls only).")
    n_unpriced_calls: int = Field(0, description="Judge calls whose model has no known price.")
    evaluation_time_s: float = Field(description="Sum of judge call latencies (not wall-clock time).")
    n_cached: int = Field(description="Judge calls answered from the cache.")
    summary: FeedbackSummary
    judging: JudgingSummary | None = Field(
        None, description="Repeated judging (judge noise in the SEM), panel agreement, escalation."
    )

    @property
    def total_cost_usd(self) -> float | None:
        """Judge plus summary cost; None when any call's price is unknown."""
        if self.n_unpriced_calls or self.summary.n_unpriced_calls:
            return None
        return self.evaluation_cost_usd + self.summary.cost_usd


class EvaluationReport(BaseModel):
    """The report: per-model results, the leaderboard, and how it was made."""

    title: str
    dataset: str
    evaluators: list[str]
    summarizer: str | None
    version: str
    generated_at: str
    models: list[ModelReport]
    leaderboard: list[RankedRow]
    leaderboard_path: str | None = None
    alpha: float = DEFAULT_ALPHA
    notes: list[str] = Field(default_factory=list)
    rubric_diagnostics: RubricDiagnostics | None = Field(None, description="With two or more models.")
    audit: AuditReport | None = Field(None, description="From `rubric_eval audit`, when given.")
    meta_evaluation: MetaEvaluation | None = Field(None, description="From `rubric_eval meta_evaluate`.")

    @property
    def markdown(self) -> str:
        """The report as markdown (seed README layout; one section per model when there are several)."""
        from rubric_eval.reporting.markdown import render_markdown

        return render_markdown(self)

    def to_json(self) -> str:
        return self.model_dump_json(indent=2) + "\n"

    def write(self, markdown_path: str | os.PathLike[str]) -> tuple[Path, Path]:
        """Write the markdown and, beside it, the JSON twin (same name, ``.json``); return both paths."""
        md_path = Path(markdown_path)
        json_path = json_twin_path(md_path)
        atomic_write_text(md_path, self.markdown)
        atomic_write_text(json_path, self.to_json())
        return md_path, json_path


def json_twin_path(markdown_path: Path) -> Path:
    """``report.md`` -> ``report.json``; a path that is not ``.md`` gets ``.json`` appended."""
    if markdown_path.suffix.lower() == ".json":
        raise InputError(
            "the report's --output_path is the markdown file; its JSON twin is written beside it "
            "(use e.g. evaluation_report.md)",
            path=str(markdown_path),
        )
    if markdown_path.suffix.lower() in {".md", ".markdown"}:
        return markdown_path.with_suffix(".json")
    return markdown_path.with_name(markdown_path.name + ".json")


# -- per-record helpers ------------------------------------------------------------------------


def record_instruction_score(record: Record, index: int, source: str) -> InstructionScore:
    """The instruction's score from its grades (or the seed format's ``score_per_criteria``)."""
    weights = {c.criterion: c.weight for c in record.rubric.criteria} if record.rubric else {}
    if record.grades is not None:
        pairs = [(weights.get(g.criterion, 1.0), g.score) for g in record.grades]
    elif record.score_per_criteria is not None:
        pairs = [
            (weights.get(name, 1.0), None if s is None or math.isnan(s) else s)
            for name, s in record.score_per_criteria.items()
        ]
    else:
        raise InputError(
            "not evaluated: no 'grades' or 'score_per_criteria' (run `rubric_eval evaluate` first)",
            path=source,
            index=index,
            record_id=record.id,
            field="grades",
        )
    return instruction_score(pairs)


def record_weight(record: Record, index: int, source: str) -> float:
    """The instruction's ``weight`` field (default 1); must be a positive number."""
    value = (record.model_extra or {}).get("weight", 1.0)
    if value is None:
        return 1.0
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not math.isfinite(value)
        or value <= 0
    ):
        raise InputError(
            f"instruction weight must be a positive number, got {value!r}",
            path=source,
            index=index,
            record_id=record.id,
            field="weight",
        )
    return float(value)


def _extra_number(record: Record, name: str) -> float:
    value = (record.model_extra or {}).get(name)
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else 0.0


def _most_common(values: Sequence[str | None], default: str) -> str:
    counts = Counter(v for v in values if v)
    return counts.most_common(1)[0][0] if counts else default


def dataset_name(records: Sequence[Record]) -> str:
    """The records' ``dataset_name`` field, else a name derived from the set of instructions.

    The derived name is the same for every model answering the same instructions, so their
    leaderboard rows meet.
    """
    named = [str(v) for r in records if (v := (r.model_extra or {}).get("dataset_name"))]
    if named:
        return _most_common(named, "")
    instructions = sorted({r.instruction.strip() for r in records})
    digest = hashlib.sha256("\n\x00".join(instructions).encode("utf-8")).hexdigest()[:8]
    return f"unnamed dataset ({len(instructions)} instructions, {digest})"


def _grading_counts(records: Sequence[Record], scores: Sequence[InstructionScore]) -> GradingCounts:
    counts = GradingCounts()
    reasons: Counter[str] = Counter()
    for record, result in zip(records, scores, strict=True):
        counts.n_criteria += result.n_criteria
        counts.n_scored += result.n_scored
        counts.n_unscored += result.n_criteria - result.n_scored
        counts.n_instructions_partially_scored += 0 < result.n_scored < result.n_criteria
        for grade in record.grades or []:
            if grade.status == "unscored":
                reasons[grade.reason or "no reason recorded"] += 1
        issues = (record.model_extra or {}).get("judge_issues")
        if isinstance(issues, dict):
            counts.n_invented_criteria += len(issues.get("invented_criteria") or [])
            counts.n_unknown_levels += len(issues.get("unknown_levels") or {})
            counts.n_failed_calls += bool(issues.get("error"))
    counts.unscored_reasons = dict(reasons.most_common(10))
    return counts


def _model_report(
    model: str,
    records: Sequence[Record],
    indices: Sequence[int],
    *,
    dataset: str,
    source: str,
    summary: FeedbackSummary,
    n_resamples: int,
    seed: int,
) -> tuple[ModelReport, LeaderboardRow]:
    scores = [record_instruction_score(r, i, source) for r, i in zip(records, indices, strict=True)]
    weights = [record_weight(r, i, source) for r, i in zip(records, indices, strict=True)]
    weighted = len(set(weights)) > 1
    stats = score_stats(
        [s.score for s in scores], weights if weighted else None, n_resamples=n_resamples, seed=seed
    )
    by_category: dict[str, list[int]] = {}
    for pos, record in enumerate(records):
        by_category.setdefault(record.category or NO_CATEGORY, []).append(pos)
    categories = []
    for category, positions in sorted(by_category.items()):
        cat = score_stats(
            [scores[p].score for p in positions],
            [weights[p] for p in positions] if weighted else None,
            with_ci=False,
        )
        categories.append(
            CategoryScore(category=category, mean=cat.mean, sem=cat.sem, n=cat.n, n_unscored=cat.n_unscored)
        )
    evaluator = _most_common([r.evaluator for r in records], "unknown evaluator")
    dates = sorted(str(d) for r in records if (d := (r.model_extra or {}).get("evaluation_date")))
    date = dates[-1] if dates else dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    report = ModelReport(
        model=model,
        dataset=dataset,
        evaluator=evaluator,
        date=date,
        n_instructions=len(records),
        score=ScoreSummary(
            mean=stats.mean,
            sem=stats.sem,
            ci_low=stats.ci_low,
            ci_high=stats.ci_high,
            n=stats.n,
            n_unscored=stats.n_unscored,
            weighted=weighted,
            n_resamples=n_resamples,
            seed=seed,
        ),
        categories=categories,
        grading=_grading_counts(records, scores),
        evaluation_cost_usd=sum(_extra_number(r, "evaluation_price_per_example") for r in records),
        n_unpriced_calls=sum((r.model_extra or {}).get("evaluation_cost_known") is False for r in records),
        evaluation_time_s=sum(_extra_number(r, "evaluation_time_per_example") for r in records),
        n_cached=int(sum(_extra_number(r, "evaluation_cached") for r in records)),
        summary=summary,
        judging=judging_summary(records, n_resamples=n_resamples, seed=seed),
    )
    keys = _instruction_keys(records)
    row = LeaderboardRow(
        model=model,
        dataset=dataset,
        evaluator=evaluator,
        score=stats.mean,
        sem=stats.sem,
        ci_low=stats.ci_low,
        ci_high=stats.ci_high,
        n=stats.n,
        n_unscored=stats.n_unscored,
        cost_usd=report.total_cost_usd,
        date=date,
        instruction_scores={k: s.score for k, s in zip(keys, scores, strict=True) if s.score is not None},
        instruction_weights=dict(zip(keys, weights, strict=True)) if weighted else None,
    )
    return report, row


def _instruction_keys(records: Sequence[Record]) -> list[str]:
    seen: Counter[str] = Counter()
    keys = []
    for record in records:
        key = instruction_key(record.instruction, record.id)
        seen[key] += 1
        keys.append(key if seen[key] == 1 else f"{key}#{seen[key]}")
    return keys


# -- public entry point ------------------------------------------------------------------------


def _summaries(
    records: Sequence[Record],
    models: Sequence[str],
    *,
    summarizer: str | AnnotatorConfig | None,
    summarize: bool,
    engine: Engine | None,
    context_tokens: int | None,
) -> tuple[dict[str, FeedbackSummary], str | None]:
    if not summarize or (isinstance(summarizer, str) and is_none(summarizer)):
        why = "summarize=False" if not summarize else f"summarizer {summarizer!r}"
        skipped = FeedbackSummary.skipped(f"summary skipped ({why})")
        return dict.fromkeys(models, skipped), None
    from rubric_eval.steps.summarize import DEFAULT_CONTEXT_TOKENS, summarize_feedback

    config = resolve_config("summarizer", summarizer)
    summaries = summarize_feedback(
        records, summarizer=config, engine=engine, context_tokens=context_tokens or DEFAULT_CONTEXT_TOKENS
    )
    return summaries, config.name


def generate_report(
    evaluations: RecordsLike,
    *,
    summarizer: str | AnnotatorConfig | None = None,
    summarize: bool = True,
    engine: Engine | None = None,
    dataset: str | None = None,
    leaderboard_path: str | os.PathLike[str] | None = None,
    context_tokens: int | None = None,
    n_resamples: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
    source: str = "evaluations",
    audit: AuditReport | None = None,
    meta_evaluation: MetaEvaluation | None = None,
) -> EvaluationReport:
    """Build the evaluation report of evaluated records (one section per ``model``).

    ``summarizer``: a summarizer config (default: the built-in default); ``summarize=False`` or
    ``summarizer="None"`` skips the LLM summary. ``leaderboard_path``: a leaderboard JSON file to
    update and rank against (else models are ranked within these evaluations). Write it with
    ``report.write("evaluation_report.md")`` (also writes ``evaluation_report.json``).
    ``audit`` / ``meta_evaluation`` (from `rubric_eval audit` / `meta_evaluate`) become report sections;
    rubric diagnostics are computed whenever two or more models were graded.
    """
    records, _ = to_records(evaluations, source=source)
    if not records:
        raise InputError("no records to report on", path=source)
    groups: dict[str, list[int]] = {}
    for index, record in enumerate(records):
        groups.setdefault(record.model or UNKNOWN_MODEL, []).append(index)
    for index, record in enumerate(records):
        record_instruction_score(record, index, source)  # fail fast on unevaluated input, before any LLM call
    dataset = dataset or dataset_name(records)
    summaries, summarizer_name = _summaries(
        records,
        list(groups),
        summarizer=summarizer,
        summarize=summarize,
        engine=engine,
        context_tokens=context_tokens,
    )
    reports: list[ModelReport] = []
    rows: list[LeaderboardRow] = []
    for model, indices in groups.items():
        subset = [records[i] for i in indices]
        summary = summaries.get(model) or FeedbackSummary.skipped("no scored feedback to summarise")
        report, row = _model_report(
            model,
            subset,
            indices,
            dataset=dataset,
            source=source,
            summary=summary,
            n_resamples=n_resamples,
            seed=seed,
        )
        reports.append(report)
        rows.append(row)
    evaluators = sorted({r.evaluator for r in reports})
    if leaderboard_path is not None:
        board = update_leaderboard(leaderboard_path, rows)
        ranked_input = [r for r in board.rows if r.dataset == dataset and r.evaluator in evaluators]
    else:
        ranked_input = rows
    notes = []
    if len(evaluators) > 1:
        notes.append(
            f"These evaluations use {len(evaluators)} different judges ({', '.join(evaluators)}); "
            "scores from different judges are not directly comparable."
        )
    if any(r.score.weighted for r in reports):
        notes.append("Instructions carry unequal `weight` fields: means, SEMs and CIs are weighted.")
    title = reports[0].model if len(reports) == 1 else f"{len(reports)} models"
    return EvaluationReport(
        title=f"Evaluation report for {title} on {dataset}",
        dataset=dataset,
        evaluators=evaluators,
        summarizer=summarizer_name,
        version=package_version(),
        generated_at=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        models=reports,
        leaderboard=rank_rows(ranked_input, n_resamples=n_resamples, seed=seed),
        leaderboard_path=None if leaderboard_path is None else str(leaderboard_path),
        notes=notes,
        rubric_diagnostics=rubric_diagnostics(records),
        audit=audit,
        meta_evaluation=meta_evaluation,
    )


def report_from_json(text: str) -> EvaluationReport:
    """Load a report from its JSON twin (e.g. for an HTML renderer)."""
    return EvaluationReport.model_validate_json(text)


__all__ = [
    "CategoryScore",
    "EvaluationReport",
    "GradingCounts",
    "ModelReport",
    "ScoreSummary",
    "generate_report",
    "json_twin_path",
    "report_from_json",
]

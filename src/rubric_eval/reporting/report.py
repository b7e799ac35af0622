"""The evaluation report: every number as a pydantic model, rendered to markdown and JSON.

`generate_report` groups evaluated records by ``model``, computes scores with
`rubric_eval.reporting.scoring`, attaches each model's run record with its results, ranks against a
leaderboard and returns an `EvaluationReport`. It computes only: no LLM call, no file written. The
feedback summary is made beforehand (`rubric_eval.steps.summarize`) and passed in; `rubric_eval.pipeline`
chains the steps and writes the files. ``.markdown`` follows the seed README; ``.to_json()`` holds every
number and, per model, every answer with its grades, so other renderings (HTML) need nothing else.
"""

from __future__ import annotations

import json
import math
import os
import textwrap
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field, PrivateAttr

from rubric_eval._api_edge import RecordsLike, to_records
from rubric_eval._io import atomic_write_chunks, atomic_write_text
from rubric_eval._version import package_version
from rubric_eval.errors import InputError
from rubric_eval.records import CriterionGrade, JudgeIssues, Record, Rubric
from rubric_eval.reporting._input import ReportRecord
from rubric_eval.reporting.leaderboard import (
    Leaderboard,
    LeaderboardView,
    RankedRow,
    group_key,
    leaderboard_views,
)
from rubric_eval.reporting.scoring import (
    DEFAULT_ALPHA,
    DEFAULT_RESAMPLES,
    DEFAULT_SEED,
    InstructionScore,
    instruction_score,
    score_stats_many,
)
from rubric_eval.reporting.summary import FeedbackSummary
from rubric_eval.runs import (
    CategoryScore,
    RunRecord,
    ScoreSummary,
    dataset_identity,
    utc_now,
)
from rubric_eval.trust import (
    AuditReport,
    JudgingSummary,
    MetaEvaluation,
    RubricDiagnostics,
)

if TYPE_CHECKING:
    from rubric_eval.reporting._summary import AnswerSpill, ReportSummary

UNKNOWN_MODEL = "unknown model"


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


class InstructionReport(BaseModel):
    """One instruction of the dataset, shared by every model's answer to it."""

    key: str = Field(description="Stable key: id and a hash of the text (see `instruction_key`).")
    id: int | str | None = None
    instruction: str
    category: str
    rubric: Rubric | None = None
    levels: list[str] = Field(default_factory=list, description="The rubric's levels, best first.")
    level_scores: dict[str, float] = Field(default_factory=dict, description="level -> score (1-10).")


class AnswerReport(BaseModel):
    """One model's answer to one instruction, as the judge graded it."""

    key: str = Field(description="The instruction's key (see `InstructionReport.key`).")
    output: str | None
    score: float | None
    fraction_scored: float | None = None
    weight: float = 1.0
    grades: list[CriterionGrade] = Field(default_factory=list)
    error: str | None = Field(default=None, description="Why there is no grading (failed call or answer).")
    judge_issues: JudgeIssues | None = None


class ModelReport(BaseModel):
    """Everything reported about one model."""

    model: str
    dataset: str
    evaluator: str
    date: str
    n_instructions: int
    status: str = Field(description="The run's status text: 'complete' or e.g. 'partial: 4 of 41 scored'.")
    score: ScoreSummary
    categories: list[CategoryScore]
    grading: GradingCounts
    level_counts: dict[str, int] = Field(default_factory=dict, description="level -> grades at that level.")
    evaluation_cost_usd: float = Field(description="Sum of judge answer costs (priced calls only).")
    n_unpriced_calls: int = Field(0, description="Judge calls whose model has no known price.")
    evaluation_time_s: float = Field(description="Sum of judge call latencies (not wall-clock time).")
    wall_time_s: float | None = Field(default=None, description="Wall-clock time of the run, when known.")
    n_cached: int = Field(description="Judge calls answered from the cache.")
    summary: FeedbackSummary
    judging: JudgingSummary | None = Field(
        None, description="Repeated judging (judge noise in the SEM), panel agreement, escalation."
    )
    run: RunRecord
    answers: list[AnswerReport] = Field(default_factory=list, description="In the input's order.")

    @property
    def total_cost_usd(self) -> float | None:
        """Judge plus summary cost; None when any call's price is unknown."""
        if self.n_unpriced_calls or self.summary.n_unpriced_calls:
            return None
        return self.evaluation_cost_usd + self.summary.cost_usd

    @property
    def complete(self) -> bool:
        return self.run.complete

    def worst_answers(self, n: int = 10) -> list[AnswerReport]:
        """The n lowest-scored answers (unscored ones first: they need a look most)."""
        return sorted(self.answers, key=lambda a: (a.score is not None, a.score or 0.0))[:n]


class EvaluationReport(BaseModel):
    """The report: per-model results (best first), the leaderboard, and how it was made."""

    title: str
    dataset: str
    dataset_fingerprint: str
    evaluators: list[str]
    summarizer: str | None
    version: str
    generated_at: str
    input_path: str | None = None
    models: list[ModelReport]
    instructions: list[InstructionReport] = Field(default_factory=list)
    leaderboard: list[RankedRow]
    leaderboard_path: str | None = None
    comparisons: LeaderboardView | None = Field(
        default=None, description="The ranked group of this dataset and judge, with every pair's test."
    )
    alpha: float = DEFAULT_ALPHA
    notes: list[str] = Field(default_factory=list)
    rubric_diagnostics: RubricDiagnostics | None = Field(None, description="With two or more models.")
    audit: AuditReport | None = Field(None, description="From `rubric_eval audit`, when given.")
    meta_evaluation: MetaEvaluation | None = Field(None, description="From `rubric_eval meta_evaluate`.")
    # The answers of a report computed in one pass over a file, spilled to a temporary file (`AnswerSpill`):
    # the models' `answers` lists are empty and the JSON twin is written from here.
    _answers: AnswerSpill | None = PrivateAttr(default=None)

    @property
    def runs(self) -> list[RunRecord]:
        return [m.run for m in self.models]

    @property
    def incomplete(self) -> list[ModelReport]:
        """Models whose run is not complete; the report says so at the top."""
        return [m for m in self.models if not m.complete]

    def category_matrix(self) -> dict[str, dict[str, float | None]]:
        """model -> category -> mean score, for the model x category table."""
        return {m.model: {c.category: c.mean for c in m.categories} for m in self.models}

    @property
    def markdown(self) -> str:
        """The report as markdown (seed README layout; one section per model when there are several)."""
        from rubric_eval.reporting.markdown import render_markdown

        return render_markdown(self)

    def answers_of(self, model: ModelReport) -> Iterator[AnswerReport]:
        """One model's answers in the input's order: its ``answers``, or for a report computed in one
        pass over a file (`read_report_summary`), read back from where they were spilled."""
        if self._answers is None or model.answers:
            yield from model.answers
            return
        for chunk in self._answers.chunks(model.model):
            yield AnswerReport.model_validate_json(chunk)

    def to_json(self) -> str:
        return "".join(self.json_chunks())

    def json_chunks(self) -> Iterator[str]:
        """`to_json` piece by piece: a report read from a file streams its answers from where they were
        spilled (`read_report_summary`), so the whole text is never in memory."""
        spill = self._answers
        if spill is None or not self.models:
            yield self.model_dump_json(indent=2) + "\n"
            return
        head = self.model_copy(update={"models": []}).model_dump_json(indent=2)
        before, after = head.split('\n  "models": [],\n')  # one top-level key per line at indent 2
        yield before + '\n  "models": [\n'
        for k, model in enumerate(self.models):
            text = model.model_dump_json(indent=2)
            empty = '\n  "answers": []\n}'  # the last field, filled from the spill
            assert text.endswith(empty)
            yield textwrap.indent(text[: -len(empty)], "    ") + '\n      "answers": ['
            separator = "\n        "
            for answer in spill.chunks(model.model):
                yield separator + answer.decode("utf-8")
                separator = ",\n        "
            closing = "]" if separator == "\n        " else "\n      ]"
            yield closing + "\n    }" + (",\n" if k + 1 < len(self.models) else "\n")
        yield "  ],\n" + after + "\n"

    def to_dataframe(self, level: str = "models") -> Any:
        """The report as a pandas DataFrame (``pip install pandas``): ``models`` (one row per model),
        ``categories`` (model x category) or ``answers`` (one row per model and instruction)."""
        from rubric_eval.reporting.frames import report_frame

        return report_frame(self, level)

    def write(self, markdown_path: str | os.PathLike[str]) -> tuple[Path, Path]:
        """Write the markdown and, beside it, the JSON twin (same name, ``.json``); return both paths."""
        md_path = Path(markdown_path)
        json_path = json_twin_path(md_path)
        atomic_write_text(md_path, self.markdown)
        self.write_json(json_path)
        return md_path, json_path

    def write_json(self, json_path: str | os.PathLike[str]) -> Path:
        """Write `to_json` to ``json_path`` (atomically, piece by piece); return the path."""
        atomic_write_chunks(json_path, self.json_chunks())
        return Path(json_path)


class _OwnerRun(BaseModel):
    status: str


class _OwnerModel(BaseModel):
    model: str
    run: _OwnerRun


class ReportOwner(BaseModel):
    """Whom a report was written for: its models and judges, and whether all its runs are complete."""

    models: list[str]
    evaluators: list[str]
    complete: bool


class _OwnerFields(BaseModel):
    models: list[_OwnerModel]
    evaluators: list[str]


def read_report_owner(twin: str | os.PathLike[str]) -> ReportOwner | None:
    """`ReportOwner` of a JSON twin, None when it cannot be read as one.

    A twin laid out as `EvaluationReport.to_json` writes it (indent 2: top-level keys at two spaces, each
    model's at six) is scanned line by line, stopping at the end of ``models``, so every answer it carries
    is never held; any other layout is parsed whole, reading only these fields.
    """
    path = Path(twin)
    try:
        scanned = _scan_owner(path)
        if scanned is not None:
            return scanned
        fields = _OwnerFields.model_validate_json(path.read_bytes())
    except (OSError, ValueError):  # unreadable, not JSON, not a report (ValidationError is one)
        return None
    return ReportOwner(
        models=[m.model for m in fields.models],
        evaluators=fields.evaluators,
        complete=all(m.run.status == "complete" for m in fields.models),
    )


def _scan_owner(path: Path) -> ReportOwner | None:
    evaluators: list[str] | None = None
    models: list[str] = []
    statuses: list[str] = []
    pending: list[str] | None = None  # the lines of the "evaluators" list, while it is open
    in_models = False
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if pending is not None:
                pending.append(line)
                if line.startswith("  ]"):
                    evaluators = json.loads("".join(pending).rstrip().rstrip(","))
                    pending = None
            elif not in_models:
                if line.startswith('  "evaluators": '):
                    value = line[len('  "evaluators": ') :].rstrip().rstrip(",")
                    if value == "[":
                        pending = ["["]
                    else:
                        evaluators = json.loads(value)
                elif line.rstrip() in {'  "models": [', '  "models": [],'}:
                    in_models = line.rstrip() == '  "models": ['
                    if not in_models:
                        break
            elif line.startswith("  ]"):
                break
            elif line.startswith('      "model": '):
                models.append(json.loads(line[len('      "model": ') :].rstrip().rstrip(",")))
            elif line.startswith('      "status": '):
                statuses.append(json.loads(line[len('      "status": ') :].rstrip().rstrip(",")))
    if evaluators is None or len(models) != len(statuses) or not all(isinstance(m, str) for m in models):
        return None
    return ReportOwner(models=models, evaluators=evaluators, complete=all(s == "complete" for s in statuses))


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


def record_instruction_score(record: Record | ReportRecord, index: int, source: str) -> InstructionScore:
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


def record_weight(record: Record | ReportRecord, index: int, source: str) -> float:
    """The instruction's ``weight`` field (default 1); must be a positive number."""
    value = (
        record.weight if isinstance(record, ReportRecord) else (record.model_extra or {}).get("weight", 1.0)
    )
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


def check_evaluated(records: Sequence[Record], source: str) -> None:
    """Raise the InputError `generate_report` would raise on unevaluated records or bad weights (call it
    before spending anything on a summary)."""
    for index, record in enumerate(records):
        record_instruction_score(record, index, source)
        record_weight(record, index, source)


def dataset_name(records: Sequence[Record]) -> str:
    """The records' ``dataset_name`` field, else a name derived from the instructions and rubrics."""
    return dataset_identity(records).name


# -- public entry point ------------------------------------------------------------------------


def generate_report(
    evaluations: RecordsLike,
    *,
    runs: Sequence[RunRecord] | None = None,
    summaries: Mapping[str, FeedbackSummary] | None = None,
    summarizer: str | None = None,
    summarize: bool = False,
    dataset: str | None = None,
    leaderboard: Leaderboard | None = None,
    leaderboard_path: str | os.PathLike[str] | None = None,
    baseline: str | None = None,
    n_resamples: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
    source: str = "evaluations",
    audit: AuditReport | None = None,
    meta_evaluation: MetaEvaluation | None = None,
) -> EvaluationReport:
    """Compute the evaluation report of evaluated records (one section per ``model``, best first).

    Pure computation: no LLM call, no file written. ``runs``: the run records of these evaluations
    (from `rubric_eval.pipeline` or an evaluations file's ``.run.json``); models without one get a run
    derived from their records. ``summaries``: model -> feedback summary (`steps.summarize`), else the
    summary is marked skipped. ``leaderboard``: a leaderboard to rank against (it should already hold
    these runs; `rubric_eval.pipeline` adds them), else the models are ranked within these evaluations;
    ``leaderboard_path`` names its file in the report. Write the result with
    ``report.write("evaluation_report.md")`` (also writes ``evaluation_report.json``).
    ``audit`` / ``meta_evaluation`` (from `rubric_eval audit` / `meta_evaluate`) become report sections;
    rubric diagnostics are computed whenever two or more models were graded.
    ``summarize`` is accepted for scripts written for 0.2 (``summarize=False``); summarising is its own
    step now (`rubric_eval.pipeline.summarize_evaluations`).
    """
    if summarize or not (summarizer is None or isinstance(summarizer, str)):
        raise TypeError(
            "generate_report no longer calls the summariser: run "
            "rubric_eval.pipeline.summarize_evaluations(...) and pass summaries=..., summarizer=<its name>"
        )
    records, _ = to_records(evaluations, source=source)
    if not records:
        raise InputError("no records to report on", path=source)
    from rubric_eval.reporting._summary import AnswerList, ReportSummary

    collected = ReportSummary(source=source, answers=AnswerList())
    for record in records:
        collected.add(ReportRecord.of(record))
    return report_from_summary(
        collected,
        runs=runs,
        summaries=summaries,
        summarizer=summarizer,
        dataset=dataset,
        leaderboard=leaderboard,
        leaderboard_path=leaderboard_path,
        baseline=baseline,
        n_resamples=n_resamples,
        seed=seed,
        audit=audit,
        meta_evaluation=meta_evaluation,
    )


def report_from_summary(
    collected: ReportSummary,
    *,
    runs: Sequence[RunRecord] | None = None,
    summaries: Mapping[str, FeedbackSummary] | None = None,
    summarizer: str | None = None,
    dataset: str | None = None,
    leaderboard: Leaderboard | None = None,
    leaderboard_path: str | os.PathLike[str] | None = None,
    baseline: str | None = None,
    n_resamples: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
    audit: AuditReport | None = None,
    meta_evaluation: MetaEvaluation | None = None,
) -> EvaluationReport:
    """`generate_report` of the records a `ReportSummary` was built from (e.g. by `read_report_summary`,
    one streaming pass over an evaluations file); the same arguments, the same report."""
    from rubric_eval.reporting._summary import AnswerList, AnswerSpill

    if not collected.n_records:
        raise InputError("no records to report on", path=collected.source)
    given = {run.model: run for run in runs or []}
    kept = collected.answers if isinstance(collected.answers, AnswerList) else None
    all_stats = score_stats_many(
        [rows.sample() for rows in collected.models.values()], n_resamples=n_resamples, seed=seed
    )
    reports: list[ModelReport] = []
    for (model, rows), stats in zip(collected.models.items(), all_stats, strict=True):
        run = given.get(model) or rows.derived_run(dataset=dataset, source=collected.source)
        if dataset is not None:
            run = run.model_copy(update={"dataset": run.dataset.model_copy(update={"name": dataset})})
        summary = (summaries or {}).get(model) or FeedbackSummary.skipped(
            "summary skipped (no summariser run)" if summaries is None else "no scored feedback to summarise"
        )
        reports.append(
            rows.report(
                run=run,
                stats=stats,
                summary=summary,
                answers=kept.of(model) if kept is not None else [],
                n_resamples=n_resamples,
                seed=seed,
            )
        )
    reports.sort(key=lambda m: (m.score.mean is None, -(m.score.mean or 0.0), m.model))
    evaluators = sorted({r.evaluator for r in reports})
    main = reports[0].run
    # Rank as the leaderboard will be once these runs are added (same rule as `update_leaderboard`).
    board = Leaderboard(runs=list(leaderboard.runs) if leaderboard is not None else [])
    for model_report in reports:
        board.add(model_report.run)
    group = [r for r in board.runs if group_key(r) == group_key(main)]
    views = leaderboard_views(group, baseline=baseline, n_resamples=n_resamples, seed=seed)
    view = views[0] if views else None
    notes = []
    if len(evaluators) > 1:
        notes.append(
            f"These evaluations use {len(evaluators)} different judges ({', '.join(evaluators)}); "
            "scores from different judges are not directly comparable."
        )
    if len({m.run.dataset.fingerprint for m in reports}) > 1:
        notes.append("The models answered different sets of instructions; their scores are not comparable.")
    unranked = [m.model for m in reports if group_key(m.run) != group_key(main)]
    if unranked:  # say who the leaderboard leaves out rather than drop them silently
        notes.append(
            f"Not ranked in this report's leaderboard (another set of instructions or another judge than "
            f"{reports[0].model}'s): {', '.join(unranked)}. `rubric_eval leaderboard` shows every group."
        )
    if any(r.score.weighted for r in reports):
        notes.append("Instructions carry unequal `weight` fields: means, SEMs and CIs are weighted.")
    title = reports[0].model if len(reports) == 1 else f"{len(reports)} models"
    report = EvaluationReport(
        title=f"Evaluation report for {title} on {main.dataset.name}",
        dataset=main.dataset.name,
        dataset_fingerprint=main.dataset.fingerprint,
        evaluators=evaluators,
        summarizer=summarizer,
        version=package_version(),
        generated_at=utc_now(),
        input_path=main.input_path,
        models=reports,
        instructions=collected.instruction_list(),
        leaderboard=view.rows if view is not None else [],
        leaderboard_path=None if leaderboard_path is None else str(leaderboard_path),
        comparisons=view,
        notes=notes,
        rubric_diagnostics=collected.diagnostics.diagnostics(),
        audit=audit,
        meta_evaluation=meta_evaluation,
    )
    if isinstance(collected.answers, AnswerSpill):
        report._answers = collected.answers
    return report


def report_from_json(text: str) -> EvaluationReport:
    """Load a report from its JSON twin (e.g. for an HTML renderer)."""
    return EvaluationReport.model_validate_json(text)


__all__ = [
    "AnswerReport",
    "CategoryScore",
    "EvaluationReport",
    "GradingCounts",
    "InstructionReport",
    "ModelReport",
    "ReportOwner",
    "ScoreSummary",
    "check_evaluated",
    "generate_report",
    "json_twin_path",
    "read_report_owner",
    "report_from_json",
    "report_from_summary",
]

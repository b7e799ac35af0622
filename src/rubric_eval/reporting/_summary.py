"""The report's compact summary of evaluated records, built in one pass, one record at a time.

`generate_report` and `rubric_eval generate_report` add each record to a `ReportSummary` and compute the
report from it; no record is kept. Per answer it keeps only what the statistics need: the instruction's
key, its score (or None), its weight and category (strings shared between answers); everything else is
added up as the records pass (grading counts, levels, cost, latency, run counts, the dataset's digests).
With two or more models the rubric diagnostics keep each answer's scored grades (criterion, level,
score); with repeated or panel judging each such answer's repeats and panel gradings are kept
(`rubric_eval.trust.JudgingRows`). Each distinct instruction is kept once, for the report's instruction
list. The answers themselves (output, grades, feedback) go to an `Answers` sink: a list for reports
computed in memory, or an `AnswerSpill` (a temporary file) that the JSON twin is written from.
"""

from __future__ import annotations

import array
import json
import os
import tempfile
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO, Protocol

from rubric_eval.reporting._dataset import DatasetTally, DigestIndex
from rubric_eval.reporting._input import ReportRecord, iter_report_records
from rubric_eval.reporting.leaderboard import instruction_key
from rubric_eval.reporting.report import (
    UNKNOWN_MODEL,
    AnswerReport,
    GradingCounts,
    InstructionReport,
    ModelReport,
    record_instruction_score,
    record_weight,
)
from rubric_eval.reporting.scoring import ScoreStats, level_scores, score_stats
from rubric_eval.reporting.summary import NO_CATEGORY, FeedbackSummary
from rubric_eval.runs import (
    CallTotals,
    CategoryScore,
    JudgeIdentity,
    RunCounts,
    RunRecord,
    RunResults,
    RunTiming,
    ScoreSummary,
    add_call_totals,
    count_record,
    run_status,
    utc_now,
)
from rubric_eval.trust import JudgingRows, RubricRows


class Answers(Protocol):
    """Where the answers of a report go, model by model."""

    def add(self, model: str, answer: AnswerReport) -> None: ...


class AnswerList:
    """Answers kept in memory (`generate_report` on records that are in memory anyway)."""

    def __init__(self) -> None:
        self.by_model: dict[str, list[AnswerReport]] = {}

    def add(self, model: str, answer: AnswerReport) -> None:
        self.by_model.setdefault(model, []).append(answer)

    def of(self, model: str) -> list[AnswerReport]:
        return self.by_model.get(model, [])


class AnswerSpill:
    """Answers written as compact JSON to one anonymous temporary file as they come; per answer only
    its offset and length stay in memory. The JSON twin is written from it (`write_answers`)."""

    def __init__(self) -> None:
        self._file: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115  # open until `close` or exit
        self._at: dict[str, tuple[array.array[int], array.array[int]]] = {}
        self._end = 0

    def add(self, model: str, answer: AnswerReport) -> None:
        try:
            data = answer.model_dump_json().encode("utf-8")
        except ValueError:  # a lone surrogate: written as its JSON escape, as record files do
            data = json.dumps(answer.model_dump(mode="json"), ensure_ascii=False).encode(
                "utf-8", "backslashreplace"
            )
        offsets, sizes = self._at.setdefault(model, (array.array("q"), array.array("q")))
        offsets.append(self._end)
        sizes.append(len(data))
        self._file.write(data)
        self._end += len(data)

    def count(self, model: str) -> int:
        return len(self._at.get(model, ((), ()))[0])

    def chunks(self, model: str) -> Iterator[bytes]:
        """The model's answers' JSON texts, in the input's order."""
        self._file.flush()
        offsets, sizes = self._at.get(model, (array.array("q"), array.array("q")))
        for offset, size in zip(offsets, sizes, strict=True):
            self._file.seek(offset)
            yield self._file.read(size)
        self._file.seek(0, os.SEEK_END)

    def close(self) -> None:
        self._file.close()


@dataclass
class _Instruction:
    """The first record of an instruction key, in the order the report lists instructions."""

    model_order: int
    position: int
    report: InstructionReport


def _most_common(counts: Counter[str], default: str) -> str:
    return counts.most_common(1)[0][0] if counts else default


@dataclass
class _ModelRows:
    """One model's columns (one entry per answer) and running totals."""

    name: str
    order: int
    keys: list[str] = field(default_factory=list)
    scores: list[float | None] = field(default_factory=list)
    weights: array.array[float] = field(default_factory=lambda: array.array("d"))
    categories: list[str] = field(default_factory=list)
    key_seen: Counter[str] = field(default_factory=Counter)
    # Grading counts (plain numbers while adding: a pydantic model's attribute costs more to update).
    n_criteria: int = 0
    n_scored: int = 0
    n_partially_scored: int = 0
    n_invented_criteria: int = 0
    n_unknown_levels: int = 0
    reasons: Counter[str] = field(default_factory=Counter)
    levels: Counter[str] = field(default_factory=Counter)
    counts: RunCounts = field(default_factory=lambda: RunCounts(n_instructions=0, n_scored=0, n_unscored=0))
    cost: float = 0
    # The judge calls (k per answer with repeats, every panel judge and escalation): cached, failed and
    # unpriced ones counted as the run record counts them (`rubric_eval.runs.judge_calls`).
    totals: CallTotals = field(default_factory=CallTotals)
    latency: float = 0
    first_date: str | None = None
    last_date: str | None = None
    run_ids: set[str] = field(default_factory=set)
    versions: Counter[str] = field(default_factory=Counter)
    evaluators: Counter[str] = field(default_factory=Counter)
    digests: DigestIndex = field(default_factory=DigestIndex)
    dataset: DatasetTally = field(init=False)
    judging: JudgingRows = field(default_factory=JudgingRows)

    def __post_init__(self) -> None:
        self.dataset = DatasetTally(self.digests)

    def add(self, record: ReportRecord, key: str, score: float | None, weight: float, category: str) -> None:
        self.keys.append(key)
        self.scores.append(score)
        self.weights.append(weight)
        self.categories.append(category)
        for grade in record.grades or []:
            if grade.status == "unscored":
                self.reasons[grade.reason or "no reason recorded"] += 1
            elif grade.status == "scored" and grade.level:
                self.levels[grade.level] += 1
        issues = record.judge_issues
        if issues is not None:
            self.n_invented_criteria += len(issues.invented_criteria)
            self.n_unknown_levels += len(issues.unknown_levels)
        count_record(self.counts, record, score is not None)  # failed calls: those made, not stopped ones
        add_call_totals(self.totals, record)
        self.cost += record.evaluation_price_per_example or 0.0
        self.latency += record.evaluation_time_per_example or 0.0
        date = record.evaluation_date
        if date:
            self.first_date = date if self.first_date is None else min(self.first_date, date)
            self.last_date = date if self.last_date is None else max(self.last_date, date)
        if record.evaluation_run_id:
            self.run_ids.add(record.evaluation_run_id)
        if record.evaluation_version:
            self.versions[record.evaluation_version] += 1
        if record.evaluator:
            self.evaluators[record.evaluator] += 1
        self.dataset.add(record.instruction, record.rubric, record.dataset_name)
        self.judging.add(record)

    def derived_run(self, *, dataset: str | None, source: str) -> RunRecord:
        """A run record for evaluations that came without one (another tool, or an older version)."""
        now = utc_now()
        run_ids = sorted(self.run_ids)
        return RunRecord(
            run_id=run_ids[0] if len(run_ids) == 1 else f"derived:{source}",
            rubric_eval_version=_most_common(self.versions, "unknown"),
            status=run_status(self.counts),
            counts=self.counts.model_copy(),
            model=self.name,
            judge=JudgeIdentity(name=_most_common(self.evaluators, "unknown evaluator")),
            dataset=self.dataset.identity(dataset),
            input_path=source,
            timing=RunTiming(
                started_at=self.first_date or now,
                finished_at=self.last_date or now,
                summed_call_latency_s=self.latency,
            ),
            totals=self.totals.model_copy(),
        )

    def sample(self) -> tuple[list[float | None], list[float] | None]:
        """The scores and, when they differ, the weights: what the model's score is computed from."""
        weights = list(self.weights)
        return self.scores, weights if len(set(weights)) > 1 else None

    def report(
        self,
        *,
        run: RunRecord,
        stats: ScoreStats,
        summary: FeedbackSummary,
        answers: list[AnswerReport],
        n_resamples: int,
        seed: int,
    ) -> ModelReport:
        """The model's section; ``stats``: `score_stats` of `sample` (computed for all models at once)."""
        weights = list(self.weights)
        weighted = len(set(weights)) > 1
        by_category: dict[str, list[int]] = {}
        for pos, category in enumerate(self.categories):
            by_category.setdefault(category, []).append(pos)
        categories = []
        for category, positions in sorted(by_category.items()):
            cat = score_stats(
                [self.scores[p] for p in positions],
                [weights[p] for p in positions] if weighted else None,
                with_ci=False,
            )
            categories.append(
                CategoryScore(
                    category=category, mean=cat.mean, sem=cat.sem, n=cat.n, n_unscored=cat.n_unscored
                )
            )
        score = ScoreSummary(
            mean=stats.mean,
            sem=stats.sem,
            ci_low=stats.ci_low,
            ci_high=stats.ci_high,
            n=stats.n,
            n_unscored=stats.n_unscored,
            weighted=weighted,
            n_resamples=n_resamples,
            seed=seed,
        )
        run = run.model_copy(
            update={
                "results": RunResults(
                    score=score,
                    categories=categories,
                    instruction_scores={
                        k: s for k, s in zip(self.keys, self.scores, strict=True) if s is not None
                    },
                    instruction_weights=dict(zip(self.keys, weights, strict=True)) if weighted else None,
                )
            }
        )
        grading = GradingCounts(
            n_criteria=self.n_criteria,
            n_scored=self.n_scored,
            n_unscored=self.n_criteria - self.n_scored,
            n_instructions_partially_scored=self.n_partially_scored,
            n_invented_criteria=self.n_invented_criteria,
            n_unknown_levels=self.n_unknown_levels,
            n_failed_calls=self.counts.n_failed_calls,
            unscored_reasons=dict(self.reasons.most_common(10)),
        )
        return ModelReport(
            model=self.name,
            dataset=run.dataset.name,
            evaluator=run.judge.name,
            date=run.timing.finished_at,
            n_instructions=len(self.keys),
            status=run.status_text,
            score=score,
            categories=categories,
            grading=grading,
            level_counts=dict(self.levels.most_common()),
            evaluation_cost_usd=self.cost,
            n_unpriced_calls=self.totals.n_unpriced_calls,
            evaluation_time_s=self.latency,
            wall_time_s=run.timing.wall_time_s,
            n_cached=self.totals.cached,
            summary=summary,
            judging=self.judging.summary(n_resamples=n_resamples, seed=seed),
            run=run,
            answers=answers,
        )


class ReportSummary:
    """Everything a report is computed from, added one evaluated record at a time (see the module doc)."""

    def __init__(self, *, source: str, answers: Answers | None = None) -> None:
        self.source = source
        self.answers = answers
        self.models: dict[str, _ModelRows] = {}
        self.diagnostics = RubricRows()
        self.instructions: dict[str, _Instruction] = {}
        self.n_records = 0
        self._shared: dict[str, str] = {}
        self._digests = DigestIndex()  # shared by the models' dataset tallies

    def add(self, record: ReportRecord) -> None:
        """Add the next record (its index in the input is the number added so far)."""
        index = self.n_records
        result = record_instruction_score(record, index, self.source)  # raises on records not evaluated
        weight = record_weight(record, index, self.source)
        name = record.model or UNKNOWN_MODEL
        rows = self.models.get(name)
        if rows is None:
            rows = self.models[name] = _ModelRows(name, len(self.models), digests=self._digests)
        key = self._share(instruction_key(record.instruction, record.id))
        rows.key_seen[key] += 1
        if rows.key_seen[key] > 1:
            key = self._share(f"{key}#{rows.key_seen[key]}")
        category = self._share(record.category or NO_CATEGORY)
        position = len(rows.keys)
        rows.add(record, key, result.score, weight, category)
        rows.n_criteria += result.n_criteria
        rows.n_scored += result.n_scored
        rows.n_partially_scored += 0 < result.n_scored < result.n_criteria
        self.diagnostics.add(record)
        known = self.instructions.get(key)
        if known is None or (rows.order, position) < (known.model_order, known.position):
            levels = record.rubric.levels if record.rubric else []
            self.instructions[key] = _Instruction(
                rows.order,
                position,
                InstructionReport(
                    key=key,
                    id=record.id,
                    instruction=record.instruction,
                    category=category,
                    rubric=record.rubric,
                    levels=levels,
                    level_scores=level_scores(levels) if levels else {},
                ),
            )
        if self.answers is not None:
            issues = record.judge_issues
            self.answers.add(
                name,
                AnswerReport(
                    key=key,
                    output=record.output,
                    score=record.score,
                    fraction_scored=record.fraction_scored,
                    weight=weight,
                    grades=list(record.grades or []),
                    error=record.output_error or (issues.error if issues is not None else None),
                    judge_issues=issues if issues is not None and not issues.empty else None,
                ),
            )
        self.n_records += 1

    def _share(self, text: str) -> str:
        # One string object per distinct key or category, however many answers refer to it.
        return self._shared.setdefault(text, text)

    def instruction_list(self) -> list[InstructionReport]:
        """Each distinct instruction once, first by model (in the input's order), then by position."""
        entries = sorted(self.instructions.values(), key=lambda e: (e.model_order, e.position))
        return [e.report for e in entries]

    @property
    def run_ids(self) -> set[str]:
        return {run_id for rows in self.models.values() for run_id in rows.run_ids}

    @property
    def evaluators(self) -> frozenset[str]:
        return frozenset(e for rows in self.models.values() for e in rows.evaluators)


def read_report_summary(path: str | os.PathLike[str]) -> ReportSummary:
    """One pass over an evaluations file (JSON list or JSONL): its `ReportSummary`, the answers spilled to
    a temporary file. Bad input raises the `InputError` reading the file would (file, record, field);
    a record that is not evaluated, or a bad ``weight``, the one `generate_report` would."""
    summary = ReportSummary(source=str(path), answers=AnswerSpill())
    for record in iter_report_records(path):
        summary.add(record)
    return summary

"""The report's view of how answers were judged: judge noise (repeats), agreement inside a panel of judges,
and what escalating only the disagreements saved. Read from the fields `evaluate` writes.

`JudgingRows` takes the records one at a time (the report's streaming pass) and keeps only the answers
judged more than once (their repeats, panel gradings and escalation), plus a count of the others.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from pydantic import BaseModel, Field

from rubric_eval.records import JudgeSample, PanelEntry, Rubric
from rubric_eval.trust._agreement import Agreement, GradePair, agreement
from rubric_eval.trust._meta import level_scores
from rubric_eval.trust._noise import JudgeNoise, noise_of_samples
from rubric_eval.trust._stats import DEFAULT_SEED

PANEL_RESAMPLES = 1000


class PanelAgreement(BaseModel):
    evaluator_a: str
    evaluator_b: str
    agreement: Agreement | None


class Escalation(BaseModel):
    """Escalation to a stronger judge only where the panel disagreed, and what that saved."""

    escalate_to: str | None
    n_answers: int
    n_escalated: int
    calls_saved: int = Field(description="Answers the stronger judge did not have to grade.")
    cost_per_call_usd: float | None = Field(None, description="Mean cost of the stronger judge's calls.")
    cost_saved_usd: float | None = Field(None, description="calls_saved x cost_per_call_usd (an estimate).")


class JudgingSummary(BaseModel):
    """How one model's answers were judged: repeats, panel agreement, escalation."""

    aggregate: str | None = None
    noise: JudgeNoise | None = None
    panel_noise: dict[str, JudgeNoise] = Field(
        default_factory=dict, description="Per panel judge, from its repeats (--n_judge_samples > 1)."
    )
    panel: list[PanelAgreement] = Field(default_factory=list)
    escalation: Escalation | None = None


class JudgedRecord(Protocol):
    """What the judging summary reads of an evaluated record (`rubric_eval.records.Record` has it)."""

    @property
    def instruction(self) -> str: ...
    @property
    def id(self) -> int | str | None: ...
    @property
    def rubric(self) -> Rubric | None: ...
    @property
    def judge_samples(self) -> list[JudgeSample] | None: ...
    @property
    def judge_aggregate(self) -> str | None: ...
    @property
    def judge_panel(self) -> list[PanelEntry] | None: ...
    @property
    def escalated(self) -> PanelEntry | None: ...
    @property
    def model_fields_set(self) -> set[str]: ...


@dataclass(frozen=True)
class _Judged:
    key: str  # the instruction's id, else its text
    rubric: Rubric | None
    samples: list[JudgeSample]
    panel: list[PanelEntry]
    escalated: PanelEntry | None
    aggregate: str | None


class JudgingRows:
    """One model's answers as the judging summary needs them, added one record at a time."""

    def __init__(self) -> None:
        self.n_answers = 0
        self.escalation_asked = False  # with escalation, records it skipped hold `escalated: null`
        self.judged: list[_Judged] = []

    def add(self, record: JudgedRecord) -> None:
        self.n_answers += 1
        self.escalation_asked = self.escalation_asked or "escalated" in record.model_fields_set
        if (
            record.judge_samples
            or record.judge_panel
            or record.escalated is not None
            or record.judge_aggregate
        ):
            self.judged.append(
                _Judged(
                    key=str(record.id) if record.id is not None else record.instruction,
                    rubric=record.rubric,
                    samples=list(record.judge_samples or []),
                    panel=list(record.judge_panel or []),
                    escalated=record.escalated,
                    aggregate=record.judge_aggregate,
                )
            )

    def summary(
        self, *, n_resamples: int = PANEL_RESAMPLES, seed: int = DEFAULT_SEED
    ) -> JudgingSummary | None:
        """What repeats, panels and escalation say about these answers; None for plain single judging."""
        return _summary(self, n_resamples=n_resamples, seed=seed)


def _panel_agreement(answers: Sequence[_Judged], n_resamples: int, seed: int) -> list[PanelAgreement]:
    judges: list[str] = []
    for answer in answers:
        for entry in answer.panel:
            if entry.evaluator and entry.evaluator not in judges:
                judges.append(entry.evaluator)
    out = []
    for a, b in itertools.combinations(judges, 2):
        pairs = []
        for answer in answers:
            if answer.rubric is None:
                continue
            levels = answer.rubric.levels
            values = level_scores(levels)
            weights = {c.criterion: c.weight for c in answer.rubric.criteria}
            by_judge = {e.evaluator: e.level_per_criteria for e in answer.panel}
            la, lb = by_judge.get(a, {}), by_judge.get(b, {})
            key = answer.key
            for criterion, level_a in la.items():
                level_b = lb.get(criterion)
                if level_a is not None and level_b is not None and level_a in values and level_b in values:
                    pairs.append(
                        GradePair(
                            instruction=key,
                            answer=key,
                            weight=weights.get(criterion, 1.0),
                            a_score=values[level_a],
                            b_score=values[level_b],
                            a_position=levels.index(level_a),
                            b_position=levels.index(level_b),
                            a_level=level_a,
                            b_level=level_b,
                        )
                    )
        out.append(
            PanelAgreement(
                evaluator_a=a, evaluator_b=b, agreement=agreement(pairs, n_resamples=n_resamples, seed=seed)
            )
        )
    return out


def _escalation(rows: JudgingRows) -> Escalation | None:
    if not rows.escalation_asked:
        return None  # no escalation was asked for (with one, records it skipped hold `escalated: null`)
    escalated = [a.escalated for a in rows.judged if a.escalated is not None]
    prices = [e.price for e in escalated]
    per_call = (
        sum(p for p in prices if p is not None) / len(prices) if prices and None not in prices else None
    )
    saved = rows.n_answers - len(escalated)
    return Escalation(
        escalate_to=escalated[0].evaluator if escalated else None,
        n_answers=rows.n_answers,
        n_escalated=len(escalated),
        calls_saved=saved,
        cost_per_call_usd=per_call,
        cost_saved_usd=None if per_call is None else per_call * saved,
    )


def judging_summary(
    records: Iterable[JudgedRecord], *, n_resamples: int = PANEL_RESAMPLES, seed: int = DEFAULT_SEED
) -> JudgingSummary | None:
    """What repeats, panels and escalation say about one model's judging; None for plain single judging."""
    rows = JudgingRows()
    for record in records:
        rows.add(record)
    return rows.summary(n_resamples=n_resamples, seed=seed)


def _summary(rows: JudgingRows, *, n_resamples: int, seed: int) -> JudgingSummary | None:
    answers = rows.judged
    aggregates = {a.aggregate for a in answers if a.aggregate}
    resamples = min(n_resamples, PANEL_RESAMPLES)
    noise = noise_of_samples([a.samples for a in answers], n_resamples=resamples, seed=seed)
    panel = _panel_agreement(answers, resamples, seed)
    escalation = _escalation(rows)
    by_judge: dict[str, list[list[JudgeSample]]] = {}
    for answer in answers:
        for entry in answer.panel:
            if entry.evaluator and entry.judge_samples:
                by_judge.setdefault(entry.evaluator, []).append(entry.judge_samples)
    panel_noise = {}
    for judge, samples in by_judge.items():
        found = noise_of_samples(samples, n_resamples=resamples, seed=seed)
        if found is not None:
            panel_noise[judge] = found
    if noise is None and not panel and escalation is None and not panel_noise:
        return None
    return JudgingSummary(
        aggregate=", ".join(sorted(aggregates)) or None,
        noise=noise,
        panel_noise=panel_noise,
        panel=panel,
        escalation=escalation,
    )

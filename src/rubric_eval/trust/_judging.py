"""The report's view of how answers were judged: judge noise (repeats), agreement inside a panel of judges,
and what escalating only the disagreements saved. Read from the fields `evaluate` writes."""

from __future__ import annotations

import itertools
from collections.abc import Sequence

from pydantic import BaseModel, Field

from rubric_eval.records import JudgeSample, PanelEntry, Record
from rubric_eval.trust._agreement import Agreement, GradePair, agreement
from rubric_eval.trust._meta import level_scores
from rubric_eval.trust._noise import JudgeNoise, noise_of_records, noise_of_samples
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


def _entries(record: Record) -> list[PanelEntry]:
    return list(record.judge_panel or [])


def _panel_agreement(records: Sequence[Record], n_resamples: int, seed: int) -> list[PanelAgreement]:
    judges: list[str] = []
    for record in records:
        for entry in _entries(record):
            if entry.evaluator and entry.evaluator not in judges:
                judges.append(entry.evaluator)
    out = []
    for a, b in itertools.combinations(judges, 2):
        pairs = []
        for record in records:
            if record.rubric is None:
                continue
            levels = record.rubric.levels
            values = level_scores(levels)
            weights = {c.criterion: c.weight for c in record.rubric.criteria}
            by_judge = {e.evaluator: e.level_per_criteria for e in _entries(record)}
            la, lb = by_judge.get(a, {}), by_judge.get(b, {})
            key = str(record.id) if record.id is not None else record.instruction
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


def _escalation(records: Sequence[Record]) -> Escalation | None:
    if not any("escalated" in r.model_fields_set for r in records):
        return None  # no escalation was asked for (with one, records it skipped hold `escalated: null`)
    escalated = [r.escalated for r in records if r.escalated is not None]
    prices = [e.price for e in escalated]
    per_call = (
        sum(p for p in prices if p is not None) / len(prices) if prices and None not in prices else None
    )
    saved = len(records) - len(escalated)
    return Escalation(
        escalate_to=escalated[0].evaluator if escalated else None,
        n_answers=len(records),
        n_escalated=len(escalated),
        calls_saved=saved,
        cost_per_call_usd=per_call,
        cost_saved_usd=None if per_call is None else per_call * saved,
    )


def judging_summary(
    records: Sequence[Record], *, n_resamples: int = PANEL_RESAMPLES, seed: int = DEFAULT_SEED
) -> JudgingSummary | None:
    """What repeats, panels and escalation say about one model's judging; None for plain single judging."""
    aggregates = {r.judge_aggregate for r in records if r.judge_aggregate}
    noise = noise_of_records(records, n_resamples=min(n_resamples, PANEL_RESAMPLES), seed=seed)
    panel = _panel_agreement(records, min(n_resamples, PANEL_RESAMPLES), seed)
    escalation = _escalation(records)
    by_judge: dict[str, list[list[JudgeSample]]] = {}
    for record in records:
        for entry in _entries(record):
            if entry.evaluator and entry.judge_samples:
                by_judge.setdefault(entry.evaluator, []).append(entry.judge_samples)
    panel_noise = {}
    for judge, answers in by_judge.items():
        found = noise_of_samples(answers, n_resamples=min(n_resamples, PANEL_RESAMPLES), seed=seed)
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

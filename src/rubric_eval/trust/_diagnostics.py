"""Rubric diagnostics: which rubric rows separate models, which levels are used, which rows are redundant,
and how much the model ranking depends on each row's weight. Pure; computed from evaluated records.

A *row* is one criterion of one instruction's rubric. With several models graded on the same
instructions:

- **separation** of a row: the variance of its score across models (between), against the judge's own
  variance on it across repeats (within, only with ``--n_judge_samples`` > 1): ``between / (between +
  within)``; a row where every model got the same level does not separate models at all (*constant*);
- **level usage**: how often each level was given; a level never given means the scale is narrower than
  written, one given to nearly everything means the rubric cannot tell answers apart;
- **redundant pairs**: two rows of the same instruction that gave every model the same level (3+ models);
- **weight sensitivity**: the model ranking (Kendall tau-b against the reported one) when a row's weight
  is set to 0 or doubled; rows whose weight changes the ranking are listed first.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
from pydantic import BaseModel, Field

from rubric_eval.records import Record
from rubric_eval.trust._meta import level_scores
from rubric_eval.trust._noise import record_samples
from rubric_eval.trust._stats import kendall_tau_b

MAX_LISTED = 10
MIN_MODELS_FOR_REDUNDANCY = 3


class RowSeparation(BaseModel):
    instruction: str
    criterion: str
    n_models: int
    levels_used: list[str]
    between_variance: float
    within_variance: float | None = None
    separation: float | None = Field(None, description="between / (between + within), with repeats only.")


class RedundantPair(BaseModel):
    instruction: str
    criterion_a: str
    criterion_b: str
    n_models: int


class WeightSensitivity(BaseModel):
    instruction: str
    criterion: str
    weight: float = Field(description="The row's weight, percent of its instruction.")
    tau_if_removed: float | None
    tau_if_doubled: float | None
    max_rank_change: int = Field(description="Largest change of any model's rank, over both changes.")


class RubricDiagnostics(BaseModel):
    """How the rubric rows behaved across the models in one report."""

    n_models: int
    n_instructions: int = Field(description="Instructions graded for two or more models.")
    n_rows: int
    level_usage: dict[str, int] = Field(description="Level -> number of scored grades with it, best first.")
    unused_levels: list[str]
    dominant_level: str | None = Field(None, description="A level given in more than 80% of grades, if any.")
    n_constant_rows: int = Field(description="Rows where every model got the same level.")
    least_separating: list[RowSeparation] = Field(default_factory=list)
    n_redundant_pairs: int
    redundant_pairs: list[RedundantPair] = Field(default_factory=list)
    n_ranking_sensitive_rows: int = Field(description="Rows whose removal or doubling changes the ranking.")
    weight_sensitivity: list[WeightSensitivity] = Field(default_factory=list)


@dataclass
class _Instruction:
    key: str
    weights: dict[str, float]  # criterion -> weight (percent of the instruction)
    levels: dict[str, dict[str, str]] = field(default_factory=dict)  # model -> criterion -> level
    scores: dict[str, dict[str, float]] = field(default_factory=dict)  # model -> criterion -> score
    repeats: dict[str, dict[str, list[float]]] = field(default_factory=dict)  # model -> criterion -> scores


def _collect(records: Sequence[Record]) -> tuple[dict[str, _Instruction], list[str], list[str]]:
    instructions: dict[str, _Instruction] = {}
    models: list[str] = []
    scale: list[str] = []
    for record in records:
        if record.rubric is None or record.grades is None:
            continue
        model = record.model or "unknown model"
        if model not in models:
            models.append(model)
        if len(record.rubric.levels) > len(scale):
            scale = record.rubric.levels
        key = f"{record.id}" if record.id is not None else _instruction_label(record.instruction)
        inst = instructions.get(key)
        if inst is None:
            weights = {c.criterion: c.weight for c in record.rubric.normalized().criteria}
            inst = instructions[key] = _Instruction(key, weights)
        scored = {
            g.criterion: g for g in record.grades if g.status == "scored" and g.level and g.score is not None
        }
        inst.levels[model] = {c: g.level for c, g in scored.items() if g.level}
        inst.scores[model] = {c: float(g.score) for c, g in scored.items() if g.score is not None}
        by_level = level_scores(record.rubric.levels)
        for sample in record_samples(record):
            for criterion, level in sample.level_per_criteria.items():
                if level in by_level:
                    inst.repeats.setdefault(model, {}).setdefault(criterion, []).append(by_level[level])
    return instructions, models, scale


def _variance(values: Sequence[float]) -> float:
    # ddof = 1; plain Python: numpy's per-call overhead dominates on a handful of values.
    mean = sum(values) / len(values)
    return sum((v - mean) ** 2 for v in values) / (len(values) - 1)


def _instruction_label(text: str) -> str:
    # Records without ids: the instruction's start plus a hash, so two similar openings stay apart.
    digest = hashlib.sha256(text.strip().encode("utf-8")).hexdigest()[:8]
    start = " ".join(text.split())[:50]
    return f"{start}... ({digest})"


def _instruction_score(weights: dict[str, float], scores: dict[str, float]) -> float | None:
    total = sum(weights.get(c, 0.0) for c in scores)
    return sum(weights.get(c, 0.0) * s for c, s in scores.items()) / total if total > 0 else None


def _ranks(means: dict[str, float]) -> dict[str, int]:
    order = sorted(means, key=lambda m: -means[m])
    return {m: i + 1 for i, m in enumerate(order)}


def rubric_diagnostics(records: Sequence[Record]) -> RubricDiagnostics | None:
    """Diagnostics of the rubric rows over the models in ``records``; None with fewer than two models."""
    instructions, models, scale = _collect(records)
    shared = {k: i for k, i in instructions.items() if len(i.scores) >= 2}
    if len(models) < 2 or not shared:
        return None
    usage = dict.fromkeys(scale, 0)
    rows: list[RowSeparation] = []
    redundant: list[RedundantPair] = []
    for inst in shared.values():
        for model_levels in inst.levels.values():
            for level in model_levels.values():
                usage[level] = usage.get(level, 0) + 1
        for criterion in inst.weights:
            values = [s[criterion] for s in inst.scores.values() if criterion in s]
            if len(values) < 2:
                continue
            used = sorted(
                {lv[criterion] for lv in inst.levels.values() if criterion in lv}, key=_position(scale)
            )
            repeats = [r[criterion] for r in inst.repeats.values() if len(r.get(criterion, [])) >= 2]
            within = sum(_variance(r) for r in repeats) / len(repeats) if repeats else None
            between = _variance(values)
            separation = between / (between + within) if within is not None and between + within > 0 else None
            rows.append(
                RowSeparation(
                    instruction=inst.key,
                    criterion=criterion,
                    n_models=len(values),
                    levels_used=used,
                    between_variance=between,
                    within_variance=within,
                    separation=separation,
                )
            )
        for a, b in itertools.combinations(inst.weights, 2):
            both = [lv for lv in inst.levels.values() if a in lv and b in lv]
            if len(both) >= MIN_MODELS_FOR_REDUNDANCY and all(lv[a] == lv[b] for lv in both):
                redundant.append(
                    RedundantPair(instruction=inst.key, criterion_a=a, criterion_b=b, n_models=len(both))
                )
    total = sum(usage.values())
    dominant = next((lv for lv, n in usage.items() if total and n / total > 0.8), None)
    constant = [r for r in rows if len(r.levels_used) == 1]
    rows.sort(key=lambda r: (r.separation if r.separation is not None else r.between_variance, r.instruction))
    sensitivity = _weight_sensitivity(shared, models)
    return RubricDiagnostics(
        n_models=len(models),
        n_instructions=len(shared),
        n_rows=len(rows),
        level_usage=usage,
        unused_levels=[lv for lv, n in usage.items() if n == 0],
        dominant_level=dominant,
        n_constant_rows=len(constant),
        least_separating=rows[:MAX_LISTED],
        n_redundant_pairs=len(redundant),
        redundant_pairs=redundant[:MAX_LISTED],
        n_ranking_sensitive_rows=sum(
            1 for s in sensitivity if (s.tau_if_removed or 1.0) < 1.0 or (s.tau_if_doubled or 1.0) < 1.0
        ),
        weight_sensitivity=sensitivity[:MAX_LISTED],
    )


def _position(scale: Sequence[str]) -> Callable[[str], int]:
    return lambda level: scale.index(level) if level in scale else len(scale)


def _weight_sensitivity(
    instructions: dict[str, _Instruction], models: Sequence[str]
) -> list[WeightSensitivity]:
    """Each row's effect on the ranking when its weight is set to 0 or doubled (others unchanged)."""
    per_model: dict[str, dict[str, float]] = {m: {} for m in models}
    for key, inst in instructions.items():
        for model, scores in inst.scores.items():
            value = _instruction_score(inst.weights, scores)
            if value is not None:
                per_model[model][key] = value
    means = {m: float(np.mean(list(v.values()))) for m, v in per_model.items() if v}
    ranked = sorted(means)
    base = [means[m] for m in ranked]
    base_ranks = _ranks(means)
    out = []
    for key, inst in instructions.items():
        for criterion, weight in inst.weights.items():
            taus: list[float | None] = []
            worst = 0
            for factor in (0.0, 2.0):
                weights = {**inst.weights, criterion: weight * factor}
                changed = dict(means)
                for model, scores in inst.scores.items():
                    old = per_model.get(model, {}).get(key)
                    new = _instruction_score(weights, scores)
                    if old is not None and new is not None and model in changed:
                        changed[model] += (new - old) / len(per_model[model])
                taus.append(kendall_tau_b(base, [changed[m] for m in ranked]))
                ranks = _ranks(changed)
                worst = max(worst, max(abs(ranks[m] - base_ranks[m]) for m in ranked))
            out.append(
                WeightSensitivity(
                    instruction=key,
                    criterion=criterion,
                    weight=weight,
                    tau_if_removed=taus[0],
                    tau_if_doubled=taus[1],
                    max_rank_change=worst,
                )
            )
    out.sort(key=lambda s: (-s.max_rank_change, min(s.tau_if_removed or 1.0, s.tau_if_doubled or 1.0)))
    return out

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

`RubricRows` takes the records one at a time (the report's streaming pass) and keeps per answer only
its scored grades (criterion, level, score; strings shared); the weight sensitivity is computed for all
rows of an instruction and both changes at once, with the same arithmetic as one row at a time.
"""

from __future__ import annotations

import hashlib
import itertools
import math
import struct
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
from pydantic import BaseModel, Field

from rubric_eval.records import CriterionGrade, JudgeSample, Rubric
from rubric_eval.trust._meta import level_scores

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


class GradedAnswer(Protocol):
    """What the diagnostics read of an evaluated record (`rubric_eval.records.Record` has it)."""

    @property
    def instruction(self) -> str: ...
    @property
    def id(self) -> int | str | None: ...
    @property
    def model(self) -> str | None: ...
    @property
    def rubric(self) -> Rubric | None: ...
    @property
    def grades(self) -> list[CriterionGrade] | None: ...
    @property
    def judge_samples(self) -> list[JudgeSample] | None: ...


_Graded = tuple[tuple[str, ...], tuple[str, ...], tuple[float, ...]]


@dataclass
class _Instruction:
    key: str
    weights: dict[str, float]  # criterion -> weight (percent of the instruction)
    table: list[str | float]  # the values `graded` refers to (shared by all instructions)
    # model -> its scored grades in the record's order: (criterion, level, score) as indices into `table`,
    # packed 3 x 4 bytes per grade (~60 bytes per answer instead of three tuples' ~300).
    graded: dict[str, bytes] = field(default_factory=dict)
    repeats: dict[str, dict[str, list[float]]] = field(default_factory=dict)  # model -> criterion -> scores

    def decoded(self) -> dict[str, _Graded]:
        """model -> (criteria, levels, scores) of its scored grades, in the record's order."""
        out: dict[str, _Graded] = {}
        for model, blob in self.graded.items():
            ids = struct.unpack(f"{len(blob) // 4}I", blob)
            values = [self.table[i] for i in ids]
            out[model] = (
                tuple(str(v) for v in values[0::3]),
                tuple(str(v) for v in values[1::3]),
                tuple(float(v) for v in values[2::3]),
            )
        return out

    def levels(self, decoded: dict[str, _Graded]) -> dict[str, dict[str, str]]:
        """model -> criterion -> level."""
        return {m: dict(zip(names, levels, strict=True)) for m, (names, levels, _) in decoded.items()}

    def scores(
        self, decoded: dict[str, _Graded]
    ) -> dict[str, dict[str, float]]:  # model -> criterion -> score
        return {m: dict(zip(names, scores, strict=True)) for m, (names, _, scores) in decoded.items()}


class RubricRows:
    """The diagnostics' summary of evaluated records, added one at a time (a streaming pass).

    Per answer it keeps only its scored grades' criterion, level and score (as indices into one table of
    the distinct names, levels and scores) and, with repeated judging, each repeat's score per criterion.
    """

    def __init__(self) -> None:
        self.instructions: dict[str, _Instruction] = {}
        self.models: dict[str, None] = {}  # in order of appearance
        self.scale: list[str] = []
        self._ids: dict[str | float, int] = {}
        self._table: list[str | float] = []

    def _id(self, value: str | float) -> int:
        found = self._ids.get(value)
        if found is None:
            found = self._ids[value] = len(self._table)
            self._table.append(value)
        return found

    def add(self, record: GradedAnswer) -> None:
        rubric, grades = record.rubric, record.grades
        if rubric is None or grades is None:
            return
        model = record.model or "unknown model"
        self.models.setdefault(model, None)
        levels = rubric.levels
        if len(levels) > len(self.scale):
            self.scale = levels
        key = f"{record.id}" if record.id is not None else _instruction_label(record.instruction)
        inst = self.instructions.get(key)
        if inst is None:
            weights = {c.criterion: c.weight for c in rubric.normalized().criteria}
            inst = self.instructions[key] = _Instruction(key, weights, self._table)
        scored = {g.criterion: g for g in grades if g.status == "scored" and g.level and g.score is not None}
        ids: list[int] = []
        for criterion, grade in scored.items():
            ids += (self._id(criterion), self._id(grade.level or ""), self._id(float(grade.score or 0.0)))
        inst.graded[model] = struct.pack(f"{len(ids)}I", *ids)
        if record.judge_samples:
            by_level = level_scores(levels)
            for sample in record.judge_samples:
                for criterion, level in sample.level_per_criteria.items():
                    if level in by_level:
                        inst.repeats.setdefault(model, {}).setdefault(criterion, []).append(by_level[level])

    def diagnostics(self) -> RubricDiagnostics | None:
        """The diagnostics of the rows added so far; None with fewer than two models."""
        return _diagnostics(self.instructions, list(self.models), self.scale)


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


def rubric_diagnostics(records: Iterable[GradedAnswer]) -> RubricDiagnostics | None:
    """Diagnostics of the rubric rows over the models in ``records``; None with fewer than two models."""
    rows = RubricRows()
    for record in records:
        rows.add(record)
    return rows.diagnostics()


def _diagnostics(
    instructions: dict[str, _Instruction], models: list[str], scale: list[str]
) -> RubricDiagnostics | None:
    shared = {k: i for k, i in instructions.items() if len(i.graded) >= 2}
    if len(models) < 2 or not shared:
        return None
    usage = dict.fromkeys(scale, 0)
    rows: list[RowSeparation] = []
    n_rows = n_constant = 0
    redundant: list[RedundantPair] = []
    position = _position(scale)
    per_model: dict[str, dict[str, float]] = {m: {} for m in models}  # model -> instruction -> score
    for key, inst in shared.items():
        decoded = inst.decoded()
        inst_levels, inst_scores = inst.levels(decoded), inst.scores(decoded)
        for model, scores in inst_scores.items():
            value = _instruction_score(inst.weights, scores)
            if value is not None:
                per_model[model][key] = value
        for model_levels in inst_levels.values():
            for level in model_levels.values():
                usage[level] = usage.get(level, 0) + 1
        for criterion in inst.weights:
            values = [s[criterion] for s in inst_scores.values() if criterion in s]
            if len(values) < 2:
                continue
            used = sorted({lv[criterion] for lv in inst_levels.values() if criterion in lv}, key=position)
            repeats = [r[criterion] for r in inst.repeats.values() if len(r.get(criterion, [])) >= 2]
            within = sum(_variance(r) for r in repeats) / len(repeats) if repeats else None
            between = _variance(values)
            separation = between / (between + within) if within is not None and between + within > 0 else None
            n_rows += 1
            n_constant += len(used) == 1
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
            both = [lv for lv in inst_levels.values() if a in lv and b in lv]
            if len(both) >= MIN_MODELS_FOR_REDUNDANCY and all(lv[a] == lv[b] for lv in both):
                redundant.append(
                    RedundantPair(instruction=inst.key, criterion_a=a, criterion_b=b, n_models=len(both))
                )
    total = sum(usage.values())
    dominant = next((lv for lv, n in usage.items() if total and n / total > 0.8), None)
    rows.sort(key=lambda r: (r.separation if r.separation is not None else r.between_variance, r.instruction))
    sensitivity = _weight_sensitivity(shared, per_model)
    return RubricDiagnostics(
        n_models=len(models),
        n_instructions=len(shared),
        n_rows=n_rows,
        level_usage=usage,
        unused_levels=[lv for lv, n in usage.items() if n == 0],
        dominant_level=dominant,
        n_constant_rows=n_constant,
        least_separating=rows[:MAX_LISTED],
        n_redundant_pairs=len(redundant),
        redundant_pairs=redundant[:MAX_LISTED],
        n_ranking_sensitive_rows=sum(
            1 for s in sensitivity if (s.tau_if_removed or 1.0) < 1.0 or (s.tau_if_doubled or 1.0) < 1.0
        ),
        weight_sensitivity=[s.model() for s in sensitivity[:MAX_LISTED]],
    )


def _position(scale: Sequence[str]) -> Callable[[str], int]:
    return lambda level: scale.index(level) if level in scale else len(scale)


@dataclass(frozen=True)
class _Sensitivity:
    instruction: str
    criterion: str
    weight: float
    tau_if_removed: float | None
    tau_if_doubled: float | None
    max_rank_change: int

    def model(self) -> WeightSensitivity:
        return WeightSensitivity(**self.__dict__)


def _weight_sensitivity(
    instructions: dict[str, _Instruction], per_model: dict[str, dict[str, float]]
) -> list[_Sensitivity]:
    """Each row's effect on the ranking when its weight is set to 0 or doubled (others unchanged).

    The same arithmetic as one row at a time (each sum in the record's criterion order, each changed
    mean ``mean + (new - old) / n``), done for every row of an instruction and both changes at once.
    ``per_model``: model -> instruction -> its score with the rubric's weights.
    """
    means = {m: float(np.mean(list(v.values()))) for m, v in per_model.items() if v}
    ranked = sorted(means)
    if len(ranked) < 2:
        return [
            _Sensitivity(key, c, w, None, None, 0)
            for key, i in instructions.items()
            for c, w in i.weights.items()
        ]
    order = list(means)  # ties keep this order (a stable sort)
    column = {m: k for k, m in enumerate(order)}
    to_ranked = np.array([column[m] for m in ranked])
    base = np.array([means[m] for m in order])
    counts = np.array([len(per_model[m]) for m in order], dtype=np.float64)
    base_ranks = _rank_array(base[None, :])[0]
    upper = np.triu_indices(len(ranked), k=1)
    sx = np.sign(base[to_ranked][:, None] - base[to_ranked][None, :])[upper]
    n0 = len(ranked) * (len(ranked) - 1) / 2
    ties_x = float((sx == 0).sum())
    out = []
    for key, inst in instructions.items():
        criteria = list(inst.weights)
        graded = [(m, g) for m, g in inst.decoded().items() if m in column and key in per_model[m]]
        if not graded:
            unchanged = 1.0 if ties_x < n0 else None  # tau-b of the ranking against itself
            for criterion, weight in inst.weights.items():
                out.append(_Sensitivity(key, criterion, weight, unchanged, unchanged, 0))
            continue
        width = max(len(names) for _, (names, _, _) in graded)
        crit = np.full((len(graded), width), -1)
        w = np.zeros((len(graded), width))
        s = np.zeros((len(graded), width))
        for row, (_, (names, _, given)) in enumerate(graded):
            for j, (name, score) in enumerate(zip(names, given, strict=True)):
                crit[row, j] = criteria.index(name) if name in inst.weights else -1
                w[row, j] = inst.weights.get(name, 0.0)
                s[row, j] = score
        # changed[c, f, model]: weight of criterion c times factor f (0 or 2), every model's new sums.
        factors = np.array([0.0, 2.0])
        hit = crit[None, :, :] == np.arange(len(criteria))[:, None, None]  # (c, model, j)
        total = np.zeros((len(criteria), 2, len(graded)))
        numer = np.zeros((len(criteria), 2, len(graded)))
        for j in range(width):
            wj = np.where(
                hit[:, None, :, j], w[None, None, :, j] * factors[None, :, None], w[None, None, :, j]
            )
            total = total + wj
            numer = numer + wj * s[None, None, :, j]
        valid = total > 0
        with np.errstate(divide="ignore", invalid="ignore"):
            new = np.where(valid, numer / np.where(valid, total, 1.0), np.nan)
        cols = np.array([column[m] for m, _ in graded])
        old = np.array([per_model[m][key] for m, _ in graded])
        changed = np.broadcast_to(base, (len(criteria), 2, len(order))).copy()
        delta = base[cols][None, None, :] + (new - old[None, None, :]) / counts[cols][None, None, :]
        changed[:, :, cols] = np.where(valid, delta, base[cols][None, None, :])
        flat = changed.reshape(-1, len(order))
        ranks = _rank_array(flat)
        worst = np.abs(ranks - base_ranks[None, :]).max(axis=1).reshape(len(criteria), 2).max(axis=1)
        values = flat[:, to_ranked]
        sy = np.sign(values[:, upper[0]] - values[:, upper[1]])
        concordance = (sx[None, :] * sy).sum(axis=1)
        ties_y = (sy == 0).sum(axis=1)
        taus: list[float | None] = []
        for s_value, ty in zip(concordance.tolist(), ties_y.tolist(), strict=True):
            denom = math.sqrt((n0 - ties_x) * (n0 - float(ty)))
            taus.append(None if denom == 0 else float(s_value) / denom)
        for c, (criterion, weight) in enumerate(inst.weights.items()):
            out.append(_Sensitivity(key, criterion, weight, taus[2 * c], taus[2 * c + 1], int(worst[c])))
    out.sort(key=lambda s: (-s.max_rank_change, min(s.tau_if_removed or 1.0, s.tau_if_doubled or 1.0)))
    return out


def _rank_array(values: np.ndarray) -> np.ndarray:
    """Each row's ranks (1 = highest score), ties in column order."""
    order = np.argsort(-values, axis=1, kind="stable")
    ranks = np.empty_like(order)
    np.put_along_axis(ranks, order, np.arange(1, values.shape[1] + 1)[None, :], axis=1)
    return ranks

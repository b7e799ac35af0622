"""Agreement between two raters of criterion grades (judge vs human, human vs human, judge vs judge).

A `GradePair` is one criterion of one answer graded by both raters. `agreement()` turns pairs into an
`Agreement`: exact and within-one-level agreement, quadratically weighted Cohen's kappa,
Krippendorff's ordinal alpha, macro-F1 over levels (rater ``b`` is the reference), and the Pearson
and Spearman correlations of the instruction scores the two raters' grades imply; each with a
bootstrap CI that resamples instructions.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from pydantic import BaseModel, Field

from rubric_eval.trust._stats import (
    DEFAULT_BOOTSTRAP,
    DEFAULT_SEED,
    IntArray,
    alpha_from_coincidence,
    categories_of,
    cluster_bootstrap_many,
    confusion_matrix,
    f1_per_category,
    kappa_from_confusion,
    macro_f1,
    pearson,
    spearman,
)


@dataclass(frozen=True)
class GradePair:
    """One criterion of one answer graded by raters ``a`` and ``b`` (scores 1-10, positions 0 = best)."""

    instruction: str  # the bootstrap cluster
    answer: str  # instruction + model (+ annotator): the unit of the instruction-score correlation
    weight: float  # the criterion's weight in the rubric
    a_score: float
    b_score: float
    a_position: int
    b_position: int
    a_level: str
    b_level: str
    alpha_weight: float = 1.0  # Krippendorff's 1 / (coders of the item - 1)


class Estimate(BaseModel):
    """A statistic with its bootstrap CI over instructions (None where undefined)."""

    value: float | None
    ci_low: float | None = None
    ci_high: float | None = None


class Agreement(BaseModel):
    """How well two raters agree, on criterion grades and on the instruction scores they imply."""

    n_items: int = Field(description="Criterion grades both raters gave.")
    n_instructions: int
    n_answers: int = Field(description="Answers with an instruction score from both raters.")
    exact: Estimate = Field(description="Share of identical levels.")
    within_one: Estimate = Field(description="Share of levels at most one level apart.")
    kappa_quadratic: Estimate = Field(
        description="Cohen's kappa, quadratic weights (1 = perfect, 0 = chance)."
    )
    alpha_ordinal: Estimate = Field(description="Krippendorff's alpha, ordinal metric.")
    macro_f1: Estimate = Field(description="Mean F1 over levels, rater b as the reference.")
    f1_per_level: dict[str, float | None] = Field(default_factory=dict)
    score_pearson: Estimate = Field(description="Pearson r of the instruction scores.")
    score_spearman: Estimate = Field(description="Spearman rho of the instruction scores.")
    confusion: list[list[float]] = Field(
        default_factory=list, description="Counts: rows = rater b's level, columns = rater a's (best first)."
    )
    levels: list[str] = Field(
        default_factory=list, description="Row/column labels of `confusion`, best first."
    )


def _level_names(pairs: Sequence[GradePair], categories: Sequence[float]) -> list[str]:
    names: dict[float, set[str]] = {c: set() for c in categories}
    for p in pairs:
        names[p.a_score].add(p.a_level)
        names[p.b_score].add(p.b_level)
    return ["/".join(sorted(names[c])) for c in categories]


def agreement(
    pairs: Sequence[GradePair], *, n_resamples: int = DEFAULT_BOOTSTRAP, seed: int = DEFAULT_SEED
) -> Agreement | None:
    """Agreement statistics of the pairs, with CIs; None when there are no pairs."""
    if not pairs:
        return None
    a = np.array([p.a_score for p in pairs])
    b = np.array([p.b_score for p in pairs])
    close = np.abs(np.array([p.a_position for p in pairs]) - np.array([p.b_position for p in pairs])) <= 1
    alpha_w = np.array([p.alpha_weight for p in pairs])
    # Categories best first (highest score first) so tables read like the rubric.
    categories = sorted(categories_of(a, b))
    k = len(categories)

    # Instruction scores per answer: weighted means over the criteria both raters graded.
    answers: dict[str, list[int]] = {}
    for i, p in enumerate(pairs):
        answers.setdefault(p.answer, []).append(i)
    weights = np.array([p.weight for p in pairs])
    answer_items = list(answers.values())
    answer_a = np.array([_wmean(a[ix], weights[ix]) for ix in answer_items])
    answer_b = np.array([_wmean(b[ix], weights[ix]) for ix in answer_items])
    item_answer = np.empty(len(pairs), dtype=np.int64)
    for j, ix in enumerate(answer_items):
        item_answer[ix] = j

    def stats(idx: IntArray) -> list[float | None]:
        matrix = confusion_matrix(b[idx], a[idx], categories)  # rows = reference (b)
        coincidence = confusion_matrix(a[idx], b[idx], categories, alpha_w[idx])
        coincidence = coincidence + coincidence.T
        chosen = np.unique(item_answer[idx], return_counts=True)
        ans = np.repeat(chosen[0], _cluster_multiplicity(idx, item_answer, chosen))
        return [
            float(np.mean(a[idx] == b[idx])),
            float(np.mean(close[idx])),
            kappa_from_confusion(matrix, categories),
            alpha_from_coincidence(coincidence, categories, "ordinal"),
            macro_f1(matrix),
            pearson(answer_a[ans], answer_b[ans]),
            spearman(answer_a[ans], answer_b[ans]),
        ]

    point = stats(np.arange(len(pairs), dtype=np.int64))
    clusters = [p.instruction for p in pairs]
    cis = cluster_bootstrap_many(stats, clusters, n_resamples=n_resamples, seed=seed)
    est = [Estimate(value=v, ci_low=lo, ci_high=hi) for v, (lo, hi) in zip(point, cis, strict=True)]
    full = confusion_matrix(b, a, categories)
    order = list(range(k))[::-1]  # best (highest score) first
    names = _level_names(pairs, categories)
    f1 = f1_per_category(full)
    return Agreement(
        n_items=len(pairs),
        n_instructions=len(set(clusters)),
        n_answers=len(answer_items),
        exact=est[0],
        within_one=est[1],
        kappa_quadratic=est[2],
        alpha_ordinal=est[3],
        macro_f1=est[4],
        f1_per_level={names[i]: f1[i] for i in order},
        score_pearson=est[5],
        score_spearman=est[6],
        confusion=[[float(full[i, j]) for j in order] for i in order],
        levels=[names[i] for i in order],
    )


def _cluster_multiplicity(
    idx: IntArray, item_answer: IntArray, chosen: tuple[IntArray, IntArray]
) -> IntArray:
    # An answer drawn twice (its instruction drawn twice) counts twice in the correlation; its items
    # appear (multiplicity x its item count) times in idx.
    answer_sizes = np.bincount(item_answer)
    return np.asarray(chosen[1] // answer_sizes[chosen[0]], dtype=np.int64)


def _wmean(values: np.ndarray, weights: np.ndarray) -> float:
    total = float(weights.sum())
    return float((values * weights).sum() / total) if total > 0 else float(values.mean())

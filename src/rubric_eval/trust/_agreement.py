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
    resampler = _Resampler(clusters, a, b, close, alpha_w, categories, item_answer, answer_a, answer_b)
    cis = resampler.intervals(n_resamples, seed)
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


class _Resampler:
    """The bootstrap of `agreement`, vectorised: a resample of instructions is a vector of counts per
    instruction, and every statistic is a function of per-instruction sums (confusion and coincidence
    matrices, agreement counts) and of per-answer weights (the correlations). Same statistics as
    `stats` in `agreement` (checked in the tests), without a Python loop over resamples."""

    def __init__(
        self,
        clusters: Sequence[str],
        a: np.ndarray,
        b: np.ndarray,
        close: np.ndarray,
        alpha_w: np.ndarray,
        categories: Sequence[float],
        item_answer: np.ndarray,
        answer_a: np.ndarray,
        answer_b: np.ndarray,
    ) -> None:
        ids: dict[str, int] = {}
        cluster = np.array([ids.setdefault(c, len(ids)) for c in clusters], dtype=np.int64)
        self.n_clusters = n = len(ids)
        cats = np.asarray(categories, dtype=np.float64)
        self.k = k = cats.size
        ia, ib = np.searchsorted(cats, a), np.searchsorted(cats, b)
        self.conf = (
            np.bincount(cluster * k * k + ib * k + ia, minlength=n * k * k).reshape(n, k * k).astype(float)
        )
        co = np.bincount(cluster * k * k + ia * k + ib, weights=alpha_w, minlength=n * k * k).reshape(n, k, k)
        self.coin = (co + co.transpose(0, 2, 1)).reshape(n, k * k)
        self.sums = np.stack(
            [
                np.bincount(cluster, minlength=n),
                np.bincount(cluster, weights=(a == b), minlength=n),
                np.bincount(cluster, weights=close, minlength=n),
            ],
            axis=1,
        ).astype(float)
        span = float(cats.max() - cats.min()) if k > 1 else 0.0
        self.w = ((cats[:, None] - cats[None, :]) / span) ** 2 if span > 0 else 1.0 - np.eye(k)
        i, j = np.meshgrid(np.arange(k), np.arange(k), indexing="ij")
        self.lo, self.hi, self.i, self.j = np.minimum(i, j), np.maximum(i, j), i, j
        first_item = np.full(answer_a.size, -1, dtype=np.int64)
        first_item[item_answer[::-1]] = np.arange(item_answer.size)[::-1]
        self.answer_cluster = cluster[first_item]
        self.xa, self.xb = answer_a, answer_b
        self.ranks_a, self.ranks_b = _TieGroups(answer_a), _TieGroups(answer_b)

    def stats(self, weights: np.ndarray) -> np.ndarray:
        """(resamples, 7) statistics for cluster count rows ``weights``; NaN where undefined."""
        r, k = weights.shape[0], self.k
        sums = weights @ self.sums
        conf = (weights @ self.conf).reshape(r, k, k)
        coin = (weights @ self.coin).reshape(r, k, k)
        with np.errstate(divide="ignore", invalid="ignore"):
            exact = sums[:, 1] / sums[:, 0]
            within = sums[:, 2] / sums[:, 0]
            obs = conf / conf.sum(axis=(1, 2))[:, None, None]
            expected = obs.sum(axis=2)[:, :, None] * obs.sum(axis=1)[:, None, :]
            chance = (self.w * expected).sum(axis=(1, 2))
            kappa = np.where(chance > 1e-15, 1 - (self.w * obs).sum(axis=(1, 2)) / chance, np.nan)
            n_c = coin.sum(axis=2)
            total = n_c.sum(axis=1)
            cum = np.concatenate([np.zeros((r, 1)), np.cumsum(n_c, axis=1)], axis=1)
            between = cum[:, self.hi + 1] - cum[:, self.lo]
            delta = (between - (n_c[:, self.i] + n_c[:, self.j]) / 2) ** 2
            d_o = (coin * delta).sum(axis=(1, 2)) / total
            d_e = (n_c[:, :, None] * n_c[:, None, :] * delta).sum(axis=(1, 2)) / (total * (total - 1))
            alpha = np.where((d_e > 1e-15) & (total > 1), 1 - d_o / d_e, np.nan)
            tp = np.diagonal(conf, axis1=1, axis2=2)
            denom = conf.sum(axis=2) + conf.sum(axis=1)
            f1 = np.where(denom > 0, 2 * tp / denom, np.nan)
            used = np.isfinite(f1).sum(axis=1)
            macro = np.where(used > 0, np.nansum(f1, axis=1) / np.maximum(used, 1), np.nan)
        v = weights[:, self.answer_cluster]
        return np.stack(
            [
                exact,
                within,
                kappa,
                alpha,
                macro,
                _weighted_pearson(v, self.xa, self.xb),
                _weighted_pearson(v, self.ranks_a.ranks(v), self.ranks_b.ranks(v)),
            ],
            axis=1,
        )

    def intervals(self, n_resamples: int, seed: int) -> list[tuple[float | None, float | None]]:
        """Percentile 95% CIs (as `cluster_bootstrap_many`: same draws, undefined resamples skipped)."""
        n = self.n_clusters
        if n < 2:
            return [(None, None)] * 7
        draws = np.random.default_rng(seed).integers(0, n, size=(n_resamples, n))
        chunk = max(1, 2_000_000 // max(n * self.k * self.k, self.xa.size, 1))
        parts = []
        for start in range(0, n_resamples, chunk):
            rows = draws[start : start + chunk]
            flat = (np.arange(rows.shape[0])[:, None] * n + rows).ravel()
            counts = np.bincount(flat, minlength=rows.shape[0] * n).reshape(rows.shape[0], n).astype(float)
            parts.append(self.stats(counts))
        values = np.concatenate(parts)
        out: list[tuple[float | None, float | None]] = []
        for column in values.T:
            finite = column[np.isfinite(column)]
            if finite.size < n_resamples / 2:
                out.append((None, None))
            else:
                lo, hi = np.quantile(finite, [0.025, 0.975])
                out.append((float(lo), float(hi)))
        return out


class _TieGroups:
    """Average ranks of values repeated by per-resample weights (the ranks of the expanded sample)."""

    def __init__(self, values: np.ndarray) -> None:
        self.order = np.argsort(values, kind="mergesort")
        ordered = values[self.order]
        self.starts = (
            np.concatenate([[0], np.flatnonzero(np.diff(ordered)) + 1]) if values.size else np.zeros(0, int)
        )
        group = np.zeros(values.size, dtype=np.int64)
        if values.size:
            group[self.starts[1:]] = 1
        self.group_of = np.empty(values.size, dtype=np.int64)
        self.group_of[self.order] = np.cumsum(group)

    def ranks(self, weights: np.ndarray) -> np.ndarray:
        if weights.shape[1] == 0:
            return weights
        per_group = np.add.reduceat(weights[:, self.order], self.starts, axis=1)
        average = np.cumsum(per_group, axis=1) - per_group + (per_group + 1) / 2
        return np.asarray(average[:, self.group_of], dtype=np.float64)


def _weighted_pearson(v: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Pearson r per row of weights ``v`` (x, y: one value per column, or one row per weight row)."""
    total = v.sum(axis=1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        mx = (v * x).sum(axis=1, keepdims=True) / total
        my = (v * y).sum(axis=1, keepdims=True) / total
        dx, dy = x - mx, y - my
        cov = (v * dx * dy).sum(axis=1)
        den = np.sqrt((v * dx * dx).sum(axis=1) * (v * dy * dy).sum(axis=1))
        r = np.where(den > 1e-300, cov / den, np.nan)
    return np.asarray(np.clip(r, -1.0, 1.0), dtype=np.float64)

"""Scoring as small pure functions: levels to numbers, instruction scores, model scores and tests.

Every number in a report comes from here. Formulas are documented in docs/evaluation.md.
Randomness (bootstrap, permutation test) uses a local ``random.Random(seed)``: same input, same output.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass

BEST_SCORE = 10.0
WORST_SCORE = 1.0
DEFAULT_RESAMPLES = 10_000
DEFAULT_SEED = 0
DEFAULT_ALPHA = 0.05
# Up to this many paired instructions the sign-flip test enumerates all 2**n sign patterns (exact p-value).
_EXACT_SIGN_FLIP_MAX_N = 12


def level_scores(levels: Sequence[str]) -> dict[str, float]:
    """Level name -> score on 1-10, evenly spaced, best (first) level = 10, worst = 1.

    4 levels give 10 / 7 / 4 / 1; 3 give 10 / 5.5 / 1; 2 give 10 / 1.
    """
    if len(levels) < 2:
        raise ValueError(f"need at least 2 levels to score, got {list(levels)}")
    if len(set(levels)) != len(levels):
        raise ValueError(f"level names must be distinct, got {list(levels)}")
    step = (BEST_SCORE - WORST_SCORE) / (len(levels) - 1)
    return {level: round(BEST_SCORE - i * step, 10) for i, level in enumerate(levels)}


@dataclass(frozen=True)
class InstructionScore:
    """The weighted score of one instruction over its scored criteria, and how much was scored."""

    score: float | None
    n_criteria: int
    n_scored: int
    fraction_scored_by_weight: float
    fraction_scored_by_count: float

    @property
    def scored(self) -> bool:
        return self.score is not None


def instruction_score(criteria: Sequence[tuple[float, float | None]]) -> InstructionScore:
    """Weight-average the scored criteria; ``criteria`` is ``(weight, score or None)`` per criterion.

    Weights are renormalised over the scored criteria. With no scored criterion (or only
    zero-weight ones) the instruction is unscored: ``score`` is None, never 0.
    """
    for weight, _ in criteria:
        if not math.isfinite(weight) or weight < 0:
            raise ValueError(f"criterion weights must be finite and >= 0, got {weight!r}")
    total_weight = sum(w for w, _ in criteria)
    scored = [(w, s) for w, s in criteria if s is not None]
    scored_weight = sum(w for w, _ in scored)
    score = sum(w * s for w, s in scored) / scored_weight if scored_weight > 0 else None
    n = len(criteria)
    return InstructionScore(
        score=score,
        n_criteria=n,
        n_scored=len(scored),
        fraction_scored_by_weight=scored_weight / total_weight if total_weight > 0 else 0.0,
        fraction_scored_by_count=len(scored) / n if n else 0.0,
    )


def _normalized_weights(n: int, weights: Sequence[float] | None) -> list[float]:
    if weights is None:
        return [1.0 / n] * n
    if len(weights) != n:
        raise ValueError(f"got {n} values but {len(weights)} weights")
    for w in weights:
        if not math.isfinite(w) or w <= 0:
            raise ValueError(f"instruction weights must be finite and > 0, got {w!r}")
    total = sum(weights)
    return [w / total for w in weights]


def weighted_mean(values: Sequence[float], weights: Sequence[float] | None = None) -> float:
    """Mean of ``values``, weighted when ``weights`` is given (weights need not sum to 1)."""
    if not values:
        raise ValueError("mean of no values")
    p = _normalized_weights(len(values), weights)
    return sum(pi * x for pi, x in zip(p, values, strict=True))


def weighted_sem(values: Sequence[float], weights: Sequence[float] | None = None) -> float | None:
    """Standard error of the (weighted) mean; None when undefined (fewer than 2 values).

    ``SEM^2 = n/(n-1) * sum_i p_i^2 (x_i - m)^2`` with ``p_i = w_i / sum(w)``; with equal
    weights this is exactly ``stdev(x, ddof=1) / sqrt(n)``.
    """
    n = len(values)
    if n < 2:
        return None
    p = _normalized_weights(n, weights)
    m = sum(pi * x for pi, x in zip(p, values, strict=True))
    variance = n / (n - 1) * sum(pi * pi * (x - m) ** 2 for pi, x in zip(p, values, strict=True))
    return math.sqrt(variance)


def quantile(sorted_values: Sequence[float], q: float) -> float:
    """The q-quantile of already sorted values, interpolating linearly (numpy's default method)."""
    if not sorted_values:
        raise ValueError("quantile of no values")
    if not 0.0 <= q <= 1.0:
        raise ValueError(f"q must be in [0, 1], got {q}")
    pos = q * (len(sorted_values) - 1)
    lo = math.floor(pos)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (pos - lo)


def bootstrap_ci(
    values: Sequence[float],
    weights: Sequence[float] | None = None,
    *,
    confidence: float = 0.95,
    n_resamples: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
) -> tuple[float, float] | None:
    """Percentile bootstrap CI of the (weighted) mean, resampling instructions; None for n < 2."""
    n = len(values)
    if n < 2:
        return None
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    if n_resamples < 1:
        raise ValueError(f"n_resamples must be >= 1, got {n_resamples}")
    p = _normalized_weights(n, weights)
    rng = random.Random(seed)
    indices = range(n)
    means = []
    for _ in range(n_resamples):
        sample = rng.choices(indices, k=n)
        total_p = sum(p[i] for i in sample)
        means.append(sum(p[i] * values[i] for i in sample) / total_p)
    means.sort()
    tail = (1 - confidence) / 2
    return quantile(means, tail), quantile(means, 1 - tail)


@dataclass(frozen=True)
class ScoreStats:
    """A model's (or category's) score: mean over scored instructions, SEM, CI, n and unscored count."""

    mean: float | None
    sem: float | None
    ci_low: float | None
    ci_high: float | None
    n: int
    n_unscored: int


def score_stats(
    scores: Sequence[float | None],
    weights: Sequence[float] | None = None,
    *,
    with_ci: bool = True,
    n_resamples: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
) -> ScoreStats:
    """Mean, SEM and bootstrap 95% CI over the scored instructions; unscored ones (None) are counted."""
    if weights is not None and len(weights) != len(scores):
        raise ValueError(f"got {len(scores)} scores but {len(weights)} weights")
    keep = [i for i, s in enumerate(scores) if s is not None]
    values = [float(scores[i]) for i in keep]  # type: ignore[arg-type]  # None filtered out above
    kept_weights = None if weights is None else [weights[i] for i in keep]
    n_unscored = len(scores) - len(keep)
    if not values:
        return ScoreStats(None, None, None, None, 0, n_unscored)
    ci = bootstrap_ci(values, kept_weights, n_resamples=n_resamples, seed=seed) if with_ci else None
    return ScoreStats(
        mean=weighted_mean(values, kept_weights),
        sem=weighted_sem(values, kept_weights),
        ci_low=None if ci is None else ci[0],
        ci_high=None if ci is None else ci[1],
        n=len(values),
        n_unscored=n_unscored,
    )


@dataclass(frozen=True)
class PairedTest:
    """Paired sign-flip permutation test of ``mean(a - b) == 0`` over the instructions both have."""

    n: int
    mean_difference: float | None
    p_value: float | None
    exact: bool

    def significant(self, alpha: float = DEFAULT_ALPHA) -> bool:
        """True when ``a`` is significantly above ``b`` (two-sided p < alpha, positive difference)."""
        return (
            self.p_value is not None
            and self.mean_difference is not None
            and self.mean_difference > 0
            and self.p_value < alpha
        )


def paired_sign_flip_test(
    a: Sequence[float],
    b: Sequence[float],
    weights: Sequence[float] | None = None,
    *,
    n_resamples: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
) -> PairedTest:
    """Two-sided paired test: under H0 each difference ``a_i - b_i`` is equally likely to flip sign.

    The p-value is exact (all ``2**n`` sign patterns) for n <= 12, else Monte Carlo with
    ``(1 + hits) / (1 + n_resamples)``. With n = 0 nothing can be tested (p is None).
    """
    if len(a) != len(b):
        raise ValueError(f"paired samples differ in length: {len(a)} vs {len(b)}")
    n = len(a)
    if n == 0:
        return PairedTest(0, None, None, exact=True)
    p = _normalized_weights(n, weights)
    terms = [pi * (x - y) for pi, x, y in zip(p, a, b, strict=True)]
    observed = sum(terms)
    threshold = abs(observed) - 1e-12
    if n <= _EXACT_SIGN_FLIP_MAX_N:
        patterns = 1 << n
        hits = sum(
            abs(sum(t if (mask >> i) & 1 else -t for i, t in enumerate(terms))) >= threshold
            for mask in range(patterns)
        )
        return PairedTest(n, observed, hits / patterns, exact=True)
    rng = random.Random(seed)
    hits = 0
    for _ in range(n_resamples):
        mask = rng.getrandbits(n)
        if abs(sum(t if (mask >> i) & 1 else -t for i, t in enumerate(terms))) >= threshold:
            hits += 1
    return PairedTest(n, observed, (1 + hits) / (1 + n_resamples), exact=False)

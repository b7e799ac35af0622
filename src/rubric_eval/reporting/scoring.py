"""Scoring as small pure functions: levels to numbers, instruction scores, model scores and tests.

Every number in a report comes from here. Formulas are documented in docs/evaluation.md.
Randomness (bootstrap, permutation test) uses a local ``numpy.random.default_rng(seed)``: same input,
same output. The resampling is vectorised with numpy (a 30-model x 392-instruction report does 30
bootstraps and 29 paired tests of 10,000 resamples each in well under a second, where the loops in
pure Python took about 35 CPU-seconds), in blocks so that memory stays small at any n.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    # Imported in the functions that resample: grading (`instruction_score`, `level_scores`) is on
    # the `evaluate` path, which has no use for numpy's import time.
    import numpy as np

BEST_SCORE = 10.0
WORST_SCORE = 1.0
DEFAULT_RESAMPLES = 10_000
DEFAULT_SEED = 0
DEFAULT_ALPHA = 0.05
# Up to this many paired instructions the sign-flip test enumerates all 2**n sign patterns (exact p-value).
_EXACT_SIGN_FLIP_MAX_N = 12
# Resampling runs in blocks of about this many cells (resamples x n), so memory stays a few MB.
_BLOCK_CELLS = 1 << 20
# Resampling matrices up to this many cells (8 bytes each) are kept for the next model or pair.
_CACHED_CELLS = 1 << 22


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
    import numpy as np

    n = len(values)
    if n < 2:
        return None
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    if n_resamples < 1:
        raise ValueError(f"n_resamples must be >= 1, got {n_resamples}")
    p = np.asarray(_normalized_weights(n, weights))
    columns = np.column_stack([p * np.asarray(values, dtype=float), p])
    means = np.empty(n_resamples)
    for start, counts in _resample_counts(n, n_resamples, seed):
        # counts[r, i]: how often resample r drew instruction i; its mean is sum(p x) / sum(p) over draws.
        sums = counts @ columns
        means[start : start + len(counts)] = sums[:, 0] / sums[:, 1]
    tail = (1 - confidence) / 2
    low, high = np.quantile(means, [tail, 1 - tail])  # linear interpolation, as `quantile`
    return float(low), float(high)


def _blocks(n_resamples: int, n: int) -> Iterator[tuple[int, int]]:
    """``(start, stop)`` ranges of resamples, each block about `_BLOCK_CELLS` cells."""
    size = max(1, _BLOCK_CELLS // max(n, 1))
    for start in range(0, n_resamples, size):
        yield start, min(start + size, n_resamples)


def _resample_counts(n: int, n_resamples: int, seed: int) -> Iterator[tuple[int, np.ndarray]]:
    """Blocks of bootstrap draws as count matrices (resample x instruction), from one seeded stream.

    The same (n, resamples, seed) gives the same draws, so a report's models (same instructions)
    share them; small enough sets are kept for the next call instead of drawn again.
    """
    import numpy as np

    if n * n_resamples <= _CACHED_CELLS:
        yield 0, _cached_counts(n, n_resamples, seed)
        return
    rng = np.random.default_rng(seed)
    for start, stop in _blocks(n_resamples, n):
        yield start, _counts(rng, stop - start, n)


def _counts(rng: np.random.Generator, rows: int, n: int, out: np.ndarray | None = None) -> np.ndarray:
    """A block of bootstrap draws as counts (written into ``out`` when given: no extra copies)."""
    import numpy as np

    sample = rng.integers(0, n, size=(rows, n))
    sample += (np.arange(rows) * n)[:, None]
    counts = np.bincount(sample.ravel(), minlength=rows * n).reshape(rows, n)
    if out is None:
        return counts.astype(float)
    out[...] = counts
    return out


@functools.lru_cache(maxsize=2)
def _cached_counts(n: int, n_resamples: int, seed: int) -> np.ndarray:
    import numpy as np

    rng = np.random.default_rng(seed)
    counts = np.empty((n_resamples, n))
    for start, stop in _blocks(n_resamples, n):  # the same draws, block by block, as `_resample_counts`
        _counts(rng, stop - start, n, counts[start:stop])
    counts.flags.writeable = False
    return counts


@functools.lru_cache(maxsize=2)
def _cached_signs(n: int, n_resamples: int, seed: int) -> np.ndarray:
    import numpy as np

    rng = np.random.default_rng(seed)
    signs = np.empty((n_resamples, n))
    for start, stop in _blocks(n_resamples, n):
        _signs(rng, stop - start, n, signs[start:stop])
    signs.flags.writeable = False
    return signs


def _signs(rng: np.random.Generator, rows: int, n: int, out: np.ndarray | None = None) -> np.ndarray:
    """A block of random sign patterns, +1 or -1 (written into ``out`` when given)."""
    import numpy as np

    bits = np.unpackbits(rng.integers(0, 256, size=(rows, (n + 7) // 8), dtype=np.uint8), axis=1, count=n)
    if out is None:
        out = np.empty((rows, n))
    np.multiply(bits, 2.0, out=out)
    out -= 1.0
    return out


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


def score_stats_many(
    samples: Sequence[tuple[Sequence[float | None], Sequence[float] | None]],
    *,
    n_resamples: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
) -> list[ScoreStats]:
    """`score_stats` (with its CI) of each ``(scores, weights)``, the same results: samples of one size
    share the bootstrap draws, so they are resampled together, one block of draws at a time (a matrix
    product per block instead of one per sample, and memory bounded whatever the sizes)."""
    import numpy as np

    stats = [score_stats(scores, weights, with_ci=False) for scores, weights in samples]
    groups: dict[int, list[tuple[int, np.ndarray]]] = {}
    for index, (scores, weights) in enumerate(samples):
        keep = [i for i, s in enumerate(scores) if s is not None]
        n = len(keep)
        if n < 2:
            continue
        kept_weights = None if weights is None else [weights[i] for i in keep]
        p = np.asarray(_normalized_weights(n, kept_weights))
        values = np.asarray([scores[i] for i in keep], dtype=float)
        groups.setdefault(n, []).append((index, np.column_stack([p * values, p])))
    if not n_resamples > 0:
        raise ValueError(f"n_resamples must be >= 1, got {n_resamples}")
    tail = (1 - 0.95) / 2  # as `bootstrap_ci` computes it, to the last bit
    for n, group in groups.items():
        means = np.empty((n_resamples, len(group)))
        for start, counts in _count_blocks(n, n_resamples, seed):
            # The same draws, block by block, as `bootstrap_ci`: only a block is ever in memory.
            width = max(1, _BLOCK_CELLS // (2 * len(counts)))
            for first in range(0, len(group), width):
                part = group[first : first + width]
                sums = counts @ np.column_stack([columns for _, columns in part])
                means[start : start + len(counts), first : first + len(part)] = sums[:, 0::2] / sums[:, 1::2]
        for k, (index, _) in enumerate(group):
            low, high = np.quantile(means[:, k], [tail, 1 - tail])
            stats[index] = dataclasses.replace(stats[index], ci_low=float(low), ci_high=float(high))
    return stats


def _count_blocks(n: int, n_resamples: int, seed: int) -> Iterator[tuple[int, np.ndarray]]:
    """`_resample_counts` drawn afresh (the same blocks of the same stream, nothing cached)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    for start, stop in _blocks(n_resamples, n):
        yield start, _counts(rng, stop - start, n)


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
    import numpy as np

    if len(a) != len(b):
        raise ValueError(f"paired samples differ in length: {len(a)} vs {len(b)}")
    n = len(a)
    if n == 0:
        return PairedTest(0, None, None, exact=True)
    p = np.asarray(_normalized_weights(n, weights))
    terms = p * (np.asarray(a, dtype=float) - np.asarray(b, dtype=float))
    observed = float(terms.sum())
    threshold = abs(observed) - 1e-12
    if n <= _EXACT_SIGN_FLIP_MAX_N:
        patterns = 1 << n
        # Row m flips term i when bit i of m is 0: every sign pattern once.
        bits = (np.arange(patterns)[:, None] >> np.arange(n)) & 1
        sums = ((2 * bits - 1) * terms).sum(axis=1)
        hits = int((np.abs(sums) >= threshold).sum())
        return PairedTest(n, observed, hits / patterns, exact=True)
    hits = 0
    if n * n_resamples <= _CACHED_CELLS:  # the same sign patterns serve every pair of a report
        hits = int((np.abs(_cached_signs(n, n_resamples, seed) @ terms) >= threshold).sum())
    else:
        rng = np.random.default_rng(seed)
        for start, stop in _blocks(n_resamples, n):
            hits += int((np.abs(_signs(rng, stop - start, n) @ terms) >= threshold).sum())
    return PairedTest(n, observed, (1 + hits) / (1 + n_resamples), exact=False)


def paired_sign_flip_tests(
    pairs: Sequence[tuple[Sequence[float], Sequence[float], Sequence[float] | None]],
    *,
    n_resamples: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
) -> list[PairedTest]:
    """`paired_sign_flip_test` of each ``(a, b, weights)``, the same results: pairs of one size share the
    sign patterns, so they are tested together, one block of patterns at a time (a matrix product per
    block instead of one per pair, and memory bounded whatever the sizes)."""
    import numpy as np

    results: list[PairedTest | None] = [None] * len(pairs)
    batches: dict[int, list[tuple[int, np.ndarray, float]]] = {}
    for index, (a, b, weights) in enumerate(pairs):
        n = len(a)
        if len(b) != n or n <= _EXACT_SIGN_FLIP_MAX_N:
            results[index] = paired_sign_flip_test(a, b, weights, n_resamples=n_resamples, seed=seed)
            continue
        p = np.asarray(_normalized_weights(n, weights))
        terms = p * (np.asarray(a, dtype=float) - np.asarray(b, dtype=float))
        batches.setdefault(n, []).append((index, terms, float(terms.sum())))
    for n, batch in batches.items():
        thresholds = np.array([abs(observed) - 1e-12 for _, _, observed in batch])
        hits = np.zeros(len(batch), dtype=np.int64)
        rng = np.random.default_rng(seed)
        for start, stop in _blocks(n_resamples, n):
            # The same sign patterns, block by block, as `paired_sign_flip_test`; a block at a time.
            signs = _signs(rng, stop - start, n)
            width = max(1, _BLOCK_CELLS // len(signs))
            for first in range(0, len(batch), width):
                part = batch[first : first + width]
                sums = signs @ np.column_stack([terms for _, terms, _ in part])
                hits[first : first + len(part)] += (
                    np.abs(sums) >= thresholds[first : first + len(part)]
                ).sum(axis=0)
        for (index, _, observed), h in zip(batch, hits.tolist(), strict=True):
            results[index] = PairedTest(n, observed, (1 + h) / (1 + n_resamples), exact=False)
    return [r for r in results if r is not None]


def holm_adjust(p_values: Sequence[float | None]) -> list[float | None]:
    """Holm-Bonferroni adjusted p-values (family-wise error control over the given tests).

    Sorted ascending, the i-th smallest of m p-values becomes ``max_{j<=i} min(1, (m - j) * p_(j))``;
    untested pairs (None) are left out of m and stay None.
    """
    tested = sorted((p, i) for i, p in enumerate(p_values) if p is not None)
    m = len(tested)
    adjusted: list[float | None] = [None] * len(p_values)
    running = 0.0
    for rank, (p, index) in enumerate(tested):
        running = max(running, min(1.0, (m - rank) * p))
        adjusted[index] = running
    return adjusted

"""Agreement and correlation statistics as small pure functions (numpy only; no scipy/sklearn at run time).

Conventions:
- Ordinal grades are numbers (a level's score on 1-10, or its position); categories are the sorted
  distinct values of both raters together unless given.
- ``None`` means undefined (too few items, no variance), never 0.
- Confidence intervals over instructions come from `cluster_bootstrap`: items are grouped by
  instruction and whole instructions are resampled, because grades of one instruction are not
  independent (same rubric, same answer). Seeded: same input, same interval.

The tests check every function against scipy or against a hand-worked published example.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

DEFAULT_BOOTSTRAP = 2000
DEFAULT_SEED = 0
DEFAULT_CONFIDENCE = 0.95


def _pair(a: ArrayLike, b: ArrayLike) -> tuple[FloatArray, FloatArray]:
    x = np.asarray(a, dtype=np.float64)
    y = np.asarray(b, dtype=np.float64)
    if x.shape != y.shape or x.ndim != 1:
        raise ValueError(
            f"paired values must be two 1-d sequences of equal length, got {x.shape} and {y.shape}"
        )
    return x, y


def exact_agreement(a: ArrayLike, b: ArrayLike) -> float | None:
    """Share of items where both raters gave the same grade; None for no items."""
    x, y = _pair(a, b)
    return float(np.mean(x == y)) if x.size else None


def within_one_agreement(a_position: ArrayLike, b_position: ArrayLike) -> float | None:
    """Share of items whose level positions (0 = best) differ by at most one level."""
    x, y = _pair(a_position, b_position)
    return float(np.mean(np.abs(x - y) <= 1)) if x.size else None


def confusion_matrix(
    a: ArrayLike, b: ArrayLike, categories: Sequence[float], weights: ArrayLike | None = None
) -> FloatArray:
    """``m[i, j]`` = (weighted) count of items with ``a == categories[i]`` and ``b == categories[j]``."""
    x, y = _pair(a, b)
    cats = np.asarray(categories, dtype=np.float64)
    k = cats.size
    ix = np.searchsorted(cats, x)
    iy = np.searchsorted(cats, y)
    if x.size and (
        np.any(ix >= k)
        or np.any(iy >= k)
        or np.any(cats[np.minimum(ix, k - 1)] != x)
        or np.any(cats[np.minimum(iy, k - 1)] != y)
    ):
        raise ValueError("a value is not one of the categories")
    w = None if weights is None else np.asarray(weights, dtype=np.float64)
    counts = np.bincount(ix * k + iy, weights=w, minlength=k * k)
    return counts.reshape(k, k).astype(np.float64)


def categories_of(*values: ArrayLike) -> list[float]:
    """Sorted distinct values over all given arrays."""
    return sorted({float(v) for arr in values for v in np.asarray(arr, dtype=np.float64).ravel()})


def kappa_from_confusion(
    matrix: FloatArray, categories: Sequence[float], weights: str = "quadratic"
) -> float | None:
    """Cohen's kappa from a confusion matrix; ``weights``: "quadratic", "linear" or "none".

    Disagreement weights use the category values: ``((v_i - v_j) / (max - min))**2`` for quadratic,
    which equals the usual index-based weights when the values are evenly spaced (level scores are).
    None when undefined (no items, or chance disagreement 0: both raters used one category).
    """
    total = float(matrix.sum())
    if total <= 0:
        return None
    v = np.asarray(categories, dtype=np.float64)
    span = float(v.max() - v.min()) if v.size > 1 else 0.0
    if weights == "none" or span == 0:
        w = 1.0 - np.eye(v.size)
    elif weights == "linear":
        w = np.abs(v[:, None] - v[None, :]) / span
    elif weights == "quadratic":
        w = ((v[:, None] - v[None, :]) / span) ** 2
    else:
        raise ValueError(f"weights must be 'quadratic', 'linear' or 'none', got {weights!r}")
    observed = matrix / total
    expected = np.outer(observed.sum(axis=1), observed.sum(axis=0))
    chance = float((w * expected).sum())
    if chance <= 1e-15:
        return None
    return 1.0 - float((w * observed).sum()) / chance


def weighted_kappa(
    a: ArrayLike, b: ArrayLike, *, categories: Sequence[float] | None = None, weights: str = "quadratic"
) -> float | None:
    """Cohen's kappa between two raters (quadratically weighted by default)."""
    cats = list(categories) if categories is not None else categories_of(a, b)
    if not cats:
        return None
    return kappa_from_confusion(confusion_matrix(a, b, cats), cats, weights)


def _ordinal_delta(marginals: FloatArray) -> FloatArray:
    # Krippendorff's ordinal metric: (sum of n_g for g from c to k, minus (n_c + n_k) / 2) ** 2.
    cum = np.concatenate([[0.0], np.cumsum(marginals)])
    k = marginals.size
    i, j = np.meshgrid(np.arange(k), np.arange(k), indexing="ij")
    lo, hi = np.minimum(i, j), np.maximum(i, j)
    between = cum[hi + 1] - cum[lo]
    return np.asarray((between - (marginals[i] + marginals[j]) / 2.0) ** 2, dtype=np.float64)


def alpha_from_coincidence(
    coincidence: FloatArray, categories: Sequence[float], metric: str = "ordinal"
) -> float | None:
    """Krippendorff's alpha from a coincidence matrix; ``metric``: "ordinal", "interval" or "nominal"."""
    n_c = coincidence.sum(axis=1)
    n = float(n_c.sum())
    if n <= 1:
        return None
    v = np.asarray(categories, dtype=np.float64)
    if metric == "ordinal":
        delta = _ordinal_delta(n_c)
    elif metric == "interval":
        delta = (v[:, None] - v[None, :]) ** 2
    elif metric == "nominal":
        delta = 1.0 - np.eye(v.size)
    else:
        raise ValueError(f"metric must be 'ordinal', 'interval' or 'nominal', got {metric!r}")
    observed = float((coincidence * delta).sum()) / n
    # The diagonal of delta is 0, so pairs of equal values never count.
    expected = float((np.outer(n_c, n_c) * delta).sum()) / (n * (n - 1))
    if expected <= 1e-15:
        return None
    return 1.0 - observed / expected


def unit_pairs(units: Sequence[Sequence[float]]) -> tuple[FloatArray, FloatArray, FloatArray, IntArray]:
    """The pairable values of each unit as ordered pairs with Krippendorff's weight ``1 / (m_u - 1)``.

    Returns ``(first, second, weight, unit index)``; units with fewer than two values are not pairable.
    """
    first: list[float] = []
    second: list[float] = []
    weight: list[float] = []
    unit: list[int] = []
    for u, values in enumerate(units):
        m = len(values)
        if m < 2:
            continue
        for i in range(m):
            for j in range(m):
                if i != j:
                    first.append(float(values[i]))
                    second.append(float(values[j]))
                    weight.append(1.0 / (m - 1))
                    unit.append(u)
    return (
        np.asarray(first, dtype=np.float64),
        np.asarray(second, dtype=np.float64),
        np.asarray(weight, dtype=np.float64),
        np.asarray(unit, dtype=np.int64),
    )


def krippendorff_alpha(
    units: Sequence[Sequence[float]], *, metric: str = "ordinal", categories: Sequence[float] | None = None
) -> float | None:
    """Krippendorff's alpha over units (items), each a list of the values its coders gave (any number).

    Missing values are simply absent from a unit; units with one value do not count.
    """
    first, second, weight, _ = unit_pairs(units)
    if first.size == 0:
        return None
    cats = list(categories) if categories is not None else categories_of(first)
    return alpha_from_coincidence(confusion_matrix(first, second, cats, weight), cats, metric)


def f1_per_category(matrix: FloatArray) -> list[float | None]:
    """F1 of each category from a confusion matrix (rows = reference, columns = prediction).

    None for a category that neither the reference nor the prediction used.
    """
    tp = np.diag(matrix)
    ref = matrix.sum(axis=1)
    pred = matrix.sum(axis=0)
    out: list[float | None] = []
    for t, r, p in zip(tp, ref, pred, strict=True):
        out.append(None if r + p == 0 else float(2 * t / (r + p)))
    return out


def macro_f1(matrix: FloatArray) -> float | None:
    """Unweighted mean F1 over the categories used by the reference or the prediction."""
    values = [f for f in f1_per_category(matrix) if f is not None]
    return float(np.mean(values)) if values else None


# -- correlations ------------------------------------------------------------------------------


def rank_average(values: ArrayLike) -> FloatArray:
    """Ranks 1..n with ties given their average rank (scipy's ``rankdata(method="average")``)."""
    x = np.asarray(values, dtype=np.float64)
    order = np.argsort(x, kind="mergesort")
    ranks = np.empty(x.size, dtype=np.float64)
    sorted_x = x[order]
    boundaries = np.concatenate([[0], np.flatnonzero(np.diff(sorted_x)) + 1, [x.size]])
    for start, end in itertools.pairwise(boundaries.tolist()):
        ranks[order[start:end]] = (start + end + 1) / 2.0
    return ranks


def pearson(a: ArrayLike, b: ArrayLike) -> float | None:
    """Pearson's r; None for fewer than 2 items or a constant variable."""
    x, y = _pair(a, b)
    if x.size < 2:
        return None
    dx, dy = x - x.mean(), y - y.mean()
    denom = math.sqrt(float((dx * dx).sum()) * float((dy * dy).sum()))
    if denom <= 1e-300:
        return None
    return max(-1.0, min(1.0, float((dx * dy).sum()) / denom))


def spearman(a: ArrayLike, b: ArrayLike) -> float | None:
    """Spearman's rho: Pearson's r of the average ranks."""
    x, y = _pair(a, b)
    return pearson(rank_average(x), rank_average(y))


def kendall_tau_b(a: ArrayLike, b: ArrayLike) -> float | None:
    """Kendall's tau-b (ties corrected, scipy's default); O(n^2), meant for model rankings."""
    x, y = _pair(a, b)
    n = x.size
    if n < 2:
        return None
    sx = np.sign(x[:, None] - x[None, :])
    sy = np.sign(y[:, None] - y[None, :])
    upper = np.triu_indices(n, k=1)
    s = float((sx * sy)[upper].sum())
    n0 = n * (n - 1) / 2
    ties_x = float((sx[upper] == 0).sum())
    ties_y = float((sy[upper] == 0).sum())
    denom = math.sqrt((n0 - ties_x) * (n0 - ties_y))
    return None if denom == 0 else s / denom


@dataclass(frozen=True)
class Correlation:
    """A correlation with its confidence interval (None where undefined)."""

    value: float | None
    ci_low: float | None
    ci_high: float | None
    n: int


_Z = {0.90: 1.6448536269514722, 0.95: 1.959963984540054, 0.99: 2.5758293035489004}


def _z_quantile(confidence: float) -> float:
    if confidence in _Z:
        return _Z[confidence]
    # Acklam-free fallback: bisection on erf (confidence levels other than the usual three are rare).
    target = 1 - (1 - confidence) / 2
    lo, hi = 0.0, 10.0
    for _ in range(100):
        mid = (lo + hi) / 2
        if 0.5 * (1 + math.erf(mid / math.sqrt(2))) < target:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


def fisher_ci(r: float | None, n: int, *, method: str, confidence: float = DEFAULT_CONFIDENCE) -> Correlation:
    """Fisher-z confidence interval of a correlation over ``n`` independent items (e.g. models).

    Standard errors of ``atanh(r)``: Pearson ``1/sqrt(n-3)``; Spearman ``sqrt((1 + r^2/2)/(n-3))``
    (Bonett & Wright 2000); Kendall ``sqrt(0.437/(n-4))`` (Fieller, Hartley & Pearson 1957).
    The interval is None when ``n`` is too small (Pearson/Spearman need 4, Kendall 5).
    """
    if r is None:
        return Correlation(None, None, None, n)
    if method == "pearson":
        se = 1 / math.sqrt(n - 3) if n > 3 else None
    elif method == "spearman":
        se = math.sqrt((1 + r * r / 2) / (n - 3)) if n > 3 else None
    elif method == "kendall":
        se = math.sqrt(0.437 / (n - 4)) if n > 4 else None
    else:
        raise ValueError(f"method must be 'pearson', 'spearman' or 'kendall', got {method!r}")
    if se is None:
        return Correlation(r, None, None, n)
    if abs(r) >= 1:
        return Correlation(r, r, r, n)
    z = math.atanh(r)
    half = _z_quantile(confidence) * se
    return Correlation(r, math.tanh(z - half), math.tanh(z + half), n)


# -- the cluster bootstrap -----------------------------------------------------------------------


def cluster_indices(clusters: Sequence[Hashable]) -> list[IntArray]:
    """Item positions grouped by cluster (first-seen order)."""
    groups: dict[Hashable, list[int]] = {}
    for i, c in enumerate(clusters):
        groups.setdefault(c, []).append(i)
    return [np.asarray(v, dtype=np.int64) for v in groups.values()]


def cluster_bootstrap_many(
    statistics: Callable[[IntArray], Sequence[float | None]],
    clusters: Sequence[Hashable],
    *,
    n_resamples: int = DEFAULT_BOOTSTRAP,
    seed: int = DEFAULT_SEED,
    confidence: float = DEFAULT_CONFIDENCE,
) -> list[tuple[float | None, float | None]]:
    """Percentile CIs of several statistics of the item positions, resampling whole clusters.

    ``statistics(positions)`` returns one value (or None) per statistic; all statistics see the same
    resamples. Resamples where a statistic is undefined are skipped for it; with fewer than 2 clusters,
    or when more than half the resamples are undefined, its interval is ``(None, None)``.
    """
    groups = cluster_indices(clusters)
    n_stats = len(statistics(np.arange(len(clusters), dtype=np.int64)))
    if len(groups) < 2:
        return [(None, None)] * n_stats
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, len(groups), size=(n_resamples, len(groups)))
    values: list[list[float]] = [[] for _ in range(n_stats)]
    for row in draws:
        for k, value in enumerate(statistics(np.concatenate([groups[g] for g in row]))):
            if value is not None and math.isfinite(value):
                values[k].append(value)
    tail = (1 - confidence) / 2
    out: list[tuple[float | None, float | None]] = []
    for series in values:
        if len(series) < n_resamples / 2:
            out.append((None, None))
        else:
            lo, hi = np.quantile(np.asarray(series), [tail, 1 - tail])
            out.append((float(lo), float(hi)))
    return out


def cluster_bootstrap(
    statistic: Callable[[IntArray], float | None],
    clusters: Sequence[Hashable],
    *,
    n_resamples: int = DEFAULT_BOOTSTRAP,
    seed: int = DEFAULT_SEED,
    confidence: float = DEFAULT_CONFIDENCE,
) -> tuple[float | None, float | None]:
    """Percentile CI of one statistic, resampling whole clusters (see `cluster_bootstrap_many`)."""
    (ci,) = cluster_bootstrap_many(
        lambda idx: [statistic(idx)], clusters, n_resamples=n_resamples, seed=seed, confidence=confidence
    )
    return ci

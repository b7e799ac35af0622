"""The agreement and correlation statistics against scipy, published examples and hand computations."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as sps

from rubric_eval.trust import (
    cluster_bootstrap,
    exact_agreement,
    fisher_ci,
    kendall_tau_b,
    krippendorff_alpha,
    pearson,
    spearman,
    weighted_kappa,
    within_one_agreement,
)
from rubric_eval.trust._stats import confusion_matrix, f1_per_category, macro_f1, rank_average


def test_krippendorff_alpha_reproduces_the_published_example() -> None:
    # Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability": 4 observers, 12 units, missing data.
    n = None
    rows = [
        [1, 2, 3, 3, 2, 1, 4, 1, 2, n, n, n],
        [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, n, 3],
        [n, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, n],
        [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, n],
    ]
    units = [[v for v in col if v is not None] for col in zip(*rows, strict=True)]
    assert krippendorff_alpha(units, metric="nominal") == pytest.approx(0.743, abs=5e-4)
    assert krippendorff_alpha(units, metric="ordinal") == pytest.approx(0.815, abs=5e-4)
    assert krippendorff_alpha(units, metric="interval") == pytest.approx(0.849, abs=5e-4)


def test_alpha_is_one_for_perfect_agreement_and_undefined_without_variation() -> None:
    assert krippendorff_alpha([[1, 1], [2, 2], [3, 3]]) == pytest.approx(1.0)
    assert krippendorff_alpha([[2, 2], [2, 2]]) is None
    assert krippendorff_alpha([[1], [2]]) is None  # nothing pairable


@pytest.mark.parametrize("seed", range(5))
def test_correlations_equal_scipys(seed: int) -> None:
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 5, 40).astype(float)  # many ties
    y = np.clip(x + rng.integers(-2, 3, 40), 0, 4)
    assert pearson(x, y) == pytest.approx(sps.pearsonr(x, y).statistic, abs=1e-12)
    assert spearman(x, y) == pytest.approx(sps.spearmanr(x, y).statistic, abs=1e-12)
    assert kendall_tau_b(x, y) == pytest.approx(sps.kendalltau(x, y).statistic, abs=1e-12)
    assert rank_average(x) == pytest.approx(sps.rankdata(x))


def test_pearson_fisher_interval_equals_scipys() -> None:
    rng = np.random.default_rng(3)
    x = rng.normal(size=25)
    y = x + rng.normal(size=25)
    ours = fisher_ci(pearson(x, y), 25, method="pearson")
    theirs = sps.pearsonr(x, y).confidence_interval(0.95)
    assert (ours.ci_low, ours.ci_high) == pytest.approx((theirs.low, theirs.high), abs=1e-9)


def test_fisher_intervals_need_enough_models() -> None:
    assert fisher_ci(0.5, 3, method="pearson").ci_low is None
    assert fisher_ci(0.5, 4, method="kendall").ci_low is None
    assert fisher_ci(None, 10, method="spearman").value is None
    kendall = fisher_ci(0.6, 20, method="kendall")
    assert kendall.ci_low is not None and kendall.ci_low < 0.6 < kendall.ci_high  # type: ignore[operator]


def test_undefined_correlations_are_none() -> None:
    assert pearson([1, 2], [3, 3]) is None
    assert pearson([1], [2]) is None
    assert kendall_tau_b([1, 1, 1], [1, 2, 3]) is None


@pytest.mark.parametrize("seed", range(5))
def test_quadratic_kappa_equals_the_moment_identity(seed: int) -> None:
    # For equally spaced categories, quadratic kappa = 2 cov / (var_a + var_b + (mean_a - mean_b)^2)
    # with population moments: an independent route to the same number.
    rng = np.random.default_rng(seed)
    a = rng.choice([1.0, 4.0, 7.0, 10.0], 60)
    b = np.where(rng.random(60) < 0.6, a, rng.choice([1.0, 4.0, 7.0, 10.0], 60))
    expected = 2 * np.mean((a - a.mean()) * (b - b.mean())) / (a.var() + b.var() + (a.mean() - b.mean()) ** 2)
    assert weighted_kappa(a, b) == pytest.approx(expected, abs=1e-12)


def test_unweighted_kappa_by_hand() -> None:
    # 10 items: 7 agreements; marginals a = (5, 5), b = (6, 4): p_o = 0.7, p_e = 0.5*0.6 + 0.5*0.4 = 0.5.
    a = [1, 1, 1, 1, 1, 2, 2, 2, 2, 2]
    b = [1, 1, 1, 1, 2, 2, 2, 2, 1, 1]
    assert weighted_kappa(a, b, weights="none") == pytest.approx((0.7 - 0.5) / (1 - 0.5))
    assert exact_agreement(a, b) == pytest.approx(0.7)
    assert weighted_kappa([3, 3], [3, 3]) is None  # one category: chance agreement is perfect


def test_within_one_and_macro_f1_by_hand() -> None:
    assert within_one_agreement([0, 1, 2, 3], [1, 1, 0, 3]) == pytest.approx(0.75)
    # Reference rows, predictions columns. Level 1: tp 2, ref 3, pred 2 -> F1 = 4/5. Level 2: tp 1, ref 1,
    # pred 2 -> 2/3. Level 3: never used -> excluded from the macro mean.
    matrix = confusion_matrix([1, 1, 1, 2], [1, 1, 2, 2], [1.0, 2.0, 3.0])
    assert f1_per_category(matrix) == pytest.approx([0.8, 2 / 3, None])  # type: ignore[list-item]
    assert macro_f1(matrix) == pytest.approx((0.8 + 2 / 3) / 2)


def test_cluster_bootstrap_is_seeded_and_resamples_whole_clusters() -> None:
    values = np.array([1.0, 1.0, 5.0, 5.0, 9.0, 9.0])
    clusters = ["a", "a", "b", "b", "c", "c"]

    def mean(idx: np.ndarray) -> float:
        # Whole clusters: every resample has an even number of items.
        assert len(idx) % 2 == 0
        return float(values[idx].mean())

    first = cluster_bootstrap(mean, clusters, n_resamples=300, seed=1)
    assert first == cluster_bootstrap(mean, clusters, n_resamples=300, seed=1)
    lo, hi = first
    assert lo is not None and hi is not None and 1.0 <= lo < 5.0 < hi <= 9.0
    assert cluster_bootstrap(mean, ["a"] * 6, n_resamples=100) == (None, None)


def test_vectorised_agreement_bootstrap_equals_the_direct_statistics() -> None:
    """A resample as counts per instruction gives the same statistics as the expanded sample."""
    from rubric_eval.trust._agreement import _Resampler

    rng = np.random.default_rng(5)
    n_items = 60
    cluster_of = rng.integers(0, 15, n_items)
    a = rng.choice([1.0, 4.0, 7.0, 10.0], n_items)
    b = np.where(rng.random(n_items) < 0.6, a, rng.choice([1.0, 4.0, 7.0, 10.0], n_items))
    pos = {10.0: 0, 7.0: 1, 4.0: 2, 1.0: 3}
    close = np.abs(np.array([pos[x] for x in a]) - np.array([pos[x] for x in b])) <= 1
    cats = [1.0, 4.0, 7.0, 10.0]
    clusters = [f"i{c}" for c in cluster_of]
    resampler = _Resampler(clusters, a, b, close, np.ones(n_items), cats, np.arange(n_items), a, b)
    ids = {c: i for i, c in enumerate(dict.fromkeys(clusters))}
    counts = rng.integers(0, 3, (4, len(ids))).astype(float)
    got = resampler.stats(counts)
    for row, weights in zip(got, counts, strict=True):
        idx = np.concatenate([np.repeat(i, int(weights[ids[c]])) for i, c in enumerate(clusters)])
        x, y = a[idx], b[idx]
        matrix = confusion_matrix(y, x, cats)
        expected = [
            exact_agreement(x, y),
            float(np.mean(close[idx])),
            weighted_kappa(y, x, categories=cats),
            krippendorff_alpha([[u, v] for u, v in zip(x, y, strict=True)], categories=cats),
            macro_f1(matrix),
            pearson(x, y),
            spearman(x, y),
        ]
        assert row == pytest.approx([np.nan if e is None else e for e in expected], nan_ok=True)

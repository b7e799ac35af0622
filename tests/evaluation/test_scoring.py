"""Scoring functions against hand-computed values."""

from __future__ import annotations

import math
import random
import statistics

import pytest

from rubric_eval.reporting.scoring import (
    bootstrap_ci,
    instruction_score,
    level_scores,
    paired_sign_flip_test,
    paired_sign_flip_tests,
    quantile,
    score_stats,
    score_stats_many,
    weighted_mean,
    weighted_sem,
)


@pytest.mark.parametrize(
    ("levels", "expected"),
    [
        (["excellent", "good", "fair", "poor"], [10.0, 7.0, 4.0, 1.0]),
        (["good", "ok", "bad"], [10.0, 5.5, 1.0]),
        (["pass", "fail"], [10.0, 1.0]),
        (["a", "b", "c", "d", "e"], [10.0, 7.75, 5.5, 3.25, 1.0]),
    ],
)
def test_level_scores_are_evenly_spaced_best_first(levels: list[str], expected: list[float]) -> None:
    assert list(level_scores(levels).values()) == pytest.approx(expected)
    assert list(level_scores(levels)) == levels


@pytest.mark.parametrize("levels", [["only"], ["a", "a"]])
def test_level_scores_rejects_too_few_or_repeated_levels(levels: list[str]) -> None:
    with pytest.raises(ValueError):
        level_scores(levels)


def test_instruction_score_renormalises_weights_over_scored_criteria() -> None:
    result = instruction_score([(30.0, 10.0), (20.0, 4.0), (50.0, None)])
    # (30*10 + 20*4) / (30 + 20) = 380 / 50
    assert result.score == pytest.approx(7.6)
    assert result.fraction_scored_by_weight == pytest.approx(0.5)
    assert result.fraction_scored_by_count == pytest.approx(2 / 3)
    assert (result.n_criteria, result.n_scored) == (3, 2)


def test_instruction_score_all_scored_is_the_weighted_mean() -> None:
    result = instruction_score([(25.0, 10.0), (25.0, 7.0), (50.0, 1.0)])
    assert result.score == pytest.approx((250 + 175 + 50) / 100)
    assert result.fraction_scored_by_weight == 1.0


def test_instruction_with_no_scored_criterion_is_unscored_not_zero() -> None:
    result = instruction_score([(50.0, None), (50.0, None)])
    assert result.score is None
    assert not result.scored
    assert result.fraction_scored_by_weight == 0.0


def test_instruction_scored_only_on_zero_weight_criteria_is_unscored() -> None:
    result = instruction_score([(0.0, 10.0), (100.0, None)])
    assert result.score is None
    assert result.n_scored == 1


def test_negative_criterion_weight_is_rejected() -> None:
    with pytest.raises(ValueError, match="weights"):
        instruction_score([(-1.0, 5.0)])


def test_sem_with_equal_weights_matches_stdev_ddof1() -> None:
    values = [1.0, 2.0, 3.0, 4.0]
    # stdev (ddof=1) = sqrt(5/3); SEM = that / sqrt(4)
    assert weighted_sem(values) == pytest.approx(math.sqrt(5 / 3) / 2)
    assert weighted_sem(values) == pytest.approx(statistics.stdev(values) / 2)
    assert weighted_sem(values, [2.0, 2.0, 2.0, 2.0]) == pytest.approx(weighted_sem(values))


def test_weighted_mean_and_sem_by_hand() -> None:
    # p = (0.25, 0.75); mean = 0.5 + 6 = 6.5; SEM^2 = 2/1 * (0.0625*20.25 + 0.5625*2.25) = 5.0625
    assert weighted_mean([2.0, 8.0], [1.0, 3.0]) == pytest.approx(6.5)
    assert weighted_sem([2.0, 8.0], [1.0, 3.0]) == pytest.approx(2.25)


def test_sem_undefined_for_one_value() -> None:
    assert weighted_sem([7.0]) is None


def test_instruction_weights_must_be_positive() -> None:
    with pytest.raises(ValueError, match="> 0"):
        weighted_mean([1.0, 2.0], [1.0, 0.0])


def test_score_stats_counts_unscored_and_excludes_them() -> None:
    stats = score_stats([8.0, None, 6.0], n_resamples=200)
    assert stats.mean == pytest.approx(7.0)
    assert stats.sem == pytest.approx(1.0)  # stdev([8, 6]) = sqrt(2); / sqrt(2)
    assert (stats.n, stats.n_unscored) == (2, 1)
    assert stats.ci_low is not None and stats.ci_high is not None
    assert 6.0 <= stats.ci_low <= 7.0 <= stats.ci_high <= 8.0


def test_score_stats_of_a_one_instruction_category() -> None:
    stats = score_stats([5.5])
    assert stats.mean == 5.5
    assert stats.sem is None and stats.ci_low is None and stats.ci_high is None
    assert (stats.n, stats.n_unscored) == (1, 0)


def test_score_stats_with_nothing_scored() -> None:
    stats = score_stats([None, None])
    assert stats.mean is None and stats.sem is None
    assert (stats.n, stats.n_unscored) == (0, 2)


def test_score_stats_weighted_matches_weighted_mean() -> None:
    stats = score_stats([2.0, None, 8.0], [1.0, 5.0, 3.0], with_ci=False)
    assert stats.mean == pytest.approx(6.5)
    assert stats.sem == pytest.approx(2.25)


def test_quantile_interpolates_linearly() -> None:
    assert quantile([1.0, 2.0, 3.0, 4.0], 0.5) == pytest.approx(2.5)
    assert quantile([1.0, 2.0, 3.0, 4.0], 0.0) == 1.0
    assert quantile([1.0, 2.0, 3.0, 4.0], 1.0) == 4.0
    assert quantile([0.0, 10.0], 0.25) == pytest.approx(2.5)


def test_bootstrap_is_seeded_and_reproducible() -> None:
    values = [3.0, 9.0, 4.0, 7.5, 6.0, 1.0, 8.0, 5.5]
    first = bootstrap_ci(values, n_resamples=2000, seed=0)
    assert first == bootstrap_ci(values, n_resamples=2000, seed=0)
    assert first != bootstrap_ci(values, n_resamples=2000, seed=1)
    assert first is not None
    assert first[0] < statistics.mean(values) < first[1]


def test_bootstrap_of_two_values_spans_the_extremes() -> None:
    # Resampled means of [0, 10] are 0, 5, 10 with probability 1/4, 1/2, 1/4:
    # the 2.5% and 97.5% percentiles are 0 and 10.
    assert bootstrap_ci([0.0, 10.0], n_resamples=4000, seed=0) == (0.0, 10.0)


def test_bootstrap_of_constant_values_is_a_point() -> None:
    assert bootstrap_ci([4.0, 4.0, 4.0], n_resamples=100) == (4.0, 4.0)


def test_bootstrap_undefined_for_one_value() -> None:
    assert bootstrap_ci([4.0]) is None


def test_paired_test_exact_for_small_n() -> None:
    # All four differences +1: only the all-plus and all-minus patterns reach |sum| = 4: p = 2/16.
    test = paired_sign_flip_test([2.0, 3.0, 4.0, 5.0], [1.0, 2.0, 3.0, 4.0])
    assert test.exact
    assert test.n == 4
    assert test.mean_difference == pytest.approx(1.0)
    assert test.p_value == pytest.approx(0.125)
    assert not test.significant()


def test_paired_test_detects_a_consistent_difference() -> None:
    a = [7.0 + 0.1 * i for i in range(12)]
    b = [x - 1.0 for x in a]
    test = paired_sign_flip_test(a, b)
    assert test.p_value == pytest.approx(2 / 4096)
    assert test.significant()
    assert not paired_sign_flip_test(b, a).significant()  # significant, but b is below a


def test_paired_test_monte_carlo_is_seeded() -> None:
    a = [float(i % 5) for i in range(30)]
    b = [x + (0.5 if i % 3 else -0.5) for i, x in enumerate(a)]
    first = paired_sign_flip_test(a, b, n_resamples=2000, seed=3)
    assert not first.exact
    assert first == paired_sign_flip_test(a, b, n_resamples=2000, seed=3)
    assert first.p_value is not None and 0 < first.p_value <= 1


def test_paired_test_of_identical_models_is_not_significant() -> None:
    a = [float(i) for i in range(20)]
    test = paired_sign_flip_test(a, a, n_resamples=500)
    assert test.mean_difference == 0.0
    assert test.p_value == 1.0
    assert not test.significant()


def test_paired_test_with_nothing_shared() -> None:
    test = paired_sign_flip_test([], [])
    assert test.n == 0 and test.p_value is None and not test.significant()


def _brute_force_p(terms: list[float]) -> float:
    observed = abs(sum(terms))
    n = len(terms)
    hits = sum(
        abs(sum(t if (mask >> i) & 1 else -t for i, t in enumerate(terms))) >= observed - 1e-12
        for mask in range(1 << n)
    )
    return hits / (1 << n)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_sign_flip_agrees_with_brute_force_enumeration(seed: int) -> None:
    rng = random.Random(seed)
    a = [rng.choice([1.0, 4.0, 7.0, 10.0]) for _ in range(13)]
    b = [rng.choice([1.0, 4.0, 7.0, 10.0]) for _ in range(13)]
    weights = [rng.uniform(0.5, 2.0) for _ in range(13)]
    total = sum(weights)
    terms = [w / total * (x - y) for w, x, y in zip(weights, a, b, strict=True)]
    exact_small = paired_sign_flip_test(a[:12], b[:12], weights[:12])
    small_terms = [w / sum(weights[:12]) * (x - y) for w, x, y in zip(weights[:12], a, b, strict=False)]
    assert exact_small.exact and exact_small.p_value == pytest.approx(_brute_force_p(small_terms))
    # 13 pairs: Monte Carlo, within sampling error of the exact value.
    monte_carlo = paired_sign_flip_test(a, b, weights, n_resamples=40_000, seed=seed)
    assert not monte_carlo.exact
    assert monte_carlo.p_value == pytest.approx(_brute_force_p(terms), abs=0.015)


def test_bootstrap_matches_the_sampling_distribution_of_the_mean() -> None:
    # Two values 0 and 10, equal weights, n = 2: a resample's mean is 0, 5 or 10 with
    # probabilities 1/4, 1/2, 1/4, so the 20% and 80% quantiles are 0..5 and 5..10 exactly at 5.
    low, high = bootstrap_ci([0.0, 10.0], confidence=0.4, n_resamples=20_000, seed=4)  # type: ignore[misc]  # n >= 2
    assert (low, high) == (5.0, 5.0)
    # Weighted: the CI is around the weighted mean, not the plain one.
    values = [1.0] * 50 + [10.0] * 50
    weights = [3.0] * 50 + [1.0] * 50
    ci = bootstrap_ci(values, weights, n_resamples=5000, seed=0)
    assert ci is not None and ci[0] < weighted_mean(values, weights) < ci[1] < 5.5


def test_batched_sign_flip_tests_equal_one_test_per_pair() -> None:
    rng = random.Random(5)
    levels = [1.0, 4.0, 5.5, 7.0, 10.0]
    pairs: list[tuple[list[float], list[float], list[float] | None]] = []
    for n in (0, 1, 5, 12, 13, 40, 40, 40, 120):
        a = [rng.choice(levels) for _ in range(n)]
        b = [rng.choice(levels) for _ in range(n)]
        weights = [rng.choice([1.0, 2.0]) for _ in range(n)] if n % 2 == 0 else None
        pairs.append((a, b, weights))
    pairs.append((pairs[5][0], pairs[5][0], None))  # no difference at all: p = 1
    batched = paired_sign_flip_tests(pairs, n_resamples=3000, seed=11)
    single = [paired_sign_flip_test(a, b, w, n_resamples=3000, seed=11) for a, b, w in pairs]
    assert batched == single
    assert batched[-1].p_value == 1.0 and batched[0].p_value is None


def test_score_stats_of_many_samples_equal_one_call_each() -> None:
    rng = random.Random(8)
    samples: list[tuple[list[float | None], list[float] | None]] = []
    for n in (0, 1, 2, 30, 30, 30, 31, 500):
        scores: list[float | None] = [rng.choice([None, 1.0, 4.0, 7.0, 10.0, 8.25]) for _ in range(n)]
        weights = [rng.choice([1.0, 3.0]) for _ in range(n)] if n % 2 else None
        samples.append((scores, weights))
    many = score_stats_many(samples, n_resamples=3000, seed=4)
    assert many == [score_stats(s, w, n_resamples=3000, seed=4) for s, w in samples]
    assert many[3].ci_low is not None and many[0].mean is None

"""Benchmark v2's math references: every number is recomputed (enumeration, pow, numerics, scipy)."""

from __future__ import annotations

import itertools
import math
from collections import Counter
from fractions import Fraction
from statistics import NormalDist, mean, stdev

import pytest
from tests.data_checks._v2 import reference


def _has(record_id: str, *texts: str) -> None:
    ref = reference(record_id)
    missing = [t for t in texts if t not in ref]
    assert not missing, f"{record_id}: reference lacks {missing}"


def test_01_socks_by_enumeration() -> None:
    socks = "B" * 5 + "G" * 4 + "N" * 3
    draws = [Counter(socks[i] for i in c) for c in itertools.combinations(range(12), 4)]
    assert len(draws) == 495
    assert all(max(d.values()) >= 2 for d in draws)  # (a) a pair is certain
    two_pairs = Fraction(sum(sum(v // 2 for v in d.values()) >= 2 for d in draws), 495)
    navy = [d for d in draws if d["N"] >= 1]
    navy_pair = Fraction(sum(d["N"] >= 2 for d in navy), len(navy))
    assert (two_pairs, navy_pair, len(navy)) == (Fraction(38, 165), Fraction(13, 41), 369)
    _has("builtin-v2-math-01", "38/165 ≈ 0.230", "13/41 ≈ 0.317", "117/369", "probability 1")


def test_02_fence_optimum_on_the_boundary() -> None:
    def area(y: float) -> float:
        return y * (1800 - 18 * y) / 24

    grid = [i / 100 for i in range(1, 100 * 100)]
    assert max(grid, key=area) == 50.0 and area(50) == 1875  # unconstrained
    allowed = [y for y in grid if y <= 40]
    best = max(allowed, key=area)
    assert best == 40.0 and (1800 - 18 * best) / 24 == 45 and area(best) == 1800
    _has("builtin-v2-math-02", "1800 m²", "45 m", "1875 m²")


def test_03_modular_powers() -> None:
    assert pow(7, 2026, 1000) == 649 and pow(3, 2026, 1000) == 329
    assert (pow(7, 2026, 1000) + pow(3, 2026, 1000)) % 1000 == 978
    assert (pow(7, 2026) - pow(3, 2026)) % 40 == 0
    assert pow(7, 26, 1000) == 649 and pow(3, 16, 1000) == 721 and pow(7, 16, 1000) == 601
    _has("builtin-v2-math-03", "**978**", "**649**", "**329**")


def test_04_ab_test_and_ratio_interval() -> None:
    n1, x1, n2, x2 = 12000, 480, 11800, 552
    p1, p2 = x1 / n1, x2 / n2
    pooled = (x1 + x2) / (n1 + n2)
    z = (p2 - p1) / math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    p = 2 * (1 - NormalDist().cdf(z))
    se = math.sqrt(p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2)
    lo, hi = p2 - p1 - 1.96 * se, p2 - p1 + 1.96 * se
    se_log = math.sqrt(1 / x2 - 1 / n2 + 1 / x1 - 1 / n1)
    rlo = math.exp(math.log(p2 / p1) - 1.96 * se_log) - 1
    rhi = math.exp(math.log(p2 / p1) + 1.96 * se_log) - 1
    assert round(z, 2) == 2.57 and round(p, 3) == 0.010
    assert (round(lo, 4), round(hi, 4)) == (0.0016, 0.0120)
    assert (round(100 * rlo, 1), round(100 * rhi, 1)) == (3.8, 31.8)
    assert (round(100 * lo / p1, 1), round(100 * hi / p1, 1)) == (4.0, 29.9)  # the naive interval
    assert round(100 * (p2 / p1 - 1), 1) == 16.9
    _has("builtin-v2-math-04", "**2.57**", "**p ≈ 0.010**", "(0.0016, 0.0120)", "+3.8% to +31.8%", "16.9%")


def test_05_divisible_by_30() -> None:
    assert all(n * (n + 1) * (2 * n + 1) * (3 * n * n + 3 * n - 1) % 30 == 0 for n in range(-1000, 1000))
    for n in range(1, 30):  # the remark: P(n)/30 is the sum of fourth powers
        assert n * (n + 1) * (2 * n + 1) * (3 * n * n + 3 * n - 1) // 30 == sum(k**4 for k in range(1, n + 1))


def test_06_hth_waiting_time() -> None:
    p, q = Fraction(3, 5), Fraction(2, 5)
    # E0 = 1 + p E1 + q E0; E1 = 1 + p E1 + q E2; E2 = 1 + q E0  ->  solve by substitution
    e0 = (1 + p * (1 / q + 1)) / (1 - q - p * q)  # E1 = 1/q + 1 + q E0 from the 2nd and 3rd
    e2 = 1 + q * e0
    e1 = (1 + q * e2) / (1 - p)
    assert e0 == 1 + p * e1 + q * e0 and e0 == Fraction(155, 18) and e1 == Fraction(125, 18)
    assert e0 == 1 / (p * q * p) + 1 / p
    _has("builtin-v2-math-06", "155/18 ≈ 8.61")


def test_07_couples_brute_force() -> None:
    no_couple = alternating = 0
    for perm in itertools.permutations(range(8)):  # person k belongs to couple k // 2; even k are men
        if all(perm[i] // 2 != perm[i + 1] // 2 for i in range(7)):
            no_couple += 1
            alternating += all(perm[i] % 2 != perm[i + 1] % 2 for i in range(7))
    assert (no_couple, alternating) == (13824, 144)
    formula = sum((-1) ** k * math.comb(4, k) * 2**k * math.factorial(8 - k) for k in range(5))
    assert formula == 13824
    _has("builtin-v2-math-07", "**13,824**", "**144**")


def test_08_recurrence() -> None:
    a = {1: 1, 2: 3}
    for n in range(3, 21):
        a[n] = 3 * a[n - 1] - 2 * a[n - 2] + 1
    assert all(a[n] == 3 * 2 ** (n - 1) - n - 1 for n in a)
    assert (a[3], a[4], a[5], a[10], a[20]) == (8, 19, 42, 1525, 1_572_843)
    _has("builtin-v2-math-08", "**1,572,843**", "a_10 = 1,525")


def test_09_integrals() -> None:
    integrate = pytest.importorskip("scipy.integrate")
    i, _ = integrate.quad(lambda x: x * math.sin(x) ** 2, 0, math.pi / 2)
    j, _ = integrate.quad(lambda x: x * math.sin(x) ** 2, 0, math.pi)
    assert i == pytest.approx(math.pi**2 / 16 + 0.25) and round(i, 6) == 0.866850
    assert j == pytest.approx(math.pi**2 / 4) and round(j, 6) == 2.467401
    _has("builtin-v2-math-09", "π²/16 + 1/4 ≈ 0.8669", "J = π²/4 ≈ 2.4674")


def test_10_battery_t_interval() -> None:
    stats = pytest.importorskip("scipy.stats")
    data = [19.2, 21.5, 20.8, 18.9, 22.4, 20.1, 19.7, 21.9, 20.5, 18.6]
    m, s = mean(data), stdev(data)
    se = s / math.sqrt(10)
    t = stats.t.ppf(0.975, 9)
    t_stat = (m - 20) / se
    p_one = 1 - stats.t.cdf(t_stat, 9)
    assert (round(m, 2), round(s, 3), round(se, 3), round(t, 3)) == (20.36, 1.296, 0.41, 2.262)
    assert (round(m - t * se, 2), round(m + t * se, 2)) == (19.43, 21.29)
    assert round(t_stat, 2) == 0.88 and round(p_one, 2) == 0.20 and round(stats.t.ppf(0.95, 9), 3) == 1.833
    assert stats.t.ppf(0.975, 29) * s / math.sqrt(30) < 0.5  # "roughly 30 batteries" for ±0.5 h
    _has("builtin-v2-math-10", "(19.43 h, 21.29 h)", "**0.88**", "**p ≈ 0.20**", "**1.296 h**")

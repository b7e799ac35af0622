"""Benchmark v1 (frozen): its executable references re-run and its numbers recomputed, reproducibly.

v1's documentation says its code was run and its math checked by hand or brute force; these tests make that
repeatable. They also pin the one known numeric weakness (math-04's relative interval), fixed in v2's math-04.
"""

from __future__ import annotations

import itertools
import math
import random
import unittest
from fractions import Fraction
from statistics import NormalDist

import pytest
from tests.data_checks._v2 import exec_python_reference

from rubric_eval import Record
from rubric_eval.datasets import load_benchmark


@pytest.fixture(scope="module")
def v1() -> dict[str, Record]:
    return {str(r.id): r for r in load_benchmark("rubriceval_builtin_v1")}


def _ref(v1: dict[str, Record], record_id: str) -> str:
    text = v1[record_id].excellent_response
    assert text is not None
    return text


def test_coding_01_merge_intervals_runs_and_matches_a_brute_force(v1: dict[str, Record]) -> None:
    merge = exec_python_reference("builtin-coding-01", _ref(v1, "builtin-coding-01"))["merge_intervals"]
    rng = random.Random(1)
    for _ in range(300):
        intervals = [
            tuple(sorted((rng.randint(0, 20), rng.randint(0, 20)))) for _ in range(rng.randint(0, 6))
        ]
        before = list(intervals)
        covered = {x for a, b in intervals for x in range(2 * a, 2 * b + 1)}  # doubled: touching merges
        expected, run = [], None
        for x in range(0, 42):
            if x in covered and run is None:
                run = x
            if x not in covered and run is not None:
                expected.append((run // 2, (x - 1) // 2))
                run = None
        assert merge(intervals) == expected and intervals == before


def test_coding_03_ttl_lru_cache_runs_its_own_tests(v1: dict[str, Record]) -> None:
    namespace = exec_python_reference("builtin-coding-03", _ref(v1, "builtin-coding-03"))
    case = namespace["TTLLRUCacheTest"]
    suite = unittest.defaultTestLoader.loadTestsFromTestCase(case)
    result = unittest.TestResult()
    suite.run(result)
    assert result.testsRun >= 6 and result.wasSuccessful(), result.failures + result.errors


def test_math_01_marbles_by_enumeration(v1: dict[str, Record]) -> None:
    draws = list(itertools.permutations("RRRRBBBBBB", 3))
    at_least_two = [d for d in draws if d.count("R") >= 2]
    assert Fraction(len(at_least_two), len(draws)) == Fraction(1, 3)
    assert Fraction(sum(d[0] == "R" for d in at_least_two), len(at_least_two)) == Fraction(7, 10)
    assert "1/3" in _ref(v1, "builtin-math-01") and "7/10" in _ref(v1, "builtin-math-01")


def test_math_02_can_optimum(v1: dict[str, Record]) -> None:
    def cost(r: float) -> float:  # top and bottom at 2 units per cm², side at 1
        return 2 * 2 * math.pi * r**2 + 2 * math.pi * r * (500 / (math.pi * r**2))

    best = min((i / 10_000 for i in range(10_000, 100_000)), key=cost)
    h = 500 / (math.pi * best**2)
    assert round(best, 2) == 3.41 and round(h, 2) == 13.66 and round(h / best, 2) == 4.0


def test_math_03_power_mod(v1: dict[str, Record]) -> None:
    assert pow(2, 2024, 1000) == 216 and "216" in _ref(v1, "builtin-math-03")


def test_math_04_numbers_and_the_known_relative_interval_error(v1: dict[str, Record]) -> None:
    p1, p2, n = 0.05, 0.057, 10_000
    pooled = 0.0535
    z = (p2 - p1) / math.sqrt(pooled * (1 - pooled) * 2 / n)
    se = math.sqrt(p1 * (1 - p1) / n + p2 * (1 - p2) / n)
    assert round(z, 2) == 2.20 and round(2 * (1 - NormalDist().cdf(z)), 3) == 0.028
    assert (round(p2 - p1 - 1.96 * se, 4), round(p2 - p1 + 1.96 * se, 4)) == (0.0008, 0.0132)
    se_log = math.sqrt(1 / 570 - 1 / n + 1 / 500 - 1 / n)
    low, high = (math.exp(math.log(p2 / p1) + k * 1.96 * se_log) - 1 for k in (-1, 1))
    assert (round(100 * low, 1), round(100 * high, 1)) == (1.4, 28.1)  # the proper ratio interval
    # v1 divides the difference interval by the baseline instead (fixed in v2's math-04)
    assert "1.5% to 26.5%" in (v1["builtin-math-04"].useful_info_to_eval_instruction or "")


def test_reasoning_04_positive_predictive_value() -> None:
    ppv = 0.002 * 0.99 / (0.002 * 0.99 + 0.998 * 0.01)
    assert round(100 * ppv, 1) == 16.6


def test_reasoning_05_subtraction_games() -> None:
    def losing(moves: tuple[int, ...], n: int) -> bool:
        win = [False]
        for k in range(1, n + 1):
            win.append(any(not win[k - m] for m in moves if m <= k))
        return not win[n]

    assert not losing((1, 2, 3), 21) and losing((1, 3, 4), 21)  # go first in (a); second player wins (b)


def test_planning_03_critical_path() -> None:
    tasks = {
        "A": (3, []),
        "B": (4, ["A"]),
        "C": (3, ["A"]),
        "D": (1, ["B", "C"]),
        "E": (4, ["D"]),
        "F": (15, []),
        "G": (3, ["E", "F"]),
        "H": (8, ["G"]),
        "I": (3, ["E"]),
        "J": (2, ["H", "I"]),
    }

    def finish(t: dict[str, tuple[int, list[str]]]) -> int:
        done: dict[str, int] = {}
        for name, (days, after) in t.items():
            done[name] = max((done[p] for p in after), default=0) + days
        return max(done.values())

    assert finish(tasks) == 28
    assert finish({**tasks, "F": (10, [])}) == 25 and finish({**tasks, "B": (2, ["A"])}) == 28
    assert finish({**tasks, "F": (10, []), "B": (2, ["A"])}) == 24

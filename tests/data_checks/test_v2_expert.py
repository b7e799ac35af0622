"""Benchmark v2's expert-domain items: every record cites its source, and the dose arithmetic is recomputed."""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable

import pytest
from tests.data_checks._v2 import reference

from rubric_eval.datasets import load_benchmark

SOURCED = ("Medicine", "Finance", "Information seeking")
# A named source with its year: "NICE NG143 ... (2019", "MHRA ... (2013)", "BNF for Children (2024-25)".
_SOURCE_YEAR = re.compile(r"\((?:[^()]*?\b)?(19|20)\d{2}\b")


@pytest.mark.parametrize("category", SOURCED)
def test_every_expert_item_names_a_source_with_its_year(category: str) -> None:
    records = [r for r in load_benchmark("rubriceval_builtin_v2") if r.category == category]
    if not records:
        pytest.skip(f"no {category} items yet")
    for record in records:
        notes = record.useful_info_to_eval_instruction or ""
        assert "Source" in notes, record.id
        assert _SOURCE_YEAR.search(notes), record.id


def test_medicine_04_paracetamol_totals() -> None:
    dose_mg = 10 * 120 / 5  # 10 mL of 120 mg/5 mL
    times = [8, 12, 16, 18]
    assert dose_mg == 240 and len(times) * dose_mg == 960 and 960 / 16 == 60
    assert min(b - a for a, b in itertools.pairwise(times)) == 2  # the 18:00 dose came 2 h after 16:00
    # next dose: when fewer than 4 doses remain in the preceding 24 h, i.e. once 08:00 drops out
    assert sum(1 for t in times if t > 8) == 3
    assert 150 / 100 * 5 == 7.5  # ibuprofen 150 mg as mL of 100 mg/5 mL
    ref = reference("builtin-v2-medicine-04")
    assert (
        "**960 mg**" in ref and "7.5 mL of a 100 mg/5 mL suspension" in ref and "after 08:00 tomorrow" in ref
    )


def _npv(rate: float, flows: list[float]) -> float:
    return sum(c / (1 + rate) ** t for t, c in enumerate(flows))


def _irr(flows: list[float]) -> float:
    lo, hi = -0.9, 1.0
    for _ in range(200):  # bisection: these flows have one sign change
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if _npv(mid, flows) > 0 else (lo, mid)
    return lo


def _repay(balance: float, monthly_rate: float, payment: Callable[[float], float]) -> tuple[int, float]:
    months, paid = 0, 0.0
    while balance > 0.005:
        balance *= 1 + monthly_rate
        amount = min(balance, payment(balance))
        balance -= amount
        paid += amount
        months += 1
    return months, paid


def test_finance_01_mortgage() -> None:
    r = 0.045 / 12
    payment = 220_000 * r / (1 - (1 + r) ** -300)
    months, paid = _repay(220_000, r, lambda b: payment + 200)
    assert round(payment, 2) == 1222.83 and round(300 * payment - 220_000) == 146_849
    assert months == 232 and round((paid - 220_000) / 100) == 1096
    assert round((300 * payment - paid) / 100) == 372
    assert "**£1,222.83 a month**" in reference("builtin-v2-finance-01")


def test_finance_02_allowance_taper() -> None:
    def tax(income: int) -> float:
        allowance = max(0.0, 12_570 - max(0, income - 100_000) / 2)
        taxable = income - allowance
        return 0.2 * min(taxable, 37_700) + 0.4 * max(0.0, min(taxable, 125_140) - 37_700)

    assert (tax(112_000), tax(100_000)) == (34_632, 27_432)
    assert tax(112_000) - tax(100_000) + 0.02 * 12_000 == 7_440
    assert "£7,440" in reference("builtin-v2-finance-02")


def test_finance_03_npv_irr() -> None:
    a = [-100_000, 65_000, 45_000, 10_000, 0]
    b = [-100_000, 0, 10_000, 30_000, 110_000]
    assert (round(_npv(0.08, a)), round(_npv(0.08, b))) == (6_704, 13_242)
    assert (round(100 * _irr(a), 1), round(100 * _irr(b), 1)) == (12.8, 11.8)
    assert round(100 * _irr([y - x for x, y in zip(a, b, strict=True)]), 1) == 11.1
    # "B stays better as long as year 4 brings at least about £101,000"
    assert _npv(0.08, [*b[:4], 101_200]) > _npv(0.08, a) > _npv(0.08, [*b[:4], 101_000])


def test_finance_04_flat_rate() -> None:
    payment = (10_000 + 10_000 * 0.069 * 4) / 48
    lo, hi = 1e-6, 0.05
    for _ in range(200):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if payment * (1 - (1 + mid) ** -48) / mid > 10_000 else (lo, mid)
    assert round(payment, 2) == 265.83 and round(100 * 12 * lo, 1) == 12.5
    assert round(100 * ((1 + lo) ** 12 - 1), 1) == 13.2
    i = 1.099 ** (1 / 12) - 1
    cu = 10_000 * i / (1 - (1 + i) ** -48)
    assert round(cu, 2) == 251.12 and round(48 * cu - 10_000) == 2_054
    assert round(2_760 - (48 * cu - 10_000)) == 706


def test_finance_05_inflation_target() -> None:
    r, n = 0.00375, 72
    target, grown = 30_000 * 1.03**6, 5_000 * (1 + r) ** n
    monthly = (target - grown) * r / ((1 + r) ** n - 1)
    naive = (30_000 - grown) * r / ((1 + r) ** n - 1)
    assert (round(target), round(grown), round(monthly), round(naive)) == (35_822, 6_547, 355, 284)
    assert round(30_000 / 1.03**6, -2) == 25_100


def test_finance_06_fee_drag() -> None:
    managed, tracker = 50_000 * 1.045**25, 50_000 * 1.058**25
    assert (round(managed, -2), round(tracker, -2), round(tracker - managed, -2)) == (
        150_300,
        204_700,
        54_400,
    )
    assert round(100 * (tracker - managed) / tracker) == 27


def test_finance_07_relevant_cost() -> None:
    avoidable = 0.28 + 0.22 + 0.05
    weekly_extra_if_buying = (0.62 - avoidable) * 2_000
    assert round(avoidable, 2) == 0.55 and round(weekly_extra_if_buying) == 140
    assert round(weekly_extra_if_buying * 52) == 7_280 and round(180 - weekly_extra_if_buying) == 40


def test_finance_09_vat_rolling_total() -> None:
    sales = [6200, 6800, 7100, 6900, 7400, 7800, 8100, 8300, 7600, 7300, 7900, 8400, 8900, 9300]  # Apr 2025..
    rolling = {end: sum(sales[end - 11 : end + 1]) for end in range(11, len(sales))}
    assert rolling == {11: 89_800, 12: 92_500, 13: 95_000}  # to Mar, Apr, May 2026


def test_finance_10_credit_card() -> None:
    r = 0.229 / 12
    assert _repay(3_000, r, lambda b: max(0.03 * b, 25)) == (165, pytest.approx(7_101.31, abs=0.01))
    months, paid = _repay(3_000, r, lambda b: 150)
    assert months == 26 and round(paid) == 3_815
    assert _repay(1_500, r, lambda b: 150)[0] == 12

"""Benchmark v2's expert-domain items: every record cites its source, and the dose arithmetic is recomputed."""

from __future__ import annotations

import itertools
import re

import pytest
from tests.data_checks._v2 import reference

from rubric_eval.datasets import load_benchmark

EXPERT = ("Medicine", "Finance")
# A named source with its year: "NICE NG143 ... (2019", "MHRA ... (2013)", "BNF for Children (2024-25)".
_SOURCE_YEAR = re.compile(r"\((?:[^()]*?\b)?(19|20)\d{2}\b")


@pytest.mark.parametrize("category", EXPERT)
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

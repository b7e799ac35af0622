"""Benchmark v2's information-seeking references: the key facts and figures each rubric anchors on."""

from __future__ import annotations

import pytest
from tests.data_checks._v2 import reference


@pytest.mark.parametrize(
    "record_id, facts",
    [
        ("builtin-v2-info-01", ["public key", "relying party ID", "SIM swapping", "at least two"]),
        ("builtin-v2-info-02", ["20 GHz", "about 12 cm", "roughly 6 cm apart", "Ice barely absorbs"]),
        (
            "builtin-v2-info-03",
            ["Your body does not become resistant", "bacterial cell wall", "more than 3 weeks"],
        ),
        (
            "builtin-v2-info-04",
            ["RFC 9111", "`must-revalidate`", "304 Not Modified", "max-age=31536000, immutable"],
        ),
        ("builtin-v2-info-05", ["35 qualifying years", "£230.25 a week", "is 67", "**39 years**"]),
        ("builtin-v2-info-06", ["0.9 seconds", "**27**", "31 December 2016", "by or before 2035"]),
        ("builtin-v2-info-07", ["inverted", "roughly 1–4 kHz", "below roughly 1 kHz", "80 dB"]),
        ("builtin-v2-info-08", ["about 5,730 years", "**50,000 years**", "IntCal20", "11,500 half-lives"]),
        ("builtin-v2-info-09", ["new hashes", "--force-with-lease", "Never rebase `main`"]),
        ("builtin-v2-info-10", ["**every three months**", "standing charge × 365", "exit fees"]),
    ],
)
def test_reference_states_the_anchored_facts(record_id: str, facts: list[str]) -> None:
    ref = reference(record_id)
    assert [f for f in facts if f not in ref] == []


def test_figures_behind_the_facts() -> None:
    assert round(66e6 / 5_730, -2) == 11_500  # half-lives since the dinosaurs
    assert 0.5**9 < 0.002  # "after roughly nine half-lives, less than 0.2% ... remains"
    assert 9 * 5_730 < 52_000  # nine half-lives is about the 50,000-year limit
    assert pytest.approx(0.122, abs=0.001) == 299_792_458 / 2.45e9  # microwave wavelength about 12 cm
    assert 24 + (67 - 52) == 39 >= 35  # qualifying years by State Pension age
    assert 343 / 1_000 > 0.3  # at 1 kHz the wavelength in air is over 30 cm

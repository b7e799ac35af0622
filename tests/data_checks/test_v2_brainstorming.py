"""Benchmark v2's brainstorming references: counts, budgets and constraints of every list checked."""

from __future__ import annotations

import re

from tests.data_checks._v2 import reference, words


def _numbered(text: str) -> list[str]:
    return re.findall(r"^\d+\. (.+)$", text, re.MULTILINE)


def _table_rows(text: str) -> list[list[str]]:
    rows = [line for line in text.splitlines() if re.match(r"^\| \d+ \|", line)]
    return [[c.strip() for c in row.strip("|").split("|")] for row in rows]


def test_brainstorming_01_library_constraints() -> None:
    rows = _table_rows(reference("builtin-v2-brainstorming-01"))
    assert len(rows) == 8
    costs = [int(r[2].lstrip("£")) for r in rows]
    staff = [float(r[3].split(" h")[0]) for r in rows]
    assert all(c < 300 for c in costs) and all(h <= 2 for h in staff)
    assert sum(r[5] == "screen-free" for r in rows) == 6 >= 3


def test_brainstorming_02_six_ideas_two_per_category() -> None:
    ref = reference("builtin-v2-brainstorming-02")
    ideas = _numbered(ref)
    savings = [int(m) for m in re.findall(r"\*\*−(\d+) kg/week\*\*", ref)]
    assert len(ideas) == 6 and len(savings) == 6 and sum(savings) == 37
    sections = re.split(r"\n\*\*(?:Purchasing|Serving|Pupils)", ref)[1:]
    assert [len(_numbered(s)) for s in sections] == [2, 2, 2]


def test_brainstorming_03_names() -> None:
    names = re.findall(r"^\d+\. \*\*(.+?)\*\*", reference("builtin-v2-brainstorming-03"), re.MULTILINE)
    assert len(names) == 10 and len(set(names)) == 10
    assert all(words(n) <= 3 for n in names) and not any("fix" in n.lower() for n in names)


def test_brainstorming_04_fundraising_arithmetic() -> None:
    estimates = {
        "read": 80 * 15,
        "fair": 250 * 6 - 50,
        "quiz": 15 * 6 * 8 + 200 - 140,
        "bake": 4 * 120,
        "uniform": 150 * 2,
    }
    assert estimates == {"read": 1200, "fair": 1450, "quiz": 780, "bake": 480, "uniform": 300}
    chosen = estimates["read"] + estimates["fair"] + estimates["quiz"]
    assert chosen == 3430 >= 3000 and "**£3,430**" in reference("builtin-v2-brainstorming-04")


def test_brainstorming_05_questions_have_data_method_pitfall() -> None:
    ref = reference("builtin-v2-brainstorming-05")
    blocks = re.split(r"^\d+\. ", ref, flags=re.MULTILINE)[1:]
    assert len(blocks) == 6
    assert all("Data:" in b and "Method:" in b and "Pitfall:" in b for b in blocks)


def test_brainstorming_06_no_common_hour_and_budget() -> None:
    windows = {"Toronto": (9 + 5, 17 + 5), "London": (9, 17), "Bengaluru": (9 - 5.5, 17 - 5.5)}  # in UTC
    assert windows["Bengaluru"][1] < windows["Toronto"][0]  # never overlap
    assert windows["Toronto"][0] - windows["Bengaluru"][1] == 2.5
    rows = _table_rows(reference("builtin-v2-brainstorming-06"))
    assert len(rows) == 6 and sum(int(r[3].lstrip("€")) for r in rows) == 470 <= 40 * 12
    assert sum(r[2] == "asynchronous" for r in rows) == 5


def test_brainstorming_07_ten_zero_cost_ideas() -> None:
    ideas = _numbered(reference("builtin-v2-brainstorming-07"))
    assert len(ideas) == 10 and all("£0" in idea for idea in ideas)


def test_brainstorming_08_two_questions_per_competency() -> None:
    ref = reference("builtin-v2-brainstorming-08")
    sections = re.split(r"^\*\*(SQL|Data pipelines|Debugging|Communication)\*\*$", ref, flags=re.MULTILINE)
    counts = {sections[i]: len(re.findall(r"^\d+\. ", sections[i + 1], re.MULTILINE)) for i in range(1, 9, 2)}
    assert counts == {"SQL": 2, "Data pipelines": 2, "Debugging": 2, "Communication": 2}


def test_brainstorming_09_time_budget() -> None:
    minutes = [
        int(m) for m in re.findall(r"\(\*\*(\d+) minutes\*\*", reference("builtin-v2-brainstorming-09"))
    ]
    assert len(minutes) == 5 and all(m <= 10 for m in minutes) and sum(minutes) == 30


def test_brainstorming_10_eight_ideas_three_price() -> None:
    ref = reference("builtin-v2-brainstorming-10")
    assert len(_numbered(ref)) == 8
    price = ref.split("**Too much food")[0]
    assert len(_numbered(price)) == 3 and "discount" not in price.lower().split("without discounts", 1)[1]

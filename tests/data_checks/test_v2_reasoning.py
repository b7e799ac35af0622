"""Benchmark v2's reasoning references: puzzles brute-forced, calendars simulated, rules encoded."""

from __future__ import annotations

import itertools
from collections import Counter, deque
from datetime import date, timedelta

from tests.data_checks._v2 import reference

PEOPLE = ["Ines", "Jonas", "Kofi", "Lena"]
PROJECTS = ["Audit", "Billing", "Cloud", "Docs"]
DAYS = ["Mon", "Tue", "Wed", "Thu"]


def _grid(skip: int | None = None) -> list[str]:
    out = []
    for days in itertools.permutations(range(4)):
        for projects in itertools.permutations(PROJECTS):
            d, pr = dict(zip(PEOPLE, days, strict=True)), dict(zip(PEOPLE, projects, strict=True))
            by = {v: k for k, v in pr.items()}
            clues = [
                d["Jonas"] > d[by["Cloud"]],
                d["Ines"] == d["Kofi"] + 1,
                d[by["Audit"]] + 1 == d[by["Billing"]],
                pr["Lena"] not in ("Docs", "Billing"),
                pr["Kofi"] in ("Cloud", "Billing") and d["Kofi"] != 3,
                d[by["Docs"]] < d[by["Audit"]],
            ]
            if all(c for i, c in enumerate(clues) if i != skip):
                out.append(", ".join(f"{DAYS[d[p]]} {p}-{pr[p]}" for p in sorted(PEOPLE, key=d.__getitem__)))
    return out


def test_01_logic_grid_unique_and_no_clue_redundant() -> None:
    assert _grid() == ["Mon Kofi-Cloud, Tue Ines-Docs, Wed Lena-Audit, Thu Jonas-Billing"]
    ref = reference("builtin-v2-reasoning-01")
    counts = []
    for k in range(6):
        alternatives = [s for s in _grid(k) if s != _grid()[0]]
        counts.append(len(alternatives) + 1)
        # the counter-example the reference gives for clue k+1 really satisfies the other five
        line = next(x for x in ref.splitlines() if x.startswith(f"- without clue {k + 1}:"))
        assert line.split(": ", 1)[1].rstrip(";.") in alternatives
    assert counts == [2, 3, 7, 3, 4, 3]


def test_02_knights_and_knaves_unique() -> None:
    found = []
    for a, b, c, d in itertools.product([True, False], repeat=4):  # True = knight
        says = [b == d, [a, b, c, d].count(False) >= 2, (not a) or d, not b]
        if [a, b, c, d] == says:
            found.append((a, b, c, d))
    assert found == [(False, True, True, False)]


def test_03_league_table_unique() -> None:
    teams = "ABCD"
    games = list(itertools.combinations(teams, 2))
    fits = []
    for outcome in itertools.product("HDA", repeat=6):
        points = dict.fromkeys(teams, 0)
        for (x, y), o in zip(games, outcome, strict=True):
            if o == "H":
                points[x] += 3
            elif o == "A":
                points[y] += 3
            else:
                points[x] += 1
                points[y] += 1
        if [points[t] for t in teams] == [5, 5, 3, 2]:
            fits.append(outcome)
    # A-B draw, A beat C, A-D draw, B beat C, B-D draw, C beat D
    assert fits == [("D", "H", "D", "H", "D", "H")]


def test_04_standups_illustration() -> None:
    assert (round(100 * 31 / 90), round(100 * 9 / 30)) == (34, 30)
    assert "31 of 90" in reference("builtin-v2-reasoning-04")


def test_05_ev_fermi_arithmetic() -> None:
    evs = 250_000 * 0.45 * 0.12
    daily = evs * 28 * 0.18 / 0.9
    evening = 0.6 * daily
    assert (round(evs), round(daily)) == (13_500, 75_600)
    assert round(evening / 4 / 1000, 1) == 11.3 and round(0.6 * evs * 7 / 1000) == 57
    assert round(daily / evs, 1) == 5.6
    ref = reference("builtin-v2-reasoning-05")
    assert "75,600 kWh per day" in ref and "about 11 MW" in ref and "≈ **57 MW**" in ref


def test_06_subtraction_game_by_dp() -> None:
    def losing(misere: bool) -> list[int]:
        win = [misere]  # 0 tokens: normal play the mover has lost; misère the mover has won
        for n in range(1, 40):
            win.append(any(not win[n - m] for m in (1, 3, 4) if m <= n))
        return [n for n in range(40) if not win[n]]

    normal, misere = losing(False), losing(True)
    assert normal[:10] == [0, 2, 7, 9, 14, 16, 21, 23, 28, 30]
    assert all((n % 7 in (0, 2)) == (n in normal) for n in range(40))
    assert 30 in normal and 30 not in misere and 29 in misere
    assert all((n % 7 in (1, 3)) == (n in misere) for n in range(1, 40))
    replies = {m: [r for r in (1, 3, 4) if 30 - m - r in normal] for m in (1, 3, 4)}
    assert replies == {1: [1], 3: [4], 4: [3]}


def test_07_on_call_rota() -> None:
    people = ["Ana", "Ben", "Chloé", "Dev", "Eli"]
    week, turn, counts, christmas = date(2027, 1, 4), 0, Counter[str](), ""
    assert week.weekday() == 0 and date(2027, 12, 25).weekday() == 5
    while week <= date(2027, 12, 25):
        overlaps_july = week <= date(2027, 7, 31) and week + timedelta(days=6) >= date(2027, 7, 1)
        if people[turn % 5] == "Dev" and overlaps_july:
            turn += 1  # the week goes to the next person; the rota continues from them
        counts[people[turn % 5]] += 1
        if week <= date(2027, 12, 25) <= week + timedelta(days=6):
            christmas = people[turn % 5]
        turn += 1
        week += timedelta(days=7)
    assert christmas == "Ben"
    assert counts == {"Ana": 11, "Ben": 11, "Chloé": 10, "Dev": 9, "Eli": 10}
    assert "**Ana 11, Ben 11, Chloé 10, Dev 9, Eli 10**" in reference("builtin-v2-reasoning-07")


def test_08_regression_to_the_mean_arithmetic() -> None:
    mean_q1 = (20 * 61 + 100 * 78) / 120
    trained = mean_q1 + 0.5 * (61 - mean_q1)
    untrained = mean_q1 + 0.5 * (78 - mean_q1)
    drift = 80 - untrained
    assert (round(mean_q1, 2), round(trained, 1), round(trained - 61, 1)) == (75.17, 68.1, 7.1)
    assert (round(untrained, 1), round(drift, 1)) == (76.6, 3.4)
    assert round(72 - (trained + drift), 1) == 0.5


def test_09_watering_cans_bfs() -> None:
    start = (0, 0)
    depth = {start: 0}
    queue = deque([start])
    while queue:
        a, b = queue.popleft()
        pour_ab, pour_ba = min(a, 11 - b), min(b, 7 - a)
        for nxt in [(7, b), (a, 11), (0, b), (a, 0), (a - pour_ab, b + pour_ab), (a + pour_ba, b - pour_ba)]:
            if nxt not in depth:
                depth[nxt] = depth[(a, b)] + 1
                queue.append(nxt)
    assert min(d for s, d in depth.items() if 8 in s) == 6
    by_depth: dict[int, set[tuple[int, int]]] = {}
    for state, d in depth.items():
        by_depth.setdefault(d, set()).add(state)
    assert by_depth[5] == {(3, 0), (4, 11)} and (7, 8) in by_depth[6]


def test_10_travel_policy() -> None:
    def business_ok(hours: float, departs: str, meeting_after_h: float | None, intern: bool) -> bool:
        hh = int(departs[:2])
        overnight = hh >= 21 or hh < 3
        return not intern and (
            hours >= 6 or (overnight and meeting_after_h is not None and meeting_after_h <= 6)
        )

    def approver(cost: int, days_ahead: int, business: bool) -> str:
        return "VP" if cost > 2500 or days_ahead < 7 or business else "Manager"

    assert business_ok(7 + 35 / 60, "10:00", None, False) and approver(4100, 20, True) == "VP"
    assert not business_ok(11 + 40 / 60, "22:00", None, True) and approver(1450, 12, False) == "Manager"
    assert business_ok(5 + 50 / 60, "23:40", 4, False) and approver(2300, 15, True) == "VP"
    assert not business_ok(5 + 55 / 60, "09:15", None, False) and approver(2600, 30, False) == "VP"
    assert not business_ok(4 + 10 / 60, "02:30", 7, False) and approver(1900, 5, False) == "VP"

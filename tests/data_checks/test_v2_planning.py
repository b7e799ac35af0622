"""Benchmark v2's planning references: schedules, budgets, rotas and dates recomputed."""

from __future__ import annotations

import math
import re
from datetime import date, datetime, timedelta, timezone

from tests.data_checks._v2 import reference


def _table(record_id: str, header_start: str) -> list[list[str]]:
    """Rows of the markdown table whose header row starts with ``header_start``."""
    lines = reference(record_id).splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"| {header_start}"))
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip().strip("*") for cell in line.strip("|").split("|")])
    return rows


def _cpm(tasks: dict[str, tuple[int, list[str]]]) -> tuple[int, dict[str, int]]:
    finish: dict[str, int] = {}
    for name, (days, after) in tasks.items():  # listed in dependency order
        finish[name] = max((finish[p] for p in after), default=0) + days
    end = max(finish.values())
    late_start: dict[str, int] = {}
    for name in reversed(list(tasks)):
        successors = [s for s, (_, after) in tasks.items() if name in after]
        late_finish = min((late_start[s] for s in successors), default=end)
        late_start[name] = late_finish - tasks[name][0]
    floats = {n: late_start[n] - (finish[n] - tasks[n][0]) for n in tasks}
    return end, floats


def test_planning_01_critical_path_and_what_ifs() -> None:
    base = {
        "A": (2, []),
        "B": (3, ["A"]),
        "C": (4, ["A"]),
        "D": (2, ["B"]),
        "E": (3, ["C", "D"]),
        "F": (1, ["C"]),
        "G": (2, ["E", "F"]),
    }
    end, floats = _cpm(base)
    assert end == 12 and floats["C"] == 1 and floats["F"] == 3
    assert [n for n, f in floats.items() if f == 0] == ["A", "B", "D", "E", "G"]
    late_c = {**base, "C0": (2, ["A"]), "C": (4, ["C0"])}  # C starts 2 days late
    late_c = {k: late_c[k] for k in ["A", "B", "C0", "C", "D", "E", "F", "G"]}
    assert _cpm(late_c)[0] == 13
    assert _cpm({**base, "B": (2, ["A"])})[0] == 11 and _cpm({**base, "B": (1, ["A"])})[0] == 11
    assert (450 - 400, 450 - 700) == (50, -250)


def test_planning_02_budget_adds_up() -> None:
    rows = _table("builtin-v2-planning-02", "Item")
    costs = [int(re.sub(r"[^\d]", "", r[2])) for r in rows if r[0] != "Total"]
    total = next(int(re.sub(r"[^\d]", "", r[2])) for r in rows if r[0] == "Total")
    assert costs == [800, 1920, 1200, 1760, 800, 800] and sum(costs) == total == 7280 <= 8000
    assert 16 * 50 == 800 and 16 * 120 == 1920 and 16 * (2 * 30 + 50) == 1760


def test_planning_03_training_rules() -> None:
    rows = _table("builtin-v2-planning-03", "Week")
    minutes = [int(r[1]) for r in rows]
    long_runs = {int(r[0]): int(r[2]) for r in rows if r[2].isdigit()}
    assert len(minutes) == 10 and minutes[0] <= 60 * 1.1
    lighter = {4, 8}
    last_full = minutes[0]
    for week in range(2, 10):
        m = minutes[week - 1]
        if week in lighter:
            assert 0.20 <= 1 - m / minutes[week - 2] <= 0.25, week
        else:
            assert m <= last_full * 1.1, week
            last_full = m
    assert 0.6 <= minutes[9] / minutes[8] <= 0.7  # taper
    assert long_runs[9] >= 55 and all(long_runs[w] <= 0.55 * minutes[w - 1] for w in long_runs)


def test_planning_04_transfer_time() -> None:
    hours = 2.4e12 * 8 / (200e6 * 0.7) / 3600
    assert round(hours, 1) == 38.1 and round(2.4e12 * 8 / 200e6 / 3600, 1) == 26.7
    assert round(2.4 * 2**40 * 8 / (200e6 * 0.7) / 3600) == 42
    weekend = datetime(2026, 11, 9, 7) - datetime(2026, 11, 6, 19)
    assert weekend == timedelta(hours=60) and datetime(2026, 11, 6).weekday() == 4
    assert (datetime(2026, 11, 6, 19) + timedelta(hours=hours)).strftime("%A %H") == "Sunday 09"
    assert math.ceil(hours / 12) == 4


def test_planning_05_revision_split() -> None:
    total = 4 * 5 * 3 + 4 * 5
    shares = {"Maths": 25, "Physics": 20, "Chemistry": 20, "English": 15, "History": 10, "French": 10}
    hours = {s: total * p // 100 for s, p in shares.items()}
    rows = {r[0]: int(r[2]) for r in _table("builtin-v2-planning-05", "Subject") if r[0] != "Total"}
    assert total == 80 and rows == hours and sum(rows.values()) == 80


def test_planning_06_rota_meets_every_rule() -> None:
    rows = _table("builtin-v2-planning-06", "Day")
    staff_by_day = [set(r[1].replace(" ", "").split(",")) for r in rows]
    assert len(staff_by_day) == 7 and all(len(s) == 2 for s in staff_by_day)  # 2 on duty 07:00-19:00
    people = set().union(*staff_by_day)
    hours = {p: 12 * sum(p in s for s in staff_by_day) for p in people}
    assert len(people) == 5 == math.ceil(12 * 7 * 2 / 40)
    assert all(h <= 40 for h in hours.values()) and sum(hours.values()) == 168
    assert all(sum(p not in s for s in staff_by_day) >= 2 for p in people)
    assert 24 - 19 + 7 >= 11  # rest between a 19:00 finish and a 07:00 start


def test_planning_07_backward_dates() -> None:
    def back_working_days(day: date, n: int) -> list[date]:
        out = []
        while len(out) < n:
            day -= timedelta(days=1)
            if day.weekday() < 5:
                out.append(day)
        return sorted(out)

    launch = date(2026, 11, 16)
    review = back_working_days(launch, 3)
    qa = back_working_days(review[0], 5)
    beta_end = qa[0] - timedelta(days=1)
    beta_start = beta_end - timedelta(days=6)
    assert launch.strftime("%A") == "Monday"
    assert review[0] == date(2026, 11, 11) and review[0].strftime("%A") == "Wednesday"
    assert (qa[0], qa[-1]) == (date(2026, 11, 4), date(2026, 11, 10))
    assert (beta_start, beta_end) == (date(2026, 10, 28), date(2026, 11, 3))
    assert beta_start.strftime("%A") == "Wednesday" and beta_end.strftime("%A") == "Tuesday"


def test_planning_08_cash_flow() -> None:
    balance, balances = 12_000, []
    for receipts, payments in zip(
        [18_000, 16_000, 22_000, 30_000, 34_000, 28_000],
        [24_000, 25_000, 24_000, 26_000, 27_000, 26_000],
        strict=True,
    ):
        balance += receipts - payments
        balances.append(balance)
    assert balances == [6_000, -3_000, -5_000, -1_000, 6_000, 8_000]
    assert [
        int(r[4].replace(",", "").replace("−", "-")) for r in _table("builtin-v2-planning-08", "Month")
    ] == balances


def test_planning_09_time_zones() -> None:
    def arrive(local: datetime, offset: int, hours: int, minutes: int, to_offset: int) -> datetime:
        utc = local.replace(tzinfo=timezone(timedelta(hours=offset))).astimezone(timezone.utc)
        return (utc + timedelta(hours=hours, minutes=minutes)).astimezone(
            timezone(timedelta(hours=to_offset))
        )

    assert arrive(datetime(2026, 11, 8, 21, 30), 0, 13, 5, 8).strftime("%a %H:%M") == "Mon 18:35"
    assert arrive(datetime(2026, 11, 10, 20, 55), 8, 7, 40, 11).strftime("%a %H:%M") == "Wed 07:35"
    assert arrive(datetime(2026, 11, 13, 16, 0), 11, 23, 30, 0).strftime("%a %d %H:%M") == "Sat 14 04:30"


def test_planning_10_wedding_numbers() -> None:
    adults, children = 0.75 * 180, round(0.8 * 24)
    assert (adults, children, adults + children) == (135, 19, 154)
    assert adults * 68 + children * 34 == 9_826 and round(0.18 * adults) == 24

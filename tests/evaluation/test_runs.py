"""Run records' pure parts: dataset fingerprint, canonical model names, counts and status, Holm."""

from __future__ import annotations

import pytest

from rubric_eval import resolve_config
from rubric_eval.records import Record
from rubric_eval.reporting.scoring import holm_adjust
from rubric_eval.runs import (
    JudgeIdentity,
    RunRecord,
    RunSettings,
    RunTally,
    call_totals,
    canonical_model_name,
    dataset_fingerprint,
    dataset_identity,
    run_counts,
    run_status,
)

from ._helpers import record


def records(**extra: object) -> list[Record]:
    return [Record.model_validate(record(i, **extra)) for i in range(3)]


def test_fingerprint_ignores_order_answers_models_and_rubric_format() -> None:
    base = records()
    as_dicts = []
    for r in reversed(base):
        data = r.dump()
        data["rubric"] = {c["criterion"]: c["performance_to_description"] for c in data["rubric"]}
        as_dicts.append(Record.model_validate({**data, "output": "other answer", "model": "m2"}))
    # The dict-of-dicts form has equal weights; the same rubric in list form with equal weights matches.
    equal = [
        Record.model_validate({**r.dump(), "rubric": [{**c, "weight": 1} for c in r.dump()["rubric"]]})
        for r in base
    ]
    assert dataset_fingerprint(as_dicts) == dataset_fingerprint(equal)
    assert dataset_fingerprint(base) != dataset_fingerprint(equal)  # 60/40 weights are another rubric
    assert dataset_fingerprint(base[:2]) != dataset_fingerprint(base)


def test_dataset_name_comes_from_the_records_or_is_derived() -> None:
    assert dataset_identity(records(dataset_name="bench")).name == "bench"
    derived = dataset_identity(records())
    assert derived.name.startswith("unnamed dataset (3 instructions, ") and derived.n_instructions == 3


def test_one_canonical_model_name_from_builtin_name_and_provider_model() -> None:
    builtin = resolve_config("generator", "gpt-4o-mini")
    spec = resolve_config("generator", "openai/gpt-4o-mini")
    assert (
        canonical_model_name(builtin, builtin=True)
        == canonical_model_name(spec, builtin=False)
        == "gpt-4o-mini"
    )
    named = spec.model_copy(update={"name": "mini-with-my-prompt"})
    assert canonical_model_name(named, builtin=False) == "mini-with-my-prompt"


@pytest.mark.parametrize(
    ("errors", "scored", "status"),
    [
        ([None, None], [True, True], "complete"),
        ([None, "HTTP 500"], [True, False], "partial"),
        (["HTTP 500", "HTTP 500"], [False, False], "failed"),
        ([None, "budget exhausted"], [True, False], "budget_stopped"),
        ([None, "interrupted"], [True, False], "interrupted"),
    ],
)
def test_status_from_counts(errors: list[str | None], scored: list[bool], status: str) -> None:
    rows = [
        Record.model_validate(record(i, judge_issues={"error": e}, score=7.0 if s else None))
        for i, (e, s) in enumerate(zip(errors, scored, strict=True))
    ]
    counts = run_counts(rows)
    assert (counts.n_scored, counts.n_unscored) == (sum(scored), len(scored) - sum(scored))
    assert run_status(counts) == status
    # A call not made (budget spent, run interrupted) is not a failed call.
    assert counts.n_failed_calls == sum(e is not None and "HTTP" in e for e in errors)


def test_holm_adjustment_by_hand() -> None:
    # m = 3: sorted 0.01, 0.02, 0.04 -> 0.03, max(0.03, 0.04) = 0.04, max(0.04, 0.04) = 0.04
    assert holm_adjust([0.04, 0.01, None, 0.02]) == pytest.approx([0.04, 0.03, None, 0.04])
    assert holm_adjust([0.5, 0.9]) == [1.0, 1.0]
    assert holm_adjust([]) == []


def runs_of(tally: RunTally) -> list[RunRecord]:
    stamp = "2026-01-01T00:00:00+00:00"
    return tally.runs(
        judge=JudgeIdentity(name="j"),
        dataset_name=None,
        input_path=None,
        settings=RunSettings(),
        started_at=stamp,
        finished_at=stamp,
        wall_time_s=None,
    )


def test_streamed_tally_identifies_the_dataset_like_the_whole_list() -> None:
    # RunTally remembers each (instruction, rubric) pair's digest; records of several models repeat
    # the pairs, and a rubric differing only in a weight or a description is another pair.
    base = records()
    changed = base[0].dump()
    changed["rubric"][0]["weight"] += 1
    reworded = base[1].dump()
    reworded["rubric"][0]["performance_to_description"] = {
        level: text + "!" for level, text in reworded["rubric"][0]["performance_to_description"].items()
    }
    variants = [Record.model_validate(changed), Record.model_validate(reworded)]
    stream = [
        Record.model_validate({**r.dump(), "model": model}) for model in ("m1", "m2") for r in base + variants
    ]
    tally = RunTally(run_id="r")
    for r in stream:
        tally.add(r)
    runs = runs_of(tally)
    assert [run.dataset.fingerprint for run in runs] == [dataset_fingerprint(base + variants)] * 2
    assert dataset_fingerprint(base + variants) != dataset_fingerprint(base)
    assert len({dataset_fingerprint([r]) for r in base + variants}) == 5


def test_streamed_tally_counts_and_totals_equal_those_of_the_whole_list() -> None:
    # RunTally adds each record into one model's counts and call totals as it streams past: the same
    # figures as counting each model's whole list at once.
    date = "2026-01-01T00:00:00+00:00"
    kinds: list[dict[str, object]] = [
        {"score": 7.0, "evaluation_date": date, "evaluation_price_per_example": 0.01, "evaluation_input_tokens": 9},
        {"score": 5.0, "evaluation_date": date, "evaluation_cached": True, "evaluation_price_per_example": 0.02},
        {"score": None, "evaluation_date": date, "judge_issues": {"error": "budget exhausted: --max_cost"}},
        {"score": None, "evaluation_date": date, "judge_issues": {"error": "interrupted: stopped"}},
        {"score": None, "evaluation_date": date, "judge_issues": {"error": "HTTP 500"}, "evaluation_cost_known": False},
        {"score": None, "output": None, "output_error": "the model failed"},
        {"score": 3.0, "evaluation_date": date, "evaluation_output_tokens": 4, "evaluation_cost_known": False},
    ]  # fmt: skip
    stream = [
        Record.model_validate(record(i, model=model, **kind))
        for i, kind in enumerate(kinds)
        for model in ("m1", "m2", "m1")
    ]
    tally = RunTally(run_id="r")
    for r in stream:
        tally.add(r)
    runs = runs_of(tally)
    for run in runs:
        own = [r for r in stream if r.model == run.model]
        assert run.counts == run_counts(own)
        assert run.totals == call_totals(own)
        assert run.dataset.n_instructions == len(kinds)
    assert run_counts(stream).n_budget_stopped == 3 and call_totals(stream).cached == 3


def test_call_totals_count_only_calls_that_were_made() -> None:
    from rubric_eval.runs import call_totals

    made = {"evaluation_date": "2026-12-03T10:00:00+00:00", "evaluation_price_per_example": 0.001}
    rows = [
        record(0, judge_issues={"error": "HTTP 500"}, **made),  # sent, failed: a call
        record(1, judge_issues={"error": "interrupted: stopped"}, evaluation_input_tokens=40, **made),
        record(2, judge_issues={"error": "interrupted: stopped"}, **made),  # never sent
        record(3, judge_issues={"error": "budget exhausted"}, **made),  # never sent
        record(4, output_error="HTTP 500", judge_issues={"error": "no output to grade"}, **made),
    ]
    totals = call_totals([Record.model_validate(r) for r in rows])
    assert totals.calls == 2 and totals.spent_usd == pytest.approx(0.002)

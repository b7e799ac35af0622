"""The run record's call counts are the LLM calls made: k per answer with ``--n_judge_samples k``, one per
judge per answer for a panel plus the escalations, each sent or served from the cache, never one that was
not sent. Counted at the local test server and compared with the run record, the command's summary lines
and the ``--dry_run`` plan, for a fresh run and a fully cached rerun."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from rubric_eval.cli import cli
from rubric_eval.testing import OpenAICompatibleServer

from ._helpers import judge_config, record, write_records

N = 6


def evaluate(tmp_path: Path, judging: list[str], *flags: str) -> Result:
    args = [
        "evaluate", "--input_path", str(tmp_path / "outputs.json"), "--output_path",
        str(tmp_path / "evaluations.json"), "--cache_dir", str(tmp_path / "cache"), "--quiet",
        "--max_concurrency", "1", *judging, *flags,
    ]  # fmt: skip
    return CliRunner().invoke(cli, args, catch_exceptions=False)


def run_of(tmp_path: Path) -> dict[str, Any]:
    (run,) = json.loads((tmp_path / "evaluations.runs.json").read_text(encoding="utf-8"))["runs"]
    return dict(run)


def summary(output: str) -> tuple[int, int, int, int, int]:
    """(judge calls, failed, cached) of the ``evaluate:`` line and (LLM calls, cached) of the engine's."""
    mine = re.search(r"; (\d+) judge calls \((\d+) failed, (\d+) from cache\)", output)
    engine = re.search(r"LLM calls: (\d+) \((\d+) from cache, (\d+) failed\)", output)
    assert mine is not None and engine is not None, output
    assert mine.group(2) == engine.group(3)  # the same failed calls in both lines
    calls, failed, cached = map(int, mine.groups())
    return calls, failed, cached, int(engine.group(1)), int(engine.group(2))


def report_counts(tmp_path: Path) -> tuple[int, str]:
    """The report's failed judge calls (its JSON) and its markdown's line on cached calls."""
    args = [
        "generate_report", "--input_path", str(tmp_path / "evaluations.json"), "--output_path",
        str(tmp_path / "report.md"), "--summarize=False", "--leaderboard_path=None",
    ]  # fmt: skip
    result = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    (model,) = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))["models"]
    markdown = (tmp_path / "report.md").read_text(encoding="utf-8")
    assert f"Failed judge calls: {model['grading']['n_failed_calls']}." in markdown
    cached = re.search(r"\d+ of \d+ judge calls from the cache", markdown)
    assert cached is not None
    return model["grading"]["n_failed_calls"], cached.group(0)


def planned(output: str) -> int:
    return sum(int(n) for n in re.findall(r"\): (\d+) calls, ", output))


def judges(tmp_path: Path, base_url: str) -> list[str]:
    # Other sampling, other cache keys: each judge's calls are its own, and the judges disagree.
    return [
        str(judge_config(tmp_path / f"j{k}.yaml", base_url, name=f"judge-{k}", params={"temperature": t}))
        for k, t in enumerate((0.0, 0.5, 0.7))
    ]


@pytest.mark.parametrize("plan", ["one judge", "repeats", "panel with escalation"])
def test_the_run_record_counts_every_judge_call_made_or_served_from_the_cache(
    plan: str, tmp_path: Path
) -> None:
    write_records(tmp_path / "outputs.json", [record(i) for i in range(N)])
    with OpenAICompatibleServer() as server:
        one, two, strong = judges(tmp_path, server.base_url)
        judging = {
            "one judge": ["--evaluator_configs", one],
            "repeats": ["--evaluator_configs", one, "--n_judge_samples", "3"],
            "panel with escalation": ["--evaluator_configs", f"{one},{two}", "--escalate_to", strong],
        }[plan]
        dry = evaluate(tmp_path, judging, "--dry_run")
        assert dry.exit_code == 0 and server.request_count == 0, dry.output

        fresh = evaluate(tmp_path, judging)
        assert fresh.exit_code == 0, fresh.output
        requests = server.request_count
        run = run_of(tmp_path)
        records = json.loads((tmp_path / "evaluations.json").read_text(encoding="utf-8"))
        escalated = sum(r.get("escalated") is not None for r in records)
        expected = {"one judge": N, "repeats": 3 * N, "panel with escalation": 2 * N + escalated}[plan]
        assert run["totals"]["calls"] == requests == expected
        assert run["totals"]["cached"] == 0 and run["counts"]["n_failed_calls"] == 0
        assert summary(fresh.output) == (requests, 0, 0, requests, 0)
        # The plan counted the same calls (the escalation: an upper bound, said as such).
        assert planned(dry.output) == (2 * N if escalated else requests)
        if plan == "panel with escalation":
            assert escalated > 0 and f"--escalate_to: up to {N} calls" in dry.output
        # Tokens and cost: the records' sums, and what the provider reported for this run.
        assert run["totals"]["input_tokens"] == sum(r["evaluation_input_tokens"] for r in records)
        assert run["totals"]["output_tokens"] == sum(r["evaluation_output_tokens"] for r in records)
        tokens = re.search(r"tokens ([\d,]+) in, ([\d,]+) out", fresh.output)
        assert tokens is not None
        assert [int(t.replace(",", "")) for t in tokens.groups()] == [
            run["totals"]["input_tokens"],
            run["totals"]["output_tokens"],
        ]
        assert run["totals"]["spent_usd"] > 0
        assert run["totals"]["spent_usd"] == pytest.approx(run["totals"]["answers_cost_usd"])

        # A rerun: every call served from the cache, none made, the same number of calls.
        again = evaluate(tmp_path, judging)
        assert again.exit_code == 0, again.output
        assert server.request_count == requests
        rerun = run_of(tmp_path)
        assert rerun["totals"]["calls"] == rerun["totals"]["cached"] == requests
        assert rerun["totals"]["spent_usd"] == 0
        assert rerun["totals"]["answers_cost_usd"] == pytest.approx(run["totals"]["answers_cost_usd"])
        assert summary(again.output) == (requests, 0, requests, requests, requests)
        assert report_counts(tmp_path) == (0, f"{requests} of {requests} judge calls from the cache")
        dry_again = evaluate(tmp_path, judging, "--dry_run")
        assert re.findall(r"(\d+) calls, (\d+) already cached", dry_again.output) == [
            (str(n), str(n)) for n in ([N, N] if escalated else [requests])
        ]


def test_failed_repeats_are_counted_one_by_one(tmp_path: Path) -> None:
    write_records(tmp_path / "outputs.json", [record(i) for i in range(N)])
    # Three requests refused (400: not retried): three failed calls, two of them one answer's repeats.
    with OpenAICompatibleServer(faults=["400", "400", "400"]) as server:
        one = judges(tmp_path, server.base_url)[0]
        judging = ["--evaluator_configs", one, "--n_judge_samples", "2"]
        result = evaluate(tmp_path, judging)
        assert result.exit_code == 1
        run = run_of(tmp_path)
        assert run["totals"]["calls"] == server.request_count == 2 * N
        assert run["counts"]["n_failed_calls"] == 3
        assert summary(result.output) == (2 * N, 3, 0, 2 * N, 0)
        assert report_counts(tmp_path) == (3, f"0 of {2 * N} judge calls from the cache")
        # The rerun retries the failed calls only; the others come from the cache.
        again = evaluate(tmp_path, judging)
        assert again.exit_code == 0, again.output
        assert server.request_count == 2 * N + 3
        rerun = run_of(tmp_path)
        assert (rerun["totals"]["calls"], rerun["totals"]["cached"]) == (2 * N, 2 * N - 3)
        assert rerun["counts"]["n_failed_calls"] == 0
        assert summary(again.output) == (2 * N, 0, 2 * N - 3, 2 * N, 2 * N - 3)


@pytest.mark.parametrize("plan", ["repeats", "panel"])
def test_a_budget_stop_counts_no_call_not_sent_and_scores_no_half_graded_answer(
    plan: str, tmp_path: Path
) -> None:
    write_records(tmp_path / "outputs.json", [record(i) for i in range(N)])
    with OpenAICompatibleServer() as server:
        one, two, _ = judges(tmp_path, server.base_url)
        judging = {
            "repeats": ["--evaluator_configs", one, "--n_judge_samples", "2"],
            "panel": ["--evaluator_configs", f"{one},{two}"],
        }[plan]
        full = evaluate(tmp_path, judging, "--no_cache")
        assert full.exit_code == 0
        cost = run_of(tmp_path)["totals"]["spent_usd"]
        server.reset()
        # Enough for all but the last call or two: some answer is left with one of its two gradings.
        stopped = evaluate(tmp_path, judging, "--max_cost", f"{cost * 0.9:.8f}")
        assert stopped.exit_code == 1
        run = run_of(tmp_path)
        made = server.request_count
        assert run["status"] == "budget_stopped" and 0 < made < 2 * N
        assert run["totals"]["calls"] == made and run["counts"]["n_failed_calls"] == 0
        assert f"; {2 * N - made} calls not sent (--max_cost reached)" in stopped.output
        assert summary(stopped.output) == (made, 0, 0, made, 0)
        records = json.loads((tmp_path / "evaluations.json").read_text(encoding="utf-8"))
        # An answer graded once instead of twice is not scored (the budget error says why).
        # (Repeats go answer by answer; a panel's second judge starts after the first has finished.)
        scored = made // 2 if plan == "repeats" else made - N
        assert run["counts"]["n_scored"] == scored == sum(r["score"] is not None for r in records)
        unscored = [r for r in records if r["score"] is None]
        assert all(r["judge_issues"]["error"].startswith("budget exhausted") for r in unscored)
        assert run["counts"]["n_budget_stopped"] == len(unscored) == N - scored
        # The report counts the same calls: none failed (not sent is not failed).
        assert report_counts(tmp_path) == (0, f"0 of {made} judge calls from the cache")
        # The rerun with no limit makes only the calls not sent, and scores everything.
        again = evaluate(tmp_path, judging)
        assert again.exit_code == 0, again.output
        assert server.request_count == 2 * N
        assert run_of(tmp_path)["totals"]["cached"] == made

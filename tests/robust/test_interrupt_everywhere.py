"""Ctrl-C and SIGTERM in every LLM step: the streaming `evaluate` (one judge, repeats), a judge panel, the
one-step run while generating, `generate_outputs`, and the summary step of `generate_report`.

Each stopped run leaves: every finished call in the cache (the rerun makes only the missing calls, counted
at the server), what was done so far in a `.partial` file or nothing (never a half-written file under the
final name, never a complete earlier result replaced), a run record `interrupted` with honest counts, and
exit code 130 / 143 with one line on stderr. Real subprocesses against the local test server.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from rubric_eval.testing import ServerProcess

from ._helpers import judge_config, record, write_records

pytestmark = pytest.mark.slow  # subprocess runs against a judge with latency, stopped mid-way

N = 8
CODES = {signal.SIGINT: (130, "SIGINT"), signal.SIGTERM: (143, "SIGTERM")}


def rubric_eval(*args: str | Path) -> list[str]:
    return [sys.executable, "-m", "rubric_eval", *map(str, args), "--max_concurrency", "1", "--quiet"]


def signalled(server: ServerProcess, command: list[str], after: int, signum: int) -> tuple[int, str, str]:
    """Run ``command``, send ``signum`` once the server has seen ``after`` more requests: (exit code,
    stdout, stderr)."""
    start = server.request_count
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while server.request_count < start + after and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    process.send_signal(signum)
    stdout, stderr = process.communicate(timeout=60)
    return process.returncode, stdout, stderr


def stopped_run(server: ServerProcess, command: list[str], after: int, signum: int) -> tuple[str, int]:
    """`signalled`, then check the exit code and the one stderr line; return stdout and the number of
    answers it says were saved."""
    returncode, stdout, stderr = signalled(server, command, after, signum)
    code, name = CODES[signum]
    assert returncode == code, stderr
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith(f"Stopped by {name}: "), stderr
    saved = int(lines[0].split(": ", 1)[1].split(" ", 1)[0])
    return stdout, saved


def rerun_requests(server: ServerProcess, command: list[str]) -> int:
    """Run ``command`` to the end (exit 0) and return how many requests it made."""
    start = server.request_count
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return server.request_count - start


def read(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def interrupted_log(path: Path, n: int) -> dict[str, Any]:
    """The one run of a `.runs.json`: status `interrupted`, counts over all ``n`` instructions."""
    (run,) = read(path)["runs"]
    counts = run["counts"]
    assert run["status"] == "interrupted"
    assert counts["n_instructions"] == n and counts["n_scored"] + counts["n_unscored"] == n
    assert counts["n_interrupted"] == counts["n_unscored"] > 0
    assert counts["n_failed_calls"] == 0  # a call not made did not fail
    return dict(run)


def check_partial_evaluations(path: Path, run: dict[str, Any]) -> None:
    records = read(path)
    assert len(records) == run["counts"]["n_instructions"]
    assert [r["id"] for r in records] == list(range(len(records)))  # input order
    assert sum(r["score"] is not None for r in records) == run["counts"]["n_scored"]
    unscored = [r for r in records if r["score"] is None]
    assert all(r["judge_issues"]["error"].startswith("interrupted") for r in unscored)
    assert {r["evaluation_run_id"] for r in records} == {run["run_id"]}


def no_temp_files(folder: Path) -> None:
    assert not [p for p in folder.rglob("*") if p.name.endswith(".tmp") or ".spill." in p.name]


@pytest.mark.parametrize(
    ("signum", "samples"), [(signal.SIGINT, 1), (signal.SIGTERM, 2)], ids=["sigint", "sigterm-repeats"]
)
def test_streaming_evaluate_keeps_the_complete_file_and_writes_a_partial_one(
    signum: int, samples: int, tmp_path: Path
) -> None:
    inputs = write_records(tmp_path / "outputs.json", [record(i) for i in range(N)])
    output = tmp_path / "evaluations.json"
    with ServerProcess(["--latency", "0.3"]) as server:
        judge = judge_config(tmp_path / "j.yaml", server.base_url)

        def command(cache: str) -> list[str]:
            return rubric_eval(
                "evaluate", "--input_path", inputs, "--output_path", output, "--evaluator_configs", judge,
                "--n_judge_samples", samples, "--cache_dir", tmp_path / cache,
            )  # fmt: skip

        assert rerun_requests(server, command("c1")) == N * samples
        complete = output.read_bytes()
        # The same run with an empty cache, stopped after a few answers (with repeats: while the second
        # answer's second repeat is on its way, so one answer has half its repeats).
        stdout, saved = stopped_run(server, command("c2"), 3 if samples == 1 else 4, signum)
        assert output.read_bytes() == complete  # the complete earlier result is untouched
        partial = tmp_path / "evaluations.partial.json"
        assert str(partial) in stdout
        run = interrupted_log(tmp_path / "evaluations.partial.runs.json", N)
        check_partial_evaluations(partial, run)
        # Every answer that came back is in the records (and the run's totals), none that did not.
        graded = read(partial)
        half_done = [r for r in graded if r["score"] is None and r.get("evaluation_input_tokens")]
        assert run["counts"]["n_scored"] * samples + len(half_done) == saved < N * samples
        assert run["totals"]["calls"] == saved  # every call that came back, repeats one by one
        no_temp_files(tmp_path)
        # The rerun makes only the calls that were not saved, and replaces the complete file.
        assert rerun_requests(server, command("c2")) == N * samples - saved
    assert all(r["score"] is not None for r in read(output))
    assert read(tmp_path / "evaluations.runs.json")["runs"][0]["status"] == "complete"


def test_a_stopped_panel_is_recorded_and_resumes(tmp_path: Path) -> None:
    inputs = write_records(tmp_path / "outputs.json", [record(i) for i in range(N)])
    output = tmp_path / "evaluations.json"
    with ServerProcess(["--latency", "0.3"]) as server:
        one = judge_config(tmp_path / "j1.yaml", server.base_url)
        # Other sampling: other cache keys, so each judge's calls are its own.
        two = judge_config(
            tmp_path / "j2.yaml", server.base_url, name="judge-two", params={"temperature": 0.5}
        )
        command = rubric_eval(
            "evaluate", "--input_path", inputs, "--output_path", output, "--evaluator_configs", f"{one},{two}",
            "--cache_dir", tmp_path / "cache",
        )  # fmt: skip
        # Stopped while the second judge grades: the first judge's grades alone score nothing.
        _stdout, saved = stopped_run(server, command, N + 3, signal.SIGINT)
        assert not output.exists()
        run = interrupted_log(tmp_path / "evaluations.partial.runs.json", N)
        assert run["judge"]["name"] == "panel(test-judge+judge-two)"
        check_partial_evaluations(tmp_path / "evaluations.partial.json", run)
        stopped = read(tmp_path / "evaluations.partial.json")
        assert N <= saved < 2 * N
        # Answers the second judge graded are scored; the others keep the first judge's entry and cost.
        assert run["counts"]["n_scored"] <= saved - N
        ungraded = [r for r in stopped if r["score"] is None]
        assert all(r["evaluator"] == run["judge"]["name"] for r in stopped)
        assert all([e["evaluator"] for e in r["judge_panel"]] == ["test-judge"] for r in ungraded)
        assert run["totals"]["calls"] == saved  # the first judge's answers, and the second's so far
        assert rerun_requests(server, command) == 2 * N - saved
    assert all(r["score"] is not None for r in read(output))


def test_a_panel_stopped_while_escalating_scores_only_the_answers_it_finished(tmp_path: Path) -> None:
    inputs = write_records(tmp_path / "outputs.json", [record(i) for i in range(N)])
    output = tmp_path / "evaluations.json"
    with ServerProcess(["--latency", "0.3"]) as server:
        judges = [
            judge_config(
                tmp_path / f"j{k}.yaml", server.base_url, name=f"judge-{k}", params={"temperature": t}
            )
            for k, t in enumerate((0.0, 0.5, 0.7))
        ]
        command = rubric_eval(
            "evaluate", "--input_path", inputs, "--output_path", output, "--evaluator_configs",
            f"{judges[0]},{judges[1]}", "--escalate_to", judges[2], "--cache_dir", tmp_path / "cache",
        )  # fmt: skip
        # Both judges done, the escalation of the answers they disagree on under way.
        _stdout, saved = stopped_run(server, command, 2 * N + 2, signal.SIGTERM)
        run = interrupted_log(tmp_path / "evaluations.partial.runs.json", N)
        check_partial_evaluations(tmp_path / "evaluations.partial.json", run)
        stopped = read(tmp_path / "evaluations.partial.json")
        escalated = [r for r in stopped if r.get("escalated")]
        assert escalated and all(r["score"] is not None for r in escalated)
        assert saved == 2 * N + len(escalated)
        for r in stopped:  # an answer waiting for its escalation is not scored by the panel alone
            assert (r["score"] is None) == (
                r.get("escalated") is None and r.get("judge_panel_disagrees") is None
            )
            assert [e["evaluator"] for e in r["judge_panel"]] == ["judge-0", "judge-1"]
        assert rerun_requests(server, command) == run["counts"]["n_unscored"]  # the missing escalations
    disagreeing = sum(bool(r["judge_panel_disagrees"]) for r in read(output))
    assert disagreeing == len(escalated) + run["counts"]["n_unscored"]


def test_one_step_stopped_while_generating_records_an_interrupted_run(tmp_path: Path) -> None:
    instructions = [{k: v for k, v in record(i).items() if k not in ("output", "model")} for i in range(N)]
    inputs = write_records(tmp_path / "instructions.json", instructions)
    with ServerProcess(["--latency", "0.3"]) as server:
        judge = judge_config(tmp_path / "j.yaml", server.base_url)
        generator = judge_config(tmp_path / "g.yaml", server.base_url, name="gen-model", model="gen-model")
        command = rubric_eval(
            "--input_path", inputs, "--model_configs", generator, "--evaluator_configs", judge,
            "--summarize", "False", "--cache_dir", tmp_path / "cache",
        )  # fmt: skip
        stdout, saved = stopped_run(server, command, 3, signal.SIGTERM)
        assert str(tmp_path / "evaluations_gen-model.partial.json") in stdout
        # Nothing under the final names; the answers so far and an all-unscored run in `.partial` files.
        assert not (tmp_path / "outputs_gen-model.json").exists()
        assert not (tmp_path / "evaluations_gen-model.json").exists()
        outputs = read(tmp_path / "outputs_gen-model.partial.json")
        assert len(outputs) == N and 0 < sum("output" in r for r in outputs) <= saved < N
        assert all(r["output_error"].startswith("interrupted") for r in outputs if "output" not in r)
        run = interrupted_log(tmp_path / "evaluations_gen-model.partial.runs.json", N)
        assert run["counts"]["n_scored"] == 0 and run["totals"]["calls"] == 0  # no judge call was made
        (row,) = read(tmp_path / "leaderboard.json")["runs"]
        assert row["status"] == "interrupted" and row["run_id"] == run["run_id"]
        assert (
            "interrupted: 0 of 8 scored" in (tmp_path / "evaluation_report_gen-model.partial.md").read_text()
        )
        no_temp_files(tmp_path)
        assert rerun_requests(server, command) == 2 * N - saved  # the missing answers, then every grade
    assert [r["status"] for r in read(tmp_path / "leaderboard.json")["runs"]] == ["complete"]


def test_generate_outputs_stopped_writes_the_answers_so_far_beside_the_output(tmp_path: Path) -> None:
    instructions = [{"id": i, "instruction": f"Question {i}: explain something."} for i in range(N)]
    inputs = write_records(tmp_path / "instructions.json", instructions)
    output = tmp_path / "outputs.json"
    with ServerProcess(["--latency", "0.3"]) as server:
        generator = judge_config(tmp_path / "g.yaml", server.base_url, name="gen-model", model="gen-model")
        command = rubric_eval(
            "generate_outputs", "--input_path", inputs, "--output_path", output, "--model_configs", generator,
            "--cache_dir", tmp_path / "cache",
        )  # fmt: skip
        stdout, saved = stopped_run(server, command, 3, signal.SIGINT)
        assert not output.exists()
        partial = read(tmp_path / "outputs.partial.json")
        answered = [r for r in partial if "output" in r]
        assert f"{len(answered)} of {N} answers" in stdout
        assert len(partial) == N and 0 < len(answered) <= saved < N
        assert all(r["output_error"].startswith("interrupted") for r in partial if "output" not in r)
        assert rerun_requests(server, command) == N - saved
    assert all("output" in r for r in read(output))


def test_generate_report_stopped_in_the_summary_writes_no_report_and_resumes(tmp_path: Path) -> None:
    records = [record(i, category=f"cat{i % 3}") for i in range(N)]
    inputs = write_records(tmp_path / "outputs.json", records)
    evaluations = tmp_path / "evaluations.json"
    report = tmp_path / "report.md"
    board = tmp_path / "leaderboard.json"
    with ServerProcess(["--latency", "0.3"]) as server:
        judge = judge_config(tmp_path / "j.yaml", server.base_url)
        summarizer = judge_config(tmp_path / "s.yaml", server.base_url, name="summarizer", model="summarizer")
        cache = tmp_path / "cache"
        evaluate = rubric_eval(
            "evaluate", "--input_path", inputs, "--output_path", evaluations, "--evaluator_configs", judge,
            "--cache_dir", cache,
        )  # fmt: skip
        assert rerun_requests(server, evaluate) == N
        command = rubric_eval(
            "generate_report", "--input_path", evaluations, "--output_path", report, "--summarizer_configs",
            summarizer, "--leaderboard_path", board, "--cache_dir", cache,
        )  # fmt: skip
        # Three category summaries and one merge: stopped after the first.
        _stdout, saved = stopped_run(server, command, 2, signal.SIGINT)
        assert 1 <= saved < 4
        assert not report.exists() and not board.exists()  # the report is all or nothing
        assert read(tmp_path / "evaluations.runs.json")["runs"][0]["status"] == "complete"
        no_temp_files(tmp_path)
        assert rerun_requests(server, command) == 4 - saved
    assert [run["status"] for run in read(board)["runs"]] == ["complete"]


API_SCRIPT = """
import json, sys
from rubric_eval import EngineSettings, evaluate_and_generate_report
from rubric_eval.engine import Engine, answers_saved_in_process
from rubric_eval.errors import RunInterrupted
inputs, judge, board, cache = sys.argv[1:]
engine = Engine(EngineSettings(cache_dir=cache, max_concurrency=1, progress="quiet"))
try:
    evaluate_and_generate_report(json.load(open(inputs)), evaluator=judge, engine=engine,
                                 summarize=False, leaderboard_path=board)
except RunInterrupted as stop:
    print(json.dumps({"saved": answers_saved_in_process(), "status": [r.status for r in stop.runs],
                      "n": len(stop.evaluations)}))
    sys.exit(130)
"""


def test_the_python_api_adds_an_interrupted_run_to_its_leaderboard(tmp_path: Path) -> None:
    inputs = write_records(tmp_path / "outputs.json", [record(i) for i in range(N)])
    board = tmp_path / "leaderboard.json"
    with ServerProcess(["--latency", "0.3"]) as server:
        judge = judge_config(tmp_path / "j.yaml", server.base_url)
        command = [sys.executable, "-c", API_SCRIPT, str(inputs), str(judge), str(board), str(tmp_path / "c")]
        returncode, stdout, stderr = signalled(server, command, 3, signal.SIGINT)
        assert returncode == 130, stderr
        stopped = json.loads(stdout)
        assert stopped["status"] == ["interrupted"] and stopped["n"] == N
        (row,) = read(board)["runs"]
        assert row["status"] == "interrupted" and row["counts"]["n_scored"] == stopped["saved"] < N
        assert rerun_requests(server, command) == N - stopped["saved"]
    assert [run["status"] for run in read(board)["runs"]] == ["complete"]


NOTEBOOK_SCRIPT = """
import asyncio, json, sys
from rubric_eval import EngineSettings, evaluate
from rubric_eval.engine import Engine, answers_saved_in_process
from rubric_eval.errors import EvaluationInterrupted
inputs, judge, cache = sys.argv[1:]
async def cell():  # a notebook cell: sync code run while the kernel's event loop runs
    engine = Engine(EngineSettings(cache_dir=cache, max_concurrency=1, progress="quiet"))
    try:
        evaluate(json.load(open(inputs)), evaluator=judge, engine=engine)
    except EvaluationInterrupted as stop:
        scored = sum(r.score is not None for r in stop.records)
        print(json.dumps({"saved": answers_saved_in_process(), "scored": scored}))
        sys.exit(130)
asyncio.new_event_loop().run_until_complete(cell())
"""


def test_ctrl_c_inside_a_running_event_loop_stops_the_run_instead_of_finishing_it(tmp_path: Path) -> None:
    # In Jupyter the engine runs in a helper thread; the interrupt used to wait for every call to finish.
    inputs = write_records(tmp_path / "outputs.json", [record(i) for i in range(N)])
    with ServerProcess(["--latency", "0.3"]) as server:
        judge = judge_config(tmp_path / "j.yaml", server.base_url)
        command = [sys.executable, "-c", NOTEBOOK_SCRIPT, str(inputs), str(judge), str(tmp_path / "c")]
        returncode, stdout, stderr = signalled(server, command, 3, signal.SIGINT)
        assert returncode == 130, stderr
        stopped = json.loads(stdout)
        assert stopped["scored"] == stopped["saved"] < N
        assert server.request_count <= stopped["saved"] + 1  # the one in flight, no more
        assert rerun_requests(server, command) == N - stopped["saved"]

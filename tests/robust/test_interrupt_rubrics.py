"""Ctrl-C and SIGTERM in `brainstorm_rubrics`, `generate_rubrics` and `brainstorm_and_generate_rubrics`:
the records finished so far go to ``F.partial.json`` (the rest carry an ``interrupted`` error), never a
half-written file under the final name, never over the input; exit 130 / 143 with one stderr line; every
finished call in the cache, so the rerun makes only the missing ones (counted at the server)."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from rubric_eval.testing import ServerProcess

from ._helpers import judge_config, write_records
from .test_interrupt_everywhere import no_temp_files, read, rerun_requests, rubric_eval, stopped_run

pytestmark = pytest.mark.slow  # subprocess runs against a server with latency, stopped mid-way

N = 8


def instructions(tmp_path: Path) -> Path:
    return write_records(
        tmp_path / "instructions.json",
        [{"id": i, "instruction": f"Question {i}: explain something."} for i in range(N)],
    )


def check_partial(path: Path, field: str, finished: int) -> None:
    """``finished`` records carry ``field``, the others an ``interrupted`` error; all in input order."""
    records = read(path)
    assert [r["id"] for r in records] == list(range(N))
    done = [r for r in records if field in r]
    assert len(done) == finished
    assert all(r[f"{field}_error"].startswith("interrupted") for r in records if field not in r)


def test_brainstorm_rubrics_stopped_keeps_the_complete_output_and_writes_the_brainstorms_so_far(
    tmp_path: Path,
) -> None:
    inputs = instructions(tmp_path)
    given = inputs.read_bytes()
    output = tmp_path / "brainstorms.json"
    with ServerProcess(["--latency", "0.3"]) as server:
        config = judge_config(tmp_path / "b.yaml", server.base_url, name="brainstormer")

        def command(cache: str) -> list[str]:
            return rubric_eval(
                "brainstorm_rubrics", "--input_path", inputs, "--output_path", output,
                "--brainstormer_configs", config, "--cache_dir", tmp_path / cache,
            )  # fmt: skip

        assert rerun_requests(server, command("c1")) == N
        complete = output.read_bytes()
        stdout, saved = stopped_run(server, command("c2"), 3, signal.SIGINT)
        assert 0 < saved < N
        assert output.read_bytes() == complete and inputs.read_bytes() == given
        partial = tmp_path / "brainstorms.partial.json"
        assert f"interrupted: wrote {saved} of {N} brainstorms so far to {partial}" in stdout
        check_partial(partial, "brainstormed_rubric", saved)
        no_temp_files(tmp_path)
        assert rerun_requests(server, command("c2")) == N - saved  # only the missing brainstorms
    assert all(r["brainstormed_rubric"] for r in read(output))


def test_generate_rubrics_in_place_stopped_leaves_its_input_as_it_was(tmp_path: Path) -> None:
    inputs = instructions(tmp_path)
    brainstorms = tmp_path / "brainstorms.json"
    with ServerProcess(["--latency", "0.3"]) as server:
        config = judge_config(tmp_path / "g.yaml", server.base_url, name="generator")
        cache = tmp_path / "cache"
        first = rubric_eval(
            "brainstorm_rubrics", "--input_path", inputs, "--output_path", brainstorms,
            "--brainstormer_configs", config, "--cache_dir", cache,
        )  # fmt: skip
        assert rerun_requests(server, first) == N
        given = brainstorms.read_bytes()
        # Rubrics added to the same file (input = output): stopped, the file is the input, left alone.
        command = rubric_eval(
            "generate_rubrics", "--input_path", brainstorms, "--output_path", brainstorms,
            "--rubric_generator_configs", config, "--cache_dir", cache,
        )  # fmt: skip
        stdout, saved = stopped_run(server, command, 3, signal.SIGTERM)
        assert 0 < saved < N and brainstorms.read_bytes() == given
        partial = tmp_path / "brainstorms.partial.json"
        assert f"interrupted: wrote {saved} of {N} rubrics so far to {partial}" in stdout
        check_partial(partial, "rubric", saved)
        no_temp_files(tmp_path)
        assert rerun_requests(server, command) == N - saved
    assert all(r["rubric"] and r["brainstormed_rubric"] for r in read(brainstorms))


def test_both_steps_stopped_in_the_second_write_every_brainstorm_and_the_rubrics_so_far(
    tmp_path: Path,
) -> None:
    inputs = instructions(tmp_path)
    output = tmp_path / "rubrics.json"
    partial = tmp_path / "rubrics.partial.json"
    with ServerProcess(["--latency", "0.3"]) as server:
        config = judge_config(tmp_path / "g.yaml", server.base_url, name="generator")
        command = rubric_eval(
            "brainstorm_and_generate_rubrics", "--input_path", inputs, "--output_path", output,
            "--brainstormer_configs", config, "--rubric_generator_configs", config,
            "--cache_dir", tmp_path / "cache",
        )  # fmt: skip
        stdout, saved = stopped_run(server, command, N + 3, signal.SIGINT)
        assert N < saved < 2 * N and not output.exists()
        assert f"interrupted: wrote {saved - N} of {N} rubrics so far to {partial}" in stdout
        check_partial(partial, "rubric", saved - N)
        assert all(r["brainstormed_rubric"] for r in read(partial))
        # Resumed from the partial file itself: stopped again, that file is the input and is left alone.
        given = partial.read_bytes()
        resume = rubric_eval(
            "generate_rubrics", "--input_path", partial, "--output_path", output,
            "--rubric_generator_configs", config, "--cache_dir", tmp_path / "cache",
        )  # fmt: skip
        stdout, again = stopped_run(server, resume, 2, signal.SIGTERM)
        assert f"{partial} is the input, so it was left as it was" in stdout
        assert partial.read_bytes() == given and not output.exists()
        no_temp_files(tmp_path)
        assert rerun_requests(server, resume) == 2 * N - saved - again
    assert all(r["rubric"] for r in read(output))

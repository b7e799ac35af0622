"""`rubric_eval demo`: the whole pipeline offline with the embedded model, then a rerun from the cache."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from rubric_eval._io import read_records
from rubric_eval.cli import cli
from rubric_eval.demo import demo_configs, pick_instructions
from rubric_eval.errors import ConfigError

FILES = (
    "1_instructions.json",
    "2_brainstorms.json",
    "3_rubrics.json",
    "4_outputs.json",
    "5_evaluations.json",
    "evaluation_report.md",
    "evaluation_report.json",
    "leaderboard.json",
)


@pytest.mark.local_model
def test_demo_runs_the_pipeline_offline_and_reruns_from_its_cache(
    embedded_gguf: Path, tmp_path: Path
) -> None:
    out = tmp_path / "my demo"
    runner = CliRunner()
    first = runner.invoke(cli, ["demo", "--output_dir", str(out), "--n_instructions", "2", "--quiet"])
    assert first.exit_code == 0, first.output
    assert f"wrote everything to {out.resolve()}/" in first.output
    for name in FILES:
        assert (out / name).is_file(), name
        assert name in first.output

    instructions = read_records(out / "1_instructions.json")
    assert len(instructions) == 2 and all(r.rubric is None for r in instructions)  # rubrics are generated
    assert len({r.category for r in instructions}) == 2
    evaluations = read_records(out / "5_evaluations.json")
    dropped = first.output.count("left out:")
    assert len(evaluations) + dropped == 2
    for record in evaluations:
        assert record.rubric is not None and record.output and record.grades
        assert record.evaluator == "local/smollm2-135m-instruct"

    markdown = (out / "evaluation_report.md").read_text()
    assert "NOT meaningful" in markdown.split("## Overview")[0]  # stated up front, in the report itself
    for way in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "--evaluator_configs local/path/to/model.gguf"):
        assert way in markdown
    report = json.loads((out / "evaluation_report.json").read_text())
    assert report["notes"][0].startswith("This report comes from `rubric_eval demo`")
    assert report["summarizer"] == "local/smollm2-135m-instruct"
    leaderboard = json.loads((out / "leaderboard.json").read_text())
    assert "local/smollm2-135m-instruct" in json.dumps(leaderboard)
    assert (out / "cache").is_dir()

    again = runner.invoke(cli, ["demo", "--output_dir", str(out), "--n_instructions", "2", "--quiet"])
    assert again.exit_code == 0, again.output
    assert "0 model calls" in again.output
    assert read_records(out / "5_evaluations.json")[0].grades == evaluations[0].grades


def test_demo_takes_instructions_across_categories_without_their_rubrics() -> None:
    picked = pick_instructions(4)
    assert len({r.category for r in picked}) == 4
    assert all(r.rubric is None and r.excellent_response is None and r.id for r in picked)
    with pytest.raises(ConfigError, match="n_instructions"):
        pick_instructions(0)


def test_demo_model_must_be_local() -> None:
    configs = demo_configs("local//models/judge-7b.Q4_K_M.gguf")
    assert {c.provider for c in configs.values()} == {"local"}
    assert {c.model for c in configs.values()} == {"/models/judge-7b.Q4_K_M.gguf"}
    assert configs["evaluator"].name == "local/judge-7b.Q4_K_M"
    with pytest.raises(ConfigError, match="offline"):
        demo_configs("openai/gpt-4o-mini")
    result = CliRunner().invoke(cli, ["demo", "--model", "openai/gpt-4o-mini", "--output_dir", "unused"])
    assert result.exit_code == 2 and "offline" in result.output


@pytest.mark.local_model
def test_demo_stopped_by_ctrl_c_exits_130_and_leaves_only_the_finished_steps_files(
    embedded_gguf: Path, tmp_path: Path
) -> None:
    import signal
    import subprocess
    import sys
    import time

    out = tmp_path / "demo"
    command = [sys.executable, "-m", "rubric_eval", "demo", "--output_dir", str(out), "--quiet"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 600
    # Stopped while the rubrics are being written: the brainstorm step has written its file.
    while (
        not (out / "2_brainstorms.json").exists() and process.poll() is None and time.monotonic() < deadline
    ):
        time.sleep(0.2)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=600)
    assert process.returncode == 130, stderr
    last = stderr.strip().splitlines()[-1]
    assert last.startswith("Stopped by SIGINT: ") and "rerunning the same command resumes" in last
    written = sorted(p.name for p in out.iterdir())
    assert written == ["1_instructions.json", "2_brainstorms.json", "cache"]  # nothing of the stopped step
    assert len(read_records(out / "2_brainstorms.json")) == 3
    assert not [p for p in out.rglob("*") if p.name.endswith(".tmp")]

"""`rubric_eval validate` through the real console script: summaries, problems, exit codes, flag spellings."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import click
import pytest

LEVELS = {"excellent": "e", "good": "g", "fair": "f", "poor": "p"}


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "rubric_eval", *args], capture_output=True, text=True, check=False
    )


def write(tmp_path: Path, records: object, name: str = "data.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(records))
    return path


def test_validate_summarises_the_shared_benchmark(shared_data: Path) -> None:
    result = run_cli("validate", "--input_path", str(shared_data / "rubriceval_sampled/benchmark.json"))
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "80 records" in out
    assert "categories: 8:" in out
    assert out.count("(10)") == 8
    assert "389 criteria" in out
    assert "levels: excellent/good/fair/poor (80)" in out
    assert "0 errors" in out


def test_validate_reports_model_answers_of_an_outputs_file(shared_data: Path) -> None:
    path = shared_data / "rubriceval_sampled/outputs_Mixtral-8x22B-Instruct-v0.1.json"
    result = run_cli("validate", f"--input-path={path}")
    assert result.returncode == 0, result.stderr
    assert "model outputs: 80 (Mixtral-8x22B-Instruct-v0.1 (80))" in result.stdout


def test_validate_accepts_the_seed_readme_dict_of_dicts_format(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        [
            {
                "instruction": "Write a primality test",
                "category": "Coding",
                "rubric": {"correctness": LEVELS, "efficiency": LEVELS},
                "outputs": "def is_prime(n): ...",
            },
        ],
    )
    result = run_cli("validate", "--input_path", str(path))
    assert result.returncode == 0, result.stderr
    assert "2 criteria" in result.stdout
    assert "model outputs: 1" in result.stdout


def rubric(*names: str, levels: dict[str, str] = LEVELS, weight: object = 50) -> list[dict[str, object]]:
    return [{"criterion": n, "weight": weight, "performance_to_description": levels} for n in names]


@pytest.mark.parametrize(
    ("records", "expected"),
    [
        ([{"id": 1, "category": "Math"}], "record 0 (id=1), field 'instruction': required field is missing"),
        ([{"id": 1, "instruction": "x", "rubric": []}], "rubric is empty"),
        ([{"id": 1, "instruction": "x", "rubric": rubric("a", "a")}], "duplicate criterion name 'a'"),
        (
            [
                {
                    "id": 1,
                    "instruction": "x",
                    "rubric": rubric("a") + rubric("b", levels={"good": "g", "bad": "b"}),
                }
            ],
            "inconsistent level names",
        ),
        ([{"id": 1, "instruction": "x", "rubric": rubric("a", "b", weight=-1)}], "non-negative number"),
        ([{"id": 1, "instruction": "x", "rubric": rubric("a", "b", weight="lots")}], "non-negative number"),
        (["not an object"], "record 0: expected a JSON object, got str"),
    ],
)
def test_validate_names_the_bad_record_and_exits_non_zero(
    tmp_path: Path, records: list[object], expected: str
) -> None:
    good = {"id": 0, "instruction": "fine", "rubric": rubric("a", "b")}
    path = write(tmp_path, [good, *records] if isinstance(records[0], dict) else records)
    result = run_cli("validate", "--input_path", str(path))
    assert result.returncode != 0
    message = expected.replace("record 0", "record 1") if isinstance(records[0], dict) else expected
    assert message in result.stderr, result.stderr
    assert str(path) in result.stderr or str(path) in result.stdout


def test_validate_reports_every_bad_record_not_just_the_first(tmp_path: Path) -> None:
    path = write(tmp_path, [{"id": "a"}, {"id": "b", "instruction": "x", "rubric": rubric("c", "c")}])
    result = run_cli("validate", "--input_path", str(path))
    assert result.returncode == 1
    assert "record 0 (id=a)" in result.stderr
    assert "record 1 (id=b)" in result.stderr
    assert "2 errors" in result.stdout


def test_validate_checks_expected_levels(tmp_path: Path) -> None:
    path = write(tmp_path, [{"instruction": "x", "rubric": rubric("a", "b")}])
    assert (
        run_cli("validate", "--input_path", str(path), "--levels", "excellent,good,fair,poor").returncode == 0
    )
    result = run_cli("validate", "--input_path", str(path), "--levels", "excellent,fair,poor")
    assert result.returncode == 1
    assert "unknown level names ['good']" in result.stderr


def test_validate_flags_unknown_graded_levels(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        [
            {
                "instruction": "x",
                "rubric": rubric("a", "b"),
                "output": "y",
                "level_per_criteria": {"a": "superb", "b": "good"},
            }
        ],
    )
    result = run_cli("validate", "--input_path", str(path))
    assert result.returncode == 1
    assert "criterion 'a': unknown level 'superb'" in result.stderr


def test_weights_not_summing_to_100_warn_but_pass(tmp_path: Path) -> None:
    path = write(tmp_path, [{"instruction": "x", "rubric": rubric("a", "b", weight=1)}])
    result = run_cli("validate", "--input_path", str(path))
    assert result.returncode == 0
    assert "weights sum to 2, not 100" in result.stderr
    assert "0 of 1 rubrics sum to 100" in result.stdout


@pytest.mark.parametrize("content", ['[{"instruction": ', '{"instruction": "x"} trailing'])
def test_validate_rejects_broken_json_with_its_position(tmp_path: Path, content: str) -> None:
    path = tmp_path / "broken.json"
    path.write_text(content)
    result = run_cli("validate", "--input_path", str(path))
    assert result.returncode == 2
    assert f"{path}: invalid JSON at line 1" in result.stderr


def test_missing_required_flag_and_help() -> None:
    assert run_cli("validate").returncode == 2
    result = run_cli("validate", "--help")
    assert result.returncode == 0
    assert "--input_path" in result.stdout


def test_top_level_help_lists_every_command_with_its_whole_first_sentence() -> None:
    # click cut these lines beside the long `brainstorm_and_generate_rubrics` ("Re-grade a sample under...").
    from click.testing import CliRunner

    from rubric_eval.cli import COMMANDS, cli

    result = CliRunner().invoke(cli, ["--help"], terminal_width=80)
    assert result.exit_code == 0, result.output
    text = "".join(result.output.split())  # the formatter wraps at spaces and after hyphens
    for name in COMMANDS:
        command = cli.get_command(click.Context(cli), name)
        assert command is not None
        first_sentence = "".join(command.get_short_help_str(limit=10_000).split())
        assert name + first_sentence in text


def test_audit_help_shows_each_default_check_whole() -> None:
    # At 80 columns audit --help printed "[default: pa" / "dding,injection,shuffle_criteria,no_referenc" / "e,...".
    from click.testing import CliRunner

    from rubric_eval.cli import cli

    result = CliRunner(env={"COLUMNS": "80"}).invoke(cli, ["audit", "--help"])
    assert result.exit_code == 0, result.output
    words = set(result.output.replace(",", " ").replace(")", " ").split())
    assert {"padding", "injection", "shuffle_criteria", "no_reference", "self_preference"} <= words

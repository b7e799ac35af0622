"""The creation commands through the real CLI, talking HTTP to a local OpenAI-compatible test server."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from rubric_eval import Rubric
from rubric_eval.testing import Fault, OpenAICompatibleServer, unfence

from ._helpers import checklist_notes, read_readable

pytestmark = pytest.mark.integration
CONFIG = "openai/test-llm"


def cli(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run `rubric_eval` in a subprocess (inherits OPENAI_BASE_URL from the `openai_env` fixture)."""
    cache = (
        ["--cache_dir", str(tmp_path / "cache"), "--quiet"]
        if args[0] != "diff" and args[0] != "validate"
        else []
    )
    return subprocess.run(
        [sys.executable, "-m", "rubric_eval", *args, *cache],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
    )


def load(path: Path) -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = json.loads(path.read_text())
    return data


def user_prompts(server: OpenAICompatibleServer, schema_name: str) -> list[str]:
    prompts = []
    for body in server.requests:
        fmt = body.get("response_format") or {}
        if fmt.get("json_schema", {}).get("name") == schema_name:
            prompts.append(unfence("\n".join(m["content"] for m in body["messages"] if m["role"] == "user")))
    return prompts


def stanford_instructions(shared_data: Path, tmp_path: Path) -> tuple[Path, list[dict[str, Any]]]:
    """The nine Stanford ML problems with the expert checklist as `useful_info_to_eval_instruction`."""
    root = shared_data / "rubriceval_stanford_ml"
    problems = json.loads((root / "rubriceval_stanford_ml_instructions.json").read_text())
    records = []
    for problem in problems:
        readable = read_readable(root / "readable_dataset" / f"{problem['short_name']}.md")
        records.append(
            {
                "id": problem["short_name"],
                "category": problem["category"],
                "instruction": problem["instruction"],
                "useful_info_to_eval_instruction": checklist_notes(readable["expert_checklist"]),
            }
        )
    path = tmp_path / "instructions.json"
    path.write_text(json.dumps(records))
    return path, records


def test_readable_parser_reads_every_expert_section(shared_data: Path) -> None:
    files = sorted((shared_data / "rubriceval_stanford_ml/readable_dataset").glob("*.md"))
    assert len(files) == 9
    for path in files:
        parsed = read_readable(path)
        assert parsed["category"] == "Stats & ML"
        assert isinstance(parsed["expert_checklist"], list) and parsed["expert_checklist"]
        assert all("importance" in item for item in parsed["expert_checklist"])
        assert {"error_name", "description", "delta_score"} <= set(parsed["expert_list_error_rubric"][0])
        assert Rubric.model_validate(parsed["expert_rubric"]).total_weight == pytest.approx(100, abs=0.05)
        assert isinstance(parsed["expert_checklist_time_sec"], float)
    tokenization = read_readable(shared_data / "rubriceval_stanford_ml/readable_dataset/tokenization.md")
    assert tokenization["expert_rubric_time_sec"] is None  # "nan" in the file
    assert tokenization["instruction"].startswith("Before passing text through a transformer")


def test_stanford_ml_problems_through_all_creation_commands(
    shared_data: Path, tmp_path: Path, openai_env: OpenAICompatibleServer
) -> None:
    instructions, records = stanford_instructions(shared_data, tmp_path)

    result = cli(
        tmp_path,
        "brainstorm_rubrics",
        "--input_path",
        str(instructions),
        "--output_path",
        "brainstorms.json",
        "--brainstormer_configs",
        CONFIG,
    )
    assert result.returncode == 0, result.stderr
    assert "9 records: 9 generated" in result.stdout
    brainstorms = load(tmp_path / "brainstorms.json")
    assert all(3 <= len(r["brainstormed_rubric"]) <= 8 for r in brainstorms)
    assert all(
        sum(c["weight"] for c in r["brainstormed_rubric"]) == pytest.approx(100, abs=0.05)
        for r in brainstorms
    )

    # Every brainstorm prompt carries its instruction and the expert checklist, each in its own tags.
    prompts = user_prompts(openai_env, "BrainstormAnswer")
    for record in records:
        (prompt,) = {p for p in prompts if f"<instruction>\n{record['instruction']}\n</instruction>" in p}
        notes = record["useful_info_to_eval_instruction"]
        assert f"<expert_notes>\n{notes}\n</expert_notes>" in prompt

    result = cli(
        tmp_path,
        "generate_rubrics",
        "--input_path",
        "brainstorms.json",
        "--output_path",
        "rubrics.json",
        "--rubric_generator_configs",
        CONFIG,
    )
    assert result.returncode == 0, result.stderr
    rubrics = load(tmp_path / "rubrics.json")
    for record in rubrics:
        rubric = Rubric.model_validate(record["rubric"])
        assert rubric.names == [c["criterion"] for c in record["brainstormed_rubric"]]
        assert rubric.levels == ["excellent", "good", "fair", "poor"]
        assert record["rubric_provenance"]["source"] == "llm"
        assert record["excellent_response"]

    result = cli(
        tmp_path,
        "brainstorm_and_generate_rubrics",
        "--input_path",
        str(instructions),
        "--output_path",
        "both.json",
        "--brainstormer_configs",
        CONFIG,
        "--rubric_generator_configs",
        CONFIG,
    )
    assert result.returncode == 0, result.stderr
    # One summary per step; every call repeats one of the previous commands, so all come from the cache.
    assert "brainstorm_rubrics: 9 records: 9 generated, 0 failed; 9 from cache" in result.stdout
    assert "generate_rubrics: 9 records: 9 generated, 0 failed; 9 from cache" in result.stdout
    both = load(tmp_path / "both.json")
    assert [r["rubric"] for r in both] == [r["rubric"] for r in rubrics]  # same prompts: from the cache

    result = cli(
        tmp_path,
        "generate_outputs",
        "--input_path",
        "rubrics.json",
        "--output_path",
        "outputs.json",
        "--model_configs",
        "openai/model-under-test",
    )
    assert result.returncode == 0, result.stderr
    outputs = load(tmp_path / "outputs.json")
    assert all(r["output"] and r["model"] == "model-under-test" for r in outputs)
    assert [r["id"] for r in outputs] == [r["id"] for r in records]

    # Both answer schemas are expressible in OpenAI's strict mode, so the API enforces them.
    formats = [b["response_format"]["json_schema"] for b in openai_env.requests if "response_format" in b]
    assert {f["name"] for f in formats} == {"BrainstormAnswer", "RubricAnswer"}
    assert all(f["strict"] for f in formats)

    for name in ("rubrics.json", "both.json", "outputs.json"):
        validated = cli(tmp_path, "validate", "--input_path", name, "--levels", "excellent,good,fair,poor")
        assert validated.returncode == 0, validated.stdout + validated.stderr
        assert "9 records" in validated.stdout and "0 errors" in validated.stdout


def test_expert_edits_survive_reruns_overwrite_regenerates_and_diff_shows_them(
    tmp_path: Path, openai_env: OpenAICompatibleServer
) -> None:
    (tmp_path / "in.json").write_text(
        json.dumps(
            [
                {"id": 1, "instruction": "Explain why subword tokenization speeds up transformers."},
                {"id": 2, "instruction": "Derive the least squares solution."},
            ]
        )
    )
    assert (
        cli(
            tmp_path,
            "brainstorm_and_generate_rubrics",
            "--input_path",
            "in.json",
            "--output_path",
            "draft.json",
            "--brainstormer_configs",
            CONFIG,
            "--rubric_generator_configs",
            CONFIG,
        ).returncode
        == 0
    )
    draft = load(tmp_path / "draft.json")

    # An expert renames a brainstormed criterion and rewrites one rubric cell of record 1 ...
    edited = json.loads(json.dumps(draft))
    old_name = edited[0]["brainstormed_rubric"][0]["criterion"]
    edited[0]["brainstormed_rubric"][0]["criterion"] = "Shorter sequences, quadratic attention"
    edited[0]["rubric"][0]["performance_to_description"]["fair"] = (
        "Says sequences are shorter, not why it helps."
    )
    edited[0]["rubric"][0]["weight"] += 10
    (tmp_path / "edited.json").write_text(json.dumps(edited))

    # ... and a rerun keeps both edits, calls nothing, and marks them llm+expert.
    before = openai_env.request_count
    result = cli(
        tmp_path,
        "brainstorm_and_generate_rubrics",
        "--input_path",
        "edited.json",
        "--output_path",
        "rerun.json",
        "--brainstormer_configs",
        CONFIG,
        "--rubric_generator_configs",
        CONFIG,
    )
    assert result.returncode == 0, result.stderr
    assert openai_env.request_count == before
    rerun = load(tmp_path / "rerun.json")
    assert rerun[0]["brainstormed_rubric"][0]["criterion"] == "Shorter sequences, quadratic attention"
    assert (
        rerun[0]["rubric"][0]["performance_to_description"]["fair"]
        == "Says sequences are shorter, not why it helps."
    )
    assert sum(c["weight"] for c in rerun[0]["rubric"]) == pytest.approx(
        100, abs=0.05
    )  # normalised, with a warning
    assert "normalised to 100" in result.stderr
    assert rerun[0]["brainstormed_rubric_provenance"]["source"] == "llm+expert"
    assert rerun[0]["rubric_provenance"]["source"] == "llm+expert"
    assert rerun[1]["rubric_provenance"]["source"] == "llm"
    assert rerun[1]["rubric"] == draft[1]["rubric"]
    assert "0 generated, 2 kept (1 llm, 1 llm+expert), 0 failed" in result.stdout

    # diff works from the one file (drafts are stored in the provenance) and against the original file.
    shown = cli(tmp_path, "diff", "--input_path", "rerun.json")
    assert shown.returncode == 0, shown.stderr
    assert f"renamed {old_name!r} -> 'Shorter sequences, quadratic attention'" in shown.stdout
    assert "+ Says sequences are shorter, not why it helps." in shown.stdout
    assert "weight" in shown.stdout
    assert "record 1 (id=2)" not in shown.stdout
    against = cli(
        tmp_path, "diff", "--input_path", "rerun.json", "--against", "draft.json", "--format", "json"
    )
    assert against.returncode == 0, against.stderr
    diffs = json.loads(against.stdout)
    assert [f["status"] for f in diffs[0]["fields"]] == ["changed", "changed"]
    assert [f["status"] for f in diffs[1]["fields"]] == ["unchanged", "unchanged"]

    # --overwrite regenerates: the LLM drafts come back (from the cache: same prompts).
    result = cli(
        tmp_path,
        "brainstorm_and_generate_rubrics",
        "--input_path",
        "rerun.json",
        "--output_path",
        "overwritten.json",
        "--overwrite",
        "--brainstormer_configs",
        CONFIG,
        "--rubric_generator_configs",
        CONFIG,
    )
    assert result.returncode == 0, result.stderr
    assert "overwriting a brainstorm written by llm+expert" in result.stderr
    overwritten = load(tmp_path / "overwritten.json")
    assert overwritten[0]["brainstormed_rubric"] == draft[0]["brainstormed_rubric"]
    assert overwritten[0]["rubric"] == draft[0]["rubric"]
    assert overwritten[0]["rubric_provenance"]["source"] == "llm"


def test_generate_outputs_failure_is_counted_printed_and_never_faked(
    tmp_path: Path, make_openai_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    def handler(body: dict[str, Any]) -> Any:
        if "unanswerable" in body["messages"][-1]["content"]:
            return Fault("400")
        return None

    server = make_openai_server(handler=handler)
    monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-key")
    (tmp_path / "in.json").write_text(
        json.dumps([{"instruction": "an unanswerable question"}, {"instruction": "2+2?"}])
    )
    result = cli(
        tmp_path,
        "generate_outputs",
        "--input_path",
        "in.json",
        "--output_path",
        "out.json",
        "--model_configs",
        "openai/m",
        "--max_attempts",
        "1",
    )
    assert result.returncode == 1
    assert "1 generated, 1 failed" in result.stdout
    assert "record 0" in result.stderr and "sk-test-key" not in result.stderr + result.stdout
    failed, ok = load(tmp_path / "out.json")
    assert "output" not in failed and failed["output_error"]
    assert ok["output"]


def test_generate_outputs_defaults_to_the_builtin_benchmark(
    tmp_path: Path, openai_env: OpenAICompatibleServer
) -> None:
    result = cli(
        tmp_path,
        "generate_outputs",
        "--output_path",
        "outputs.json",
        "--model_configs",
        "openai/m",
        "--max_instances",
        "4",
        "--seed",
        "1",
    )
    assert result.returncode == 0, result.stderr
    outputs = load(tmp_path / "outputs.json")
    assert len(outputs) == 4 and all(r["output"] and r["rubric"] for r in outputs)
    again = cli(
        tmp_path,
        "generate_outputs",
        "--output_path",
        "again.json",
        "--model_configs",
        "openai/m",
        "--max_instances",
        "4",
        "--seed",
        "1",
    )
    assert again.returncode == 0 and "4 from cache" in again.stdout
    assert [r["id"] for r in load(tmp_path / "again.json")] == [r["id"] for r in outputs]


def test_bad_input_is_a_clear_error_and_writes_nothing(
    tmp_path: Path, openai_env: OpenAICompatibleServer
) -> None:
    (tmp_path / "in.json").write_text(
        json.dumps(
            [
                {"id": "a", "instruction": "q", "brainstormed_rubric": [{"criterion": "x", "weight": 100}]},
                {"id": "b", "instruction": "no brainstorm"},
            ]
        )
    )
    result = cli(
        tmp_path,
        "generate_rubrics",
        "--input_path",
        "in.json",
        "--output_path",
        "out.json",
        "--rubric_generator_configs",
        CONFIG,
    )
    assert result.returncode == 2
    assert "in.json, record 1 (id=b), field 'brainstormed_rubric'" in result.stderr
    bad_levels = cli(
        tmp_path,
        "generate_rubrics",
        "--input_path",
        "in.json",
        "--output_path",
        "out.json",
        "--levels",
        "good,good",
    )
    assert bad_levels.returncode == 2 and "level names must be unique" in bad_levels.stderr
    broken = tmp_path / "broken.json"
    broken.write_text('[{"instruction": ""}]')
    result = cli(
        tmp_path,
        "brainstorm_rubrics",
        "--input_path",
        "broken.json",
        "--output_path",
        "out.json",
        "--brainstormer_configs",
        CONFIG,
    )
    assert result.returncode == 2 and "record 0" in result.stderr and "instruction" in result.stderr
    assert not (tmp_path / "out.json").exists()
    assert openai_env.request_count == 0

"""The built-in benchmark: it ships with the package, loads by name, and its rubrics are well formed."""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner

import rubric_eval
from rubric_eval import InputError, Record, write_records
from rubric_eval._io import read_raw
from rubric_eval.cli import cli
from rubric_eval.datasets import (
    benchmark_files,
    benchmark_label,
    benchmark_names,
    benchmark_path,
    load_benchmark,
)
from rubric_eval.records import DEFAULT_LEVELS
from rubric_eval.validation import validate_records

MIN_RECORDS = 36
MIN_CATEGORIES = 9
MIN_PER_CATEGORY = 4
EXPERT_CATEGORY = "Medicine"


@pytest.fixture(scope="module")
def records() -> list[Record]:
    return load_benchmark()


def test_names_list_default_and_the_versioned_name() -> None:
    assert benchmark_names() == ["default", "v1", "v2", "rubriceval_builtin_v1", "rubriceval_builtin_v2"]


@pytest.mark.parametrize(
    ("short", "canonical"), [("v1", "rubriceval_builtin_v1"), ("v2", "rubriceval_builtin_v2")]
)
def test_short_names_load_and_label_like_the_canonical_names(short: str, canonical: str) -> None:
    assert [r.id for r in load_benchmark(short)] == [r.id for r in load_benchmark(canonical)]
    assert benchmark_label(short) == benchmark_label(canonical)


def test_default_is_the_versioned_benchmark(records: list[Record]) -> None:
    named = load_benchmark("rubriceval_builtin_v1")
    assert [r.dump() for r in named] == [r.dump() for r in records]


def test_benchmark_is_exported_from_the_package(records: list[Record]) -> None:
    assert rubric_eval.load_benchmark is load_benchmark
    assert rubric_eval.benchmark_names is benchmark_names


def test_benchmark_file_ships_inside_the_package() -> None:
    path = benchmark_path()
    assert path.name == "rubriceval_builtin_v1.json"
    assert path.parent == Path(rubric_eval.__file__).parent / "data"


def test_validates_with_no_errors_and_no_warnings() -> None:
    path = benchmark_path()
    summary = validate_records(read_raw(path), path=str(path), expected_levels=DEFAULT_LEVELS)
    assert [str(p) for p in summary.problems] == []
    assert summary.n_with_rubric == summary.n_records
    assert summary.weights_not_100 == 0


def test_size_and_category_coverage(records: list[Record]) -> None:
    assert len(records) >= MIN_RECORDS
    counts = Counter(r.category for r in records)
    assert None not in counts
    assert len(counts) >= MIN_CATEGORIES, counts
    thin = {cat: n for cat, n in counts.items() if n < MIN_PER_CATEGORY}
    assert not thin, f"categories with fewer than {MIN_PER_CATEGORY} records: {thin}"
    assert EXPERT_CATEGORY in counts


def test_ids_are_unique_and_stable_looking(records: list[Record]) -> None:
    ids = [r.id for r in records]
    assert len(set(ids)) == len(ids)
    for rid in ids:
        assert isinstance(rid, str) and re.fullmatch(r"builtin-[a-z]+-\d{2}", rid), rid


def test_every_rubric_has_4_to_6_criteria_with_the_default_levels(records: list[Record]) -> None:
    for record in records:
        assert record.rubric is not None, record.id
        assert 4 <= len(record.rubric.criteria) <= 6, record.id
        assert record.rubric.levels == list(DEFAULT_LEVELS), record.id
        for row in record.rubric.criteria:
            assert row.levels == list(DEFAULT_LEVELS), (record.id, row.criterion)
            # Every cell says something concrete, not a one-word label.
            for level, text in row.performance_to_description.items():
                assert len(text.split()) >= 4, (record.id, row.criterion, level)


def test_weights_are_percent_and_sum_to_exactly_100(records: list[Record]) -> None:
    for record in records:
        assert record.rubric is not None
        weights = [row.weight for row in record.rubric.criteria]
        assert all(w > 0 for w in weights), record.id
        assert math.isclose(sum(weights), 100.0, abs_tol=1e-9), (record.id, weights)


def test_every_record_has_a_reference_answer_and_instruction(records: list[Record]) -> None:
    for record in records:
        assert record.instruction.strip(), record.id
        assert record.excellent_response and len(record.excellent_response.split()) >= 50, record.id


def test_expert_domain_records_carry_evaluation_notes(records: list[Record]) -> None:
    expert = [r for r in records if r.category == EXPERT_CATEGORY]
    assert len(expert) >= MIN_PER_CATEGORY
    for record in expert:
        assert record.useful_info_to_eval_instruction, record.id


def test_records_are_returned_as_written(records: list[Record]) -> None:
    raw = json.loads(benchmark_path().read_text(encoding="utf-8"))
    assert [r.dump() for r in records] == raw
    assert all("dataset_name" not in r.dump() for r in records)


def test_cli_validate_exits_0_on_the_benchmark() -> None:
    path = benchmark_path()
    result = CliRunner().invoke(
        cli, ["validate", "--input_path", str(path), "--levels", "excellent,good,fair,poor"]
    )
    assert result.exit_code == 0, result.output
    assert f"{len(load_benchmark())} records" in result.output
    assert "0 errors, 0 warnings" in result.output


@pytest.mark.parametrize("suffix", [".json", ".jsonl"])
def test_a_path_loads_a_record_file(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"mine{suffix}"
    write_records([Record(instruction="Say hi.", id="a"), Record(instruction="Say bye.", id="b")], path)
    loaded = load_benchmark(str(path))
    assert [r.id for r in loaded] == ["a", "b"]
    assert [r.id for r in load_benchmark(path)] == ["a", "b"]


def test_unknown_name_lists_the_choices() -> None:
    with pytest.raises(InputError, match=r"unknown benchmark 'nope'.*default.*rubriceval_builtin_v1"):
        load_benchmark("nope")


def test_missing_file_names_the_path(tmp_path: Path) -> None:
    missing = tmp_path / "absent.json"
    with pytest.raises(InputError, match="file not found") as info:
        load_benchmark(str(missing))
    assert str(missing) in str(info.value)


def test_bad_record_in_a_user_file_names_the_record(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text(json.dumps([{"id": "ok", "instruction": "x"}, {"id": "broken", "instruction": ""}]))
    with pytest.raises(InputError) as info:
        load_benchmark(str(path))
    message = str(info.value)
    assert "record 1" in message and "broken" in message and "instruction" in message


def test_importing_the_loader_does_not_import_provider_sdks() -> None:
    code = "import sys, rubric_eval.datasets; print(sorted({'openai', 'aiohttp', 'anthropic'} & set(sys.modules)))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_v2_loads_by_name_from_a_folder_of_category_files() -> None:
    v2 = load_benchmark("rubriceval_builtin_v2")
    path = benchmark_path("rubriceval_builtin_v2")
    assert path.is_dir() and path.parent == Path(rubric_eval.__file__).parent / "data"
    files = benchmark_files("rubriceval_builtin_v2")
    assert [f.parent for f in files] == [path] * len(files)
    assert [r.dump() for r in v2] == [raw for f in files for raw in json.loads(f.read_text(encoding="utf-8"))]
    assert {r.id for r in v2}.isdisjoint({r.id for r in load_benchmark()})


def test_default_stays_v1() -> None:
    assert [r.id for r in load_benchmark("default")] == [
        r.id for r in load_benchmark("rubriceval_builtin_v1")
    ]


def test_a_folder_of_record_files_loads_in_name_order(tmp_path: Path) -> None:
    write_records([Record(instruction="B", id="b")], tmp_path / "2_b.json")
    write_records([Record(instruction="A", id="a")], tmp_path / "1_a.jsonl")
    (tmp_path / "notes.txt").write_text("not records")
    assert [r.id for r in load_benchmark(tmp_path)] == ["a", "b"]


def test_a_folder_with_an_id_in_two_files_names_both(tmp_path: Path) -> None:
    write_records([Record(instruction="A", id="same")], tmp_path / "1.json")
    write_records([Record(instruction="B", id="same")], tmp_path / "2.json")
    with pytest.raises(InputError, match=r"2\.json.*'same'.*1\.json"):
        load_benchmark(tmp_path)


def test_an_empty_folder_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"no \.json/\.jsonl record files"):
        load_benchmark(tmp_path)


def test_benchmark_labels_keep_v1_as_before() -> None:
    assert benchmark_label() == "rubric_eval built-in benchmark"
    assert benchmark_label("rubriceval_builtin_v2") == "rubric_eval built-in benchmark rubriceval_builtin_v2"
    with pytest.raises(InputError, match="unknown benchmark"):
        benchmark_label("v3")


def test_generate_outputs_refuses_both_input_and_benchmark(tmp_path: Path) -> None:
    path = tmp_path / "in.json"
    write_records([Record(instruction="x", id="a")], path)
    result = CliRunner().invoke(
        cli,
        [
            "generate_outputs",
            "--input_path",
            str(path),
            "--benchmark",
            "rubriceval_builtin_v2",
            "--output_path",
            str(tmp_path / "out.json"),
        ],
    )
    assert result.exit_code == 2 and "not both" in result.output
    assert not (tmp_path / "out.json").exists()

"""The report's one-pass reader and summary: the same records as the general reader whatever the file's
layout, the general reader's errors on bad input (file, record, field; non-zero exit, nothing written),
and a JSON twin whose answers come back from where they were spilled."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from rubric_eval._io import read_records, write_records
from rubric_eval.cli import cli
from rubric_eval.errors import InputError
from rubric_eval.reporting import (
    ReportRecord,
    generate_report,
    iter_report_records,
    read_report_owner,
    read_report_summary,
    render_html,
    report_from_json,
    report_from_summary,
)
from rubric_eval.reporting.frames import report_rows

from ._report_fixture import report_fixture_records


def _write(path: Path, records: list[dict[str, Any]], layout: str) -> Path:
    if layout == "writer":  # what `rubric_eval evaluate` writes: one compact record per line
        write_records(records, path)
    elif layout == "indented":
        path.write_text(json.dumps(records, indent=2), encoding="utf-8")
    elif layout == "jsonl":
        path.write_text("".join(json.dumps(r) + "\n\n" for r in records), encoding="utf-8")
    elif layout == "one line":
        path.write_text(json.dumps(records), encoding="utf-8")
    return path


@pytest.mark.parametrize("layout", ["writer", "indented", "jsonl", "one line"])
def test_the_report_reader_reads_what_the_general_reader_reads(tmp_path: Path, layout: str) -> None:
    records = report_fixture_records()
    records[7]["output"] = "a NaN and Infinity in a string: the rest of the file takes the general reader"
    records[9] = {k: v for k, v in records[9].items() if k != "output"} | {"outputs": "the seed's field name"}
    records[11]["weight"] = None
    for record in records[40:80]:  # the seed README's rubric format: {criterion: {level: description}}
        record["rubric"] = {row["criterion"]: row["performance_to_description"] for row in record["rubric"]}
    path = _write(tmp_path / ("e.jsonl" if layout == "jsonl" else "e.json"), records, layout)
    expected = [ReportRecord.of(r).model_dump() for r in read_records(path)]
    got = [r.model_dump() for r in iter_report_records(path)]
    assert got == expected
    assert got[9]["output"] == "the seed's field name"


def test_a_single_record_file_and_an_empty_list(tmp_path: Path) -> None:
    record = report_fixture_records()[0]
    single = tmp_path / "one.json"
    single.write_text(json.dumps(record), encoding="utf-8")
    assert [r.instruction for r in iter_report_records(single)] == [record["instruction"]]
    empty = tmp_path / "empty.json"
    empty.write_text("[\n]\n", encoding="utf-8")
    assert list(iter_report_records(empty)) == []


def _errors(path: Path) -> tuple[str, str]:
    with pytest.raises(InputError) as general:
        read_records(path)
    with pytest.raises(InputError) as streamed:
        list(iter_report_records(path))
    return str(general.value), str(streamed.value)


@pytest.mark.parametrize("layout", ["writer", "jsonl"])
@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("grades", "not a list"),
        ("evaluation_price_per_example", "cheap"),
        ("instruction", "   "),
        ("judge_samples", [{"repeat": "first"}]),
    ],
)
def test_a_bad_record_late_in_the_file_is_named_as_the_general_reader_names_it(
    tmp_path: Path, layout: str, field: str, value: Any
) -> None:
    records = report_fixture_records()
    records[150][field] = value
    path = _write(tmp_path / ("e.jsonl" if layout == "jsonl" else "e.json"), records, layout)
    general, streamed = _errors(path)
    assert streamed == general
    assert "record 150" in streamed and f"field '{field}" in streamed


@pytest.mark.parametrize("layout", ["writer", "jsonl"])
def test_a_bad_rubric_and_a_constant_that_is_not_json_are_refused(tmp_path: Path, layout: str) -> None:
    records = report_fixture_records()
    records[40]["rubric"] = copy.deepcopy(records[40]["rubric"])  # the fixture's models share rubrics
    records[40]["rubric"][1]["weight"] = -5
    path = _write(tmp_path / ("e.jsonl" if layout == "jsonl" else "e.json"), records, layout)
    general, streamed = _errors(path)
    assert streamed == general
    assert "record 40" in streamed and "field 'rubric.1.weight'" in streamed
    for bad in ([5], {"excellent": ["not", "text"]}):  # unhashable values: still the reader's message
        records = report_fixture_records()
        records[40]["rubric"] = copy.deepcopy(records[40]["rubric"])
        field = "weight" if isinstance(bad, list) else "performance_to_description"
        records[40]["rubric"][0][field] = bad
        path = _write(tmp_path / ("e.jsonl" if layout == "jsonl" else "e.json"), records, layout)
        general, streamed = _errors(path)
        assert streamed == general and "record 40" in streamed and "rubric.0" in streamed

    records = report_fixture_records()
    path = _write(tmp_path / ("e.jsonl" if layout == "jsonl" else "e.json"), records, layout)
    lines = path.read_text(encoding="utf-8").splitlines()
    at = next(i for i, line in enumerate(lines) if '"id": "q020"' in line or '"id":"q020"' in line)
    lines[at] = lines[at].replace("{", '{"an unread field": NaN, ', 1)  # JSON has no NaN
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    general, streamed = _errors(path)
    assert streamed == general and "NaN" in streamed


def test_generate_report_command_refuses_bad_input_and_writes_nothing(tmp_path: Path) -> None:
    records = report_fixture_records()
    del records[100]["grades"]  # not evaluated
    path = _write(tmp_path / "evaluations.json", records, "writer")
    result = CliRunner().invoke(
        cli,
        ["generate_report", f"--input_path={path}", "--summarize=False", "--leaderboard_path=None"],
    )
    assert result.exit_code != 0
    assert "record 100" in result.output and "not evaluated" in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["evaluations.json"]


def test_a_report_read_in_one_pass_carries_its_answers_in_the_json_twin(tmp_path: Path) -> None:
    records = report_fixture_records()
    path = _write(tmp_path / "evaluations.json", records, "writer")
    streamed = report_from_summary(read_report_summary(path))
    in_memory = generate_report(read_records(path), source=str(path))
    assert all(not m.answers for m in streamed.models)  # spilled, not held
    twin = report_from_json(streamed.to_json())
    assert twin.models == in_memory.models  # every answer back, in order
    md, js = streamed.write(tmp_path / "report.md")
    assert report_from_json(js.read_text(encoding="utf-8")) == twin
    assert (
        md.read_text(encoding="utf-8")
        == in_memory.model_copy(update={"generated_at": streamed.generated_at}).markdown
    )


def test_the_report_reader_declares_its_fields_as_records_do() -> None:
    from rubric_eval.records import Record

    for name, info in ReportRecord.model_fields.items():
        if name != "weight":  # an extra field of records, checked by the report
            assert info.annotation == Record.model_fields[name].annotation, name


def test_the_html_page_is_the_same_from_a_stream_and_from_a_report_read_in_one_pass(tmp_path: Path) -> None:
    path = _write(tmp_path / "evaluations.json", report_fixture_records(), "writer")
    records = read_records(path)
    streamed = report_from_summary(read_report_summary(path))
    in_memory = generate_report(records, source=str(path)).model_copy(
        update={"generated_at": streamed.generated_at}
    )
    page = render_html(in_memory, records)
    assert render_html(in_memory, iter_report_records(path)) == page  # records read one at a time
    # Without records, the page is built from the answers the report carries: spilled ones read back.
    assert render_html(streamed) == render_html(in_memory)
    assert report_rows(streamed, "grades") == report_rows(in_memory, "grades")


def test_whom_a_report_was_written_for_is_read_from_any_twin_layout(tmp_path: Path) -> None:
    records = report_fixture_records()
    path = _write(tmp_path / "evaluations.json", records, "writer")
    streamed = report_from_summary(read_report_summary(path))
    _, streamed_twin = streamed.write(tmp_path / "streamed.md")
    _, api_twin = generate_report(records[:40], source="x").write(tmp_path / "api.md")  # two complete models
    one_line = tmp_path / "one_line.json"
    one_line.write_text(json.dumps(json.loads(streamed_twin.read_text(encoding="utf-8"))), encoding="utf-8")
    owner = read_report_owner(streamed_twin)
    assert owner is not None
    assert sorted(owner.models) == sorted(m.model for m in streamed.models) and owner.evaluators == [
        "judge-x"
    ]
    assert owner.complete is False  # m-weak is partial
    assert read_report_owner(one_line) == owner  # another layout: parsed whole
    api_owner = read_report_owner(api_twin)
    assert api_owner is not None and api_owner.models == ["m-strong", "m-mid"] and api_owner.complete
    assert read_report_owner(path) is None  # an evaluations file is not a report
    broken = tmp_path / "broken.json"
    broken.write_text('{\n  "evaluators": [\n', encoding="utf-8")
    assert read_report_owner(broken) is None


def test_each_model_read_in_one_pass_gets_its_dataset_identity(tmp_path: Path) -> None:
    from rubric_eval.runs import dataset_identity

    records = report_fixture_records()
    for record in records[36:73]:  # one model's records name their dataset
        record["dataset_name"] = "bench"
    records[80]["rubric"] = None
    records[80]["grades"] = None
    records[80]["score_per_criteria"] = {"x": 5.0}
    path = _write(tmp_path / "evaluations.json", records, "writer")
    streamed = report_from_summary(read_report_summary(path))
    in_memory = read_records(path)
    for model in streamed.models:
        assert model.run.dataset == dataset_identity([r for r in in_memory if r.model == model.model])

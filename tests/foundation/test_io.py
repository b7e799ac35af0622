"""Reading and writing record files: round trips, JSONL, atomic writes, errors that point at the problem."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

import pytest

from rubric_eval import InputError, read_records, write_records
from rubric_eval._io import iter_raw, iter_records, read_raw

RUBRIC = [{"criterion": "a", "weight": 100, "performance_to_description": {"good": "x", "bad": "y"}}]


@pytest.mark.parametrize(
    "relpath",
    [
        "rubriceval_sampled/benchmark.json",
        "rubriceval_sampled/outputs_Mixtral-8x22B-Instruct-v0.1.json",
        "rubriceval_stanford_ml/rubriceval_stanford_ml_instructions.json",
    ],
)
@pytest.mark.parametrize("suffix", [".json", ".jsonl"])
def test_shared_files_round_trip(shared_data: Path, tmp_path: Path, relpath: str, suffix: str) -> None:
    source = shared_data / relpath
    original = json.loads(source.read_text())
    records = read_records(source)
    out = write_records(records, tmp_path / f"copy{suffix}")
    again = read_records(out)
    assert [r.dump() for r in again] == [r.dump() for r in records]
    # Every user field survives with its value; the rubric is written in the canonical list format.
    for before, after in zip(original, read_raw(out), strict=True):
        assert set(after) == set(before)
        for key, value in before.items():
            if key == "rubric":
                assert [c["criterion"] for c in after[key]] == [c["criterion"] for c in value]
                assert [c["weight"] for c in after[key]] == pytest.approx([c["weight"] for c in value])
            else:
                assert after[key] == value, key


def test_dict_of_dicts_rubric_is_written_in_canonical_list_format(tmp_path: Path) -> None:
    src = tmp_path / "in.json"
    levels = {"excellent": "e", "fair": "f", "poor": "p"}
    src.write_text(json.dumps([{"instruction": "x", "rubric": {"c1": levels, "c2": levels}}]))
    out = write_records(read_records(src), tmp_path / "out.json")
    written = json.loads(out.read_text())[0]["rubric"]
    assert written == [
        {"criterion": "c1", "weight": 50.0, "performance_to_description": levels},
        {"criterion": "c2", "weight": 50.0, "performance_to_description": levels},
    ]


def test_jsonl_is_read_line_by_line(tmp_path: Path) -> None:
    path = tmp_path / "in.jsonl"
    path.write_text(f'{{"instruction": "a"}}\n\n{{"instruction": "b", "rubric": {json.dumps(RUBRIC)}}}\n')
    records = read_records(path)
    assert [r.instruction for r in records] == ["a", "b"]
    assert records[1].rubric is not None


def test_write_is_atomic_and_leaves_no_temp_files(tmp_path: Path) -> None:
    target = tmp_path / "out.json"
    target.write_text("previous content")

    with pytest.raises(TypeError):
        write_records([{"instruction": "ok"}, {"instruction": "x", "bad": object()}], target)
    assert target.read_text() == "previous content"
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ('[{"instruction": "x"},', "invalid JSON at line 1"),
        ('"just a string"', "expected a JSON list of records, got str"),
        ('[{"instruction": "x"}, 3]', "record 1: expected a JSON object, got int"),
        (
            '[{"id": 5, "category": "Math"}]',
            "record 0 (id=5), field 'instruction': required field is missing",
        ),
        ('[{"id": "q", "instruction": "x", "rubric": []}]', "record 0 (id=q), field 'rubric'"),
        ('[{"instruction": "x"}\n\n {"instruction": "y"}]', "invalid JSON at line 3 column 2"),
        ('[{"instruction": "x"},]', "invalid JSON at line 1"),
        ('[{"instruction": "x"}] [', "invalid JSON at line 1"),
        ("", "invalid JSON at line 1"),
    ],
)
@pytest.mark.parametrize("streaming", [False, True])
def test_bad_files_name_the_file_record_and_field(
    tmp_path: Path, content: str, expected: str, streaming: bool
) -> None:
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(InputError) as info:
        list(iter_records(path)) if streaming else read_records(path)
    assert str(path) in str(info.value)
    assert expected in str(info.value)


@pytest.mark.parametrize("suffix", [".json", ".jsonl"])
def test_streaming_reader_reads_what_the_whole_file_reader_reads(tmp_path: Path, suffix: str) -> None:
    # Records larger than the reader's chunk, odd whitespace and non-ASCII text across chunk ends.
    records = [
        {"instruction": f"q{i} " + 'ü✓ \\ " x' * (40_000 * (i % 3)), "id": i, "score": 1.5e-3 * i, "ok": None}
        for i in range(12)
    ]
    path = tmp_path / f"big{suffix}"
    write_records(records, path)
    if suffix == ".json":
        path.write_text(" \n" + path.read_text().replace(",\n", " ,\n\t "))
    assert [r.dump() for r in iter_records(path)] == [r.dump() for r in read_records(path)]
    single = tmp_path / "single.json"
    single.write_text(json.dumps(records[1]))
    assert list(iter_raw(single)) == [records[1]]


def test_written_files_follow_the_umask_not_the_temp_file_mode(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        path = write_records([{"instruction": "x"}], tmp_path / "out.json")
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644


def test_missing_file_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="file not found"):
        read_records(tmp_path / "nope.json")


@pytest.mark.parametrize("suffix", [".json", ".jsonl"])
@pytest.mark.parametrize("n", [0, 1, 3])
def test_record_writer_writes_as_records_arrive_and_renames_at_commit(
    tmp_path: Path, suffix: str, n: int
) -> None:
    from rubric_eval._io import RecordWriter

    path = tmp_path / f"out{suffix}"
    records = [{"instruction": f"q{i}", "note": "line\nbreak ✓"} for i in range(n)]
    with RecordWriter(path) as writer:
        for record in records:
            writer.write(record)
        assert not path.exists()  # only the temp file exists until the end
    assert writer.count == n
    assert read_raw(path) == records
    if suffix == ".json":
        assert json.loads(path.read_text()) == records  # one JSON document


def test_record_writer_leaves_nothing_when_the_run_fails(tmp_path: Path) -> None:
    from rubric_eval._io import RecordWriter

    path = tmp_path / "out.json"
    path.write_text("[]")
    with pytest.raises(RuntimeError), RecordWriter(path) as writer:
        writer.write({"instruction": "q"})
        raise RuntimeError("judge exploded")
    assert path.read_text() == "[]"  # the previous file is untouched
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.json"]  # no temp file left


def test_ordered_spill_writes_in_input_order_and_escapes_lone_surrogates(tmp_path: Path) -> None:
    from rubric_eval import Record
    from rubric_eval._io import OrderedSpill

    path = tmp_path / "out.json"
    records = [
        Record.model_validate({"instruction": f"q{i} ✓", "id": i, "note": "lone \ud800"}) for i in range(5)
    ]
    with OrderedSpill(path) as spill:
        for i in (3, 0, 4, 1, 2):
            spill.put(i, records[i])
        assert not path.exists()
        spill.commit()
    assert [r["id"] for r in read_raw(path)] == [0, 1, 2, 3, 4]
    assert read_raw(path)[0]["note"] == "lone \ud800"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.json"]  # the spill file is gone


def test_broken_jsonl_line_names_line_and_column_in_every_reader(tmp_path: Path) -> None:
    # A control character inside a string made the message read cut off ("Invalid control character at").
    # Records, human labels and the Studio's files are all read by one JSONL parser.
    from rubric_eval.studio import RecordStore
    from rubric_eval.trust import read_labels

    path = tmp_path / "in.jsonl"
    path.write_text('{"instruction": "a"}\n{"instruction": "b\tc"}\n', encoding="utf-8")
    for read in (read_raw, lambda p: list(iter_raw(p)), read_labels, RecordStore):
        with pytest.raises(InputError) as info:
            read(path)
        message = str(info.value)
        assert "in.jsonl" in message
        assert "line 2 column 19: Invalid control character at" in message
        assert "one JSON object per line" in message


@pytest.mark.parametrize("read", [read_raw, lambda p: list(iter_raw(p))])
def test_a_lone_object_without_instruction_is_named_as_another_kind_of_file(
    tmp_path: Path, read: Any
) -> None:
    # A leaderboard or report JSON passed as input read as "record 0, field 'instruction': required".
    path = tmp_path / "leaderboard.json"
    path.write_text(json.dumps({"format_version": 1, "runs": []}), encoding="utf-8")
    with pytest.raises(InputError, match=r"expected a JSON list of records .* keys: format_version, runs"):
        read(path)
    path.write_text(json.dumps({"instruction": "q"}), encoding="utf-8")
    assert read(path) == [{"instruction": "q"}]  # one record is still a list of one

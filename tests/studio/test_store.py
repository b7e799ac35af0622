"""Saving from the Studio: edits applied only on the version they started from, every field kept,
provenance and history recorded, the result accepted by `validate` and `diff`."""

from __future__ import annotations

import copy
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from rubric_eval import read_records
from rubric_eval.diff import diff_records, render_diffs
from rubric_eval.errors import InputError
from rubric_eval.provenance import fingerprint
from rubric_eval.studio import AcceptedDraft, RecordStore, SaveRequest, record_key
from rubric_eval.validation import validate_records

from .conftest import llm_rubric_records, read, rubric, write


def edit(
    store: RecordStore, index: int, field: str, value: Any, *, base_from: Any = "disk", **extra: Any
) -> dict[str, Any]:
    raw = store.snapshot().raw[index]
    base = raw.get(field) if base_from == "disk" else base_from
    key = f"id:{raw['id']}"
    return {
        "index": index,
        "key": key,
        "fields": [
            {"field": field, "base": None if base is None else fingerprint(base), "value": value, **extra}
        ],
    }


def save(store: RecordStore, *edits: dict[str, Any], reviewer: str = "Dr Ada", drafts: Any = None) -> Any:
    return store.save(SaveRequest(reviewer=reviewer, edits=list(edits)), drafts)


def edited_rubric(
    raw: dict[str, Any], level: str = "good", text: str = "edited text"
) -> list[dict[str, Any]]:
    value = copy.deepcopy(raw["rubric"])
    value[0]["performance_to_description"][level] = text
    return value


def test_save_changes_only_the_edited_field_and_keeps_every_other(rubric_file: Path) -> None:
    before = read(rubric_file)
    store = RecordStore(rubric_file)
    result = save(store, edit(store, 1, "rubric", edited_rubric(before[1])))
    assert result.saved == [1] and not result.conflicts and not result.problems
    after = read(rubric_file)
    assert after[0] == before[0] and after[2] == before[2]
    assert after[1]["custom_field"] == {"kept": 1}
    assert after[1]["rubric"][0]["performance_to_description"]["good"] == "edited text"
    changed = {k for k in after[1] if after[1][k] != before[1].get(k)}
    assert changed == {"rubric", "rubric_provenance"}
    provenance = after[1]["rubric_provenance"]
    assert provenance["source"] == "llm+expert"
    assert provenance["llm_draft"] == before[1]["rubric_provenance"]["llm_draft"]
    (entry,) = provenance["history"]
    assert entry["by"] == "Dr Ada" and entry["source"] == "llm+expert"
    assert entry["changes"] == ["~ 'Accuracy', level 'good':", "- Accuracy at good", "+ edited text"]
    assert result.etag == hashlib.sha256(rubric_file.read_bytes()).hexdigest()


def test_saved_file_passes_validate_and_diff_shows_exactly_the_edit(rubric_file: Path) -> None:
    store = RecordStore(rubric_file)
    raw = store.snapshot().raw
    renamed = copy.deepcopy(raw[0]["rubric"])
    renamed[1]["criterion"] = "Clear writing"
    save(
        store,
        edit(store, 0, "rubric", renamed),
        edit(store, 2, "rubric", edited_rubric(raw[2], "poor", "no tests")),
    )
    assert validate_records(read(rubric_file), expected_levels=["excellent", "good", "fair", "poor"]).ok
    lines = render_diffs(diff_records(read_records(rubric_file))).splitlines()
    assert [line for line in lines if not line.startswith("record ")] == [
        "  ~ renamed 'Clarity' -> 'Clear writing'",
        "  ~ 'Code', level 'poor':",
        "      - Code at poor",
        "      + no tests",
        "3 records; edited against the LLM draft: 0 brainstormed_rubric, 2 rubric",
    ]
    heads = [line for line in lines if line.startswith("record ")]
    assert [h.split(" [")[0] for h in heads] == ["record 0 (id=r0): rubric", "record 2 (id=r2): rubric"]
    assert all("[llm+expert; LLM draft by openai/test-llm on " in h for h in heads)


def test_reverting_to_the_draft_makes_the_field_llm_again(rubric_file: Path) -> None:
    store = RecordStore(rubric_file)
    original = store.snapshot().raw[0]["rubric"]
    save(store, edit(store, 0, "rubric", edited_rubric(store.snapshot().raw[0])))
    save(store, edit(store, 0, "rubric", original))
    after = read(rubric_file)[0]
    assert after["rubric_provenance"]["source"] == "llm"
    assert [h["source"] for h in after["rubric_provenance"]["history"]] == ["llm+expert", "llm"]
    assert not diff_records(read_records(rubric_file))[0].changed


def test_a_field_changed_on_disk_since_the_edit_began_is_a_conflict_and_nothing_is_lost(
    rubric_file: Path,
) -> None:
    store = RecordStore(rubric_file)
    start = copy.deepcopy(store.snapshot().raw[0])
    # Tab A saves first.
    assert save(
        store, edit(store, 0, "rubric", edited_rubric(start, text="A's text")), reviewer="A"
    ).saved == [0]
    # Tab B started from the same version and edited the same field, plus the review status.
    mine = edited_rubric(start, text="B's text")
    request = edit(store, 0, "rubric", mine, base_from=start["rubric"])
    request["fields"].append({"field": "review", "base": None, "value": {"status": "approved"}})
    result = save(store, request, reviewer="B")
    assert result.saved == []
    (conflict,) = result.conflicts
    assert conflict.field == "rubric" and conflict.yours == mine
    assert conflict.theirs[0]["performance_to_description"]["good"] == "A's text"
    on_disk = read(rubric_file)[0]
    assert on_disk["rubric"][0]["performance_to_description"]["good"] == "A's text"
    assert "review" not in on_disk  # the record's edits are applied together or not at all
    # B chooses to keep theirs: the edit is resent on the version now in the file.
    request["fields"][0]["base"] = conflict.theirs_base
    assert save(store, request, reviewer="B").saved == [0]
    on_disk = read(rubric_file)[0]
    assert on_disk["rubric"][0]["performance_to_description"]["good"] == "B's text"
    assert on_disk["review"]["status"] == "approved" and on_disk["review"]["reviewer"] == "B"
    assert [h["by"] for h in on_disk["rubric_provenance"]["history"]] == ["A", "B"]


def test_edits_of_different_fields_or_records_from_two_tabs_both_land(rubric_file: Path) -> None:
    store = RecordStore(rubric_file)
    start = copy.deepcopy(store.snapshot().raw)
    save(store, edit(store, 0, "rubric", edited_rubric(start[0])), reviewer="A")
    result = save(
        store,
        {
            "index": 0,
            "key": "id:r0",
            "fields": [{"field": "review", "base": None, "value": {"status": "in review"}}],
        },
        edit(store, 1, "rubric", edited_rubric(start[1]), base_from=start[1]["rubric"]),
        reviewer="B",
    )
    assert result.saved == [0, 1] and not result.conflicts
    after = read(rubric_file)
    assert after[0]["rubric"][0]["performance_to_description"]["good"] == "edited text"
    assert after[0]["review"]["status"] == "in review"
    assert after[0]["review"]["history"] == [
        {"status": "in review", "by": "B", "date": after[0]["review"]["date"]}
    ]


def test_the_same_change_from_two_sides_is_not_a_conflict_and_writes_nothing(rubric_file: Path) -> None:
    store = RecordStore(rubric_file)
    start = copy.deepcopy(store.snapshot().raw[0])
    save(store, edit(store, 0, "rubric", edited_rubric(start)), reviewer="A")
    stamp = rubric_file.stat().st_mtime_ns
    result = save(
        store, edit(store, 0, "rubric", edited_rubric(start), base_from=start["rubric"]), reviewer="B"
    )
    assert result.saved == [0] and not result.conflicts
    assert rubric_file.stat().st_mtime_ns == stamp
    assert [h["by"] for h in read(rubric_file)[0]["rubric_provenance"]["history"]] == ["A"]


def test_a_cli_rewrite_that_moved_records_is_followed_by_key(rubric_file: Path) -> None:
    store = RecordStore(rubric_file)
    start = copy.deepcopy(store.snapshot().raw)
    moved = edit(store, 2, "rubric", edited_rubric(start[2]))
    gone = edit(store, 1, "rubric", edited_rubric(start[1]))
    write(rubric_file, [start[2], start[0]])  # e.g. a command wrote a filtered, reordered file
    result = save(store, moved, gone)
    assert result.saved == [0]
    (problem,) = result.problems
    assert problem.index == 1 and "no longer in the file" in problem.message
    assert read(rubric_file)[0]["rubric"][0]["performance_to_description"]["good"] == "edited text"


def test_an_invalid_value_is_a_problem_and_the_file_is_untouched(rubric_file: Path) -> None:
    store = RecordStore(rubric_file)
    before = rubric_file.read_bytes()
    bad = edited_rubric(store.snapshot().raw[0])
    bad[1]["criterion"] = bad[0]["criterion"]
    uneven = copy.deepcopy(store.snapshot().raw[1]["rubric"])
    del uneven[0]["performance_to_description"]["fair"]
    result = save(store, edit(store, 0, "rubric", bad), edit(store, 1, "rubric", uneven))
    assert result.saved == []
    assert [p.index for p in result.problems] == [0, 1]
    assert "duplicate criterion name 'Correctness'" in result.problems[0].message
    assert "inconsistent level names" in result.problems[1].message
    assert rubric_file.read_bytes() == before


def test_an_accepted_llm_draft_becomes_the_fields_draft(tmp_path: Path) -> None:
    records = llm_rubric_records()
    del records[0]["rubric"], records[0]["rubric_provenance"], records[0]["excellent_response"]
    path = write(tmp_path / "brainstorms.json", records)
    store = RecordStore(path)
    draft = rubric(["Correctness", "Clarity"], prefix="llm: ")
    drafts = {
        "d1": AcceptedDraft(
            field="rubric",
            value=draft,
            config="openai/test-llm",
            input_value=records[0]["brainstormed_rubric"],
            extra_fields=(("rubric_generator", "openai/test-llm"), ("excellent_response", "ref")),
        )
    }
    mine = copy.deepcopy(draft)
    mine[0]["weight"] = 60.0
    mine[1]["weight"] = 40.0
    result = save(store, edit(store, 0, "rubric", mine, draft_id="d1"), drafts=drafts)
    assert result.saved == [0]
    after = read(path)[0]
    assert after["rubric_generator"] == "openai/test-llm" and after["excellent_response"] == "ref"
    assert after["rubric_provenance"]["source"] == "llm+expert"
    assert after["rubric_provenance"]["llm_draft"] == draft
    assert after["rubric_provenance"]["input_fingerprint"] == fingerprint(records[0]["brainstormed_rubric"])
    text = render_diffs(diff_records(read_records(path)))
    assert "  ~ 'Correctness': weight 50 -> 60" in text


def test_jsonl_files_and_seed_format_rubrics(tmp_path: Path) -> None:
    seed = {"instruction": "Say hi", "rubric": {"Tone": {"excellent": "warm", "poor": "rude"}}, "x": 1}
    other = {"instruction": "Say bye", "rubric": {"Tone": {"excellent": "kind", "poor": "cold"}}}
    path = tmp_path / "seed.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in (seed, other)) + "\n")
    store = RecordStore(path)
    key = record_key(seed)
    value = [
        {
            "criterion": "Tone",
            "weight": 100,
            "performance_to_description": {"excellent": "warm", "poor": "hostile"},
        }
    ]
    result = save(
        store,
        {
            "index": 0,
            "key": key,
            "fields": [{"field": "rubric", "base": fingerprint(seed["rubric"]), "value": value}],
        },
    )
    assert result.saved == [0]
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert lines[0]["rubric"] == value and lines[0]["x"] == 1
    assert lines[0]["rubric_provenance"]["source"] == "expert"
    assert lines[1] == other  # untouched records keep their own format


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "invalid JSON at line 1"),
        ('"text"', "expected a JSON list"),
        ("[1]", "expected a JSON object"),
    ],
)
def test_a_malformed_file_is_a_clear_error(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(InputError, match=message):
        RecordStore(path)


def test_a_write_by_a_command_during_a_save_is_not_overwritten(rubric_file: Path) -> None:
    store = RecordStore(rubric_file)
    start = copy.deepcopy(store.snapshot().raw)

    class CommandWritesMidSave(dict[str, AcceptedDraft]):
        """The save looks its drafts up while applying the edits: a command rewrites the file right then."""

        writes = 0

        def get(self, key: str, default: Any = None) -> Any:  # type: ignore[override]
            if not self.writes:
                self.writes += 1
                records = copy.deepcopy(start)
                records[1]["custom_field"] = {"written by": "a command, during the save"}
                write(rubric_file, records)
            return super().get(key, default)

    request = edit(store, 0, "rubric", edited_rubric(start[0]), draft_id="none")
    result = save(store, request, drafts=CommandWritesMidSave())
    assert result.saved == [0] and not result.conflicts
    after = read(rubric_file)
    assert after[1]["custom_field"] == {"written by": "a command, during the save"}
    assert after[0]["rubric"][0]["performance_to_description"]["good"] == "edited text"

"""Pure functions: fingerprints and authorship, and the diff of an expert's edits against the LLM draft."""

from __future__ import annotations

import copy
from typing import Any

from rubric_eval import Record, Rubric
from rubric_eval.diff import diff_field, diff_record, diff_records, render_diffs
from rubric_eval.provenance import current_source, fingerprint, llm_provenance, refreshed_provenance

LEVELS = ["excellent", "good", "fair", "poor"]


def rubric_rows() -> list[dict[str, Any]]:
    return [
        {
            "criterion": "Shorter sequences",
            "weight": 60,
            "performance_to_description": {
                lvl: f"{lvl}: says subwords give shorter sequences" for lvl in LEVELS
            },
        },
        {
            "criterion": "Quadratic attention cost",
            "weight": 30,
            "performance_to_description": {lvl: f"{lvl}: links length to O(n^2) attention" for lvl in LEVELS},
        },
        {
            "criterion": "Avoids arguable benefits",
            "weight": 10,
            "performance_to_description": {lvl: f"{lvl}: does not claim data efficiency" for lvl in LEVELS},
        },
    ]


def test_fingerprint_is_stable_and_sensitive_to_content_and_level_order() -> None:
    rows = rubric_rows()
    assert fingerprint(Rubric.model_validate(rows)) == fingerprint(Rubric.model_validate(copy.deepcopy(rows)))
    edited = copy.deepcopy(rows)
    edited[0]["performance_to_description"]["good"] += "."
    assert fingerprint(Rubric.model_validate(edited)) != fingerprint(Rubric.model_validate(rows))
    reordered = copy.deepcopy(rows)
    for row in reordered:
        row["performance_to_description"] = dict(reversed(list(row["performance_to_description"].items())))
    assert fingerprint(Rubric.model_validate(reordered)) != fingerprint(Rubric.model_validate(rows))


def test_authorship_from_provenance() -> None:
    rubric = Rubric.model_validate(rubric_rows())
    provenance = llm_provenance(rubric, config="gpt-x")
    assert current_source(None, provenance) is None
    assert current_source(rubric, None) == "expert"
    assert current_source(rubric, provenance) == "llm"
    assert (
        current_source(rubric.normalized().model_copy(update={"root": rubric.root[:2]}), provenance)
        == "llm+expert"
    )
    record = Record.model_validate(
        {
            "instruction": "q",
            "rubric": rubric_rows(),
            "rubric_provenance": {"source": "expert", "config": "by hand"},
        }
    )
    refreshed = refreshed_provenance(record, "rubric")
    assert refreshed is not None and refreshed.source == "expert" and refreshed.config == "by hand"


def test_diff_finds_rename_add_remove_weight_and_cell_changes() -> None:
    draft = rubric_rows()
    edited = copy.deepcopy(draft)
    edited[0]["weight"] = 50
    edited[0]["performance_to_description"]["fair"] = "fair: mentions length but not why it matters"
    edited[1]["criterion"] = "Explains the O(n^2) cost"  # renamed, content kept
    del edited[2]
    edited.append(
        {
            "criterion": "Concise",
            "weight": 10,
            "performance_to_description": {lvl: f"{lvl}: one paragraph {lvl}" for lvl in LEVELS},
        }
    )
    result = diff_field("rubric", draft, edited)
    assert result.status == "changed"
    by_kind = {(c.kind, c.criterion): c for c in result.changes}
    changed = by_kind[("changed", "Shorter sequences")]
    assert (changed.old_weight, changed.new_weight) == (60, 50)
    assert changed.cells == {
        "fair": ("fair: says subwords give shorter sequences", "fair: mentions length but not why it matters")
    }
    renamed = by_kind[("renamed", "Explains the O(n^2) cost")]
    assert renamed.old_name == "Quadratic attention cost" and not renamed.cells and not renamed.weight_changed
    assert ("added", "Concise") in by_kind
    assert ("removed", "Avoids arguable benefits") in by_kind
    assert len(result.changes) == 4


def test_diff_of_brainstorm_checklists_and_order() -> None:
    draft = [
        {"criterion": "A", "weight": 50, "checklist": ["one", "two"]},
        {"criterion": "B", "weight": 50, "checklist": ["three"]},
    ]
    edited = [
        {"criterion": "B", "weight": 50, "checklist": ["three"]},
        {"criterion": "A", "weight": 50, "checklist": ["one", "two (with proof)"]},
    ]
    result = diff_field("brainstormed_rubric", draft, edited)
    assert result.order_changed
    (change,) = result.changes
    assert change.checklist_added == ["two (with proof)"] and change.checklist_removed == ["two"]
    assert diff_field("brainstormed_rubric", draft, draft).status == "unchanged"


def test_diff_record_uses_the_stored_draft_and_render_names_the_record() -> None:
    rubric = Rubric.model_validate(rubric_rows())
    provenance = llm_provenance(rubric, config="gpt-x").model_dump(mode="json")
    edited = rubric_rows()
    edited[2]["weight"] = 20
    record = Record.model_validate(
        {"instruction": "q", "id": "tok", "rubric": edited, "rubric_provenance": provenance}
    )
    result = diff_record(record, index=4)
    rubric_diff = next(f for f in result.fields if f.field == "rubric")
    assert rubric_diff.status == "changed" and rubric_diff.source == "llm+expert"
    brainstorm_diff = next(f for f in result.fields if f.field == "brainstormed_rubric")
    assert brainstorm_diff.status == "absent"
    text = render_diffs([result])
    assert "record 4 (id=tok): rubric [llm+expert; LLM draft by gpt-x" in text
    assert "'Avoids arguable benefits': weight 10 -> 20" in text
    assert "edited against the LLM draft: 0 brainstormed_rubric, 1 rubric" in text


def test_diff_records_against_another_file_matches_by_id() -> None:
    original = [Record.model_validate({"instruction": "q", "id": i, "rubric": rubric_rows()}) for i in (1, 2)]
    edited_rows = rubric_rows()
    edited_rows[0]["criterion"] = "Shorter token sequences"
    edited = [
        Record.model_validate({"instruction": "q", "id": 2, "rubric": edited_rows}),
        Record.model_validate({"instruction": "q", "id": 3, "rubric": rubric_rows()}),
    ]
    first, second = diff_records(edited, original)
    assert next(f for f in first.fields if f.field == "rubric").changes[0].kind == "renamed"
    assert all(f.status == "no_draft" for f in second.fields)

"""The record models: both rubric formats, level order, weights, and what is rejected."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from rubric_eval import BrainstormedRubric, CriterionGrade, Record, Rubric
from rubric_eval.records import WEIGHT_TOLERANCE, weights_to_100

LEVELS = {"excellent": "all correct", "fair": "some errors", "poor": "wrong"}


def test_dict_of_dicts_rubric_gets_equal_weights_and_keeps_level_order() -> None:
    rubric = Rubric.model_validate({"correctness": LEVELS, "clarity": LEVELS, "efficiency": LEVELS})
    assert rubric.names == ["correctness", "clarity", "efficiency"]
    assert [c.weight for c in rubric.criteria] == pytest.approx([100 / 3] * 3)
    assert rubric.levels == ["excellent", "fair", "poor"]


def test_list_format_keeps_weights_and_any_level_names() -> None:
    rubric = Rubric.model_validate(
        [
            {"criterion": "a", "weight": 70, "performance_to_description": {"top": "x", "bottom": "y"}},
            {"criterion": "b", "weight": "30", "performance_to_description": {"top": "x", "bottom": "y"}},
        ]
    )
    assert [c.weight for c in rubric.criteria] == [70.0, 30.0]
    assert rubric.levels == ["top", "bottom"]


def test_normalized_rescales_weights_to_100() -> None:
    rubric = Rubric.model_validate(
        [
            {"criterion": "a", "weight": 1, "performance_to_description": LEVELS},
            {"criterion": "b", "weight": 3, "performance_to_description": LEVELS},
        ]
    )
    assert [c.weight for c in rubric.normalized().criteria] == [25.0, 75.0]


def test_weights_to_100_is_the_one_normalisation() -> None:
    assert weights_to_100([1, 3]) == [25.0, 75.0]
    # a hand-written sum near 100 is kept as written only when a tolerance is given
    assert weights_to_100([33.3, 33.3, 33.3], tolerance=WEIGHT_TOLERANCE) == [33.3, 33.3, 33.3]
    assert weights_to_100([33.3, 33.3, 33.3], ndigits=2) == [33.33, 33.33, 33.33]
    assert weights_to_100([10, 10, 20], tolerance=WEIGHT_TOLERANCE, ndigits=1) == [25.0, 25.0, 50.0]
    assert weights_to_100([2 / 3, 1 / 3], ndigits=2) == [66.67, 33.33]
    with pytest.raises(ValueError, match="sum to 0"):
        weights_to_100([0.0, 0.0])


@pytest.mark.parametrize(
    ("rubric", "message"),
    [
        ([], "rubric is empty"),
        ({}, "rubric is empty"),
        (
            [
                {"criterion": "a", "weight": 50, "performance_to_description": LEVELS},
                {"criterion": "a", "weight": 50, "performance_to_description": LEVELS},
            ],
            "duplicate criterion name 'a'",
        ),
        (
            [
                {"criterion": "a", "weight": 50, "performance_to_description": LEVELS},
                {"criterion": "b", "weight": 50, "performance_to_description": {"good": "x", "bad": "y"}},
            ],
            "inconsistent level names",
        ),
        (
            [
                {"criterion": "a", "weight": 50, "performance_to_description": LEVELS},
                {
                    "criterion": "b",
                    "weight": 50,
                    "performance_to_description": dict(reversed(LEVELS.items())),
                },
            ],
            "inconsistent level names",
        ),
        ([{"criterion": "a", "weight": -5, "performance_to_description": LEVELS}], "non-negative number"),
        (
            [{"criterion": "a", "weight": "heavy", "performance_to_description": LEVELS}],
            "non-negative number",
        ),
        ([{"criterion": "a", "weight": True, "performance_to_description": LEVELS}], "non-negative number"),
        ([{"criterion": "a", "weight": 0, "performance_to_description": LEVELS}], "sum to 0"),
        ([{"criterion": "a", "weight": 1, "performance_to_description": {"only": "x"}}], "at least 2"),
        (
            [{"criterion": "a", "weight": 1, "performance_to_description": {"x": "y", "z": " "}}],
            "empty description",
        ),
        ({"a": "not levels"}, "expected an object of level -> description"),
    ],
)
def test_bad_rubrics_are_rejected_with_a_reason(rubric: object, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        Rubric.model_validate(rubric)


def test_record_keeps_unknown_fields_and_reads_outputs_as_output() -> None:
    raw = {"instruction": "Say hi", "outputs": "hi", "my_field": [1, {"x": None}], "id": 7}
    record = Record.model_validate(raw)
    assert record.output == "hi"
    dumped = record.dump()
    assert dumped["my_field"] == [1, {"x": None}]
    assert dumped["outputs"] == "hi"
    assert dumped["id"] == 7


def test_record_dump_writes_only_fields_that_were_set() -> None:
    assert Record.model_validate({"instruction": "x", "category": None}).dump() == {
        "instruction": "x",
        "category": None,
    }


@pytest.mark.parametrize("raw", [{}, {"instruction": None}, {"instruction": "   "}, {"instruction": 3}])
def test_record_needs_an_instruction(raw: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        Record.model_validate(raw)


def test_brainstorm_accepts_checklist_as_text_and_rejects_duplicates() -> None:
    brainstorm = BrainstormedRubric.model_validate(
        [
            {"criterion": "Derivation", "weight": 60, "checklist": "- chain rule\n- shapes match\n"},
            {"criterion": "Code", "weight": 40, "checklist": ["vectorised"]},
        ]
    )
    assert brainstorm.root[0].checklist == ["chain rule", "shapes match"]
    with pytest.raises(ValidationError, match="duplicate"):
        BrainstormedRubric.model_validate(
            [
                {"criterion": "a", "weight": 50, "checklist": []},
                {"criterion": "a", "weight": 50, "checklist": []},
            ]
        )


def test_grade_status_must_match_score() -> None:
    CriterionGrade(criterion="a", status="unscored", reason="judge omitted it")
    with pytest.raises(ValidationError):
        CriterionGrade(criterion="a", status="scored", level=None, score=None)
    with pytest.raises(ValidationError):
        CriterionGrade(criterion="a", status="unscored", score=4.0)


def test_pipeline_fields_are_typed_and_keep_their_json_names() -> None:
    written = {
        "instruction": "Say hi.",
        "judge_samples": [{"repeat": 0, "score": 7.5, "level_per_criteria": {"a": "good"}, "error": None}],
        "judge_aggregate": "mean",
        "judge_panel": [
            {"evaluator": "j1", "score": 7.5, "level_per_criteria": {"a": "good"}, "price": None}
        ],
        "judge_panel_disagrees": False,
        "escalated": None,
        "evaluation_params": {"temperature": 0.0, "max_tokens": 4000},
        "output_params": {"temperature": 0.7},
        "evaluation_cached_input_tokens": 1024,
        "user_field": {"kept": True},
    }
    record = Record.model_validate(written)
    assert record.judge_samples is not None and record.judge_samples[0].score == 7.5
    assert record.judge_panel is not None and record.judge_panel[0].evaluator == "j1"
    assert record.evaluation_params == {"temperature": 0.0, "max_tokens": 4000}
    assert record.evaluation_cached_input_tokens == 1024
    assert record.model_extra == {"user_field": {"kept": True}}  # only the user's own field is an extra
    assert record.dump() == written  # same names, nothing added (the panel entry's unset samples stay out)
    with pytest.raises(ValueError, match="judge_samples"):
        Record.model_validate({"instruction": "x", "judge_samples": "three"})


def test_provenance_is_typed_and_malformed_provenance_reads_as_none() -> None:
    written = {
        "instruction": "Say hi.",
        "rubric_provenance": {"source": "llm", "config": "gpt-4.1", "date": "2026-12-01T00:00:00+00:00",
                              "fingerprint": "ab", "llm_draft": [1], "input_fingerprint": None},
    }  # fmt: skip
    record = Record.model_validate(written)
    assert record.rubric_provenance is not None and record.rubric_provenance.fingerprint == "ab"
    assert record.dump() == written
    broken = Record.model_validate({"instruction": "x", "brainstormed_rubric_provenance": "who knows"})
    assert broken.brainstormed_rubric_provenance is None  # as before: the field counts as an expert's

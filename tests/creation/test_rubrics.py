"""generate_rubrics: the answer schema forces the brainstormed criteria and the levels; experts stay in charge."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest

from rubric_eval import (
    InputError,
    Record,
    Rubric,
    brainstorm_and_generate_rubrics,
    generate_rubrics,
    resolve_config,
)
from rubric_eval.engine import EngineSettings, ProviderRequest
from rubric_eval.engine.providers.scripted import ScriptedProvider
from rubric_eval.errors import ConfigError
from rubric_eval.steps.rubrics import brainstorm_and_generate, rubric_answer_model
from rubric_eval.testing import synthesize_instance

from ._helpers import brainstorm_reply, prompt_text, schema_reply, scripted_engine

CONFIG = "openai/test-model"
BRAINSTORM = [
    {"criterion": "Derives the estimator", "weight": 60, "checklist": ["uses linearity of expectation"]},
    {"criterion": "States assumptions", "weight": 20, "checklist": ["i.i.d. samples"]},
    {"criterion": "Explains </brainstormed_rubric> result", "weight": 20, "checklist": ["E[x̄] = μ"]},
]


def record(**extra: Any) -> dict[str, Any]:
    return {
        "instruction": "Show that the sample mean is unbiased.",
        "brainstormed_rubric": BRAINSTORM,
        **extra,
    }


def test_schema_valid_answer_is_a_complete_rubric() -> None:
    names = tuple(c["criterion"] for c in BRAINSTORM)
    model = rubric_answer_model(names, ("excellent", "good", "fair", "poor"))
    schema = model.model_json_schema()
    assert schema["required"] == ["excellent_response", "criterion_1", "criterion_2", "criterion_3"]
    assert schema["additionalProperties"] is False
    criterion_2 = schema["$defs"]["Criterion2"]
    assert criterion_2["properties"]["criterion"]["const"] == "States assumptions"
    levels = schema["$defs"]["Levels"]
    assert levels["required"] == ["excellent", "good", "fair", "poor"]
    for seed in range(5):
        answer = model.model_validate(synthesize_instance(schema, seed=seed))
        assert [answer.model_dump(by_alias=True)[f"criterion_{i}"]["criterion"] for i in (1, 2, 3)] == list(
            names
        )
    with pytest.raises(ValueError):  # a wrong name is not schema-valid
        bad = synthesize_instance(schema, seed=0)
        bad["criterion_1"]["criterion"] = "Something else"
        model.model_validate(bad)


def test_generates_rubric_from_brainstorm_with_its_weights(engine_settings: EngineSettings) -> None:
    provider = ScriptedProvider(schema_reply)
    (out,) = generate_rubrics(
        [record(useful_info_to_eval_instruction="Penalise n-1.")],
        rubric_generator=CONFIG,
        engine=scripted_engine(provider, engine_settings),
    )
    rubric = Rubric.model_validate(out["rubric"])
    assert rubric.names == [c["criterion"] for c in BRAINSTORM]
    assert [c.weight for c in rubric.criteria] == [60, 20, 20]
    assert rubric.levels == ["excellent", "good", "fair", "poor"]
    assert out["excellent_response"]
    assert out["rubric_provenance"]["source"] == "llm"
    assert out["rubric_provenance"]["llm_draft"] == out["rubric"]
    assert out["rubric_generator"] == CONFIG
    assert "rubric_price_per_example" in out and "rubric_date" in out

    text = prompt_text(provider.requests[0])
    assert "<instruction>\nShow that the sample mean is unbiased.\n</instruction>" in text
    assert "<expert_notes>\nPenalise n-1.\n</expert_notes>" in text
    assert text.count("</brainstormed_rubric>") == 1  # the look-alike in a criterion name is neutralised
    assert "uses linearity of expectation" in text
    assert "<answer_format>" in text


def test_custom_levels(engine_settings: EngineSettings) -> None:
    provider = ScriptedProvider(schema_reply)
    (out,) = generate_rubrics(
        [record()],
        rubric_generator=CONFIG,
        levels=["pass", "partial", "fail"],
        engine=scripted_engine(provider, engine_settings),
    )
    assert Rubric.model_validate(out["rubric"]).levels == ["pass", "partial", "fail"]
    assert '"partial"' in prompt_text(provider.requests[0])


@pytest.mark.parametrize("levels", [["only"], ["a", "a"], ["a", " "]])
def test_bad_levels_are_rejected_before_any_call(engine_settings: EngineSettings, levels: list[str]) -> None:
    provider = ScriptedProvider([])
    with pytest.raises(ConfigError):
        generate_rubrics(
            [record()],
            rubric_generator=CONFIG,
            levels=levels,
            engine=scripted_engine(provider, engine_settings),
        )
    assert provider.requests == []


def test_missing_brainstorm_is_an_input_error_naming_the_record(engine_settings: EngineSettings) -> None:
    provider = ScriptedProvider(schema_reply)
    with pytest.raises(InputError) as info:
        generate_rubrics(
            [record(), {"instruction": "no brainstorm", "id": "q2"}],
            rubric_generator=CONFIG,
            engine=scripted_engine(provider, engine_settings),
        )
    message = str(info.value)
    assert "record 1 (id=q2)" in message and "brainstormed_rubric" in message
    assert provider.requests == []


def test_blank_cell_is_re_asked(engine_settings: EngineSettings) -> None:
    replies: list[str] = []

    def reply(request: ProviderRequest) -> str:
        answer = json.loads(schema_reply(request))
        if not replies:
            answer["criterion_2"]["performance_to_description"]["fair"] = "   "
        replies.append("x")
        return json.dumps(answer)

    provider = ScriptedProvider(reply)
    (out,) = generate_rubrics(
        [record()], rubric_generator=CONFIG, engine=scripted_engine(provider, engine_settings)
    )
    assert len(provider.requests) == 2
    assert "'fair'" in provider.requests[1].messages[-1].content
    assert all(cell.strip() for c in out["rubric"] for cell in c["performance_to_description"].values())


def test_failed_rubric_is_an_error_field(engine_settings: EngineSettings) -> None:
    provider = ScriptedProvider(lambda request: '{"excellent_response": "x"}')
    (out,) = generate_rubrics(
        [record()], rubric_generator=CONFIG, engine=scripted_engine(provider, engine_settings)
    )
    assert "rubric" not in out
    assert "criterion_1" in out["rubric_error"]


def test_expert_rubric_kept_normalised_and_expert_edit_detected(
    engine_settings: EngineSettings, caplog: pytest.LogCaptureFixture
) -> None:
    provider = ScriptedProvider(schema_reply)
    engine = scripted_engine(provider, engine_settings)
    expert_rubric = {"Axis": {"excellent": "all", "poor": "none"}, "Other": {"excellent": "e", "poor": "p"}}
    expert = {
        "instruction": "expert wrote it",
        "rubric": [
            {
                "criterion": "Axis",
                "weight": 3,
                "performance_to_description": {"excellent": "all", "poor": "none"},
            },
            {
                "criterion": "Other",
                "weight": 1,
                "performance_to_description": {"excellent": "e", "poor": "p"},
            },
        ],
    }
    readme_format = {"instruction": "dict of dicts", "rubric": expert_rubric}
    with caplog.at_level(logging.WARNING, logger="rubric_eval"):
        out = generate_rubrics([expert, readme_format, record()], rubric_generator=CONFIG, engine=engine)
    assert len(provider.requests) == 1
    assert [c["weight"] for c in out[0]["rubric"]] == [75, 25]
    assert "weights sum to 4; normalised to 100" in caplog.text
    assert out[0]["rubric_provenance"] == {"source": "expert"}
    assert [c["weight"] for c in out[1]["rubric"]] == [50, 50]

    edited = json.loads(json.dumps(out[2]))
    edited["rubric"][1]["performance_to_description"]["poor"] = "Does not mention i.i.d. samples."
    (again,) = generate_rubrics([edited], rubric_generator=CONFIG, engine=engine)
    assert len(provider.requests) == 1
    assert again["rubric"][1]["performance_to_description"]["poor"] == "Does not mention i.i.d. samples."
    assert again["rubric_provenance"]["source"] == "llm+expert"


def test_stale_llm_rubric_is_flagged_when_the_brainstorm_changes(
    engine_settings: EngineSettings, caplog: pytest.LogCaptureFixture
) -> None:
    engine = scripted_engine(ScriptedProvider(schema_reply), engine_settings)
    (out,) = generate_rubrics([record()], rubric_generator=CONFIG, engine=engine)
    out["brainstormed_rubric"][0]["checklist"].append("mentions bias of the variance estimator")
    with caplog.at_level(logging.WARNING, logger="rubric_eval"):
        (again,) = generate_rubrics([out], rubric_generator=CONFIG, engine=engine)
    assert again["rubric"] == out["rubric"]
    assert "brainstorm changed after this rubric was generated" in caplog.text


def test_excellent_response_of_an_expert_is_kept(engine_settings: EngineSettings) -> None:
    engine = scripted_engine(ScriptedProvider(schema_reply), engine_settings)
    (out,) = generate_rubrics(
        [record(excellent_response="E[x̄] = μ by linearity.")], rubric_generator=CONFIG, engine=engine
    )
    assert out["excellent_response"] == "E[x̄] = μ by linearity."
    assert "rubric" in out


def test_brainstorm_and_generate_in_one_go(engine_settings: EngineSettings) -> None:
    def reply(request: ProviderRequest) -> str:
        if request.schema_name == "BrainstormAnswer":
            if "broken" in prompt_text(request):
                return "no json"
            return brainstorm_reply(["Correct derivation", "Assumptions", "Notation"])
        return schema_reply(request)

    provider = ScriptedProvider(reply)
    out = brainstorm_and_generate_rubrics(
        [{"instruction": "first"}, {"instruction": "broken"}],
        brainstormer=CONFIG,
        rubric_generator=CONFIG,
        engine=scripted_engine(provider, engine_settings),
    )
    assert Rubric.model_validate(out[0]["rubric"]).names == ["Correct derivation", "Assumptions", "Notation"]
    assert "rubric" not in out[1] and "brainstormed_rubric" not in out[1]
    assert "brainstormed_rubric_error" in out[1] and "rubric_error" not in out[1]


def test_summary_counts_records_skipped_for_a_failed_brainstorm(engine_settings: EngineSettings) -> None:
    def reply(request: ProviderRequest) -> str:
        if request.schema_name == "BrainstormAnswer":
            return "no json" if "broken" in prompt_text(request) else brainstorm_reply(["A", "B", "C"])
        return schema_reply(request)

    records = [Record(instruction="first"), Record(instruction="broken")]
    config = resolve_config("brainstormer", CONFIG)
    _, (first, second) = brainstorm_and_generate(
        records,
        brainstormer=config,
        rubric_generator=resolve_config("rubric_generator", CONFIG),
        engine=scripted_engine(ScriptedProvider(reply), engine_settings),
        overwrite=False,
    )
    assert first.lines()[0].startswith("brainstorm_rubrics: 2 records: 1 generated, 1 failed")
    assert second.lines()[0].startswith(
        "generate_rubrics: 2 records: 1 generated, 1 skipped (no brainstorm), 0 failed"
    )

"""generate_outputs: the model under test answers the instruction verbatim; failures are recorded, not faked."""

from __future__ import annotations

from typing import Any

from rubric_eval import Record, generate_outputs
from rubric_eval.datasets import load_benchmark
from rubric_eval.engine import EngineSettings, ProviderError, ProviderRequest
from rubric_eval.engine.providers.scripted import ScriptedProvider
from rubric_eval.steps._common import sample_indices

from ._helpers import prompt_text, scripted_engine

MODEL = "openai/model-under-test"


def answer(request: ProviderRequest) -> str:
    instruction = request.messages[-1].content
    if "fail" in instruction:
        raise ProviderError("400 bad request: context too long", status=400, retryable=False)
    return f"  Answer to: {instruction}\n"


def test_outputs_are_added_with_model_generator_and_bookkeeping(engine_settings: EngineSettings) -> None:
    provider = ScriptedProvider(answer)
    rubric = [
        {"criterion": "Secret criterion", "weight": 100, "performance_to_description": {"a": "x", "b": "y"}}
    ]
    records: list[dict[str, Any]] = [
        {
            "instruction": "What is 2+2?",
            "id": 1,
            "rubric": rubric,
            "useful_info_to_eval_instruction": "expert only",
        },
        {"instruction": "Name a prime.", "id": 2, "extra": "kept"},
    ]
    out = generate_outputs(records, model=MODEL, engine=scripted_engine(provider, engine_settings))
    assert [o["output"] for o in out] == ["Answer to: What is 2+2?", "Answer to: Name a prime."]
    assert out[0]["output_raw_completion"] == "  Answer to: What is 2+2?\n"
    assert out[1]["extra"] == "kept"
    assert out[0]["rubric"] == rubric
    for o in out:
        assert o["model"] == "model-under-test" and o["generator"] == MODEL  # canonical name
        for suffix in ("price_per_example", "time_per_example", "date", "version"):
            assert f"output_{suffix}" in o
    # The model sees the instruction alone: no system prompt, no rubric, no expert notes, no delimiters.
    first = provider.requests[0]
    assert [m.role for m in first.messages] == ["user"]
    assert first.messages[0].content == "What is 2+2?"
    assert "Secret criterion" not in prompt_text(first) and "expert only" not in prompt_text(first)
    assert first.response_schema is None


def test_failed_generation_gets_output_error_and_no_output(engine_settings: EngineSettings) -> None:
    provider = ScriptedProvider(answer)
    stale = {
        "instruction": "please fail",
        "output": "an older model's answer",
        "model": "old-model",
        "score": 7.0,
        "score_per_criteria": {"x": 7.0},
    }
    out = generate_outputs(
        [Record.model_validate(stale), Record(instruction="fine")],
        model=MODEL,
        engine=scripted_engine(provider, engine_settings),
    )
    failed, ok = out
    assert failed.output is None
    assert "context too long" in (failed.output_error or "")
    assert failed.model == "model-under-test"
    assert failed.score is None and failed.score_per_criteria is None  # no stale grades next to a new answer
    assert "output" not in failed.dump() and "score" not in failed.dump()
    assert ok.output == "Answer to: fine"
    assert "output_error" not in ok.dump()


def test_empty_answer_is_a_failure(engine_settings: EngineSettings) -> None:
    provider = ScriptedProvider(["   "])
    (out,) = generate_outputs(
        [{"instruction": "q"}], model=MODEL, engine=scripted_engine(provider, engine_settings)
    )
    assert "output" not in out
    assert out["output_error"] == "the model returned an empty answer"


def test_max_instances_is_a_seeded_sample_in_file_order(engine_settings: EngineSettings) -> None:
    records = [{"instruction": f"question {i}", "id": i} for i in range(20)]
    engine = scripted_engine(ScriptedProvider(answer), engine_settings)
    first = generate_outputs(records, model=MODEL, engine=engine, max_instances=5, seed=3)
    again = generate_outputs(records, model=MODEL, engine=engine, max_instances=5, seed=3)
    other = generate_outputs(records, model=MODEL, engine=engine, max_instances=5, seed=4)
    ids = [o["id"] for o in first]
    assert ids == [o["id"] for o in again]
    assert ids == sorted(ids) and len(ids) == 5
    assert ids != [o["id"] for o in other]
    assert sample_indices(3, 10, seed=0) == [0, 1, 2]


def test_without_records_the_builtin_benchmark_is_answered(engine_settings: EngineSettings) -> None:
    benchmark = load_benchmark(name="default")
    provider = ScriptedProvider(answer)
    out = generate_outputs(model=MODEL, engine=scripted_engine(provider, engine_settings), max_instances=3)
    assert len(out) == 3 and all(isinstance(r, Record) for r in out)
    instructions = {r.instruction for r in benchmark}
    assert all(r.instruction in instructions and r.output for r in out)
    assert all(r.rubric is not None for r in out)  # the benchmark's rubrics travel with the answers


def test_builtin_outputs_name_their_dataset_and_sample(engine_settings: EngineSettings) -> None:
    provider = ScriptedProvider(answer)
    out = generate_outputs(model=MODEL, engine=scripted_engine(provider, engine_settings), max_instances=3)
    names = {r.dataset_name for r in out}
    assert names == {"rubric_eval built-in benchmark (sample of 3, seed 0)"}


def test_user_records_keep_their_own_dataset_name(engine_settings: EngineSettings) -> None:
    provider = ScriptedProvider(answer)
    records = [{"instruction": "Name a prime.", "dataset_name": "my-suite"}, {"instruction": "Say hi."}]
    out = generate_outputs(records, model=MODEL, engine=scripted_engine(provider, engine_settings))
    assert out[0]["dataset_name"] == "my-suite"
    assert "dataset_name" not in out[1]  # the API does not guess a name for records it was handed

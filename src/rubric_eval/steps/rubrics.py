"""Rubric generation: from a (possibly expert-edited) brainstorm, an LLM describes each criterion x level.

The answer schema is built per record: one required property per brainstormed criterion, in order, whose
``criterion`` is a constant, and one required property per level. A schema-valid answer is therefore a
complete rubric. Weights come from the brainstorm (normalised to 100), so experts control them there.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from typing import Any, Literal, cast

from jinja2.utils import htmlsafe_json_dumps
from pydantic import BaseModel, ConfigDict, Field, create_model

from rubric_eval._api_edge import RecordsLike, to_records
from rubric_eval._config import AnnotatorConfig, resolve_config
from rubric_eval.engine import Engine, LLMCall
from rubric_eval.errors import ConfigError, InputError, RubricsInterrupted
from rubric_eval.provenance import (
    fingerprint,
    llm_provenance,
    provenance_field,
    refreshed_provenance,
)
from rubric_eval.records import (
    DEFAULT_LEVELS,
    WEIGHT_TOLERANCE,
    BrainstormedRubric,
    Criterion,
    Record,
    Rubric,
    weights_to_100,
)
from rubric_eval.steps._common import (
    StepSummary,
    build_call,
    error_field,
    failed_record,
    result_fields,
    run_calls_until_stopped,
    with_fields,
)
from rubric_eval.steps.brainstorm import run_brainstorm

FIELD = "rubric"


def check_levels(levels: Sequence[str]) -> tuple[str, ...]:
    """Validate level names (best first): at least two, unique, non-blank."""
    cleaned = tuple(level.strip() for level in levels)
    if len(cleaned) < 2:
        raise ConfigError(f"at least 2 performance levels are needed, got {list(cleaned)}")
    if any(not level for level in cleaned):
        raise ConfigError(f"level names must not be blank, got {list(levels)}")
    if len(set(cleaned)) != len(cleaned):
        raise ConfigError(f"level names must be unique, got {list(cleaned)}")
    return cleaned


def _key(index: int) -> str:
    return f"criterion_{index + 1}"


@functools.lru_cache(maxsize=256)
def rubric_answer_model(names: tuple[str, ...], levels: tuple[str, ...]) -> type[BaseModel]:
    """The answer model for one brainstorm: ``excellent_response`` then ``criterion_1..n``, all required."""
    level_fields: dict[str, Any] = {
        f"level_{i}": (
            str,
            Field(
                alias=level,
                description=f"What an answer at level {level!r} contains or gets wrong.",
            ),
        )
        for i, level in enumerate(levels)
    }
    levels_model = create_model(
        "Levels", __config__=ConfigDict(extra="forbid", populate_by_name=False), **level_fields
    )
    fields: dict[str, Any] = {
        "excellent_response": (
            str,
            Field(description="An excellent answer to the instruction."),
        ),
    }
    for i, name in enumerate(names):
        row_fields: dict[str, Any] = {
            "criterion": (Literal[name], Field(description="The criterion name, exactly as given.")),
            "performance_to_description": (levels_model, ...),
        }
        row = create_model(f"Criterion{i + 1}", __config__=ConfigDict(extra="forbid"), **row_fields)
        fields[_key(i)] = (row, ...)
    model: type[BaseModel] = create_model("RubricAnswer", __config__=ConfigDict(extra="forbid"), **fields)
    return model


def answer_format(names: Sequence[str], levels: Sequence[str]) -> str:
    """The JSON skeleton shown in the prompt, mirroring the answer schema."""
    skeleton: dict[str, Any] = {"excellent_response": "..."}
    for i, name in enumerate(names):
        skeleton[_key(i)] = {
            "criterion": name,
            "performance_to_description": dict.fromkeys(levels, "..."),
        }
    # Names come from the brainstorm (expert or LLM text): Jinja's `tojson` escaping turns < > & ' into
    # \u escapes, so no tag look-alike reaches the prompt outside a delimited block; decoded names are equal.
    return str(htmlsafe_json_dumps(skeleton, indent=2, ensure_ascii=False))


def _blank_text(answer: BaseModel) -> str | None:
    """A re-ask message when a description (or the excellent response) is blank."""
    data = answer.model_dump(by_alias=True)
    if not data["excellent_response"].strip():
        return "excellent_response is blank"
    for key, value in data.items():
        if key == "excellent_response":
            continue
        for level, text in value["performance_to_description"].items():
            if not text.strip():
                return f"{key} ({value['criterion']!r}), level {level!r}: the description is blank"
    return None


def normalised_weights(brainstorm: BrainstormedRubric) -> tuple[list[float], str | None]:
    weights = [row.weight for row in brainstorm.root]
    total = sum(weights)
    if total <= 0:
        raise ValueError("the brainstormed weights sum to 0")
    if abs(total - 100.0) <= WEIGHT_TOLERANCE:
        return weights, None
    return weights_to_100(weights, ndigits=2), f"brainstormed weights sum to {total:g}; normalised to 100"


def to_rubric(answer: BaseModel, brainstorm: BrainstormedRubric, levels: Sequence[str]) -> Rubric:
    """The answer as a canonical rubric, with the brainstorm's (normalised) weights."""
    data = answer.model_dump(by_alias=True)
    weights, _ = normalised_weights(brainstorm)
    rows = []
    for i, (row, weight) in enumerate(zip(brainstorm.root, weights, strict=True)):
        cells = data[_key(i)]["performance_to_description"]
        rows.append(
            Criterion(
                criterion=row.criterion,
                weight=weight,
                performance_to_description={level: cells[level].strip() for level in levels},
            )
        )
    return Rubric(rows)


def rubric_call(record: Record, config: AnnotatorConfig, levels: tuple[str, ...]) -> LLMCall[Any]:
    brainstorm = record.brainstormed_rubric
    assert brainstorm is not None  # callers check first
    names = tuple(row.criterion for row in brainstorm.root)
    notes = record.useful_info_to_eval_instruction
    variables: dict[str, Any] = {
        "instruction": record.instruction,
        "notes": notes if notes and notes.strip() else None,
        "brainstorm": json.dumps(brainstorm.model_dump(mode="json"), indent=2, ensure_ascii=False),
        "levels": list(levels),
        "answer_format": answer_format(names, levels),
    }
    return build_call(
        config,
        rubric_answer_model(names, levels),
        variables,
        check=_blank_text,
        label=f"rubric id={record.record_id}",
    )


def _kept(records: list[Record], out: list[Record], skip: set[int], summary: StepSummary) -> None:
    """Attribute, normalise and check the rubrics that are kept as they are."""
    for i, record in enumerate(records):
        if i in skip or record.rubric is None:
            continue
        provenance = refreshed_provenance(record, FIELD)
        assert provenance is not None  # the field is present
        summary.kept[provenance.source] += 1
        updates: dict[str, Any] = {provenance_field(FIELD): provenance}
        if abs(record.rubric.total_weight - 100.0) > WEIGHT_TOLERANCE:
            summary.warn(
                i, record, f"rubric weights sum to {record.rubric.total_weight:g}; normalised to 100"
            )
            updates[FIELD] = record.rubric.normalized()
        brainstorm = record.brainstormed_rubric
        if (
            provenance.source == "llm"
            and provenance.input_fingerprint is not None
            and brainstorm is not None
            and fingerprint(brainstorm) != provenance.input_fingerprint
        ):
            summary.warn(
                i,
                record,
                "the brainstorm changed after this rubric was generated from it; "
                "rerun with --overwrite (overwrite=True) to regenerate the rubric",
            )
        out[i] = with_fields(record, updates)


def run_rubrics(
    records: list[Record],
    *,
    config: AnnotatorConfig,
    engine: Engine | None,
    overwrite: bool,
    levels: Sequence[str] = DEFAULT_LEVELS,
    path: str | None = None,
    skip_without_brainstorm: bool = False,
) -> tuple[list[Record], StepSummary]:
    """Generate the rubrics that are missing (all with `overwrite`); keep and attribute the others.
    Ctrl-C / SIGTERM raises `RubricsInterrupted` with every record (the unfinished ones with an
    ``interrupted`` ``rubric_error``).

    A record that needs a rubric but has no brainstorm is an `InputError`, or is left alone with
    `skip_without_brainstorm` (its brainstorm failed earlier in the same run and carries the error).
    """
    level_names = check_levels(levels)
    summary = StepSummary(step="generate_rubrics", n_records=len(records))
    todo = [i for i, r in enumerate(records) if overwrite or r.rubric is None]
    if skip_without_brainstorm:
        ready = [i for i in todo if records[i].brainstormed_rubric is not None]
        if len(ready) < len(todo):
            summary.skipped["no brainstorm"] += len(todo) - len(ready)
        todo = ready
    for i in todo:
        if records[i].brainstormed_rubric is None:
            raise InputError(
                "no brainstormed_rubric to generate the rubric from: run `rubric_eval brainstorm_rubrics` "
                "first, or `brainstorm_and_generate_rubrics`",
                path=path,
                index=i,
                record_id=records[i].id,
                field="brainstormed_rubric",
            )
        current = refreshed_provenance(records[i], FIELD)
        if current is not None and current.source != "llm":
            summary.warn(i, records[i], f"overwriting a rubric written by {current.source}")
    calls = [rubric_call(records[i], config, level_names) for i in todo]
    results, stopped = run_calls_until_stopped(engine, calls, description="rubrics")
    out = list(records)
    for i, result in zip(todo, results, strict=True):
        summary.add_result(result)
        record = records[i]
        if not result.ok:
            out[i] = failed_record(record, FIELD, result, summary, i)
            continue
        brainstorm = record.brainstormed_rubric
        assert brainstorm is not None  # checked above
        _, warning = normalised_weights(brainstorm)
        if warning:
            summary.warn(i, record, warning)
        answer = cast(BaseModel, result.value)
        rubric = to_rubric(answer, brainstorm, level_names)
        summary.generated += 1
        updates: dict[str, Any] = {
            FIELD: rubric,
            provenance_field(FIELD): llm_provenance(rubric, config=config.name, input_value=brainstorm),
            **result_fields(FIELD, config, "rubric_generator", result),
        }
        if overwrite or record.excellent_response is None:
            updates["excellent_response"] = str(getattr(answer, "excellent_response", "")).strip()
        out[i] = with_fields(record, updates, drop=[error_field(FIELD)])
    _kept(records, out, set(todo), summary)
    if stopped:  # Ctrl-C / SIGTERM: the rubrics so far, the rest with an "interrupted" error
        raise RubricsInterrupted(out, [summary])
    return out, summary


def generate_rubrics(
    records: RecordsLike,
    *,
    rubric_generator: str | AnnotatorConfig | None = None,
    levels: Sequence[str] = DEFAULT_LEVELS,
    engine: Engine | None = None,
    overwrite: bool = False,
) -> Any:
    """Add a full ``rubric`` (criteria x levels) to each record that lacks one, from its brainstorm.

    Records come as a list of dicts, of `Record`s, or a DataFrame, and are returned in the same kind.
    Rubrics written or edited by experts are kept unless ``overwrite``; their weights are normalised to
    100 with a warning. A failed call leaves the record without a rubric and sets ``rubric_error``.
    """
    parsed, convert_back = to_records(records)
    config = resolve_config("rubric_generator", rubric_generator)
    out, summary = run_rubrics(parsed, config=config, engine=engine, overwrite=overwrite, levels=levels)
    summary.log()
    return convert_back(out)


def brainstorm_and_generate(
    records: list[Record],
    *,
    brainstormer: AnnotatorConfig,
    rubric_generator: AnnotatorConfig,
    engine: Engine | None,
    overwrite: bool,
    levels: Sequence[str] = DEFAULT_LEVELS,
) -> tuple[list[Record], list[StepSummary]]:
    """Both steps; a record whose brainstorm failed gets no rubric and keeps its error."""
    check_levels(levels)  # before any call is spent
    brainstormed, first = run_brainstorm(records, config=brainstormer, engine=engine, overwrite=overwrite)
    try:
        out, second = run_rubrics(
            brainstormed,
            config=rubric_generator,
            engine=engine,
            overwrite=overwrite,
            levels=levels,
            skip_without_brainstorm=True,
        )
    except RubricsInterrupted as stop:
        raise RubricsInterrupted(stop.records, [first, *stop.summaries]) from None
    return out, [first, second]


def brainstorm_and_generate_rubrics(
    records: RecordsLike,
    *,
    brainstormer: str | AnnotatorConfig | None = None,
    rubric_generator: str | AnnotatorConfig | None = None,
    levels: Sequence[str] = DEFAULT_LEVELS,
    engine: Engine | None = None,
    overwrite: bool = False,
) -> Any:
    """`brainstorm_rubrics` then `generate_rubrics`, in one go (see both)."""
    parsed, convert_back = to_records(records)
    out, summaries = brainstorm_and_generate(
        parsed,
        brainstormer=resolve_config("brainstormer", brainstormer),
        rubric_generator=resolve_config("rubric_generator", rubric_generator),
        engine=engine,
        overwrite=overwrite,
        levels=levels,
    )
    for summary in summaries:
        summary.log()
    return convert_back(out)

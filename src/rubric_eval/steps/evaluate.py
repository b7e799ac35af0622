"""Grade model outputs against their instruction-specific rubrics: one judge call per output.

The judge answers one JSON object with one required key per criterion, each holding the
feedback (evidence first) and then a level from the rubric's enum. The schema forces a complete
answer; the parser is lenient on purpose so that a partial answer is salvaged criterion by
criterion: a missing criterion is re-asked and then marked unscored with the reason, an invented
criterion or an unknown level is dropped and counted in ``judge_issues``. Numbers come from the
levels (`rubric_eval.reporting.scoring`), never from a score the judge writes.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Literal, cast

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema, create_model

from rubric_eval._api_edge import RecordsLike, to_records
from rubric_eval._config import AnnotatorConfig, resolve_config
from rubric_eval._templates import ROLES, PromptTemplate, load_template
from rubric_eval._text import escape_cell
from rubric_eval.engine import ChatMessage, Engine, LLMCall, LLMResult, extract_json, run_blocking
from rubric_eval.errors import INTERRUPTED, EvaluationInterrupted, InputError
from rubric_eval.records import CriterionGrade, JudgeIssues, Record, Rubric
from rubric_eval.reporting.scoring import instruction_score, level_scores
from rubric_eval.steps._bookkeeping import bookkeeping_fields, call_count_fields, not_sent, sum_results
from rubric_eval.trust import Aggregate, JudgeSample, combine_grades

DEFAULT_TEMPLATE = "evaluate/v2"
ANSWER_MODEL_NAME = "RubricGrading"
REASON_MISSING = "the judge did not grade this criterion"


def _close_schema(schema: dict[str, Any], cls: Any) -> None:
    # Every criterion is required and nothing else is allowed, so a schema-valid answer is complete.
    # Validation itself stays lenient (defaults, extra keys) so partial answers can be salvaged.
    schema["required"] = list(schema.get("properties", {}))
    schema["additionalProperties"] = False
    for prop in schema.get("properties", {}).values():
        prop.pop("default", None)


def _criterion_schema(levels: Sequence[str]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {
            "feedback": {
                "type": "string",
                "description": "Evidence first (quote or point to the answer), then why this level fits.",
            },
            "level": {"type": "string", "enum": list(levels), "description": "The matching level."},
        },
        "required": ["feedback", "level"],
        "additionalProperties": False,
    }


class RubricGrading(BaseModel):
    """The judge's answer as validated: any JSON object. Criteria and levels are checked by
    `answer_problem` against the rubric (re-ask) and `interpret_answer` (salvage), so one lenient
    model serves every rubric and the per-rubric part is only the JSON schema sent to the judge."""

    model_config = ConfigDict(extra="allow")


def answer_schema(rubric: Rubric) -> dict[str, Any]:
    """The JSON schema the judge must answer in for one rubric: the schema of `answer_model`,
    written directly (pydantic's generator costs milliseconds per rubric; cache keys include it)."""
    item = _criterion_schema(rubric.levels)
    return {
        "additionalProperties": False,
        "properties": {name: {**item, "title": name} for name in rubric.names},
        "required": list(rubric.names),
        "title": ANSWER_MODEL_NAME,
        "type": "object",
    }


def answer_model(rubric: Rubric) -> type[BaseModel]:
    """The judge's answer model for one rubric: one required object per criterion (feedback, then level)."""
    criterion_schema = _criterion_schema(rubric.levels)
    fields: dict[str, Any] = {
        f"criterion_{i}": (
            Annotated[Any, WithJsonSchema({**criterion_schema, "title": row.criterion})],
            Field(default=None, alias=row.criterion),
        )
        for i, row in enumerate(rubric.criteria)
    }
    model: type[BaseModel] = create_model(
        ANSWER_MODEL_NAME,
        __config__=ConfigDict(extra="allow", json_schema_extra=_close_schema),
        **fields,
    )
    return model


def _grade(
    *,
    criterion: str,
    status: Literal["scored", "unscored"],
    level: str | None = None,
    score: float | None = None,
    feedback: str = "",
    reason: str | None = None,
) -> CriterionGrade:
    # Every field passed explicitly, so that written records carry all keys (dumps skip unset fields).
    return CriterionGrade(
        criterion=criterion, status=status, level=level, score=score, feedback=feedback, reason=reason
    )


def _norm(name: str) -> str:
    return " ".join(name.casefold().split())


def _answer_dict(value: Any) -> dict[str, Any] | None:
    if isinstance(value, RubricGrading) and value.__pydantic_extra__ is not None:
        value = value.__pydantic_extra__  # its keys are the answer's (read only, never changed here)
    elif isinstance(value, BaseModel):
        value = value.model_dump(by_alias=True)
    if not isinstance(value, dict):
        return None
    return {str(k): v for k, v in value.items() if v is not None}


def interpret_answer(
    rubric: Rubric, answer: Any, *, missing_reason: str = REASON_MISSING
) -> tuple[list[CriterionGrade], JudgeIssues]:
    """Turn a judge's answer (a dict or the answer model) into one grade per rubric criterion.

    Keys match criterion names exactly, else ignoring case and spacing. Criteria absent or without
    a usable level are unscored with the reason; keys matching no criterion are reported as invented.
    """
    data = _answer_dict(answer)
    issues = JudgeIssues()
    if data is None:
        issues.error = f"the answer is not a JSON object (got {type(answer).__name__})"
        issues.missing_criteria = list(rubric.names)
        return [_grade(criterion=c, status="unscored", reason=issues.error) for c in rubric.names], issues
    scores = level_scores(rubric.levels)
    by_norm_level = {_norm(level): level for level in rubric.levels}
    unused = dict(data)
    grades: list[CriterionGrade] = []
    for name in rubric.names:
        key = name if name in unused else next((k for k in unused if _norm(k) == _norm(name)), None)
        item = unused.pop(key) if key is not None else None
        if not isinstance(item, dict) or not isinstance(item.get("level"), str):
            issues.missing_criteria.append(name)
            feedback = item.get("feedback") if isinstance(item, dict) else None
            grades.append(
                _grade(
                    criterion=name,
                    status="unscored",
                    feedback=feedback if isinstance(feedback, str) else "",
                    reason=missing_reason if item is None else f"{missing_reason} (no level given)",
                )
            )
            continue
        feedback = item.get("feedback")
        feedback = feedback if isinstance(feedback, str) else ("" if feedback is None else str(feedback))
        given = item["level"]
        level = given if given in scores else by_norm_level.get(_norm(given))
        if level is None:
            issues.unknown_levels[name] = given
            grades.append(
                _grade(
                    criterion=name,
                    status="unscored",
                    feedback=feedback,
                    reason=f"unknown level {given!r}; expected one of {rubric.levels}",
                )
            )
            continue
        grades.append(
            _grade(criterion=name, status="scored", level=level, score=scores[level], feedback=feedback)
        )
    issues.invented_criteria = sorted(unused)
    return grades, issues


def answer_problem(rubric: Rubric, answer: Any) -> str | None:
    """The re-ask message for an answer that misses criteria or uses unknown levels, else None.

    Invented criteria alone do not trigger a re-ask: they are dropped and counted.
    """
    graded = interpret_answer(rubric, answer)
    problem = _problem(rubric, graded[1])
    if problem is None:
        _accepted.keep(rubric, answer, graded)
    return problem


def _problem(rubric: Rubric, issues: JudgeIssues) -> str | None:
    parts = []
    if issues.missing_criteria:
        parts.append("grade every criterion; missing: " + ", ".join(map(json.dumps, issues.missing_criteria)))
    if issues.unknown_levels:
        parts.append(
            "use only the levels "
            + ", ".join(map(json.dumps, rubric.levels))
            + "; got "
            + ", ".join(f"{json.dumps(c)}: {json.dumps(lv)}" for c, lv in issues.unknown_levels.items())
        )
    if not parts:
        return None
    return "; ".join(parts) + ". Use the criterion names exactly as keys"


def _rubric_rows(rubric: Rubric) -> list[dict[str, Any]]:
    normalized = rubric.normalized()
    return [
        {
            "name_cell": escape_cell(row.criterion, html=False),
            "name_json": json.dumps(row.criterion, ensure_ascii=False),
            "weight": round(row.weight, 2),
            "descriptions": [
                escape_cell(row.performance_to_description[lv], html=False) for lv in rubric.levels
            ],
        }
        for row in normalized.criteria
    ]


def judge_messages(template: PromptTemplate, record: Record) -> list[ChatMessage]:
    """Render the judge prompt for one record (which must have a rubric and an output)."""
    assert record.rubric is not None
    return JudgePrompts(template).messages(record, RubricPlan.build(record.rubric))


class JudgePrompts:
    """Judge prompts, with the blocks that do not read the answer (system, instruction, rubric,
    reference, how to grade: most of the prompt) rendered once per (instruction, reference, rubric)
    and only the answer's block per answer: the text is exactly the whole template's render.

    Bounded: a file's answers to one instruction may be far apart (one model after another), so the
    shared blocks of up to ``limit`` instructions are kept (a few MB for hundreds of rubrics)."""

    def __init__(self, template: PromptTemplate, limit: int = 1024) -> None:
        self.template = template
        self.limit = limit
        self._shared_roles = template.roles_without("answer")
        self._rest = tuple(r for r in ROLES if r not in self._shared_roles)
        self._shared: dict[tuple[str, str | None, RubricPlan], dict[str, str]] = {}

    def messages(self, record: Record, plan: RubricPlan) -> list[ChatMessage]:
        assert record.output is not None
        reference = record.excellent_response or None
        variables = {
            "instruction": record.instruction,
            "answer": record.output,
            "reference": reference,
            "levels": plan.rubric.levels,
            "levels_json": plan.levels_json,
            "criteria": plan.rows,
        }
        key = (record.instruction, reference, plan)
        shared = self._shared.get(key)
        if shared is None:
            if len(self._shared) >= self.limit:
                self._shared.clear()
            shared = self._shared[key] = self.template.render_blocks(self._shared_roles, variables)
        texts = {**shared, **self.template.render_blocks(self._rest, variables)}
        return [ChatMessage.model_validate(m) for m in self.template.assemble(texts)]


@dataclass(frozen=True, eq=False)
class RubricPlan:
    """What every answer graded against one rubric shares, built once per distinct rubric:
    the answer's JSON schema (one object, so providers can memoise per schema), the prompt's
    rubric rows and the re-ask check. A job grades tens of models against the same rubrics."""

    rubric: Rubric
    schema: dict[str, Any]
    rows: list[dict[str, Any]]
    levels_json: list[str]

    @classmethod
    def build(cls, rubric: Rubric) -> RubricPlan:
        return cls(
            rubric=rubric,
            schema=answer_schema(rubric),
            rows=_rubric_rows(rubric),
            levels_json=[json.dumps(lv, ensure_ascii=False) for lv in rubric.levels],
        )

    def check(self, answer: Any) -> str | None:
        return answer_problem(self.rubric, answer)


def rubric_key(rubric: Rubric) -> tuple[Any, ...]:
    """A hashable identity of a rubric's content (records of different models carry equal copies)."""
    return tuple(
        (row.criterion, row.weight, tuple(row.performance_to_description.items())) for row in rubric.criteria
    )


class RubricPlans:
    """Plans by rubric content; one per distinct rubric, reused for every answer graded against it."""

    def __init__(self) -> None:
        self._plans: dict[tuple[Any, ...], RubricPlan] = {}

    def get(self, rubric: Rubric) -> RubricPlan:
        key = rubric_key(rubric)
        plan = self._plans.get(key)
        if plan is None:
            plan = self._plans[key] = RubricPlan.build(rubric)
        return plan


def _generation_error(record: Record) -> str | None:
    """Why the model produced no output (``output_error`` from generate_outputs), if that is the case."""
    error = record.output_error
    return error if record.output is None and error else None


def _check_gradable(record: Record, index: int, source: str) -> None:
    if record.rubric is None:
        raise InputError(
            "no rubric to grade against (run `rubric_eval generate_rubrics` first, or add a 'rubric')",
            path=source,
            index=index,
            record_id=record.id,
            field="rubric",
        )
    if record.output is None and _generation_error(record) is None:
        raise InputError(
            "no model output to grade (expected the answer in 'output' or 'outputs'; "
            "run `rubric_eval generate_outputs` first)",
            path=source,
            index=index,
            record_id=record.id,
            field="output",
        )


class _AcceptedAnswers:
    """The interpretation of each answer the re-ask check accepted, until its record takes it: the
    check (in the engine) and the grading would otherwise interpret every answer twice. Entries hold
    their answer, so an id is not reused while its entry lives; bounded, since a call that fails
    after its check (e.g. the run is stopped) never takes its entry."""

    def __init__(self, limit: int = 4096) -> None:
        self.limit = limit
        self._entries: dict[int, tuple[Any, Rubric, tuple[list[CriterionGrade], JudgeIssues]]] = {}

    def keep(self, rubric: Rubric, answer: Any, graded: tuple[list[CriterionGrade], JudgeIssues]) -> None:
        if len(self._entries) >= self.limit:
            self._entries.clear()
        self._entries[id(answer)] = (answer, rubric, graded)

    def take(self, rubric: Rubric, answer: Any) -> tuple[list[CriterionGrade], JudgeIssues] | None:
        entry = self._entries.pop(id(answer), None)
        if entry is None or entry[0] is not answer:
            return None
        # The interpretation depends on the criteria names and the levels only (records of several
        # models carry equal copies of a rubric; comparing whole rubrics would cost what it saves).
        kept = entry[1]
        if kept is not rubric and (kept.names != rubric.names or kept.levels != rubric.levels):
            return None
        return entry[2]


_accepted = _AcceptedAnswers()


def _grades_from_result(rubric: Rubric, result: LLMResult[Any]) -> tuple[list[CriterionGrade], JudgeIssues]:
    if result.ok:
        return _accepted.take(rubric, result.value) or interpret_answer(rubric, result.value)
    reason = result.error or "the judge call failed"
    # Salvage what a failed (e.g. still incomplete after re-asks) answer did grade.
    if result.text:
        try:
            data = extract_json(result.text)
        except ValueError:
            data = None
        if isinstance(data, dict):
            # The answer was usable in part: not a failed call; its gaps are unscored with the reason.
            missing_reason = f"{REASON_MISSING} (after {result.attempts} attempt(s))"
            return interpret_answer(rubric, data, missing_reason=missing_reason)
    grades = [_grade(criterion=c, status="unscored", reason=reason) for c in rubric.names]
    return grades, JudgeIssues(missing_criteria=list(rubric.names), error=reason)


def graded_fields(rubric: Rubric, grades: list[CriterionGrade]) -> dict[str, Any]:
    """The per-record result fields derived from grades (seed README's names plus ours)."""
    weights = {row.criterion: row.weight for row in rubric.criteria}
    summary = instruction_score([(weights[g.criterion], g.score) for g in grades])
    return {
        "grades": grades,
        "feedback_per_criteria": {g.criterion: g.feedback for g in grades},
        "score_per_criteria": {g.criterion: g.score for g in grades},
        "level_per_criteria": {g.criterion: g.level for g in grades},
        "score": summary.score,
        "fraction_scored": summary.fraction_scored_by_weight,
        "fraction_criteria_scored": summary.fraction_scored_by_count,
    }


def combine_issues(grades: Sequence[CriterionGrade], issues: Sequence[JudgeIssues]) -> JudgeIssues:
    """The issues of several gradings of one answer: what the combined grading still misses, all drops."""
    unknown: dict[str, str] = {}
    for item in issues:
        unknown.update(item.unknown_levels)
    errors = [item.error for item in issues if item.error]
    return JudgeIssues(
        missing_criteria=[g.criterion for g in grades if g.status == "unscored"],
        invented_criteria=sorted({c for item in issues for c in item.invented_criteria}),
        unknown_levels=unknown,
        error=errors[0] if errors and len(errors) == len(issues) else None,
    )


def _sample_field(
    repeat: int, rubric: Rubric, grades: list[CriterionGrade], issues: JudgeIssues
) -> JudgeSample:
    fields = graded_fields(rubric, grades)
    sample = JudgeSample(
        repeat=repeat,
        score=fields["score"],
        level_per_criteria=fields["level_per_criteria"],
        error=issues.error,
    )
    return sample


def _grading_update(
    rubric: Rubric, results: list[LLMResult[Any]], aggregate: Aggregate
) -> tuple[list[CriterionGrade], JudgeIssues, dict[str, Any]]:
    """Grades, issues and extra fields of one answer from its judge call(s); repeats are combined,
    and their calls counted (`call_count_fields`)."""
    graded = [_grades_from_result(rubric, result) for result in results]
    if len(graded) == 1:
        return graded[0][0], graded[0][1], {}
    calls = call_count_fields("evaluation", results, [i.error is not None for _, i in graded])
    grades = combine_grades(
        rubric.names, rubric.levels, level_scores(rubric.levels), [g for g, _ in graded], aggregate
    )
    issues = combine_issues(grades, [i for _, i in graded])
    samples = [_sample_field(r, rubric, g, i) for r, (g, i) in enumerate(graded)]
    return grades, issues, {"judge_samples": samples, "judge_aggregate": aggregate, **calls}


def _graded_record(
    record: Record, config: AnnotatorConfig, answers: list[LLMResult[Any]], aggregate: Aggregate
) -> Record:
    assert record.rubric is not None
    if len(answers) > 1:
        stop = next((a for a in answers if not_sent(a)), None)
        if stop is not None:  # --max_cost kept a repeat back: not graded as asked (a rerun finishes it)
            return _stopped_record(record, config, aggregate, stop, answers)
    grades, issues, extra = _grading_update(record.rubric, answers, aggregate)
    update = {
        **graded_fields(record.rubric, grades),
        "evaluator": config.name,
        # Every field set, so all are written (the interpretation's lists are not used after this).
        "judge_issues": JudgeIssues.model_construct(**dict(issues)),
        **extra,
        **bookkeeping_fields("evaluation", sum_results(answers)),
    }
    return record.model_copy(update=update)


def graded_record(
    record: Record, config: AnnotatorConfig, answers: list[LLMResult[Any]], aggregate: Aggregate
) -> Record:
    """``record`` graded from its judge call(s) ``answers`` (repeats are combined by ``aggregate``)."""
    return _graded_record(record, config, answers, aggregate)


def _not_generated(record: Record, config: AnnotatorConfig, aggregate: Aggregate) -> Record:
    # Nothing to grade: the generation failed. That is data (unscored), not a judge call.
    failed = LLMResult[Any](ok=False, error=f"no output to grade: {_generation_error(record)}")
    return _graded_record(record, config, [failed], aggregate)


def interrupted_record(
    record: Record,
    config: AnnotatorConfig,
    aggregate: Aggregate,
    *,
    index: int = 0,
    source: str = "",
    answered: Sequence[LLMResult[Any] | None] = (),
) -> Record:
    """A record whose grading Ctrl-C or SIGTERM stopped: unscored with an ``interrupted`` error (one
    whose answer failed to generate is graded as that), with the bookkeeping of the repeats that were
    ``answered``. `InputError` for a record that cannot be graded."""
    _check_gradable(record, index, source)
    if _generation_error(record) is not None:
        return _not_generated(record, config, aggregate)
    stopped = LLMResult[Any](ok=False, error=f"{INTERRUPTED}: the run was stopped before this call")
    return _stopped_record(record, config, aggregate, stopped, answered)


def _stopped_record(
    record: Record,
    config: AnnotatorConfig,
    aggregate: Aggregate,
    stop: LLMResult[Any],
    answered: Sequence[LLMResult[Any] | None],
) -> Record:
    """Unscored with ``stop``'s error (an interrupt, a budget stop), with the bookkeeping of the
    calls that were ``answered`` (they were paid for)."""
    out = _graded_record(record, config, [stop], aggregate)
    done = [a for a in answered if a is not None and not not_sent(a)]
    if not done:
        return out
    assert record.rubric is not None
    failed = [_grades_from_result(record.rubric, a)[1].error is not None for a in done]
    costs = {
        **bookkeeping_fields("evaluation", sum_results(done)),
        **call_count_fields("evaluation", done, failed),
    }
    return out.model_copy(update=costs)


async def agrade(
    items: Iterable[tuple[int, Record]],
    emit: Callable[[int, Record], None],
    *,
    config: AnnotatorConfig,
    engine: Engine,
    source: str = "records",
    n_judge_samples: int = 1,
    aggregate: Aggregate = "mean",
    total: int | None = None,
) -> None:
    """Grade ``(index, record)`` pairs as they are drawn from ``items`` (a lazy iterable is read only
    as far as the engine's window) and hand each graded record to ``emit`` as soon as its judge
    call(s) are back, in completion order. A record that cannot be graded raises `InputError` once
    the calls already started have finished. ``total``: the number of judge calls, when known."""
    if n_judge_samples < 1:
        raise ValueError(f"n_judge_samples must be >= 1, got {n_judge_samples}")
    template = load_template(config.template or DEFAULT_TEMPLATE)
    prompts = JudgePrompts(template)
    plans = RubricPlans()
    # record index -> (record, its answers so far); call index -> (record index, repeat)
    waiting: dict[int, tuple[Record, list[LLMResult[Any] | None]]] = {}
    owner: dict[int, tuple[int, int]] = {}

    def calls() -> Iterator[LLMCall[Any]]:
        drawn = 0
        for index, record in items:
            _check_gradable(record, index, source)
            assert record.rubric is not None
            if _generation_error(record) is not None:
                emit(index, _not_generated(record, config, aggregate))
                continue
            plan = plans.get(record.rubric)
            messages = prompts.messages(record, plan)
            waiting[index] = (record, [None] * n_judge_samples)
            for repeat in range(n_judge_samples):
                owner[drawn] = (index, repeat)
                drawn += 1
                yield LLMCall(
                    config=config,
                    messages=messages,
                    output_type=RubricGrading,
                    template_key=template.version_key,
                    repeat_index=repeat,
                    check=plan.check,
                    label=f"record {index} (id={record.record_id})"
                    + (f" sample {repeat + 1}" if n_judge_samples > 1 else ""),
                    response_schema=plan.schema,
                )

    description = f"evaluate ({config.name})"
    try:
        async for call_index, result in engine.astream(calls(), description=description, total=total):
            index, repeat = owner.pop(call_index)
            record, answers = waiting[index]
            answers[repeat] = result
            if all(a is not None for a in answers):
                del waiting[index]
                emit(index, _graded_record(record, config, [a for a in answers if a is not None], aggregate))
    except asyncio.CancelledError:  # Ctrl-C / SIGTERM: repeats that came back were paid for: counted
        for index, (record, answers) in waiting.items():
            if any(a is not None for a in answers):
                emit(index, interrupted_record(record, config, aggregate, answered=answers))
        raise


def _by_instruction(records: list[Record]) -> list[tuple[int, Record]]:
    """(index, record) pairs with the answers to one instruction next to each other, in first-seen
    order: sent together, they find the shared block (instruction, rubric, reference, how to grade)
    in the provider's prompt cache. Results are placed by index, so outputs keep their order."""
    first_seen: dict[str, int] = {}
    pairs = list(enumerate(records))
    pairs.sort(key=lambda pair: first_seen.setdefault(pair[1].instruction, len(first_seen)))
    return pairs


def evaluate_records(
    records: Sequence[Record],
    *,
    config: AnnotatorConfig,
    engine: Engine | None = None,
    source: str = "records",
    n_judge_samples: int = 1,
    aggregate: Aggregate = "mean",
) -> list[Record]:
    """Grade validated records with one judge call each; return new records with the grading fields.

    With ``n_judge_samples`` k > 1 the judge grades each answer k times (the repeat index is part of
    the cache key); the grades are combined by ``aggregate`` (`rubric_eval.trust.combine_grades`)
    and each repeat's score and levels are kept in ``judge_samples``.
    """
    if n_judge_samples < 1:
        raise ValueError(f"n_judge_samples must be >= 1, got {n_judge_samples}")
    records = list(records)
    for index, record in enumerate(records):
        _check_gradable(record, index, source)  # every record, before any call
    out: list[Record | None] = [None] * len(records)

    def emit(index: int, record: Record) -> None:
        out[index] = record

    n_calls = n_judge_samples * sum(_generation_error(r) is None for r in records)
    if n_calls:
        try:
            run_blocking(
                agrade(
                    _by_instruction(records),
                    emit,
                    config=config,
                    engine=engine or Engine(),
                    source=source,
                    n_judge_samples=n_judge_samples,
                    aggregate=aggregate,
                    total=n_calls,
                )
            )
        except KeyboardInterrupt:
            # What was graded before Ctrl-C / SIGTERM is kept; the rest is unscored, "interrupted".
            raise EvaluationInterrupted(
                [
                    done if done is not None else interrupted_record(record, config, aggregate)
                    for record, done in zip(records, out, strict=True)
                ]
            ) from None
    else:
        for index, record in enumerate(records):
            emit(index, _not_generated(record, config, aggregate))
    assert all(r is not None for r in out), "every record is graded once"
    return cast(list[Record], out)


def evaluate(
    records: RecordsLike,
    *,
    evaluator: str | AnnotatorConfig | None = None,
    engine: Engine | None = None,
    max_instances: int | None = None,
    n_judge_samples: int = 1,
    aggregate: Aggregate = "mean",
) -> Any:
    """Grade each record's ``output`` against its ``rubric`` with an LLM judge.

    Adds ``grades``, ``feedback_per_criteria``, ``score_per_criteria``, ``level_per_criteria``,
    ``score`` (1-10, None when nothing was scored), ``fraction_scored``, ``evaluator``,
    ``judge_issues`` and ``evaluation_*`` bookkeeping. Returns the same kind as ``records``
    (list of dicts, list of `Record`, or DataFrame); ``max_instances`` keeps the first N records.
    ``n_judge_samples`` > 1 grades each answer that many times, combined by ``aggregate``
    (``judge_samples`` keeps each repeat). A panel of judges: `rubric_eval.steps.panel.evaluate_panel`.
    """
    items, convert_back = to_records(records)
    if max_instances is not None:
        items = items[:max_instances]
    config = resolve_config("evaluator", evaluator)
    graded = evaluate_records(
        items, config=config, engine=engine, n_judge_samples=n_judge_samples, aggregate=aggregate
    )
    return convert_back(graded)

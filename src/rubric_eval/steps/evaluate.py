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
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, cast

from rubric_eval._api_edge import RecordsLike, to_records
from rubric_eval._config import AnnotatorConfig, resolve_config
from rubric_eval._templates import load_template
from rubric_eval.engine import Engine, LLMCall, LLMResult, extract_json, run_blocking
from rubric_eval.errors import INTERRUPTED, EvaluationInterrupted, InputError
from rubric_eval.records import CriterionGrade, JudgeIssues, Record, Rubric
from rubric_eval.reporting.scoring import instruction_score, level_scores
from rubric_eval.steps._bookkeeping import bookkeeping_fields, call_count_fields, not_sent, sum_results
from rubric_eval.steps._judge import (
    REASON_MISSING,
    JudgePrompts,
    RubricGrading,
    RubricPlans,
    _accepted,
    _grade,
    interpret_answer,
)
from rubric_eval.steps._judge import _AcceptedAnswers as _AcceptedAnswers  # re-exported for tests
from rubric_eval.steps._judge import answer_model as answer_model  # re-exported: the public helpers
from rubric_eval.steps._judge import answer_schema as answer_schema
from rubric_eval.steps._judge import judge_messages as judge_messages
from rubric_eval.trust import Aggregate, JudgeSample, combine_grades

DEFAULT_TEMPLATE = "evaluate/v2"


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

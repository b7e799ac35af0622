"""The judge's side of grading, built once per distinct rubric: the answer's JSON schema, the
judge prompt (its shared blocks rendered once per instruction), and the interpretation of an answer
into one grade per criterion, lenient so that a partial answer is salvaged criterion by criterion.
`rubric_eval.steps.evaluate` drives the calls and writes the records."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema, create_model

from rubric_eval._templates import ROLES, PromptTemplate
from rubric_eval._text import escape_cell
from rubric_eval.engine import ChatMessage
from rubric_eval.records import CriterionGrade, JudgeIssues, Record, Rubric
from rubric_eval.reporting.scoring import level_scores

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

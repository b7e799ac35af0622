"""The LLM in the Studio: suggestions the expert accepts or rejects, and pilot grades.

Everything goes through the CLI's steps, configs, engine and cache: a suggestion for one criterion or
one cell is the rubric generator's call on the current criteria (the prompt the CLI would send), of which
only that row or cell is offered; "another suggestion" asks again with the next ``repeat_index``, which
is cached separately like repeated judging. Pilot grades are `evaluate_records` on the unsaved rubric.
"""

from __future__ import annotations

import asyncio
import dataclasses
import difflib
import secrets
from typing import Any, Literal, cast

from pydantic import BaseModel, ConfigDict, Field

from rubric_eval import (
    AnnotatorConfig,
    BrainstormCriterion,
    BrainstormedRubric,
    CriterionGrade,
    Record,
    Rubric,
)
from rubric_eval.engine import Engine, EngineSettings
from rubric_eval.steps.brainstorm import BrainstormAnswer, brainstorm_call, to_brainstormed_rubric
from rubric_eval.steps.evaluate import evaluate_records
from rubric_eval.steps.rubrics import rubric_call, to_rubric
from rubric_eval.studio._store import AcceptedDraft

MAX_PILOT_ANSWERS = 10


class AssistError(Exception):
    """The LLM call failed or the request cannot be served; the message is shown to the expert."""


class SuggestRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    index: int = Field(ge=0)
    field: Literal["rubric", "brainstormed_rubric"] = "rubric"
    value: Any = Field(description="The rubric or brainstorm as currently edited (unsaved).")
    criterion: str
    level: str | None = Field(default=None, description="Only this cell; None for the whole criterion.")
    guidance: str = Field(default="", max_length=4000)
    attempt: int = Field(default=0, ge=0, le=1000)


class Suggestion(BaseModel):
    id: str
    criterion: str
    level: str | None
    row: dict[str, Any] | None = None
    text: str | None = None
    config: str
    cached: bool


class PilotRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    index: int = Field(ge=0)
    rubric: Any
    answers: list[str] = Field(min_length=1, max_length=MAX_PILOT_ANSWERS)


class PilotResult(BaseModel):
    answer_index: int
    score: float | None
    fraction_scored: float | None
    grades: list[CriterionGrade]
    error: str | None = None
    invented_criteria: list[str] = Field(default_factory=list)


class Assistant:
    """Runs the Studio's LLM calls with the command's configs and engine settings (and so its cache)."""

    def __init__(
        self,
        *,
        brainstormer: AnnotatorConfig,
        rubric_generator: AnnotatorConfig,
        evaluator: AnnotatorConfig,
        settings: EngineSettings,
    ) -> None:
        self.brainstormer = brainstormer
        self.rubric_generator = rubric_generator
        self.evaluator = evaluator
        self.settings = settings.model_copy(update={"progress": "quiet"})
        self.drafts: dict[str, AcceptedDraft] = {}

    def _engine(self) -> Engine:
        # One engine per request: an engine closes its provider connections when a run ends, so two
        # concurrent requests must not share one. The cache is the same SQLite file either way.
        return Engine(self.settings)

    async def _rubric_answer(self, record: Record, levels: tuple[str, ...], attempt: int) -> tuple[Any, bool]:
        call = dataclasses.replace(
            rubric_call(record, self.rubric_generator, levels),
            repeat_index=attempt,
            label="studio suggestion",
        )
        (result,) = await self._engine().arun([call], description="studio suggestion")
        if not result.ok:
            raise AssistError(f"the rubric generator ({self.rubric_generator.name}) failed: {result.error}")
        return result.value, result.cached

    async def suggest(self, record: Record, request: SuggestRequest) -> Suggestion:
        """A new text for one criterion (or one cell) of the rubric, or one checklist of the brainstorm."""
        if request.field == "brainstormed_rubric":
            return await self._suggest_checklist(record, request)
        rubric = Rubric.model_validate(request.value)
        if request.criterion not in rubric.names:
            raise AssistError(f"no criterion {request.criterion!r} in the rubric")
        if request.level is not None and request.level not in rubric.levels:
            raise AssistError(f"no level {request.level!r} in the rubric")
        brainstorm = _brainstorm_for(rubric, record.brainstormed_rubric)
        notes = record.useful_info_to_eval_instruction or ""
        if request.guidance.strip():
            target = f"criterion {request.criterion!r}" + (
                f", level {request.level!r}" if request.level else ""
            )
            notes = f"{notes}\n\nThe reviewer asks, about {target}: {request.guidance.strip()}".strip()
        asking = record.model_copy(
            update={"brainstormed_rubric": brainstorm, "useful_info_to_eval_instruction": notes or None}
        )
        # Attempt 0 of the unchanged criteria is the call that wrote the draft (a cache hit giving the
        # draft back); suggestions start at the next repeat.
        answer, cached = await self._rubric_answer(asking, tuple(rubric.levels), request.attempt + 1)
        generated = to_rubric(answer, brainstorm, rubric.levels)
        row = next(r for r in generated.criteria if r.criterion == request.criterion)
        current = next(r for r in rubric.criteria if r.criterion == request.criterion)
        row = row.model_copy(update={"weight": current.weight})
        return Suggestion(
            id=secrets.token_hex(8),
            criterion=request.criterion,
            level=request.level,
            row=row.model_dump(mode="json") if request.level is None else None,
            text=row.performance_to_description[request.level] if request.level is not None else None,
            config=self.rubric_generator.name,
            cached=cached,
        )

    async def _suggest_checklist(self, record: Record, request: SuggestRequest) -> Suggestion:
        """The brainstormer's checklist for one criterion: its whole brainstorm, asked to keep that name."""
        brainstorm = BrainstormedRubric.model_validate(request.value)
        current = next((row for row in brainstorm.root if row.criterion == request.criterion), None)
        if current is None:
            raise AssistError(f"no criterion {request.criterion!r} in the brainstorm")
        ask = (
            f"The reviewer is revising the criterion {request.criterion!r}: include a criterion with exactly "
            "this name and give it a complete checklist."
        )
        if request.guidance.strip():
            ask += f" The reviewer asks: {request.guidance.strip()}"
        notes = f"{record.useful_info_to_eval_instruction or ''}\n\n{ask}".strip()
        asking = record.model_copy(update={"useful_info_to_eval_instruction": notes})
        call = dataclasses.replace(
            brainstorm_call(asking, self.brainstormer),
            repeat_index=request.attempt,
            label="studio suggestion",
        )
        (result,) = await self._engine().arun([call], description="studio suggestion")
        if not result.ok:
            raise AssistError(f"the brainstormer ({self.brainstormer.name}) failed: {result.error}")
        rows = to_brainstormed_rubric(cast(BrainstormAnswer, result.value))[0].root
        match = _closest(request.criterion, [row.criterion for row in rows])
        return Suggestion(
            id=secrets.token_hex(8),
            criterion=request.criterion,
            level=None,
            row={
                "criterion": request.criterion,
                "weight": current.weight,
                "checklist": rows[match].checklist,
                "llm_criterion": rows[match].criterion,
            },
            config=self.brainstormer.name,
            cached=result.cached,
        )

    async def draft_rubric(self, record: Record, levels: tuple[str, ...]) -> tuple[str, dict[str, Any]]:
        """The full rubric from the record's (approved) brainstorm, as the CLI would write it."""
        brainstorm = record.brainstormed_rubric
        if brainstorm is None:
            raise AssistError("this instruction has no brainstormed rubric to draft the rubric from")
        answer, cached = await self._rubric_answer(record, levels, 0)
        rubric = to_rubric(answer, brainstorm, levels)
        excellent = str(getattr(answer, "excellent_response", "")).strip()
        draft_id = secrets.token_hex(8)
        extra: list[tuple[str, Any]] = [("rubric_generator", self.rubric_generator.name)]
        if record.excellent_response is None and excellent:
            extra.append(("excellent_response", excellent))
        self.drafts[draft_id] = AcceptedDraft(
            field="rubric",
            value=rubric.model_dump(mode="json"),
            config=self.rubric_generator.name,
            input_value=brainstorm,
            extra_fields=tuple(extra),
        )
        return draft_id, {
            "draft_id": draft_id,
            "rubric": rubric.model_dump(mode="json"),
            "excellent_response": excellent,
            "config": self.rubric_generator.name,
            "cached": cached,
        }

    async def pilot(self, record: Record, request: PilotRequest) -> list[PilotResult]:
        """Grade each answer against the rubric being edited, with the command's judge."""
        rubric = Rubric.model_validate(request.rubric)
        records = [
            Record(
                instruction=record.instruction,
                id=record.id,
                rubric=rubric,
                output=answer,
                excellent_response=record.excellent_response,
            )
            for answer in request.answers
        ]
        engine = self._engine()
        graded = await asyncio.to_thread(evaluate_records, records, config=self.evaluator, engine=engine)
        out = []
        for i, result in enumerate(graded):
            issues = result.judge_issues
            out.append(
                PilotResult(
                    answer_index=i,
                    score=result.score,
                    fraction_scored=result.fraction_scored,
                    grades=result.grades or [],
                    error=issues.error if issues is not None else None,
                    invented_criteria=list(issues.invented_criteria) if issues is not None else [],
                )
            )
        return out


def _closest(name: str, names: list[str]) -> int:
    """Index of the name equal to `name` ignoring case, else the most similar one."""
    key = name.casefold().strip()
    for i, other in enumerate(names):
        if other.casefold().strip() == key:
            return i
    ratios = [difflib.SequenceMatcher(None, key, other.casefold()).ratio() for other in names]
    return max(range(len(names)), key=ratios.__getitem__)


def _brainstorm_for(rubric: Rubric, brainstorm: BrainstormedRubric | None) -> BrainstormedRubric:
    """The current criteria as a brainstorm (names, weights), with the brainstorm's checklists by name."""
    checklists = {row.criterion: row.checklist for row in brainstorm.root} if brainstorm else {}
    return BrainstormedRubric(
        [
            BrainstormCriterion(
                criterion=row.criterion, weight=row.weight, checklist=checklists.get(row.criterion, [])
            )
            for row in rubric.criteria
        ]
    )

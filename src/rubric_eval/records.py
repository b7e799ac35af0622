"""Typed records for every step of the pipeline.

Every JSON record read or written goes through these pydantic models. Records
allow extra fields so that a step adds fields and never drops the user's.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    RootModel,
    field_validator,
    model_validator,
)

DEFAULT_LEVELS: tuple[str, ...] = ("excellent", "good", "fair", "poor")
# Canonical weights sum to 100; a sum this close is left as written (rounding in hand-written files).
WEIGHT_TOLERANCE = 0.5
# Weights are percentages; far larger ones overflow weighted sums to inf and scores to NaN.
MAX_WEIGHT = 1e12


def weights_to_100(
    weights: Sequence[float], *, tolerance: float | None = None, ndigits: int | None = None
) -> list[float]:
    """Weights rescaled to sum to 100: the one normalisation of brainstorms, rubrics and scoring.

    With ``tolerance`` (`WEIGHT_TOLERANCE` for files people write) a sum that close to 100 is kept as
    written; ``ndigits`` rounds the result (readable weights for experts who edit them). Raises
    `ValueError` when the weights do not sum to more than 0.
    """
    total = sum(weights)
    if not total > 0:
        raise ValueError(f"the weights sum to {total:g}; they must sum to more than 0")
    if tolerance is not None and abs(total - 100.0) <= tolerance:
        scaled = list(weights)
    else:
        scaled = [w * 100.0 / total for w in weights]
    return scaled if ndigits is None else [round(w, ndigits) for w in scaled]


def _check_weight(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ValueError(f"weight must be a non-negative number, got {value!r}")
    try:
        weight = float(value)
    except ValueError:
        raise ValueError(f"weight must be a non-negative number, got {value!r}") from None
    if math.isnan(weight) or math.isinf(weight) or weight < 0:
        raise ValueError(f"weight must be a non-negative number, got {value!r}")
    if weight > MAX_WEIGHT:
        raise ValueError(f"weight {value!r} is too large (weights are percentages; at most {MAX_WEIGHT:g})")
    return weight


class Criterion(BaseModel):
    """One row of a rubric: a named criterion, its weight, and its levels best first."""

    model_config = ConfigDict(extra="forbid")

    criterion: str = Field(min_length=1, description="Name of the instruction-specific criterion.")
    weight: float = Field(description="Relative weight (percent in canonical files).")
    performance_to_description: dict[str, str] = Field(
        description="Level name -> what an answer at that level looks like, best level first."
    )

    @field_validator("criterion")
    @classmethod
    def _strip_name(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("criterion name must not be empty")
        return value

    @field_validator("weight", mode="before")
    @classmethod
    def _weight(cls, value: Any) -> float:
        return _check_weight(value)

    @field_validator("performance_to_description")
    @classmethod
    def _levels(cls, value: dict[str, str]) -> dict[str, str]:
        if len(value) < 2:
            raise ValueError(f"a criterion needs at least 2 performance levels, got {list(value)}")
        for level, description in value.items():
            if not level.strip():
                raise ValueError("level names must not be empty")
            if not description.strip():
                raise ValueError(f"level {level!r} has an empty description")
        return value

    @property
    def levels(self) -> list[str]:
        return list(self.performance_to_description)


class Rubric(RootModel[list[Criterion]]):
    """An instruction-specific rubric: criteria x levels.

    Accepts the canonical list format (``criterion``, ``weight`` in percent,
    ``performance_to_description``) and the seed README's dict-of-dicts
    (``{criterion: {level: description}}``, equal weights).
    """

    @model_validator(mode="before")
    @classmethod
    def _from_dict_of_dicts(cls, data: Any) -> Any:
        if isinstance(data, dict):
            if not data:
                return []
            n = len(data)
            rows = []
            for name, levels in data.items():
                if not isinstance(levels, dict):
                    raise ValueError(
                        f"criterion {name!r}: expected an object of level -> description, "
                        f"got {type(levels).__name__}"
                    )
                rows.append({"criterion": name, "weight": 100.0 / n, "performance_to_description": levels})
            return rows
        return data

    @model_validator(mode="after")
    def _consistent(self) -> Rubric:
        if not self.root:
            raise ValueError("rubric is empty: expected at least one criterion")
        seen: set[str] = set()
        for row in self.root:
            if row.criterion in seen:
                raise ValueError(f"duplicate criterion name {row.criterion!r}")
            seen.add(row.criterion)
        first = self.root[0].levels
        for row in self.root[1:]:
            if row.levels != first:
                raise ValueError(
                    f"inconsistent level names: criterion {self.root[0].criterion!r} has {first}, "
                    f"criterion {row.criterion!r} has {row.levels} (every criterion must use the same "
                    "levels, best first)"
                )
        if sum(row.weight for row in self.root) <= 0:
            raise ValueError("rubric weights sum to 0: at least one criterion needs a positive weight")
        return self

    @property
    def criteria(self) -> list[Criterion]:
        return self.root

    @property
    def levels(self) -> list[str]:
        """Level names, best first."""
        return self.root[0].levels

    @property
    def names(self) -> list[str]:
        return [row.criterion for row in self.root]

    @property
    def total_weight(self) -> float:
        return sum(row.weight for row in self.root)

    def normalized(self) -> Rubric:
        """The same rubric with weights rescaled to sum to 100."""
        weights = weights_to_100([row.weight for row in self.root])
        return Rubric(
            [row.model_copy(update={"weight": w}) for row, w in zip(self.root, weights, strict=True)]
        )


class BrainstormCriterion(BaseModel):
    """A high-level criterion from rubric brainstorming."""

    model_config = ConfigDict(extra="allow")

    criterion: str = Field(min_length=1)
    weight: float
    checklist: list[str] = Field(default_factory=list)

    @field_validator("weight", mode="before")
    @classmethod
    def _weight(cls, value: Any) -> float:
        return _check_weight(value)

    @field_validator("checklist", mode="before")
    @classmethod
    def _checklist(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [line.strip(" -*\t") for line in value.splitlines() if line.strip(" -*\t")]
        return value


class BrainstormedRubric(RootModel[list[BrainstormCriterion]]):
    """A brainstormed rubric: criteria with weights and checklists, no level descriptions."""

    @model_validator(mode="after")
    def _unique(self) -> BrainstormedRubric:
        if not self.root:
            raise ValueError("brainstormed rubric is empty: expected at least one criterion")
        names = [row.criterion for row in self.root]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"duplicate criterion names {duplicates}")
        return self


GradeStatus = Literal["scored", "unscored"]


class CriterionGrade(BaseModel):
    """The judge's grade of one criterion. ``unscored`` grades keep the reason and have no score."""

    criterion: str
    status: GradeStatus
    level: str | None = None
    score: float | None = None
    feedback: str = ""
    reason: str | None = None

    @model_validator(mode="after")
    def _status_matches(self) -> CriterionGrade:
        if self.status == "scored" and (self.level is None or self.score is None):
            raise ValueError("a scored grade needs a level and a score")
        if self.status == "unscored" and self.score is not None:
            raise ValueError("an unscored grade has no score")
        return self


class Provenance(BaseModel):
    """Who wrote a brainstorm or rubric: ``llm``, ``expert`` or ``llm+expert``."""

    model_config = ConfigDict(extra="allow")

    source: Literal["llm", "expert", "llm+expert"]
    config: str | None = None
    date: str | None = None


class FieldProvenance(Provenance):
    """Provenance of one field, with what the LLM wrote (for edit detection and `rubric_eval diff`)."""

    fingerprint: str | None = Field(
        default=None, description="sha256 of the canonical JSON of what the LLM wrote."
    )
    llm_draft: Any = Field(default=None, description="What the LLM wrote, in canonical JSON form.")
    input_fingerprint: str | None = Field(
        default=None, description="Fingerprint of the input the LLM worked from (e.g. the brainstorm)."
    )


class JudgeIssues(BaseModel):
    """What was wrong with a judge's answer; written to each record as ``judge_issues``."""

    missing_criteria: list[str] = Field(default_factory=list)
    invented_criteria: list[str] = Field(default_factory=list)
    unknown_levels: dict[str, str] = Field(
        default_factory=dict, description="criterion -> the level the judge gave, which the rubric lacks"
    )
    error: str | None = Field(default=None, description="Why the call failed, when it did.")

    @property
    def empty(self) -> bool:
        return not (self.missing_criteria or self.invented_criteria or self.unknown_levels or self.error)


class JudgeSample(BaseModel):
    """One repeat of a repeated judging (``--n_judge_samples``), as kept in a record's ``judge_samples``."""

    repeat: int
    score: float | None
    level_per_criteria: dict[str, str | None] = Field(default_factory=dict)
    error: str | None = None


class PanelEntry(BaseModel):
    """One panel judge's grading of one answer (``judge_panel`` items; ``escalated`` too)."""

    evaluator: str | None = None
    score: float | None = None
    level_per_criteria: dict[str, str | None] = Field(default_factory=dict)
    price: float | None = None
    judge_samples: list[JudgeSample] = Field(default_factory=list, description="This judge's repeats.")


class Record(BaseModel):
    """One instruction and everything the pipeline added to it.

    Unknown fields are kept verbatim. ``outputs`` (seed README) is read as ``output``.
    """

    model_config = ConfigDict(extra="allow", validate_assignment=False)

    instruction: str = Field(min_length=1)
    id: int | str | None = None
    category: str | None = None
    useful_info_to_eval_instruction: str | None = None
    brainstormed_rubric: BrainstormedRubric | None = None
    rubric: Rubric | None = None
    excellent_response: str | None = None
    output: str | None = None
    model: str | None = None
    # Added by `evaluate`.
    grades: list[CriterionGrade] | None = None
    feedback_per_criteria: dict[str, str] | None = None
    score_per_criteria: dict[str, float | None] | None = None
    level_per_criteria: dict[str, str | None] | None = None
    score: float | None = None
    fraction_scored: float | None = None
    fraction_criteria_scored: float | None = None
    evaluator: str | None = None
    judge_issues: JudgeIssues | None = None
    # Added by `generate_outputs` (or the user): which dataset the instructions come from.
    dataset_name: str | None = None
    # The per-call bookkeeping each LLM step writes, under the step's field name as prefix (the original's
    # names, e.g. ``evaluation_price_per_example``): declared field by field so that readers use typed
    # attributes, not string keys. ``*_price_per_example`` is what the answer cost when it was made (None:
    # unknown price); ``*_time_per_example`` is the call's latency.
    brainstormer: str | None = None
    brainstormed_rubric_error: str | None = None
    brainstormed_rubric_price_per_example: float | None = None
    brainstormed_rubric_cost_known: bool | None = None
    brainstormed_rubric_time_per_example: float | None = None
    brainstormed_rubric_date: str | None = None
    brainstormed_rubric_version: str | None = None
    brainstormed_rubric_input_tokens: int | None = None
    brainstormed_rubric_output_tokens: int | None = None
    brainstormed_rubric_cached: bool | None = None
    brainstormed_rubric_cached_input_tokens: int | None = None
    brainstormed_rubric_params: dict[str, Any] | None = None
    rubric_generator: str | None = None
    rubric_error: str | None = None
    rubric_price_per_example: float | None = None
    rubric_cost_known: bool | None = None
    rubric_time_per_example: float | None = None
    rubric_date: str | None = None
    rubric_version: str | None = None
    rubric_input_tokens: int | None = None
    rubric_output_tokens: int | None = None
    rubric_cached: bool | None = None
    rubric_cached_input_tokens: int | None = None
    rubric_params: dict[str, Any] | None = None
    generator: str | None = Field(default=None, description="The config that generated `output`.")
    output_error: str | None = Field(default=None, description="Why generating the output failed.")
    output_price_per_example: float | None = None
    output_cost_known: bool | None = None
    output_time_per_example: float | None = None
    output_date: str | None = None
    output_version: str | None = None
    output_input_tokens: int | None = None
    output_output_tokens: int | None = None
    output_cached: bool | None = None
    output_cached_input_tokens: int | None = None
    output_params: dict[str, Any] | None = None
    evaluation_price_per_example: float | None = None
    evaluation_cost_known: bool | None = None
    evaluation_time_per_example: float | None = None
    evaluation_date: str | None = None
    evaluation_version: str | None = None
    evaluation_input_tokens: int | None = None
    evaluation_output_tokens: int | None = None
    evaluation_cached: bool | None = None
    evaluation_cached_input_tokens: int | None = None
    evaluation_params: dict[str, Any] | None = None
    # Several judge calls per record (repeats, a panel, an escalation): how many were made (sent or from the
    # cache; never one a budget stop or an interrupt kept back), came from the cache, failed, went to a model
    # with no known price, and what the cached ones had cost. None on a one-call record (`runs.judge_calls`).
    evaluation_calls: int | None = None
    evaluation_cached_calls: int | None = None
    evaluation_failed_calls: int | None = None
    evaluation_unpriced_calls: int | None = None
    evaluation_cached_price: float | None = None
    evaluation_run_id: str | None = Field(default=None, description="The run that made these grades.")
    # Repeated judging and panels (`steps.panel`): each repeat, the rule that combined them, each judge's
    # grading, whether the panel disagreed, and the stronger judge's grading when it was escalated to.
    judge_samples: list[JudgeSample] | None = None
    judge_aggregate: str | None = None
    judge_panel: list[PanelEntry] | None = None
    judge_panel_disagrees: bool | None = None
    escalated: PanelEntry | None = None
    # Who wrote the brainstorm and the rubric (`provenance`): an LLM, an expert, or an expert's edit.
    brainstormed_rubric_provenance: FieldProvenance | None = None
    rubric_provenance: FieldProvenance | None = None

    @model_validator(mode="before")
    @classmethod
    def _outputs_alias(cls, data: Any) -> Any:
        if isinstance(data, dict) and "output" not in data and "outputs" in data:
            data = {**data, "output": data["outputs"]}
        return data

    @field_validator("brainstormed_rubric_provenance", "rubric_provenance", mode="before")
    @classmethod
    def _malformed_provenance(cls, value: Any) -> Any:
        # Malformed provenance means "no provenance" (the field counts as an expert's), as it always did:
        # it must not make the record unreadable.
        if value is None or isinstance(value, FieldProvenance):
            return value
        if isinstance(value, Provenance):
            value = value.model_dump()
        try:
            return FieldProvenance.model_validate(value)
        except ValueError:
            return None

    @field_validator("instruction")
    @classmethod
    def _non_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("instruction is blank")
        return value

    @property
    def record_id(self) -> str:
        """A printable identifier (the ``id`` field, or ``-`` when absent)."""
        return "-" if self.id is None else str(self.id)

    def dump(self) -> dict[str, Any]:
        """JSON-ready dict: user fields as given, pipeline fields in canonical form."""
        return self.model_dump(mode="json", exclude_unset=True)

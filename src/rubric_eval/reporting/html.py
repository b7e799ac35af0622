"""The HTML report: one self-contained file (inline CSS and JS, no network) over the report and its records.

`render_html` is a pure function: report + evaluated records -> HTML text. The data travels as JSON in
``<script type="application/json">`` blocks, with ``<``, ``>``, ``&`` and U+2028/2029 escaped so no text
can close the block, and the page script renders it with DOM APIs (``textContent``), never as markup.
A Content-Security-Policy allows only the page's own script and style (by hash), so even a rendering
mistake cannot run injected script or load anything from the network.

Size: instructions and rubrics repeat across models, so they are stored once and answers refer to them
by index; the answers' long texts (output, feedback) sit in one block per model, parsed only when an
instruction of that model is opened.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import math
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from rubric_eval._io import atomic_write_text
from rubric_eval.errors import InputError
from rubric_eval.records import Record, Rubric
from rubric_eval.reporting._input import ReportRecord
from rubric_eval.reporting.report import UNKNOWN_MODEL, EvaluationReport, record_instruction_score
from rubric_eval.reporting.summary import NO_CATEGORY

FORMAT_VERSION = 1
# Level codes in `HtmlAnswers.levels`: a level's index in the rubric (0 = best), or one of these.
UNSCORED = -1
NOT_GRADED = -2

_ASSETS = "html_assets"
_PLACEHOLDER = re.compile(r"@@(TITLE|CSP|CSS|JS|DATA|TEXTS)@@")
_SCRIPT_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}
# Per-answer texts a report may carry are in the page once, in the compact columns and per-model text blocks
# (parsed on demand), not again inside the report dump that is parsed at load.
_CARRIED_APART: Any = {"report": {"instructions": True, "models": {"__all__": {"answers": True}}}}
_SCRIPT_UNSAFE = re.compile("[<>&\u2028\u2029\ud800-\udfff]")


class HtmlRubric(BaseModel):
    """One distinct rubric; ``descriptions[c][l]`` describes level ``l`` of criterion ``c``."""

    levels: list[str]
    criteria: list[str]
    weights: list[float]
    descriptions: list[list[str]]


class HtmlInstruction(BaseModel):
    """One distinct instruction (same id, text, category and rubric), shared by every model's answer."""

    id: str | None
    text: str
    category: int = Field(description="Index into `HtmlData.categories`.")
    rubric: int = Field(description="Index into `HtmlData.rubrics`; -1 when the record has no rubric.")


class HtmlAnswers(BaseModel):
    """The answers, column-wise (one entry per evaluated record), grouped by model in model order."""

    model: list[int] = Field(default_factory=list, description="Index into `report.models`.")
    instruction: list[int] = Field(default_factory=list, description="Index into `HtmlData.instructions`.")
    score: list[float | None] = Field(
        default_factory=list, description="Instruction score, None if unscored."
    )
    levels: list[list[int]] = Field(
        default_factory=list,
        description="Per rubric criterion: the chosen level's index (0 = best), -1 unscored, -2 not graded.",
    )


class HtmlUnscored(BaseModel):
    """Every unscored criterion: which answer, which criterion of its rubric, and why."""

    answer: list[int] = Field(default_factory=list)
    criterion: list[int] = Field(default_factory=list)
    reason: list[int] = Field(default_factory=list, description="Index into `HtmlData.reasons`.")


class HtmlData(BaseModel):
    """Everything the page shows, except the answers' long texts (see `render_html`)."""

    format_version: int = FORMAT_VERSION
    report: EvaluationReport = Field(
        description="The report as in its JSON twin, less per-answer texts it may carry (`_CARRIED_APART`)."
    )
    categories: list[str]
    rubrics: list[HtmlRubric]
    instructions: list[HtmlInstruction]
    answers: HtmlAnswers
    model_start: list[int] = Field(description="First answer index of each model (answers are grouped).")
    unscored: HtmlUnscored
    reasons: list[str]


class HtmlAnswerText(BaseModel):
    """The long texts of one answer: the model's output and the judge's feedback per rubric criterion."""

    output: str | None
    feedback: list[str]


def script_json(value: Any) -> str:
    """JSON that is safe inside a ``<script>`` block: ``<``, ``>``, ``&``, U+2028/2029 and lone
    surrogates are written as ``\\uXXXX`` escapes (still the same JSON value)."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return _SCRIPT_UNSAFE.sub(lambda m: _SCRIPT_ESCAPES.get(m.group(), f"\\u{ord(m.group()):04x}"), text)


def _rubric_entry(rubric: Rubric) -> HtmlRubric:
    return HtmlRubric(
        levels=rubric.levels,
        criteria=rubric.names,
        weights=[c.weight for c in rubric.criteria],
        descriptions=[list(c.performance_to_description.values()) for c in rubric.criteria],
    )


def _grades(
    record: Record | ReportRecord, rubric: Rubric | None
) -> tuple[list[int], list[str], list[str | None]]:
    """Per rubric criterion: level code, feedback and unscored reason (None when scored)."""
    if rubric is None:
        return [], [], []
    levels = rubric.levels
    codes, feedback, reasons = [], [], []
    by_name = {g.criterion: g for g in record.grades or []}
    for name in rubric.names:
        grade = by_name.get(name)
        if grade is not None:
            scored = grade.status == "scored" and grade.level in levels
            codes.append(levels.index(grade.level) if scored and grade.level is not None else UNSCORED)
            feedback.append(grade.feedback)
            reasons.append(None if scored else grade.reason or "no reason recorded")
            continue
        # The seed format: level_per_criteria / score_per_criteria / feedback_per_criteria.
        level = (record.level_per_criteria or {}).get(name)
        score = (record.score_per_criteria or {}).get(name)
        if level in levels:
            codes.append(levels.index(level))
            reasons.append(None)
        elif record.grades is None and name in (record.score_per_criteria or {}):
            codes.append(UNSCORED if score is None or math.isnan(score) else NOT_GRADED)
            reasons.append("no level recorded" if score is None or math.isnan(score) else None)
        else:
            codes.append(NOT_GRADED)
            reasons.append(None)
        feedback.append((record.feedback_per_criteria or {}).get(name, ""))
    return codes, feedback, reasons


@dataclass
class _Answer:
    """What the page shows of one answer, before the shared tables' indices are assigned."""

    ident: str | None
    instruction: str  # shared by the answers to one instruction
    category: str
    rubric: Rubric | None
    score: float | None
    codes: list[int]
    why: list[str | None]
    text: HtmlAnswerText


def build_html_data(
    report: EvaluationReport, records: Iterable[Record | ReportRecord], *, source: str = "evaluations"
) -> tuple[HtmlData, list[list[HtmlAnswerText]]]:
    """The page's data (compact, de-duplicated) and, per model, its answers' texts in answer order.

    ``records`` are read once, in any order (e.g. streamed from the evaluations file): per answer only
    what the page shows is kept, grouped by model; the shared tables are then numbered model by model
    (in the report's order), answer by answer (in the input's order).
    """
    model_index = {m.model: k for k, m in enumerate(report.models)}
    groups: list[list[_Answer]] = [[] for _ in report.models]
    texts_seen: dict[tuple[str | None, str], str] = {}
    for index, record in enumerate(records):
        name = record.model or UNKNOWN_MODEL
        if name not in model_index:
            raise InputError(
                f"record of model {name!r}, which is not in the report (its models: {sorted(model_index)})",
                path=source,
                index=index,
                record_id=record.id,
                field="model",
            )
        ident = None if record.id is None else str(record.id)
        codes, feedback, why = _grades(record, record.rubric)
        groups[model_index[name]].append(
            _Answer(
                ident=ident,
                instruction=texts_seen.setdefault((ident, record.instruction), record.instruction),
                category=record.category or NO_CATEGORY,
                rubric=record.rubric,
                score=record_instruction_score(record, index, source).score,
                codes=codes,
                why=why,
                text=HtmlAnswerText(output=record.output, feedback=feedback),
            )
        )
    categories: dict[str, int] = {}
    rubrics: dict[str, int] = {}
    rubric_list: list[HtmlRubric] = []
    rubric_keys: dict[int, str] = {}  # id(rubric) -> its JSON, for rubrics shared by answers
    instructions: dict[tuple[str | None, str, int, int], int] = {}
    answers, unscored = HtmlAnswers(), HtmlUnscored()
    reasons: dict[str, int] = {}
    texts: list[list[HtmlAnswerText]] = []
    model_start = []
    for k, group in enumerate(groups):
        model_start.append(len(answers.model))
        for item in group:
            category = categories.setdefault(item.category, len(categories))
            rubric_id = -1
            if item.rubric is not None:
                key = rubric_keys.get(id(item.rubric))
                if key is None:
                    key = rubric_keys[id(item.rubric)] = item.rubric.model_dump_json()
                rubric_id = rubrics.setdefault(key, len(rubrics))
                if rubric_id == len(rubric_list):
                    rubric_list.append(_rubric_entry(item.rubric))
            instruction = instructions.setdefault(
                (item.ident, item.instruction, category, rubric_id), len(instructions)
            )
            answer = len(answers.model)
            answers.model.append(k)
            answers.instruction.append(instruction)
            answers.score.append(item.score)
            answers.levels.append(item.codes)
            for criterion, reason in enumerate(item.why):
                if reason is not None:
                    unscored.answer.append(answer)
                    unscored.criterion.append(criterion)
                    unscored.reason.append(reasons.setdefault(reason, len(reasons)))
        texts.append([item.text for item in group])
    data = HtmlData(
        report=report,
        categories=list(categories),
        rubrics=rubric_list,
        instructions=[
            HtmlInstruction(id=ident, text=text, category=cat, rubric=rub)
            for (ident, text, cat, rub) in instructions
        ],
        answers=answers,
        model_start=model_start,
        unscored=unscored,
        reasons=list(reasons),
    )
    return data, texts


def _asset(name: str) -> str:
    return (resources.files("rubric_eval.reporting") / _ASSETS / name).read_text(encoding="utf-8")


def _csp_hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii") + "'"


def records_from_report(report: EvaluationReport) -> list[Record]:
    """The evaluated records a report carries (its instructions and each model's answers), in answer order."""
    instructions = {i.key: i for i in report.instructions}
    records = []
    for model in report.models:
        for answer in report.answers_of(model):
            ins = instructions.get(answer.key)
            if ins is None:
                raise InputError(
                    f"answer of {model.model!r} to instruction {answer.key!r}, which the report lacks"
                )
            records.append(
                Record.model_validate(
                    {
                        "instruction": ins.instruction,
                        "id": ins.id,
                        "category": ins.category,
                        "rubric": ins.rubric,
                        "output": answer.output,
                        "model": model.model,
                        "grades": answer.grades,
                        "evaluator": model.evaluator,
                        **({} if answer.weight == 1.0 else {"weight": answer.weight}),
                    }
                )
            )
    return records


def render_html(
    report: EvaluationReport,
    records: Iterable[Record | ReportRecord] | None = None,
    *,
    source: str = "evaluations",
) -> str:
    """The report as one self-contained HTML page (works offline from ``file://``).

    ``records``: the evaluated records the report was computed from (for the per-instruction views),
    a list or read one at a time (`iter_report_records`); by default the instructions and answers the
    report itself carries (e.g. a report read back with `report_from_json`).
    """
    if records is None:
        records = records_from_report(report)
        if not records:
            raise InputError("the report carries no answers: pass the evaluated records", path=source)
    data, texts = build_html_data(report, records, source=source)
    css, js = _asset("report.css"), _asset("report.js")
    # The page's own assets must not be able to end their element early.
    assert "</style" not in css.lower() and "</script" not in js.lower()
    csp = (
        "default-src 'none'; img-src data:; "
        f"style-src {_csp_hash(css)}; script-src {_csp_hash(js)}; base-uri 'none'; form-action 'none'"
    )
    text_blocks = "\n".join(
        f'<script type="application/json" id="texts-{k}">'
        + script_json([[t.output, t.feedback] for t in model_texts])
        + "</script>"
        for k, model_texts in enumerate(texts)
    )
    values = {
        "TITLE": html.escape(report.title),
        "CSP": html.escape(csp),
        "CSS": css,
        "JS": js,
        "DATA": script_json(data.model_dump(mode="json", exclude=_CARRIED_APART)),
        "TEXTS": text_blocks,
    }
    # One pass over the template: substituted text is never scanned for placeholders again.
    return _PLACEHOLDER.sub(lambda m: values[m.group(1)], _asset("report.html"))


def html_path_for(markdown_path: Path) -> Path:
    """``report.md`` -> ``report.html`` (the HTML written beside the markdown)."""
    if markdown_path.suffix.lower() in {".md", ".markdown", ".json"}:
        return markdown_path.with_suffix(".html")
    return markdown_path.with_name(markdown_path.name + ".html")


def write_html(
    report: EvaluationReport,
    records: Iterable[Record | ReportRecord] | None,
    path: str | os.PathLike[str],
    *,
    source: str = "evaluations",
) -> Path:
    """Write `render_html` to ``path`` atomically; return the path."""
    out = Path(path)
    atomic_write_text(out, render_html(report, records, source=source))
    return out


__all__ = [
    "HtmlData",
    "build_html_data",
    "html_path_for",
    "records_from_report",
    "render_html",
    "script_json",
    "write_html",
]

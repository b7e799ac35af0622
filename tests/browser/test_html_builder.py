"""The HTML report builder as a pure function: escaping, the embedded JSON, de-duplication, CSP."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from rubric_eval import EvaluationReport, InputError, Record, generate_report
from rubric_eval.reporting import report_from_json
from rubric_eval.reporting.html import (
    UNSCORED,
    build_html_data,
    records_from_report,
    render_html,
    script_json,
    write_html,
)

from ._helpers import HOSTILE, evaluated


class _Blocks(HTMLParser):
    """Collects each element's tag, attributes and raw text, as a browser's tokenizer sees them."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str | None], str]] = []
        self._open: list[tuple[str, dict[str, str | None], list[str]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._open.append((tag, dict(attrs), []))

    def handle_data(self, data: str) -> None:
        if self._open:
            self._open[-1][2].append(data)

    def handle_endtag(self, tag: str) -> None:
        while self._open:
            name, attrs, parts = self._open.pop()
            self.elements.append((name, attrs, "".join(parts)))
            if name == tag:
                return


def _parse(page: str) -> list[tuple[str, dict[str, str | None], str]]:
    parser = _Blocks()
    parser.feed(page)
    parser.close()
    return parser.elements


@pytest.fixture(scope="module")
def hostile_page() -> tuple[str, list[Record], EvaluationReport]:
    records = evaluated(models=3, instructions=6, hostile_model=1)
    report = generate_report(records, summarize=False, n_resamples=50)
    return render_html(report, records), records, report


def test_script_json_escapes_everything_that_could_end_the_block() -> None:
    value = {"a": "</script><script>alert(1)</script>", "b": "x\u2028y\u2029z & <!-- -->", "c": "\ud800 lone"}
    text = script_json(value)
    for bad in ("<", ">", "&", "\u2028", "\u2029", "\ud800"):
        assert bad not in text
    assert json.loads(text) == value


def test_only_the_page_script_is_a_script_and_the_data_round_trips(
    hostile_page: tuple[str, list[Record], EvaluationReport],
) -> None:
    page, records, report = hostile_page
    elements = _parse(page)
    scripts = [(attrs, body) for tag, attrs, body in elements if tag == "script"]
    executable = [attrs for attrs, _ in scripts if attrs.get("type") != "application/json"]
    assert len(executable) == 1 and "src" not in executable[0]
    assert not [tag for tag, _, _ in elements if tag in {"img", "svg", "textarea", "iframe", "object"}]
    blocks = {
        attrs["id"]: json.loads(body) for attrs, body in scripts if attrs.get("type") == "application/json"
    }
    data = blocks["report-data"]
    assert [m["model"] for m in data["report"]["models"]] == [m.model for m in report.models]
    assert data["report"]["leaderboard"] == [row.model_dump(mode="json") for row in report.leaderboard]
    # The hostile model's texts come back exactly as written, in answer order.
    k = [m["model"] for m in data["report"]["models"]].index("evil <script>model</script>")
    outputs = [row[0] for row in blocks[f"texts-{k}"]]
    assert outputs == [r.output for r in records if r.model == "evil <script>model</script>"]
    assert all(HOSTILE in out for out in outputs)
    assert HOSTILE in data["instructions"][0]["text"]


def test_raw_hostile_markup_never_appears_in_the_page(
    hostile_page: tuple[str, list[Record], EvaluationReport],
) -> None:
    page, _, _ = hostile_page
    for fragment in ("<script>window", "<img", "</textarea", "<svg", "\u2028"):
        assert fragment not in page
    assert page.count("<script") == page.count("</script>")


def test_csp_allows_exactly_the_inline_script_and_style(
    hostile_page: tuple[str, list[Record], EvaluationReport],
) -> None:
    page, _, _ = hostile_page
    elements = _parse(page)
    (csp,) = [
        a["content"]
        for tag, a, _ in elements
        if tag == "meta" and a.get("http-equiv") == "Content-Security-Policy"
    ]
    assert csp is not None and "default-src 'none'" in csp and "unsafe-inline" not in csp
    script = next(body for tag, a, body in elements if tag == "script" and "type" not in a)
    style = next(body for tag, _, body in elements if tag == "style")

    def digest(text: str) -> str:
        return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"

    assert f"script-src {digest(script)}" in csp
    assert f"style-src {digest(style)}" in csp
    # Nothing is fetched from the network: the only URL is the SVG namespace name.
    assert set(re.findall(r"https?://[^\s'\"]+", page)) == {"http://www.w3.org/2000/svg"}


def test_instructions_and_rubrics_are_stored_once_and_levels_map_to_the_rubric() -> None:
    records = evaluated(models=4, instructions=5)
    report = generate_report(records, summarize=False, n_resamples=50)
    data, texts = build_html_data(report, records)
    assert len(data.instructions) == 5 and len(data.rubrics) == 5
    assert len(data.answers.model) == 20 and [len(t) for t in texts] == [5, 5, 5, 5]
    assert data.model_start == [0, 5, 10, 15]
    # Answers are grouped by model in the report's order (best first).
    ordered = [r for m in report.models for r in records if r.model == m.model]
    for a, record in enumerate(ordered):
        rubric = data.rubrics[data.instructions[data.answers.instruction[a]].rubric]
        assert rubric.criteria == record.rubric.names if record.rubric else []
        for code, grade in zip(data.answers.levels[a], record.grades or [], strict=True):
            assert code == (
                UNSCORED if grade.status == "unscored" else rubric.levels.index(grade.level or "")
            )
    n_unscored = sum(g.status == "unscored" for r in records for g in r.grades or [])
    assert len(data.unscored.answer) == n_unscored
    assert data.reasons == ["judge call failed: HTTP 500"]
    # Answer scores are the report's instruction scores: their mean per model is the model's mean.
    for k, model in enumerate(report.models):
        scores = [
            s for m, s in zip(data.answers.model, data.answers.score, strict=True) if m == k and s is not None
        ]
        assert sum(scores) / len(scores) == pytest.approx(model.score.mean)


def test_seed_format_records_without_grades() -> None:
    records = [
        Record.model_validate(
            {
                "instruction": "Say hi.",
                "rubric": {
                    "Tone": {"good": "friendly", "bad": "rude"},
                    "Length": {"good": "short", "bad": "long"},
                },
                "output": "hi",
                "model": "m",
                "score_per_criteria": {"Tone": 10.0, "Length": None},
                "level_per_criteria": {"Tone": "good", "Length": None},
                "feedback_per_criteria": {"Tone": "nice", "Length": ""},
            }
        )
    ]
    report = generate_report(records, summarize=False, n_resamples=50)
    data, texts = build_html_data(report, records)
    assert data.answers.levels == [[0, UNSCORED]]
    assert texts[0][0].feedback == ["nice", ""]


def test_a_record_of_a_model_missing_from_the_report_is_an_input_error() -> None:
    records = evaluated(models=2, instructions=3)
    report = generate_report(records[:3], summarize=False, n_resamples=50)
    with pytest.raises(InputError, match="not in the report"):
        render_html(report, records)


def test_write_html_writes_the_page(tmp_path: Path) -> None:
    records = evaluated(models=2, instructions=3)
    report = generate_report(records, summarize=False, n_resamples=50)
    out = write_html(report, records, tmp_path / "r.html")
    assert out.read_text(encoding="utf-8") == render_html(report, records)


def test_a_hostile_title_is_escaped_in_the_head() -> None:
    records = [r for r in evaluated(models=2, instructions=3, hostile_model=1) if r.model != "model-0"]
    report = generate_report(records, summarize=False, n_resamples=50)
    assert "<script>" in report.title
    elements = _parse(render_html(report, records))
    assert [body for tag, _, body in elements if tag == "title"] == [report.title]
    assert [body for tag, attrs, body in elements if tag == "h1"] == [report.title]
    assert (
        len([tag for tag, _, _ in elements if tag == "script"]) == 3
    )  # data, one model's texts, page script


def test_a_report_read_back_from_its_json_twin_renders_the_same_page_data() -> None:
    records = evaluated(models=3, instructions=5)
    report = generate_report(records, summarize=False, n_resamples=50)
    twin = report_from_json(report.to_json())
    assert build_html_data(twin, records_from_report(twin)) == build_html_data(report, records)
    assert render_html(twin) == render_html(report, records)

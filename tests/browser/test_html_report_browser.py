"""The HTML report in a real browser (chromium via Playwright): numbers, drill-down, filters, compare, safety."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from rubric_eval import Record, generate_report
from rubric_eval.reporting import EvaluationReport
from rubric_eval.reporting.html import write_html

from ._helpers import HOSTILE, evaluated
from .conftest import PageWatch

pytestmark = pytest.mark.browser

EVIL = "evil <script>model</script>"


def _fmt(value: float | None, digits: int = 2) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


@pytest.fixture(scope="module")
def job(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, EvaluationReport, list[Record]]:
    """A 3-model report with a hostile model, written as markdown + JSON + HTML the way users get it."""
    folder = tmp_path_factory.mktemp("html-report")
    records = evaluated(models=3, instructions=12, hostile_model=1)
    report = generate_report(records, summarize=False, n_resamples=300)
    md, _ = report.write(folder / "evaluation_report.md")
    html_path = write_html(report, records, md.with_suffix(".html"))
    return html_path, report, records


def _instruction_scores(
    report: EvaluationReport, records: list[Record]
) -> dict[tuple[str, str], float | None]:
    from rubric_eval.reporting.report import record_instruction_score

    return {
        (r.model or "", str(r.id)): record_instruction_score(r, i, "test").score
        for i, r in enumerate(records)
    }


def test_leaderboard_and_matrix_equal_the_json_report(watch: PageWatch, job: Any) -> None:
    html_path, _, _ = job
    saved = json.loads(html_path.with_suffix(".json").read_text(encoding="utf-8"))
    page = watch.open(html_path)
    rows = page.locator("#leaderboard tbody tr")
    assert rows.count() == len(saved["leaderboard"])
    for i, row in enumerate(saved["leaderboard"]):
        cells = rows.nth(i).locator("td")
        assert cells.nth(1).inner_text() == row["model"]
        assert cells.nth(2).inner_text() == _fmt(row["score"])
        assert cells.nth(3).inner_text() == _fmt(row["sem"])
        assert cells.nth(4).inner_text() == f"[{_fmt(row['ci_low'])}, {_fmt(row['ci_high'])}]"
        assert cells.nth(6).inner_text() == str(row["n"])
        assert cells.nth(7).inner_text() == str(row["n_unscored"])
    categories = [c["category"] for c in saved["models"][0]["categories"]]
    header = page.locator("#matrix thead th").all_inner_texts()
    for model in saved["models"]:
        cells = page.locator(f"#matrix tbody tr[data-model='{model['model']}'] td")
        assert cells.nth(0).inner_text() == model["model"]
        for cat in model["categories"]:
            text = cells.nth(header.index(cat["category"])).inner_text()
            assert text.startswith(f"{_fmt(cat['mean'])} ± {_fmt(cat['sem'])}")
            assert f"n {cat['n']} · u {cat['n_unscored']}" in text
    assert set(categories) <= set(header)
    watch.assert_clean()


def _goto_instructions(page: Any) -> None:
    page.click("#tab-instructions")
    page.wait_for_selector("#answers tbody tr")


def test_filter_by_model_category_and_score(watch: PageWatch, job: Any) -> None:
    html_path, report, records = job
    scores = _instruction_scores(report, records)
    page = watch.open(html_path)
    _goto_instructions(page)
    total = len(records)
    assert f"{total} answers (of {total})" in page.inner_text("#page-info")
    page.select_option("#filter-model", label="model-2")
    page.select_option("#filter-category", label="Math")
    page.fill("#filter-min", "5")
    expected = [
        r
        for r in records
        if r.model == "model-2"
        and r.category == "Math"
        and (s := scores[(r.model, str(r.id))]) is not None
        and s >= 5
    ]
    assert expected, "the fixture should leave some rows"
    assert f"· {len(expected)} answers (of {total})" in page.inner_text("#page-info")
    shown = page.locator("#answers tbody tr")
    assert shown.count() == len(expected)
    for i in range(shown.count()):
        cells = shown.nth(i).locator("td").all_inner_texts()
        assert cells[2] == "Math" and cells[3] == "model-2" and float(cells[4]) >= 5
    # Sorted by score, best first, by default; a click on the header reverses it.
    values = [float(v) for v in page.locator("#answers tbody td.score").all_inner_texts()]
    assert values == sorted(values, reverse=True)
    page.click("#answers th[data-sort='score']")
    values = [float(v) for v in page.locator("#answers tbody td.score").all_inner_texts()]
    assert values == sorted(values)
    watch.assert_clean()


def test_drill_down_shows_rubric_with_chosen_levels_feedback_and_answer(watch: PageWatch, job: Any) -> None:
    html_path, _, records = job
    record = next(r for r in records if r.model == "model-2" and r.id == 4)
    page = watch.open(html_path)
    _goto_instructions(page)
    page.select_option("#filter-model", label="model-2")
    page.fill("#filter-text", "topic 4.")
    page.locator("#answers tbody tr").first.focus()
    page.keyboard.press("Enter")  # rows open from the keyboard as well as by click
    detail = page.locator("#answer-detail")
    assert detail.locator(".model").first.inner_text() == "model-2"
    assert detail.locator(".instruction-text").inner_text() == record.instruction
    assert detail.locator(".answer-text").inner_text() == record.output
    assert record.rubric is not None and record.grades is not None
    rows = detail.locator("table.rubric tbody tr")
    assert rows.count() == len(record.rubric.criteria)
    for c, (criterion, grade) in enumerate(zip(record.rubric.criteria, record.grades, strict=True)):
        row = rows.nth(c)
        assert row.locator("td").first.inner_text() == criterion.criterion
        chosen = row.locator("td.chosen")
        if grade.status == "scored":
            assert chosen.count() == 1
            assert chosen.inner_text() == criterion.performance_to_description[grade.level or ""]
            assert grade.feedback in row.locator("td.feedback").inner_text()
        else:
            assert chosen.count() == 0
            assert f"unscored: {grade.reason}" in row.locator("td.feedback").inner_text()
    watch.assert_clean()


def test_compare_two_models_side_by_side(watch: PageWatch, job: Any) -> None:
    html_path, _, records = job
    page = watch.open(html_path)
    page.click("#tab-compare")
    page.select_option("#compare-instruction", index=7)
    page.select_option("#compare-a", label="model-0")
    page.select_option("#compare-b", label="model-2")
    a = next(r for r in records if r.model == "model-0" and r.id == 7)
    b = next(r for r in records if r.model == "model-2" and r.id == 7)
    cols = page.locator("#compare-view .compare-col")
    assert cols.count() == 2
    assert cols.nth(0).locator(".model").inner_text() == "model-0"
    assert cols.nth(0).locator(".answer-text").inner_text() == a.output
    assert cols.nth(1).locator(".model").inner_text() == "model-2"
    assert cols.nth(1).locator(".answer-text").inner_text() == b.output
    assert a.rubric is not None
    rows = page.locator("#compare-view table.rubric tbody tr")
    for c, criterion in enumerate(a.rubric.criteria):
        for grades, cls in ((a.grades or [], "chosen"), (b.grades or [], "chosen-b")):
            grade = grades[c]
            cell = rows.nth(c).locator(f"td.{cls}")
            if grade.status == "scored":
                assert cell.inner_text() == criterion.performance_to_description[grade.level or ""]
            else:
                assert cell.count() == 0
    watch.assert_clean()


def test_worst_instructions_and_unscored_reasons(watch: PageWatch, job: Any) -> None:
    html_path, report, records = job
    scores = _instruction_scores(report, records)
    page = watch.open(html_path)
    page.click("#tab-worst")
    page.select_option("#worst-model", label="model-0")
    page.fill("#worst-k", "3")
    page.dispatch_event("#worst-k", "change")
    shown = [float(v) for v in page.locator(".worst tbody tr td:first-child").all_inner_texts()]
    expected = sorted(s for (m, _), s in scores.items() if m == "model-0" and s is not None)[:3]
    assert shown == [float(_fmt(s)) for s in expected]
    page.click("#tab-unscored")
    n_unscored = sum(g.status == "unscored" for r in records for g in r.grades or [])
    assert page.locator("#unscored-reasons tbody tr td").all_inner_texts() == [
        "judge call failed: HTTP 500",
        str(n_unscored),
    ]
    assert f"{n_unscored} unscored criteria" in page.inner_text("#view")
    watch.assert_clean()


def test_hostile_text_executes_nothing_and_is_shown_as_text(watch: PageWatch, job: Any) -> None:
    html_path, _, records = job
    page = watch.open(html_path)
    hostile = next(r for r in records if r.model == EVIL and r.id == 0)
    # Everywhere the hostile texts appear: the leaderboard (model name), the table, the drill-down, compare.
    assert page.locator(f"#leaderboard tbody tr[data-model='{EVIL}'] td.model").inner_text() == EVIL
    _goto_instructions(page)
    page.select_option("#filter-model", label=EVIL)
    page.fill("#filter-text", "topic 0.")
    page.locator("#answers tbody tr").first.click()
    detail = page.locator("#answer-detail")
    assert detail.locator(".answer-text").inner_text() == hostile.output
    assert detail.locator(".instruction-text").inner_text() == hostile.instruction
    assert HOSTILE in detail.locator("table.rubric").inner_text()
    page.select_option("#compare-with", label="model-0")
    assert (
        page.locator("#compare-view .compare-col").nth(0).locator(".answer-text").inner_text()
        == hostile.output
    )
    for tab in ("worst", "criteria", "unscored", "more", "overview"):
        page.click(f"#tab-{tab}")
    # Nothing the texts contain became an element or ran.
    assert page.locator("img, textarea, iframe, object, embed, [onload], [onerror]").count() == 0
    # The page script, the data block and one text block per model: nothing else.
    assert page.locator("script").count() == 2 + 3
    assert page.evaluate("typeof window.__pwned") == "undefined"
    watch.assert_clean()


@pytest.mark.integration
def test_real_data_one_step_report_opens_clean(
    watch: PageWatch, openai_env: Any, shared_data: Path, tmp_path: Path
) -> None:
    """The shared Mixtral outputs (80 real instructions, rubrics and answers) through the one-step command."""
    import shutil

    from click.testing import CliRunner

    from rubric_eval.cli import cli

    outputs = tmp_path / "outputs_mixtral.json"
    shutil.copy(shared_data / "rubriceval_sampled" / "outputs_Mixtral-8x22B-Instruct-v0.1.json", outputs)
    args = [
        f"--input_path={outputs}",
        "--evaluator_configs=openai/test-judge",
        "--summarize=False",
        "--quiet",
    ]
    result = CliRunner().invoke(cli, [*args, f"--cache_dir={tmp_path / 'cache'}"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    name = "Mixtral-8x22B-Instruct-v0.1"  # default names carry the records' model
    saved = json.loads((tmp_path / f"evaluation_report_{name}.json").read_text(encoding="utf-8"))
    evaluations = json.loads((tmp_path / f"evaluations_{name}.json").read_text(encoding="utf-8"))
    page = watch.open(tmp_path / f"evaluation_report_{name}.html")
    (row,) = saved["leaderboard"]
    cells = page.locator("#leaderboard tbody tr td").all_inner_texts()
    assert cells[1:5] == [
        row["model"],
        _fmt(row["score"]),
        _fmt(row["sem"]),
        f"[{_fmt(row['ci_low'])}, {_fmt(row['ci_high'])}]",
    ]
    assert page.locator("#matrix thead th").count() == 2 + 8  # model, all, 8 categories
    _goto_instructions(page)
    assert "80 answers (of 80)" in page.inner_text("#page-info")
    page.locator("#answers tbody tr").first.click()
    shown = page.locator("#answer-detail .answer-text").inner_text()
    assert shown in {r["output"] for r in evaluations}
    watch.assert_clean()


def test_runs_and_diagnostics_show_the_rest_of_the_json_report(watch: PageWatch, job: Any) -> None:
    html_path, _, _ = job
    saved = json.loads(html_path.with_suffix(".json").read_text(encoding="utf-8"))
    page = watch.open(html_path)
    page.click("#tab-more")
    sections = page.locator("section.report-section")
    extra = [
        k
        for k, v in saved.items()
        if v is not None
        and k
        not in {
            "title",
            "dataset",
            "evaluators",
            "summarizer",
            "version",
            "generated_at",
            "models",
            "leaderboard",
            "leaderboard_path",
            "alpha",
            "notes",
            "instructions",  # carried apart, in the page's own columns
        }
    ]
    assert [sections.nth(i).get_attribute("data-key") for i in range(sections.count())] == extra
    for model in saved["models"]:
        box = page.locator(f"details.model-section[data-model='{model['model']}']")
        box.locator("summary").click()
        text = box.inner_text()
        assert f"n cached\t{model['n_cached']}" in text
        assert f"evaluator\t{model['evaluator']}" in text
    watch.assert_clean()


def test_an_answer_link_opens_that_answer(watch: PageWatch, job: Any) -> None:
    html_path, _, records = job
    page = watch.open(html_path)
    _goto_instructions(page)
    page.locator("#answers tbody tr").nth(3).click()
    url = page.url
    answer = page.locator("#answer-detail").get_attribute("data-answer")
    assert url.endswith(f"#answer-{answer}")
    output = page.locator("#answer-detail .answer-text").inner_text()
    other = watch.page.context.new_page()
    other.goto(url)
    other.wait_for_selector("html[data-ready='1']")
    assert other.locator("#answer-detail .answer-text").inner_text() == output
    assert output in {r.output for r in records}
    other.close()
    watch.assert_clean()

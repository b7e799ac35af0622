"""The expert workflow in a real browser: Playwright drives Debian's chromium against `rubric_eval studio`.

Every LLM call (brainstorm, rubric, pilot grade) goes over HTTP to the project's local OpenAI-compatible
test server; the files are checked afterwards with `rubric_eval validate` and `rubric_eval diff`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from rubric_eval.testing import OpenAICompatibleServer

from ._browser import CONFIG, PWNED_PROBE, Watched, rubric_eval, studio
from .conftest import llm_rubric_records, read, write

sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
expect = sync_api.expect
pytestmark = [pytest.mark.browser, pytest.mark.integration]
LEVELS = ["excellent", "good", "fair", "poor"]


def stanford_instructions(shared_data: Path, tmp_path: Path) -> Path:
    """The nine Stanford ML problems, each with its expert checklist as `useful_info_to_eval_instruction`."""
    from creation._helpers import checklist_notes, read_readable  # tests/creation: the same parser

    root = shared_data / "rubriceval_stanford_ml"
    problems = json.loads((root / "rubriceval_stanford_ml_instructions.json").read_text())
    records = [
        {
            "id": p["short_name"],
            "category": p["category"],
            "instruction": p["instruction"],
            "useful_info_to_eval_instruction": checklist_notes(
                read_readable(root / "readable_dataset" / f"{p['short_name']}.md")["expert_checklist"]
            ),
        }
        for p in problems
    ]
    return write(tmp_path / "instructions.json", records)


def is_save_response(response: Any) -> bool:
    """The banner reads "Saved 1 instruction(s)." after every save, so a second save is awaited by its
    response (the file is written before the server answers), not by the banner alone."""
    return bool(response.url.endswith("/api/save"))


def row(page: Any, i: int) -> Any:
    return page.locator("#grid tbody tr").nth(i)


def cell(page: Any, i: int, level: str) -> Any:
    return row(page, i).locator(f'td[data-cell="level:{level}"]')


def open_record(page: Any, record_id: str) -> None:
    page.locator("#record-list li", has_text=record_id).first.click()
    expect(page.locator("#record-title")).to_contain_text(record_id)


def test_expert_workflow_on_the_stanford_ml_problems(
    browser: Any, shared_data: Path, tmp_path: Path, openai_env: OpenAICompatibleServer
) -> None:
    instructions = stanford_instructions(shared_data, tmp_path)
    made = rubric_eval(
        tmp_path,
        "brainstorm_and_generate_rubrics",
        "--input_path", str(instructions),
        "--output_path", "rubrics.json",
        "--brainstormer_configs", CONFIG,
        "--rubric_generator_configs", CONFIG,
        "--cache_dir", str(tmp_path / "cache"),
        "--quiet",
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    path = tmp_path / "rubrics.json"
    before = read(path)
    first = before[0]
    assert first["id"] == "tokenization" and len(first["rubric"]) >= 3
    names = [c["criterion"] for c in first["rubric"]]
    draft_excellent = first["rubric"][0]["performance_to_description"]["excellent"]
    draft_fair = first["rubric"][2]["performance_to_description"]["fair"]
    new_excellent = "States the BPE merges in order and the final token count (7) for the example."
    new_name = "Tokenization result is correct"

    with studio(path, tmp_path / "cache") as url:
        watched = Watched(browser.new_page())
        page = watched.open(url)
        expect(page.locator("#record-list li")).to_have_count(9)
        expect(page.locator("#progress-text")).to_have_text("0 of 9 approved · 0 in review · 9 draft")
        # The instruction and the expert checklist are shown, one instruction at a time.
        expect(page.locator("#instruction")).to_have_text(first["instruction"])
        expect(page.locator("#notes")).to_have_text(first["useful_info_to_eval_instruction"])
        page.fill("#reviewer", "Dr Ada Lovelace")

        # Edit 1: a cell of criterion 1. The inline diff shows the LLM draft under it.
        excellent = cell(page, 0, "excellent")
        excellent.locator("textarea").fill(new_excellent)
        expect(excellent.locator(".marker del")).to_have_text(draft_excellent)
        # Edit 2: rename criterion 2.
        row(page, 1).locator("input.name").fill(new_name)
        expect(row(page, 1).locator('td[data-cell="name"] .marker del')).to_have_text(names[1])
        # An edit that is saved, then reverted after the reload.
        cell(page, 2, "fair").locator("textarea").fill("temporary wording")
        expect(cell(page, 2, "fair").locator(".marker del")).to_have_text(draft_fair)

        # Keyboard: Alt+arrows move between cells.
        row(page, 0).locator("input.name").focus()
        page.keyboard.press("Alt+ArrowRight")
        page.keyboard.press("Alt+ArrowDown")
        assert page.evaluate("[document.activeElement.className, document.activeElement.dataset.row]") == [
            "weight",
            "1",
        ]
        expect(page.locator("#weight-sum")).to_have_text("100")

        # Pilot-grade one answer against the rubric as edited, with the judge from --evaluator_configs.
        page.click("#add-answer")
        page.locator(".pilot-answer").fill(
            "Split into characters, merge the most frequent pair ... 7 tokens."
        )
        page.click("#run-pilot")
        result = page.locator(".pilot-result")
        expect(result).to_have_count(1)
        expect(result.locator("h4")).to_contain_text(f"({len(names)} of {len(names)} criteria scored)")
        graded = result.locator("table.grades tr")
        expect(graded).to_have_count(len(names) + 1)
        assert graded.nth(1).locator("td").nth(0).text_content() == names[0]
        assert graded.nth(2).locator("td").nth(0).text_content() == new_name  # the unsaved rename
        assert {graded.nth(i).locator("td.level").text_content() for i in range(1, len(names) + 1)} <= set(
            LEVELS
        )

        # Approve three rubrics: with the menu, with Alt+3, with the menu.
        page.select_option("#status", "approved")
        page.click("#next")
        expect(page.locator("#record-title")).to_contain_text(before[1]["id"])
        page.locator("#instruction").click()
        page.keyboard.press("Alt+3")
        expect(page.locator("#status")).to_have_value("approved")
        page.keyboard.press("Alt+PageDown")
        expect(page.locator("#record-title")).to_contain_text(before[2]["id"])
        page.select_option("#status", "approved")
        expect(page.locator("#progress-text")).to_have_text("3 of 9 approved · 0 in review · 6 draft")
        expect(page.locator("#dirty-count")).to_have_text("3 instruction(s) with unsaved edits")

        page.keyboard.press("Control+s")
        expect(page.locator("#banner")).to_have_text("Saved 3 instruction(s).")
        expect(page.locator("#dirty-count")).to_have_text("all saved")

        # Reload: the edits, the inline diff and the statuses come back from the file.
        page.reload()
        page.wait_for_selector("#record:not([hidden])")
        expect(page.locator("#progress-text")).to_have_text("3 of 9 approved · 0 in review · 6 draft")
        expect(page.locator("#record-list li .badge.status-approved")).to_have_count(3)
        page.select_option("#filter-status", "approved")
        expect(page.locator("#record-list li")).to_have_count(3)
        page.select_option("#filter-status", "draft")
        expect(page.locator("#record-list li")).to_have_count(6)
        page.select_option("#filter-status", "")
        page.select_option("#filter-category", "Stats & ML")
        expect(page.locator("#record-list li")).to_have_count(9)
        page.fill("#filter-text", "quantile")
        expect(page.locator("#record-list li")).to_have_count(1)
        page.fill("#filter-text", "")
        open_record(page, "tokenization")
        expect(page.locator("#status")).to_have_value("approved")
        expect(page.locator("#review-info")).to_contain_text("last set by Dr Ada Lovelace")
        expect(cell(page, 0, "excellent").locator("textarea")).to_have_value(new_excellent)
        expect(cell(page, 0, "excellent").locator(".marker del")).to_have_text(draft_excellent)
        expect(row(page, 1).locator('td[data-cell="name"] .marker del')).to_have_text(names[1])
        expect(page.locator("#source-info")).to_contain_text("written by: llm+expert")

        # Revert the third edit to the LLM draft and save again.
        cell(page, 2, "fair").locator("button.revert").click()
        expect(cell(page, 2, "fair").locator("textarea")).to_have_value(draft_fair)
        expect(cell(page, 2, "fair").locator(".marker del")).to_have_count(0)
        with page.expect_response(is_save_response):
            page.click("#save-button")
        expect(page.locator("#banner")).to_have_text("Saved 1 instruction(s).")
        page.locator("#history-box summary").click()
        expect(page.locator("#history > li")).to_have_count(2)
        assert watched.errors == [] and watched.dialogs == []

    # The saved file: accepted by validate, and `diff` shows exactly the two edits.
    checked = rubric_eval(tmp_path, "validate", "--input_path", "rubrics.json", "--levels", ",".join(LEVELS))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "problems: 0 errors" in checked.stdout
    diffed = rubric_eval(tmp_path, "diff", "--input_path", "rubrics.json", "--format", "json")
    assert diffed.returncode == 0, diffed.stderr
    changed = [
        (d["index"], f) for d in json.loads(diffed.stdout) for f in d["fields"] if f["status"] == "changed"
    ]
    assert [(index, f["field"]) for index, f in changed] == [(0, "rubric")]
    (rubric_diff,) = [f for _, f in changed]
    assert rubric_diff["source"] == "llm+expert" and not rubric_diff["order_changed"]
    assert [
        (c["kind"], c["criterion"], c["old_name"], c["cells"], c["old_weight"] == c["new_weight"])
        for c in rubric_diff["changes"]
    ] == [
        ("changed", names[0], None, {"excellent": [draft_excellent, new_excellent]}, True),
        ("renamed", new_name, names[1], {}, True),
    ]
    text = rubric_eval(tmp_path, "diff", "--input_path", "rubrics.json").stdout
    assert f"  ~ renamed {names[1]!r} -> {new_name!r}" in text
    assert "9 records; edited against the LLM draft: 0 brainstormed_rubric, 1 rubric" in text
    after = read(path)
    assert [r.get("review", {}).get("status") for r in after] == ["approved"] * 3 + [None] * 6
    assert {r["review"]["reviewer"] for r in after[:3]} == {"Dr Ada Lovelace"}
    for old, new in zip(before[1:], after[1:], strict=True):  # only the review was added to the others
        assert {k: v for k, v in new.items() if k != "review"} == old
    # And `generate_rubrics` accepts the file unchanged: it keeps the expert-edited rubric.
    kept = rubric_eval(tmp_path, "generate_rubrics", "--input_path", "rubrics.json", "--output_path", "again.json",
                       "--rubric_generator_configs", CONFIG, "--cache_dir", str(tmp_path / "cache"), "--quiet")  # fmt: skip
    assert kept.returncode == 0, kept.stderr
    assert "9 kept (8 llm, 1 llm+expert)" in kept.stdout
    assert read(tmp_path / "again.json")[0]["rubric"] == after[0]["rubric"]
    judged = [
        b
        for b in openai_env.requests
        if (b.get("response_format") or {}).get("json_schema", {}).get("name") == "RubricGrading"
    ]
    assert len(judged) == 1 and new_name in json.dumps(judged[0]["messages"])


def test_a_concurrent_edit_from_a_second_tab_is_detected_not_lost(
    browser: Any, tmp_path: Path, openai_env: OpenAICompatibleServer
) -> None:
    path = write(tmp_path / "rubrics.json", llm_rubric_records())
    with studio(path, tmp_path / "cache") as url:
        context = browser.new_context()
        tab_a, tab_b = Watched(context.new_page()), Watched(context.new_page())
        a, b = tab_a.open(url), tab_b.open(url)
        a.fill("#reviewer", "Dr A")
        b.fill("#reviewer", "Dr B")
        # B starts editing a cell; A edits the same cell and saves first.
        cell(b, 0, "good").locator("textarea").fill("B's wording")
        cell(a, 0, "good").locator("textarea").fill("A's wording")
        with a.expect_response(is_save_response):
            a.keyboard.press("Control+s")
        expect(a.locator("#banner")).to_have_text("Saved 1 instruction(s).")
        # B's page notices the file changed and keeps the unsaved edit.
        expect(b.locator("#banner")).to_contain_text("The file changed on disk", timeout=8000)
        expect(cell(b, 0, "good").locator("textarea")).to_have_value("B's wording")
        b.keyboard.press("Control+s")
        conflict = b.locator("#conflict-list li.conflict")
        expect(conflict).to_have_count(1)
        expect(conflict.locator(".theirs")).to_contain_text("good: A's wording")
        expect(conflict.locator(".yours")).to_contain_text("good: B's wording")
        expect(cell(b, 0, "good").locator("textarea")).to_have_value("B's wording")  # not lost
        assert read(path)[0]["rubric"][0]["performance_to_description"]["good"] == "A's wording"
        # B keeps theirs... B's own: the file now holds B's wording; the history names both.
        with b.expect_response(is_save_response):
            conflict.locator("button.keep-mine").click()
        expect(b.locator("#banner")).to_have_text("Saved 1 instruction(s).")
        expect(b.locator("#conflicts")).to_be_hidden()
        saved = read(path)[0]
        assert saved["rubric"][0]["performance_to_description"]["good"] == "B's wording"
        assert [h["by"] for h in saved["rubric_provenance"]["history"]] == ["Dr A", "Dr B"]

        # Second round on another record: this time B takes A's version.
        open_record(a, "r1")
        open_record(b, "r1")
        cell(b, 1, "poor").locator("textarea").fill("B again")
        cell(a, 1, "poor").locator("textarea").fill("A again")
        with a.expect_response(is_save_response):
            a.click("#save-button")
        expect(a.locator("#banner")).to_have_text("Saved 1 instruction(s).")
        b.click("#save-button")
        expect(b.locator("#conflict-list li.conflict")).to_have_count(1)
        b.locator("#conflict-list button.take-theirs").click()
        expect(cell(b, 1, "poor").locator("textarea")).to_have_value("A again")
        expect(b.locator("#dirty-count")).to_have_text("all saved")
        assert read(path)[1]["rubric"][1]["performance_to_description"]["poor"] == "A again"
        assert tab_a.errors == tab_b.errors == [] and tab_a.dialogs == tab_b.dialogs == []
        context.close()


HOSTILE = {
    "instruction": '<script>window.__pwned = 1; alert("instruction")</script>Solve x+1=2. </textarea>',
    "notes": "<img src=x onerror=\"window.__pwned = 2; alert('notes')\"> check the algebra",
    "reference": '</textarea><img src=x onerror=alert("reference")>x = 1',
    "output": '"><svg onload=alert("answer")></svg><script>window.__pwned = 3</script>x = 1',
    "cell": '</textarea><script>window.__pwned = 4</script><img src=x onerror=alert("cell")>',
    "name": '<img src=x onerror=alert("criterion")>Algebra',
    "category": '<b onmouseover=alert("category")>Math</b>',
}


def test_hostile_text_is_displayed_never_executed(
    browser: Any, tmp_path: Path, openai_env: OpenAICompatibleServer
) -> None:
    records = llm_rubric_records()
    hostile = records[0]
    hostile.update(
        instruction=HOSTILE["instruction"],
        useful_info_to_eval_instruction=HOSTILE["notes"],
        excellent_response=HOSTILE["reference"],
        output=HOSTILE["output"],
        category=HOSTILE["category"],
    )
    hostile["rubric"][0]["criterion"] = HOSTILE["name"]
    hostile["rubric"][0]["performance_to_description"]["fair"] = HOSTILE["cell"]
    del hostile["rubric_provenance"]
    path = write(tmp_path / "rubrics.json", records)
    with studio(path, tmp_path / "cache") as url:
        watched = Watched(browser.new_page())
        page = watched.open(url)
        expect(page.locator("#instruction")).to_have_text(HOSTILE["instruction"])
        expect(page.locator("#notes")).to_have_text(HOSTILE["notes"])
        page.locator("#reference-box summary").click()
        expect(page.locator("#reference")).to_have_text(HOSTILE["reference"])
        expect(page.locator("#record-title")).to_have_text(f"r0 · {HOSTILE['category']}")
        expect(page.locator("#record-list li").first).to_contain_text(HOSTILE["instruction"][:60])
        expect(row(page, 0).locator("input.name")).to_have_value(HOSTILE["name"])
        expect(cell(page, 0, "fair").locator("textarea")).to_have_value(HOSTILE["cell"])
        # The hostile answer is pilot-graded; the page shows it and the judge's grades as text.
        page.click("#use-output")
        expect(page.locator(".pilot-answer")).to_have_value(HOSTILE["output"])
        page.click("#run-pilot")
        expect(page.locator(".pilot-result")).to_have_count(1)
        expect(page.locator(".pilot-result table.grades tr").nth(1).locator("td").first).to_have_text(
            HOSTILE["name"]
        )
        # An edit with hostile text goes through the conflict and history views as text too.
        page.fill("#reviewer", '<img src=x onerror=alert("reviewer")>')
        cell(page, 0, "good").locator("textarea").fill(HOSTILE["cell"])
        with page.expect_response(is_save_response):
            page.keyboard.press("Control+s")
        expect(page.locator("#banner")).to_have_text("Saved 1 instruction(s).")
        page.locator("#history-box summary").click()
        expect(page.locator("#history > li").first).to_contain_text('<img src=x onerror=alert("reviewer")>')
        page.mouse.move(5, 5)
        page.locator("#record-list li").first.hover()
        assert page.evaluate(PWNED_PROBE), "hostile text created an element or ran a script"
        assert watched.dialogs == [] and watched.errors == []


def test_llm_suggestions_are_accepted_or_rejected_and_a_rubric_is_drafted_from_an_approved_brainstorm(
    browser: Any, tmp_path: Path, openai_env: OpenAICompatibleServer
) -> None:
    records = llm_rubric_records()
    del records[2]["rubric"], records[2]["rubric_provenance"], records[2]["excellent_response"]
    path = write(tmp_path / "rubrics.json", records)
    with studio(path, tmp_path / "cache") as url:
        watched = Watched(browser.new_page())
        page = watched.open(url)
        page.fill("#reviewer", "Dr Ada")
        suggestions = page.locator("#suggestion-list li.suggestion")
        # A whole-criterion suggestion, rejected: the table does not change.
        row(page, 1).locator("button.ask-row").click()
        expect(suggestions).to_have_count(1)
        expect(suggestions.first.locator("pre")).to_contain_text("Clarity (weight 50)")
        suggestions.first.locator("button.reject").click()
        expect(suggestions).to_have_count(0)
        expect(page.locator("#dirty-count")).to_have_text("all saved")
        # A cell suggestion, accepted: the cell takes the text and shows the draft under it.
        cell(page, 0, "fair").locator("button.ask").click()
        expect(suggestions).to_have_count(1)
        suggested = suggestions.first.locator("pre").text_content()
        assert suggested and suggested != "Correctness at fair"
        suggestions.first.locator("button.accept").click()
        expect(cell(page, 0, "fair").locator("textarea")).to_have_value(suggested)
        expect(cell(page, 0, "fair").locator(".marker del")).to_have_text("Correctness at fair")
        # The brainstorm: a checklist suggestion from the brainstormer, accepted.
        page.click("#tab-brainstormed_rubric")
        row(page, 0).locator("button.ask-row").click()
        expect(suggestions).to_have_count(1)
        suggestions.first.locator("button.accept").click()
        checklist = row(page, 0).locator("textarea").input_value()
        assert checklist and checklist != "check Correctness"
        with page.expect_response(is_save_response):
            page.keyboard.press("Control+s")
        expect(page.locator("#banner")).to_have_text("Saved 1 instruction(s).")
        saved = read(path)[0]
        assert saved["rubric"][0]["performance_to_description"]["fair"] == suggested
        assert saved["rubric_provenance"]["history"][0]["llm_suggestions"] == [
            "Correctness / fair (openai/test-llm)"
        ]
        assert saved["brainstormed_rubric"][0]["checklist"] == checklist.split("\n")
        assert saved["brainstormed_rubric_provenance"]["source"] == "llm+expert"

        # r2 has a brainstorm and no rubric: approve the brainstorm, save, then let the LLM draft the rubric.
        open_record(page, "r2")
        expect(page.locator("#tab-rubric")).to_have_text("Rubric (none)")
        page.click("#tab-rubric")
        expect(page.locator("#draft-rubric")).to_be_disabled()
        page.select_option("#status", "approved")
        with page.expect_response(is_save_response):
            page.click("#save-button")
        expect(page.locator("#banner")).to_have_text("Saved 1 instruction(s).")
        expect(page.locator("#draft-rubric")).to_be_enabled()
        page.click("#draft-rubric")
        expect(suggestions).to_have_count(1)
        expect(suggestions.first.locator("strong")).to_have_text("Full rubric from the brainstorm")
        suggestions.first.locator("button.accept").click()
        expect(page.locator("#grid tbody tr")).to_have_count(2)
        expect(page.locator("#status")).to_have_value("in review")
        with page.expect_response(is_save_response):
            page.click("#save-button")
        expect(page.locator("#banner")).to_have_text("Saved 1 instruction(s).")
        drafted = read(path)[2]
        assert [c["criterion"] for c in drafted["rubric"]] == ["Code", "Tests"]
        assert drafted["rubric_provenance"]["source"] == "llm"
        assert drafted["rubric_provenance"]["llm_draft"] == drafted["rubric"]
        assert drafted["review"]["status"] == "in review" and drafted["excellent_response"]
        assert watched.errors == [] and watched.dialogs == []


def test_criteria_are_added_removed_reordered_and_reweighted_in_the_table(
    browser: Any, tmp_path: Path, openai_env: OpenAICompatibleServer
) -> None:
    path = write(tmp_path / "rubrics.json", llm_rubric_records())
    with studio(path, tmp_path / "cache") as url:
        watched = Watched(browser.new_page())
        page = watched.open(url)
        page.fill("#reviewer", "Dr Ada")
        open_record(page, "r1")  # Accuracy, Depth, Style at 33.33 each
        expect(page.locator("#weight-sum")).to_have_text("100")
        row(page, 2).locator("button.remove").click()  # remove Style
        expect(page.locator("#removed")).to_contain_text("Removed from the LLM draft: Style (weight 33.33)")
        expect(page.locator("#weight-sum")).to_have_text("66.67")
        page.click("#add-criterion")
        new = row(page, 2)
        expect(new.locator("input.name")).to_be_focused()
        new.locator("input.name").fill("Rigour")
        new.locator("input.weight").fill("20")
        texts = ["Proves each step.", "One gap in a proof.", "Several unproven claims.", "No argument given."]
        for level, text in zip(LEVELS, texts, strict=True):
            cell(page, 2, level).locator("textarea").fill(text)
        expect(new).to_have_class("added")
        row(page, 1).locator('button[aria-label="move up"]').click()  # Depth before Accuracy
        expect(row(page, 0).locator("input.name")).to_have_value("Depth")
        expect(page.locator("#removed")).to_contain_text("Criteria reordered against the LLM draft.")
        expect(page.locator("#check-messages")).to_contain_text("weights sum to 86.67, not 100")
        page.click("#normalise")
        expect(page.locator("#weight-sum")).to_have_text("100")
        assert [row(page, i).locator("input.weight").input_value() for i in range(3)] == [
            "38.46",
            "38.46",
            "23.08",
        ]
        # A level renamed to another level's name would merge two columns: refused until it is distinct.
        header = page.locator("#grid thead input.level-name").nth(1)
        header.fill("excellent")
        expect(header).to_have_class("level-name invalid")
        header.fill("solid")
        expect(page.locator("#check-messages")).to_contain_text("Level names")
        header.fill("good")
        expect(page.locator("#check-messages")).not_to_contain_text("Level names")
        # Restore the removed criterion from the draft, then remove it again before saving.
        page.locator("#removed button.revert").click()
        expect(page.locator("#grid tbody tr")).to_have_count(4)
        row(page, 3).locator("button.remove").click()
        with page.expect_response(is_save_response):
            page.keyboard.press("Control+s")
        expect(page.locator("#banner")).to_have_text("Saved 1 instruction(s).")
        assert watched.errors == [] and watched.dialogs == []
    diffed = rubric_eval(tmp_path, "diff", "--input_path", "rubrics.json", "--format", "json")
    (field,) = [f for d in json.loads(diffed.stdout) for f in d["fields"] if f["status"] == "changed"]
    assert field["order_changed"]
    assert sorted((c["kind"], c["criterion"]) for c in field["changes"]) == [
        ("added", "Rigour"), ("changed", "Accuracy"), ("changed", "Depth"), ("removed", "Style"),
    ]  # fmt: skip
    saved = read(path)[1]["rubric"]
    assert [(c["criterion"], c["weight"]) for c in saved] == [
        ("Depth", 38.46),
        ("Accuracy", 38.46),
        ("Rigour", 23.08),
    ]
    checked = rubric_eval(tmp_path, "validate", "--input_path", "rubrics.json", "--levels", ",".join(LEVELS))
    assert checked.returncode == 0, checked.stdout + checked.stderr

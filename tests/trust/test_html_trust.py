"""The HTML report's Trust tab in a real browser: judging, rubric diagnostics, audit and meta-evaluation
show the JSON twin's numbers, and hostile names stay text."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from rubric_eval import Record, evaluate, generate_report
from rubric_eval.engine import Engine, EngineSettings
from rubric_eval.engine.providers.scripted import ScriptedProvider
from rubric_eval.reporting.html import write_html
from rubric_eval.steps.audit import audit
from rubric_eval.trust import meta_evaluate

from ._judges import PlantedJudge, planted_records

pytestmark = pytest.mark.browser
EVIL = "evil <img src=x onerror='window.__pwned=1'>"


def test_trust_tab_shows_the_reports_numbers(
    browser: Any, engine_settings: EngineSettings, tmp_path: Path
) -> None:
    records, _ = planted_records(8, ["model-a", EVIL], seed=3)
    engine = Engine(
        engine_settings, providers={"openai": ScriptedProvider(PlantedJudge(noise=0.3, seed=1).provider_fn)}
    )
    evaluated = [
        Record.model_validate(r)
        for r in evaluate(records, evaluator="openai/j", engine=engine, n_judge_samples=2)
    ]
    audited = audit(
        records, evaluator="openai/j", engine=engine, checks=["padding", "injection"], sample_size=8
    )
    meta = meta_evaluate(
        evaluated, reference_scores={"model-a": 2.0, EVIL: 1.0, "other": 0.5}, n_resamples=100
    )
    report = generate_report(evaluated, summarize=False, n_resamples=300, audit=audited, meta_evaluation=meta)
    md, js = report.write(tmp_path / "evaluation_report.md")
    html_path = write_html(report, evaluated, md.with_suffix(".html"))
    saved: dict[str, Any] = json.loads(js.read_text(encoding="utf-8"))

    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(html_path.as_uri())
    page.wait_for_selector("html[data-ready='1']")
    page.click("#tab-trust")
    judging = page.locator("#trust-judging tbody tr")
    assert judging.count() == 2
    first = next(m for m in saved["models"] if m["model"] == judging.nth(0).locator("td").nth(0).inner_text())
    noise = first["judging"]["noise"]
    assert judging.nth(0).locator("td").nth(2).inner_text().startswith(f"{noise['sem']:.2f} = ")
    diag = page.locator("#trust-diagnostics").inner_text()
    assert (
        f"{saved['rubric_diagnostics']['n_constant_rows']} of {saved['rubric_diagnostics']['n_rows']}" in diag
    )
    audit_rows = page.locator("#trust-audit tbody tr")
    assert audit_rows.count() == 2
    for i, check in enumerate(saved["audit"]["checks"]):
        assert audit_rows.nth(i).locator("td").nth(5).inner_text().startswith(check["verdict"])
    assert page.locator("#trust-rankings tbody tr td").nth(1).inner_text() == "2"
    assert page.locator("img").count() == 0 and page.evaluate("typeof window.__pwned") == "undefined"
    assert EVIL in page.locator("#trust-judging").inner_text()
    assert errors == []
    context.close()

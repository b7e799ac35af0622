"""The evaluation report's trust sections: judging (noise, panel, escalation), rubric diagnostics, audit,
meta-evaluation; in the JSON twin and the markdown, through `generate_report` and the CLI."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from rubric_eval import Record, evaluate, generate_report
from rubric_eval.cli import cli
from rubric_eval.engine import Engine, EngineSettings
from rubric_eval.engine.providers.scripted import ScriptedProvider
from rubric_eval.steps.panel import evaluate_panel
from rubric_eval.trust import rubric_diagnostics

from ._judges import LEVELS, PlantedJudge, planted_records, rubric, truth_token


def designed_records() -> list[dict[str, Any]]:
    """4 models x 6 instructions; 'Tone' is 'good' for everyone (constant), 'Style' always equals 'Accuracy'
    (redundant), nobody is ever 'poor' (unused level), and model quality orders the models."""
    records = []
    quality = {"best": 0, "second": 1, "third": 2, "worst": 2}
    criteria = [("Accuracy", 50.0), ("Style", 20.0), ("Tone", 30.0)]
    for i in range(6):
        for model, q in quality.items():
            accuracy = LEVELS[min(q + (i % 2 if model == "worst" else 0), 2)]
            levels = {"Accuracy": accuracy, "Style": accuracy, "Tone": "good"}
            records.append(
                {
                    "id": i,
                    "instruction": f"Instruction {i}.",
                    "rubric": rubric(criteria),
                    "output": f"{truth_token(levels)} answer by {model}",
                    "model": model,
                }
            )
    return records


def test_rubric_diagnostics_find_the_planted_rows(engine_settings: EngineSettings) -> None:
    engine = Engine(engine_settings, providers={"openai": ScriptedProvider(PlantedJudge().provider_fn)})
    evaluated = evaluate(
        [Record.model_validate(r) for r in designed_records()], evaluator="openai/j", engine=engine
    )
    diag = rubric_diagnostics(evaluated)
    assert diag is not None
    assert (diag.n_models, diag.n_instructions, diag.n_rows) == (4, 6, 18)
    assert diag.unused_levels == ["poor"]
    assert diag.n_constant_rows == 6  # Tone, every instruction
    assert {r.criterion for r in diag.least_separating[:6]} == {"Tone"}
    assert diag.n_redundant_pairs == 6 and {(p.criterion_a, p.criterion_b) for p in diag.redundant_pairs} == {
        ("Accuracy", "Style")
    }
    # Accuracy and Style order third and worst; Tone (constant) never moves the ranking.
    assert all(s.criterion != "Tone" for s in diag.weight_sensitivity if s.max_rank_change > 0)
    assert rubric_diagnostics(evaluated[:1]) is None  # one model: nothing to compare


def test_report_carries_judging_diagnostics_audit_and_meta_sections(
    engine_settings: EngineSettings, tmp_path: Path
) -> None:
    records, _ = planted_records(12, ["m-1", "m-2"], seed=9)
    judges = {"a": PlantedJudge(noise=0.3, seed=1), "b": PlantedJudge(noise=0.3, seed=2), "c": PlantedJudge()}
    engine = Engine(
        engine_settings,
        providers={"openai": ScriptedProvider(lambda request: judges[request.model].provider_fn(request))},
    )
    repeated = evaluate(records, evaluator="openai/a", engine=engine, n_judge_samples=3)
    report = generate_report(repeated, summarize=False, n_resamples=500)
    judging = report.models[0].judging
    assert judging is not None and judging.noise is not None and judging.noise.n_instructions == 12
    assert judging.noise.sem is not None and abs(judging.noise.sem - (report.models[0].score.sem or 0)) < 1e-9
    assert "**How the judging was done**" in report.markdown and "Judge self-consistency" in report.markdown
    assert report.rubric_diagnostics is not None and "## Rubric diagnostics" in report.markdown

    panel = evaluate_panel(records, evaluators="openai/a,openai/b", escalate_to="openai/c", engine=engine)
    (tmp_path / "panel.json").write_text(json.dumps(panel), encoding="utf-8")
    panel_report = generate_report(panel, summarize=False, n_resamples=500)
    judged = panel_report.models[0].judging
    assert judged is not None and judged.escalation is not None and len(judged.panel) == 1
    esc = judged.escalation
    n_disagree = sum(r["judge_panel_disagrees"] for r in panel if r["model"] == "m-1")
    assert esc.n_escalated == n_disagree and esc.calls_saved == 12 - n_disagree
    assert "Escalation to openai/c" in panel_report.markdown

    # The CLI: audit and meta-evaluation files become sections of the markdown and the JSON twin.
    audit_run = CliRunner().invoke(
        cli,
        [
            "meta_evaluate",
            "--input_path",
            str(tmp_path / "panel.json"),
            "--n_resamples",
            "100",
            "--reference_ranking",
            str(_write(tmp_path / "ref.csv", "model,score\nm-1,2\nm-2,1\n")),
        ],
        catch_exceptions=False,
    )
    assert audit_run.exit_code == 0, audit_run.output
    audit_json = tmp_path / "audit.json"
    audit_json.write_text(_audit_json(engine, records), encoding="utf-8")
    result = CliRunner().invoke(
        cli,
        [
            "generate_report",
            "--input_path",
            str(tmp_path / "panel.json"),
            "--output_path",
            str(tmp_path / "report.md"),
            "--summarize",
            "False",
            "--leaderboard_path",
            "None",
            "--audit_path",
            str(audit_json),
            "--meta_evaluation_path",
            str(tmp_path / "meta_evaluation.json"),
        ],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    markdown = (tmp_path / "report.md").read_text(encoding="utf-8")
    data = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    for heading in ("## Rubric diagnostics", "## Judge audit: openai/a", "## Judge meta-evaluation"):
        assert heading in markdown
    assert data["audit"]["checks"][0]["check"] == "padding"
    assert data["meta_evaluation"]["rankings"][0]["n_models"] == 2
    assert data["models"][0]["judging"]["escalation"]["n_answers"] == 12
    assert data["rubric_diagnostics"]["n_models"] == 2

    bad = CliRunner().invoke(
        cli,
        [
            "generate_report",
            "--input_path",
            str(tmp_path / "panel.json"),
            "--summarize",
            "False",
            "--audit_path",
            str(tmp_path / "panel.json"),
        ],
    )
    assert bad.exit_code == 2 and "not an audit written by rubric_eval" in bad.output


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def _audit_json(engine: Engine, records: list[dict[str, Any]]) -> str:
    from rubric_eval.steps.audit import audit

    report = audit(records, evaluator="openai/a", engine=engine, checks=["padding"], sample_size=6)
    return report.model_dump_json()

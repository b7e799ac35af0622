"""The report is the same whichever way it is computed: every number (scores, SEMs, CIs, p-values with
their seeds, categories, leaderboard, unscored counts, judging and rubric diagnostics) and the markdown
match a golden report, written by the records-in-memory implementation (main at 9d7e558) before the
report moved to one streaming pass over a compact summary.

The golden file holds each model's answers as a digest of their JSON (the answers themselves are the
fixture's records); `tests/evaluation/_report_fixture.py` builds the input.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from rubric_eval._io import write_records
from rubric_eval.cli import cli
from rubric_eval.reporting import EvaluationReport, generate_report

from ._report_fixture import report_fixture_records

_NO_SUMMARISER = "summary skipped (no summariser run)"
_SUMMARIZE_FALSE = "summary skipped (summarize=False)"
GOLDEN = json.loads((Path(__file__).parent / "data" / "report_golden.json").read_text(encoding="utf-8"))


def _comparable(report: EvaluationReport | dict[str, Any], source: str | None = None) -> dict[str, Any]:
    data = report.model_dump(mode="json") if isinstance(report, EvaluationReport) else report
    data = {**data, "generated_at": "GENERATED", "version": "VERSION"}
    models = []
    for model in data["models"]:
        model = dict(model)
        answers = model.pop("answers")
        model["answers_sha256"] = hashlib.sha256(json.dumps(answers, sort_keys=True).encode()).hexdigest()
        models.append(model)
    data["models"] = models
    text = json.dumps(data, sort_keys=True)
    if source is not None:
        text = text.replace(json.dumps(source)[1:-1], "evaluations.json")
    result: dict[str, Any] = json.loads(text)
    return result


def test_python_api_report_matches_the_golden_report() -> None:
    records = report_fixture_records()
    report = generate_report(records, source="evaluations.json")
    assert _comparable(report) == GOLDEN["default"]
    fixed = report.model_copy(update={"generated_at": "GENERATED", "version": "VERSION"})
    assert fixed.markdown == GOLDEN["markdown"]


def test_baseline_resamples_and_seed_match_the_golden_report() -> None:
    records = report_fixture_records()
    report = generate_report(records, source="evaluations.json", baseline="m-mid", n_resamples=2000, seed=3)
    assert _comparable(report) == GOLDEN["baseline_m_mid_2000_seed3"]


@pytest.mark.parametrize("layout", ["indented.json", "writer.json", "lines.jsonl"])
def test_generate_report_command_matches_the_golden_report(tmp_path: Path, layout: str) -> None:
    records = report_fixture_records()
    evaluations = tmp_path / f"evaluations_{layout}"
    if layout == "lines.jsonl":
        evaluations.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    elif layout == "writer.json":  # one compact record per line, as `rubric_eval evaluate` writes
        write_records(records, evaluations)
    else:
        evaluations.write_text(json.dumps(records, indent=2), encoding="utf-8")
    result = CliRunner().invoke(
        cli,
        [
            "generate_report",
            f"--input_path={evaluations}",
            f"--output_path={tmp_path / 'report.md'}",
            "--summarize=False",
            "--leaderboard_path=None",
        ],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    twin = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    # The command says why there is no summary (--summarize=False); the Python API had no summariser run.
    expected = json.loads(json.dumps(GOLDEN["default"]).replace(_NO_SUMMARISER, _SUMMARIZE_FALSE))
    assert _comparable(twin, source=str(evaluations)) == expected
    markdown = (tmp_path / "report.md").read_text(encoding="utf-8")
    markdown = markdown.replace(twin["generated_at"], "GENERATED").replace(twin["version"], "VERSION")
    markdown = markdown.replace(str(evaluations), "evaluations.json")
    assert markdown == GOLDEN["markdown"].replace(_NO_SUMMARISER, _SUMMARIZE_FALSE)

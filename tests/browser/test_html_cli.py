"""`generate_report --format` and the one-step commands' HTML beside the markdown (files written)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from rubric_eval.cli import cli
from rubric_eval.testing import OpenAICompatibleServer

from ._helpers import evaluated


def _evaluations(tmp_path: Path) -> Path:
    path = tmp_path / "evaluations.json"
    path.write_text(json.dumps([r.dump() for r in evaluated(models=2, instructions=4)]))
    return path


def _embedded(page: str) -> dict[str, object]:
    start = page.index('<script type="application/json" id="report-data">')
    body = page[page.index(">", start) + 1 : page.index("</script>", start)]
    return json.loads(body)  # type: ignore[no-any-return]


def test_format_html_writes_the_page_and_the_json_twin(tmp_path: Path) -> None:
    path = _evaluations(tmp_path)
    result = CliRunner().invoke(
        cli, ["generate_report", "--input_path", str(path), "--summarize", "False", "--format", "html"]
    )
    assert result.exit_code == 0, result.output
    page = (tmp_path / "evaluation_report.html").read_text(encoding="utf-8")
    twin = json.loads((tmp_path / "evaluation_report.json").read_text(encoding="utf-8"))
    assert not (tmp_path / "evaluation_report.md").exists()
    data = _embedded(page)
    assert data["report"]["leaderboard"] == twin["leaderboard"]  # type: ignore[index]
    assert str(tmp_path / "evaluation_report.html") in result.output


def test_format_markdown_and_html_share_one_name(tmp_path: Path) -> None:
    path = _evaluations(tmp_path)
    out = tmp_path / "reports" / "r.md"
    args = ["generate_report", "--input_path", str(path), "--summarize", "False", "--output_path", str(out)]
    result = CliRunner().invoke(cli, [*args, "--format", "markdown", "--format", "html"])
    assert result.exit_code == 0, result.output
    assert {"leaderboard.json", "r.html", "r.json", "r.md"} <= {p.name for p in out.parent.iterdir()}


def test_format_json_only_and_the_default_stays_markdown(tmp_path: Path) -> None:
    path = _evaluations(tmp_path)
    base = [
        "generate_report",
        "--input_path",
        str(path),
        "--summarize",
        "False",
        "--leaderboard_path",
        "None",
    ]
    result = CliRunner().invoke(cli, [*base, "--format", "json", "--output_path", str(tmp_path / "a.json")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "a.json").is_file() and not (tmp_path / "a.md").exists()
    result = CliRunner().invoke(cli, base)
    assert result.exit_code == 0, result.output
    assert (tmp_path / "evaluation_report.md").is_file() and not (
        tmp_path / "evaluation_report.html"
    ).exists()


@pytest.mark.integration
def test_one_step_command_writes_the_html_beside_the_markdown(
    openai_env: OpenAICompatibleServer, tmp_path: Path
) -> None:
    outputs = tmp_path / "outputs_m.json"
    records = [r.dump() for r in evaluated(models=1, instructions=3)]
    for r in records:
        for key in ("grades", "evaluator"):
            r.pop(key)
    outputs.write_text(json.dumps(records))
    result = CliRunner().invoke(
        cli,
        [
            f"--input_path={outputs}",
            "--evaluator_configs=openai/test-judge",
            "--summarize=False",
            f"--cache_dir={tmp_path / 'cache'}",
            "--quiet",
        ],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    (model,) = {r["model"] for r in records}  # default names carry the model
    page = (tmp_path / f"evaluation_report_{model}.html").read_text(encoding="utf-8")
    twin = json.loads((tmp_path / f"evaluation_report_{model}.json").read_text(encoding="utf-8"))
    data = _embedded(page)
    # The report as in its twin, less per-answer texts (carried once, in the page's own columns).
    models = [{k: v for k, v in m.items() if k != "answers"} for m in twin["models"]]
    assert data["report"]["models"] == models  # type: ignore[index]
    assert len(data["answers"]["model"]) == 3  # type: ignore[index]

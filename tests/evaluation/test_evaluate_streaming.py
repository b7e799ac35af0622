"""`rubric_eval evaluate` streams: answers finishing out of order are written in input order, a bad
record late in the file stops the run with nothing written, and a rerun pays only for what is new."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from rubric_eval.cli import cli
from rubric_eval.steps.evaluate_file import estimate_records
from rubric_eval.testing import OpenAICompatibleServer, Reply

from ._helpers import record, rubric

JUDGE = ["--evaluator_configs", "openai/gpt-4o-mini"]


def _evaluate(inp: Path, out: Path, cache: Path, *extra: str) -> Any:
    args = ["evaluate", "--input_path", str(inp), "--output_path", str(out), "--cache_dir", str(cache)]
    return CliRunner().invoke(cli, [*args, *JUDGE, "--max_concurrency", "8", *extra])


def _records(n: int) -> list[dict[str, Any]]:
    # Several answers per rubric (as in a multi-model run) and some distinct rubrics.
    return [
        record(i, rubric=rubric((f"Accuracy {i % 3}", 60.0), ("Clarity", 40.0)), model=f"m{i % 4}")
        for i in range(n)
    ]


@pytest.mark.parametrize("suffix", [".json", ".jsonl"])
def test_answers_arriving_out_of_order_are_written_in_input_order(
    make_openai_server: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, suffix: str
) -> None:
    def slower_for_earlier(body: dict[str, Any]) -> Reply:
        number = int(re.search(r"answer to instruction (\d+)", json.dumps(body)).group(1))  # type: ignore[union-attr]  # every prompt holds it
        return Reply(delay_s=0.002 * (40 - number))

    server: OpenAICompatibleServer = make_openai_server(handler=slower_for_earlier)
    monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    inp = tmp_path / f"outputs{suffix}"
    records = _records(40)
    inp.write_text(
        "\n".join(json.dumps(r) for r in records) if suffix == ".jsonl" else json.dumps(records, indent=1)
    )
    out = tmp_path / f"evaluations{suffix}"
    first = _evaluate(inp, out, tmp_path / "cache")
    assert first.exit_code == 0, first.output
    text = out.read_text()
    written = [json.loads(line) for line in text.splitlines()] if suffix == ".jsonl" else json.loads(text)
    assert [r["id"] for r in written] == list(range(40))
    assert all(r["score"] is not None and r["evaluator"] == "openai/gpt-4o-mini" for r in written)
    spent = float(re.search(r"spent \$([0-9.]+)", first.output).group(1))  # type: ignore[union-attr]  # summary line
    assert spent > 0 and "0 from cache" in first.output
    # No temp files left; the run record is written beside the evaluations.
    expected = ["cache", inp.name, out.name, f"{out.stem}.runs.json"]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(expected)

    rerun = _evaluate(inp, tmp_path / f"again{suffix}", tmp_path / "cache")
    assert rerun.exit_code == 0, rerun.output
    assert server.request_count == 40
    assert "40 judge calls (0 failed, 40 from cache); spent $0.0000" in rerun.output
    assert f"answers from the cache had cost ${spent:.4f}" in rerun.output
    assert (tmp_path / f"again{suffix}").read_text() != ""


def test_bad_record_late_in_the_file_writes_nothing_and_the_rerun_reuses_the_answers(
    openai_env: OpenAICompatibleServer, tmp_path: Path
) -> None:
    records = _records(300)
    bad = dict(records[290])
    del bad["output"]
    inp = tmp_path / "outputs.json"
    inp.write_text(json.dumps([*records[:290], bad, *records[291:]]))
    out = tmp_path / "evaluations.json"
    failed = _evaluate(inp, out, tmp_path / "cache")
    assert failed.exit_code == 2
    assert f"{inp}, record 290 (id=290), field 'output'" in failed.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cache", "outputs.json"]  # nothing half-written
    asked = openai_env.request_count
    assert asked > 0  # the judge was already at work when the reader reached record 290

    inp.write_text(json.dumps(records))
    fixed = _evaluate(inp, out, tmp_path / "cache")
    assert fixed.exit_code == 0, fixed.output
    assert len(json.loads(out.read_text())) == 300
    # Finished answers were cached as they arrived: the rerun asks only for the rest.
    assert openai_env.request_count - asked <= 300 - int(
        re.search(r"(\d+) from cache", fixed.output).group(1)
    )  # type: ignore[union-attr]  # summary line
    assert int(re.search(r"(\d+) from cache", fixed.output).group(1)) > 0  # type: ignore[union-attr]  # summary line


@pytest.mark.parametrize("suffix", [".json", ".jsonl"])
def test_record_count_estimate_for_progress(tmp_path: Path, suffix: str) -> None:
    records = [record(i, output="x" * 3_000_000 if i == 1 else f'"instruction": {i}') for i in range(5)]
    path = tmp_path / f"f{suffix}"
    path.write_text(
        "\n".join(json.dumps(r) for r in records) if suffix == ".jsonl" else json.dumps(records, indent=2)
    )
    assert estimate_records(path) == 5


def test_input_warnings_while_streaming(openai_env: OpenAICompatibleServer, tmp_path: Path) -> None:
    # The same instruction id for several models is a normal multi-model file; twice for one model is not.
    records = [record(i % 3, model=f"m{i // 3}") for i in range(6)] + [record(0, model="m0", output=" ")]
    inp = tmp_path / "outputs.jsonl"
    inp.write_text("\n".join(json.dumps(r) for r in records))
    result = _evaluate(inp, tmp_path / "out.jsonl", tmp_path / "cache")
    assert "duplicate ids (results cannot be told apart): 0 (m0)" in result.output
    assert "empty answers (graded as given): record 6 (id=0)" in result.output
    assert len((tmp_path / "out.jsonl").read_text().splitlines()) == 7


def test_evaluations_of_other_models_are_not_replaced_and_the_same_models_are(
    openai_env: OpenAICompatibleServer, tmp_path: Path
) -> None:
    # The input's models are read only when the output file already exists: then they decide.
    first, other = tmp_path / "outputs.json", tmp_path / "other.json"
    first.write_text(json.dumps(_records(8)))
    other.write_text(json.dumps([{**r, "model": "someone-else"} for r in _records(8)]))
    out, cache = tmp_path / "evaluations.json", tmp_path / "cache"
    assert _evaluate(first, out, cache).exit_code == 0
    kept = out.read_text()
    refused = _evaluate(other, out, cache)
    assert refused.exit_code == 2 and "--overwrite" in refused.output and "someone-else" in refused.output
    assert out.read_text() == kept
    again = _evaluate(first, out, cache)  # the same models and judge: a rerun may replace its own file
    assert again.exit_code == 0, again.output
    assert _evaluate(other, out, cache, "--overwrite").exit_code == 0
    assert {r["model"] for r in json.loads(out.read_text())} == {"someone-else"}

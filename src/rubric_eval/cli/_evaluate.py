"""`rubric_eval evaluate`: grade each output against its rubric with an LLM judge."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from rubric_eval.cli._options import engine_options, engine_settings_from, input_path, output_path

EVALUATOR_OPTION = click.option(
    "--evaluator_configs",
    default=None,
    help="Judge: a built-in config name, a YAML path, or provider/model (default: gpt-5-mini).",
)
MAX_INSTANCES_OPTION = click.option(
    "--max_instances",
    type=click.IntRange(min=1),
    default=None,
    help="Only evaluate the first N records (a quick trial).",
)


def evaluation_lines(records: Sequence[Any]) -> tuple[list[str], int]:
    """Human-readable summary of evaluated records, and the number of failed judge calls."""
    n_criteria = n_scored = n_unscored_instr = failed = cached = invented = unknown = unpriced = 0
    cost = 0.0
    for record in records:
        grades = record.grades or []
        n_criteria += len(grades)
        n_scored += sum(g.status == "scored" for g in grades)
        n_unscored_instr += record.score is None
        extra = record.model_extra or {}
        issues = extra.get("judge_issues") or {}
        failed += bool(issues.get("error"))
        invented += len(issues.get("invented_criteria") or [])
        unknown += len(issues.get("unknown_levels") or {})
        cached += bool(extra.get("evaluation_cached"))
        cost += float(extra.get("evaluation_price_per_example") or 0.0)
        unpriced += extra.get("evaluation_cost_known") is False
    cost_text = f"cost ${cost:.4f}" + (
        f" + unknown ({unpriced} calls to an unpriced model)" if unpriced else ""
    )
    lines = [
        f"evaluate: {len(records)} records: {n_criteria} criteria graded, {n_scored} scored, "
        f"{n_criteria - n_scored} unscored; {n_unscored_instr} instructions unscored; "
        f"{failed} failed judge calls; {cached} from cache; {cost_text}",
    ]
    if invented or unknown:
        lines.append(f"dropped judge output: {invented} invented criteria, {unknown} unknown levels")
    return lines, failed


def report_failures(failed: int) -> None:
    if failed:
        click.secho(
            f"{failed} judge calls failed; their criteria are unscored with the reason (see 'grades' and "
            "'judge_issues'). Rerun the same command to retry them: finished calls come from the cache.",
            fg="red",
            err=True,
        )


@click.command()
@input_path(help="Outputs file: records with 'instruction', 'rubric' and 'output' (or 'outputs').")
@output_path(help="Where to write the evaluations (JSON list, or JSONL by suffix).")
@EVALUATOR_OPTION
@MAX_INSTANCES_OPTION
@click.option(
    "--summarize",
    type=click.BOOL,
    default=None,
    help="Accepted for compatibility with the original README; evaluate never summarises "
    "(summaries are made by generate_report).",
)
@engine_options
def evaluate(
    input_path: Path,
    output_path: Path,
    evaluator_configs: str | None,
    max_instances: int | None,
    summarize: bool | None,
    **kwargs: Any,
) -> None:
    """Grade each output criterion by criterion; add grades, feedback and scores to each record."""
    from rubric_eval._config import resolve_config
    from rubric_eval._io import read_records, write_records
    from rubric_eval.engine import Engine
    from rubric_eval.steps.evaluate import evaluate_records

    config = resolve_config("evaluator", evaluator_configs)
    engine = Engine(engine_settings_from(kwargs))
    records = read_records(input_path)
    if max_instances is not None:
        records = records[:max_instances]
    out = evaluate_records(records, config=config, engine=engine, source=str(input_path))
    write_records(out, output_path)
    lines, failed = evaluation_lines(out)
    for line in lines:
        click.echo(line)
    click.echo(f"wrote {len(out)} evaluations to {output_path}")
    report_failures(failed)
    if failed:
        raise SystemExit(1)

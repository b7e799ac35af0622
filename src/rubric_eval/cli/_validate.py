"""`rubric_eval validate`: check a benchmark, outputs or evaluations file and summarise it."""

from __future__ import annotations

from pathlib import Path

import click

from rubric_eval.cli._options import input_path


@click.command()
@input_path(required=False, help="Benchmark, outputs or evaluations file (JSON list or JSONL).")
@click.option(
    "--benchmark",
    default=None,
    help="Instead of --input_path: a built-in benchmark by name (each of its files is checked).",
)
@click.option(
    "--levels",
    default=None,
    help="Expected level names, best first, comma-separated (e.g. excellent,good,fair,poor).",
)
@click.option(
    "--max_problems",
    type=click.IntRange(min=1),
    default=20,
    show_default=True,
    help="How many problems to print.",
)
def validate(input_path: Path | None, benchmark: str | None, levels: str | None, max_problems: int) -> None:
    """Check a record file (or each file of a built-in benchmark); print a summary and every problem.

    Exits 1 on errors.
    """
    from rubric_eval.datasets import benchmark_files

    if (input_path is None) == (benchmark is None):
        raise click.UsageError("give --input_path FILE or --benchmark NAME (one of them)")
    expected = [lvl.strip() for lvl in levels.split(",")] if levels else None
    paths = [input_path] if input_path is not None else benchmark_files(benchmark or "default")
    n_errors = sum(_validate_file(path, expected, max_problems) for path in paths)
    if n_errors:
        raise SystemExit(1)


def _validate_file(input_path: Path, expected: list[str] | None, max_problems: int) -> int:
    """Print one file's summary and problems; return its number of errors."""
    from rubric_eval._io import read_raw
    from rubric_eval.validation import validate_records

    summary = validate_records(read_raw(input_path), path=str(input_path), expected_levels=expected)
    echo = click.echo
    echo(f"{input_path}: {summary.n_records} records")
    if summary.categories:
        cats = ", ".join(f"{name} ({count})" for name, count in summary.categories.items())
        echo(f"  categories: {len(summary.categories)}: {cats}")
    if summary.n_with_rubric:
        per = ", ".join(f"{k} criteria: {v}" for k, v in summary.criteria_per_instruction.items())
        echo(f"  rubrics: {summary.n_with_rubric} records, {summary.n_criteria} criteria ({per})")
        echo("  levels: " + "; ".join(f"{lv} ({n})" for lv, n in summary.level_sets.items()))
        weights_ok = summary.n_with_rubric - summary.weights_not_100
        echo(f"  weights: {weights_ok} of {summary.n_with_rubric} rubrics sum to 100")
    if summary.n_with_brainstorm:
        echo(f"  brainstormed rubrics: {summary.n_with_brainstorm}")
    if summary.n_with_output:
        models = ", ".join(f"{m} ({n})" for m, n in summary.models.items())
        echo(f"  model outputs: {summary.n_with_output} ({models})")
    if summary.n_evaluated:
        echo(f"  evaluated: {summary.n_evaluated}")
    errors, warnings = summary.errors, [p for p in summary.problems if p.severity != "error"]
    for label, problems in (("error", errors), ("warning", warnings)):
        for problem in problems[:max_problems]:
            click.secho(f"  {label}: {problem}", fg="red" if label == "error" else "yellow", err=True)
        if len(problems) > max_problems:
            click.secho(f"  ... and {len(problems) - max_problems} more {label}s", err=True)
    echo(f"  problems: {len(errors)} errors, {len(warnings)} warnings")
    return len(errors)

"""Benchmark creation commands: brainstorm_rubrics, generate_rubrics, brainstorm_and_generate_rubrics,
generate_outputs, and diff (what experts changed against the LLM draft)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from rubric_eval.cli._options import (
    BENCHMARK_OPTION,
    echo_engine_totals,
    engine_options,
    engine_settings_from,
    input_path,
    output_path,
)

_OVERWRITE = click.option(
    "--overwrite",
    is_flag=True,
    default=False,
    help="Regenerate fields that already exist, including ones experts wrote or edited.",
)
_MAX_INSTANCES = click.option(
    "--max_instances",
    type=click.IntRange(min=1),
    default=None,
    help="Only process the first N records (a quick trial); the output holds only those.",
)
_LEVELS = click.option(
    "--levels",
    default="excellent,good,fair,poor",
    show_default=True,
    help="Performance levels of the rubric, best first, comma-separated.",
)
_BRAINSTORMER = click.option(
    "--brainstormer_configs",
    default=None,
    help="Brainstormer: a built-in config name, a YAML path, or provider/model (default: gpt-5-mini).",
)
_RUBRIC_GENERATOR = click.option(
    "--rubric_generator_configs",
    default=None,
    help="Rubric generator: a built-in config name, a YAML path, or provider/model (default: gpt-5-mini).",
)


def _levels(text: str) -> list[str]:
    return [level.strip() for level in text.split(",")]


def _read(path: Path, max_instances: int | None) -> list[Any]:
    from rubric_eval._io import read_records

    records = read_records(path)
    return records if max_instances is None else records[:max_instances]


def _finish(summaries: list[Any], records: list[Any], path: Path, engine: Any = None) -> None:
    """Write the records, print what happened, exit 1 if any call failed."""
    from rubric_eval._io import write_records

    write_records(records, path)
    for summary in summaries:
        for warning in summary.warnings:
            click.secho(f"warning: {warning}", fg="yellow", err=True)
        head, *failures = summary.lines()
        click.echo(head)
        for line in failures:
            click.secho(line, fg="red", err=True)
    if engine is not None:
        echo_engine_totals(engine)
    click.echo(f"wrote {len(records)} records to {path}")
    if any(summary.failures for summary in summaries):
        click.secho(
            "some calls failed (the reason is in each record's *_error field); rerun the same command to "
            "retry them: finished calls come from the cache",
            fg="red",
            err=True,
        )
        raise SystemExit(1)


def _write_partial(records: list[Any], output_path: Path, input_path: Path | None, done: str) -> None:
    """Ctrl-C / SIGTERM: the records so far go to ``F.partial.json`` beside the output, never over it nor
    over the input (the rerun makes only the missing calls: the finished ones are in the cache)."""
    from rubric_eval._io import write_records
    from rubric_eval.pipeline import partial_path

    partial = partial_path(output_path)
    if input_path is not None and partial.resolve() == input_path.resolve():
        click.echo(f"interrupted: {done} so far; {partial} is the input, so it was left as it was")
        return
    write_records(records, partial)
    click.echo(f"interrupted: wrote {done} so far to {partial}")


def _finished(summaries: list[Any], counted: str) -> str:
    """``3 of 8 rubrics`` for the stopped step (the last summary)."""
    last = summaries[-1]
    return f"{last.generated} of {last.n_records} {counted}"


def _engine(kwargs: dict[str, Any], output_path: Path) -> Any:
    """The command's engine, once the output path is known to be writable (before any call is paid)."""
    from rubric_eval._io import check_writable
    from rubric_eval.engine import Engine

    check_writable(output_path)
    return Engine(engine_settings_from(kwargs))


@click.command()
@input_path(help="Instructions (JSON list or JSONL), optionally with useful_info_to_eval_instruction.")
@output_path(help="Where to write the records with brainstormed_rubric added.")
@_BRAINSTORMER
@_OVERWRITE
@_MAX_INSTANCES
@engine_options
def brainstorm_rubrics(
    input_path: Path,
    output_path: Path,
    brainstormer_configs: str | None,
    overwrite: bool,
    max_instances: int | None,
    **kwargs: Any,
) -> None:
    """Draft a high-level rubric (weighted criteria with checklists) for each instruction.

    Records that already have a brainstormed_rubric (e.g. written or edited by an expert) are kept
    unless --overwrite.
    """
    from rubric_eval._config import resolve_config
    from rubric_eval.errors import RubricsInterrupted
    from rubric_eval.steps.brainstorm import run_brainstorm

    config = resolve_config("brainstormer", brainstormer_configs)
    engine = _engine(kwargs, output_path)
    records = _read(input_path, max_instances)
    try:
        out, summary = run_brainstorm(records, config=config, engine=engine, overwrite=overwrite)
    except RubricsInterrupted as stop:  # recorded, then the interrupt goes on (exit 130 / 143)
        _write_partial(stop.records, output_path, input_path, _finished(stop.summaries, "brainstorms"))
        raise
    _finish([summary], out, output_path, engine)


@click.command()
@input_path(help="Records with brainstormed_rubric (or rubric, kept as is).")
@output_path(help="Where to write the records with rubric added.")
@_RUBRIC_GENERATOR
@_LEVELS
@_OVERWRITE
@_MAX_INSTANCES
@engine_options
def generate_rubrics(
    input_path: Path,
    output_path: Path,
    rubric_generator_configs: str | None,
    levels: str,
    overwrite: bool,
    max_instances: int | None,
    **kwargs: Any,
) -> None:
    """Write the full rubric (every criterion x level) from each record's brainstormed rubric.

    Rubrics that already exist (e.g. written or edited by an expert) are kept unless --overwrite.
    """
    from rubric_eval._config import resolve_config
    from rubric_eval.errors import RubricsInterrupted
    from rubric_eval.steps.rubrics import check_levels, run_rubrics

    level_names = check_levels(_levels(levels))
    config = resolve_config("rubric_generator", rubric_generator_configs)
    engine = _engine(kwargs, output_path)
    records = _read(input_path, max_instances)
    try:
        out, summary = run_rubrics(
            records,
            config=config,
            engine=engine,
            overwrite=overwrite,
            levels=level_names,
            path=str(input_path),
        )
    except RubricsInterrupted as stop:  # recorded, then the interrupt goes on (exit 130 / 143)
        _write_partial(stop.records, output_path, input_path, _finished(stop.summaries, "rubrics"))
        raise
    _finish([summary], out, output_path, engine)


@click.command()
@input_path(help="Instructions (JSON list or JSONL), optionally with useful_info_to_eval_instruction.")
@output_path(help="Where to write the records with brainstormed_rubric and rubric added.")
@_BRAINSTORMER
@_RUBRIC_GENERATOR
@_LEVELS
@_OVERWRITE
@_MAX_INSTANCES
@engine_options
def brainstorm_and_generate_rubrics(
    input_path: Path,
    output_path: Path,
    brainstormer_configs: str | None,
    rubric_generator_configs: str | None,
    levels: str,
    overwrite: bool,
    max_instances: int | None,
    **kwargs: Any,
) -> None:
    """brainstorm_rubrics then generate_rubrics in one go (experts can still edit both afterwards)."""
    from rubric_eval._config import resolve_config
    from rubric_eval.errors import RubricsInterrupted
    from rubric_eval.steps.rubrics import brainstorm_and_generate, check_levels

    level_names = check_levels(_levels(levels))
    brainstormer = resolve_config("brainstormer", brainstormer_configs)
    rubric_generator = resolve_config("rubric_generator", rubric_generator_configs)
    engine = _engine(kwargs, output_path)
    records = _read(input_path, max_instances)
    try:
        out, summaries = brainstorm_and_generate(
            records,
            brainstormer=brainstormer,
            rubric_generator=rubric_generator,
            engine=engine,
            overwrite=overwrite,
            levels=level_names,
        )
    except RubricsInterrupted as stop:  # recorded, then the interrupt goes on (exit 130 / 143)
        counted = "brainstorms" if len(stop.summaries) == 1 else "rubrics"
        _write_partial(stop.records, output_path, input_path, _finished(stop.summaries, counted))
        raise
    _finish(summaries, out, output_path, engine)


@click.command()
@input_path(required=False, help="Instructions (JSON list or JSONL); default: the built-in benchmark.")
@output_path(help="Where to write the records with the model's output added.")
@click.option(
    "--model_configs",
    "--generator_configs",  # the role's name, like --evaluator_configs; --model_configs is the seed's
    "model_configs",
    default=None,
    help="Model under test: a built-in config name, a YAML path, or provider/model (default: gpt-4o-mini).",
)
@click.option(
    "--max_instances",
    type=click.IntRange(min=1),
    default=None,
    help="Answer a seeded random sample of N instructions (kept in file order).",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the --max_instances sample.")
@BENCHMARK_OPTION
@engine_options
def generate_outputs(
    input_path: Path | None,
    output_path: Path,
    model_configs: str | None,
    max_instances: int | None,
    seed: int,
    benchmark: str | None,
    **kwargs: Any,
) -> None:
    """Generate the answers of the model under test to each instruction (adds output and model)."""
    from rubric_eval._config import resolve_config
    from rubric_eval._io import read_records
    from rubric_eval.errors import GenerationInterrupted
    from rubric_eval.steps.outputs import builtin_benchmark, dataset_label, run_outputs, sample_indices

    if input_path is not None and benchmark is not None:
        raise click.UsageError("give --input_path or --benchmark, not both")
    name = benchmark or "default"
    records = builtin_benchmark(name) if input_path is None else read_records(input_path)
    config = resolve_config("generator", model_configs)
    engine = _engine(kwargs, output_path)
    records = [records[i] for i in sample_indices(len(records), max_instances, seed)]
    source = None if input_path is None else str(input_path)
    dataset = dataset_label(source, max_instances, seed, benchmark=name)
    try:
        out, summary = run_outputs(records, config=config, engine=engine, dataset_name=dataset)
    except GenerationInterrupted as stop:  # recorded, then the interrupt goes on (exit 130 / 143)
        _write_partial(stop.records, output_path, input_path, _finished([stop.summary], "answers"))
        raise
    _finish([summary], out, output_path, engine)


@click.command()
@input_path(help="Records whose brainstormed_rubric / rubric experts may have edited.")
@click.option(
    "--against",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Compare with this file's records (matched by id, else instruction), not the stored LLM drafts.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Human-readable text, or JSON for tools.",
)
@click.option("--show_unchanged", is_flag=True, default=False, help="Also list fields nobody edited.")
def diff(input_path: Path, against: Path | None, fmt: str, show_unchanged: bool) -> None:
    """Show what experts changed in brainstorms and rubrics against the LLM draft.

    Criteria added, removed or renamed, weights changed, level descriptions and checklist items changed.
    The draft is the one stored in each field's provenance when the LLM wrote it, or --against FILE.
    """
    from rubric_eval._io import read_records
    from rubric_eval.diff import diff_records, render_diffs

    records = read_records(input_path)
    original = read_records(against) if against is not None else None
    diffs = diff_records(records, original)
    if fmt == "json":
        click.echo(json.dumps([d.model_dump(mode="json") for d in diffs], indent=2, ensure_ascii=False))
    else:
        click.echo(render_diffs(diffs, show_unchanged=show_unchanged))

"""One-step commands: `rubric_eval run` (the default command) and `rubric_eval evaluate_and_generate_report`.

``rubric_eval --input_path=outputs.json`` evaluates, writes the report and prints the leaderboard;
with ``--model_configs M`` it first generates M's outputs (on ``--input_path`` or the built-in benchmark).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from rubric_eval.cli._evaluate import (
    EVALUATOR_OPTION,
    MAX_INSTANCES_OPTION,
    evaluation_lines,
    judging_options,
    judging_plan_from,
    report_failures,
    warn_about_input,
)
from rubric_eval.cli._options import (
    BENCHMARK_OPTION,
    echo_engine_totals,
    engine_options,
    engine_settings_from,
    input_path,
)
from rubric_eval.cli._report import print_report, report_kwargs, report_options

OUTPUT_DIR_OPTION = click.option(
    "--output_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder for evaluations, report and leaderboard "
    "(default: the input's folder, or ./rubric_eval_runs).",
)
OVERWRITE_OPTION = click.option(
    "--overwrite",
    is_flag=True,
    default=False,
    help="Replace files written for another model or judge (default: never; names get a suffix instead).",
)


def _pipeline(
    *,
    input_path: Path | None,
    model_configs: str | None,
    output_dir: Path | None,
    evaluator_configs: str | None,
    max_instances: int | None,
    seed: int,
    overwrite: bool,
    kwargs: dict[str, Any],
    benchmark: str = "default",
) -> None:
    from rubric_eval._config import resolve_config
    from rubric_eval._io import read_records
    from rubric_eval.engine import Engine
    from rubric_eval.pipeline import run_one_step
    from rubric_eval.reporting import json_twin_path

    evaluator = judging_plan_from(evaluator_configs, kwargs)
    generator = resolve_config("generator", model_configs) if model_configs is not None else None
    records = read_records(input_path) if input_path is not None else None
    if records is not None and generator is None:
        warn_about_input(records, str(input_path))
    options = report_kwargs(kwargs)
    engine = Engine(engine_settings_from(kwargs))
    result = run_one_step(
        records,
        input_path=input_path,
        generator=generator,
        evaluator=evaluator,
        engine=engine,
        output_dir=output_dir,
        max_instances=max_instances,
        seed=seed,
        overwrite=overwrite,
        benchmark=benchmark,
        echo=click.echo,
        **options,
    )
    lines, failed = evaluation_lines(result.evaluations)
    for line in lines:
        click.echo(line)
    files = result.files
    print_report(result.report, files.report, json_twin_path(files.report), files.html)
    echo_engine_totals(engine)
    report_failures(failed)
    if failed or not all(run.complete for run in result.report.runs):
        raise SystemExit(1)


@click.command()
@input_path(
    required=False,
    help="Outputs to evaluate (records with instruction, rubric and output); with --model_configs, the "
    "instructions to answer (default: the built-in benchmark).",
)
@click.option(
    "--model_configs",
    "--generator_configs",  # the role's name, like --evaluator_configs; --model_configs is the seed's
    "model_configs",
    default=None,
    help="Generate outputs with this model first: a built-in config name, a YAML path, or provider/model.",
)
@OUTPUT_DIR_OPTION
@OVERWRITE_OPTION
@EVALUATOR_OPTION
@judging_options
@click.option(
    "--max_instances",
    type=click.IntRange(min=1),
    default=None,
    help="Only evaluate N records: the first N of --input_path, or with --model_configs a seeded sample "
    "of N instructions (see --seed).",
)
@click.option(
    "--seed",
    type=int,
    default=0,
    show_default=True,
    help="Seed of the --max_instances sample when generating.",
)
@BENCHMARK_OPTION
@report_options
@engine_options
def run(
    input_path: Path | None,
    model_configs: str | None,
    output_dir: Path | None,
    overwrite: bool,
    evaluator_configs: str | None,
    max_instances: int | None,
    seed: int,
    benchmark: str | None,
    **kwargs: Any,
) -> None:
    """Evaluate outputs, write the report and print the leaderboard in one step (the default command).

    Writes evaluations_<model>.json (+ .runs.json), evaluation_report_<model>.md and .json, and updates
    leaderboard.json, next to the input. Files of another model or judge are never overwritten (names get
    _judge-<judge>; a run that is not complete beside a complete one gets .partial) unless --overwrite.
    Exits 1 when the run is not complete.
    """
    if input_path is None and model_configs is None:
        raise click.UsageError(
            "give --input_path (model outputs to evaluate) "
            "or --model_configs (a model to generate outputs with)"
        )
    if benchmark is not None and (input_path is not None or model_configs is None):
        raise click.UsageError(
            "--benchmark chooses the instructions for --model_configs; it does not go with --input_path"
        )
    _pipeline(
        input_path=input_path,
        model_configs=model_configs,
        output_dir=output_dir,
        evaluator_configs=evaluator_configs,
        max_instances=max_instances,
        seed=seed,
        overwrite=overwrite,
        kwargs=kwargs,
        benchmark=benchmark or "default",
    )


@click.command()
@input_path(help="Outputs to evaluate: records with instruction, rubric and output.")
@OUTPUT_DIR_OPTION
@OVERWRITE_OPTION
@EVALUATOR_OPTION
@judging_options
@MAX_INSTANCES_OPTION
@report_options
@engine_options
def evaluate_and_generate_report(
    input_path: Path,
    output_dir: Path | None,
    overwrite: bool,
    evaluator_configs: str | None,
    max_instances: int | None,
    **kwargs: Any,
) -> None:
    """Evaluate outputs and write the report (same files as the default command, no generation)."""
    _pipeline(
        input_path=input_path,
        model_configs=None,
        output_dir=output_dir,
        evaluator_configs=evaluator_configs,
        max_instances=max_instances,
        seed=0,
        overwrite=overwrite,
        kwargs=kwargs,
    )

"""One-step commands: `rubric_eval run` (the default command) and `rubric_eval evaluate_and_generate_report`.

``rubric_eval --input_path=outputs.json`` evaluates, writes the report and prints the leaderboard;
with ``--model_configs M`` it first generates M's outputs (on ``--input_path`` or the built-in benchmark).
"""

from __future__ import annotations

import re
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
from rubric_eval.errors import InputError

DEFAULT_RUNS_DIR = Path("rubric_eval_runs")

OUTPUT_DIR_OPTION = click.option(
    "--output_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder for evaluations, report and leaderboard "
    "(default: the input's folder, or ./rubric_eval_runs).",
)


def slug(name: str) -> str:
    """A file-name-safe version of a model name: ``openai/gpt-4o`` -> ``openai-gpt-4o``."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-") or "model"


def file_suffix(outputs_path: Path) -> str:
    """``outputs_X.json`` -> ``_X`` (so evaluations_X.json, evaluation_report_X.md); else ``''``."""
    stem = outputs_path.stem
    return "_" + stem[len("outputs_") :] if stem.startswith("outputs_") and len(stem) > 8 else ""


def _pipeline(
    *,
    input_path: Path | None,
    model_configs: str | None,
    output_dir: Path | None,
    evaluator_configs: str | None,
    max_instances: int | None,
    seed: int,
    kwargs: dict[str, Any],
    benchmark: str = "default",
) -> None:
    from rubric_eval._config import resolve_config
    from rubric_eval._io import check_writable, read_records, write_records
    from rubric_eval.engine import Engine
    from rubric_eval.reporting import generate_report, html_path_for, json_twin_path, write_html
    from rubric_eval.steps.panel import evaluate_with_plan

    out_dir = output_dir or (input_path.parent if input_path is not None else DEFAULT_RUNS_DIR)
    plan = judging_plan_from(evaluator_configs, kwargs)
    records = read_records(input_path) if input_path is not None else None
    options = report_kwargs(kwargs, out_dir / "evaluation_report.md")
    check_writable(out_dir / "evaluations.json")  # before any call is paid for
    engine = Engine(engine_settings_from(kwargs))
    if model_configs is not None:
        from rubric_eval.steps.outputs import dataset_label, generate_outputs

        if input_path is None and options["dataset"] is None:
            options["dataset"] = dataset_label(None, max_instances, seed, benchmark=benchmark)

        completer = resolve_config("completer", model_configs)
        outputs_path = out_dir / f"outputs_{slug(completer.name)}.json"
        records = generate_outputs(
            records,
            model=completer,
            engine=engine,
            max_instances=max_instances,
            seed=seed,
            benchmark=benchmark,
        )
        assert records is not None
        write_records(records, outputs_path)
        n_failed = sum(r.output is None for r in records)
        click.echo(f"generate_outputs: {len(records)} records, {n_failed} failed; wrote {outputs_path}")
    else:
        assert input_path is not None and records is not None
        outputs_path = input_path
        if max_instances is not None:
            records = records[:max_instances]
    suffix = file_suffix(outputs_path)
    evaluations_path = out_dir / f"evaluations{suffix}.json"
    report_path = out_dir / f"evaluation_report{suffix}.md"
    for path in (evaluations_path, report_path, json_twin_path(report_path), html_path_for(report_path)):
        if input_path is not None and path.resolve() == input_path.resolve():
            raise InputError(
                f"the one-step command would overwrite its input with {path.name}; rename the input "
                "or pass --output_dir",
                path=str(input_path),
            )
    warn_about_input(records, str(outputs_path))
    evaluations = evaluate_with_plan(records, plan, engine=engine, source=str(outputs_path))
    write_records(evaluations, evaluations_path)
    lines, failed = evaluation_lines(evaluations)
    for line in lines:
        click.echo(line)
    click.echo(f"wrote {evaluations_path}")
    report = generate_report(evaluations, engine=engine, source=str(evaluations_path), **options)
    md, js = report.write(report_path)
    page = write_html(report, evaluations, html_path_for(report_path), source=str(evaluations_path))
    print_report(report, md, js, page)
    echo_engine_totals(engine)
    report_failures(failed)
    if failed:
        raise SystemExit(1)


@click.command()
@input_path(
    required=False,
    help="Outputs to evaluate (records with instruction, rubric and output); with --model_configs, the "
    "instructions to answer (default: the built-in benchmark).",
)
@click.option(
    "--model_configs",
    default=None,
    help="Generate outputs with this model first: a built-in config name, a YAML path, or provider/model.",
)
@OUTPUT_DIR_OPTION
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
    evaluator_configs: str | None,
    max_instances: int | None,
    seed: int,
    benchmark: str | None,
    **kwargs: Any,
) -> None:
    """Evaluate outputs, write the report and print the leaderboard in one step (the default command).

    Writes evaluations.json, evaluation_report.md, evaluation_report.json and leaderboard.json next to
    the input (an input named outputs_X.json gives evaluations_X.json and evaluation_report_X.md).
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
        kwargs=kwargs,
        benchmark=benchmark or "default",
    )


@click.command()
@input_path(help="Outputs to evaluate: records with instruction, rubric and output.")
@OUTPUT_DIR_OPTION
@EVALUATOR_OPTION
@judging_options
@MAX_INSTANCES_OPTION
@report_options
@engine_options
def evaluate_and_generate_report(
    input_path: Path,
    output_dir: Path | None,
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
        kwargs=kwargs,
    )

"""`rubric_eval evaluate`: grade each output against its rubric with an LLM judge."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from rubric_eval.cli._options import (
    echo_engine_totals,
    engine_options,
    engine_settings_from,
    input_path,
    output_path,
)

if TYPE_CHECKING:
    from rubric_eval.runs import RunRecord

F = TypeVar("F", bound=Callable[..., Any])

EVALUATOR_OPTION = click.option(
    "--evaluator_configs",
    default=None,
    help="Judge: a built-in config name, a YAML path, or provider/model (default: gpt-5-mini); "
    "several, comma-separated, for a panel of judges whose grades are combined (--judge_aggregate).",
)


def judging_options(func: F) -> F:
    """Repeated and ensemble judging flags; collected by `judging_plan_from`."""
    decorators = [
        click.option(
            "--n_judge_samples",
            type=click.IntRange(min=1),
            default=1,
            show_default=True,
            help="Grade each answer k times per judge (judge noise and self-consistency in the report).",
        ),
        click.option(
            "--judge_aggregate",
            type=click.Choice(["mean", "majority"]),
            default="mean",
            show_default=True,
            help="Combining repeats and panel judges per criterion: mean = mean score (median level); "
            "majority = most frequent level, ties to the worse level.",
        ),
        click.option(
            "--escalate_to",
            default=None,
            help="A stronger judge, called only for answers where the panel's judges disagree.",
        ),
    ]
    for decorator in reversed(decorators):
        func = decorator(func)
    return func


def judging_plan_from(evaluator_configs: str | None, kwargs: dict[str, Any]) -> Any:
    """Pop the judging flags from a command's kwargs and build the `JudgingPlan`."""
    from rubric_eval.steps.panel import judging_plan

    return judging_plan(
        evaluator_configs,
        n_judge_samples=kwargs.pop("n_judge_samples"),
        aggregate=kwargs.pop("judge_aggregate"),
        escalate_to=kwargs.pop("escalate_to"),
    )


MAX_INSTANCES_OPTION = click.option(
    "--max_instances",
    type=click.IntRange(min=1),
    default=None,
    help="Only evaluate the first N records (a quick trial).",
)


def evaluation_lines(records: Sequence[Any] | Any) -> tuple[list[str], int]:
    """Human-readable summary of evaluated records (or their `EvaluationTally`), and how many
    records have unscored criteria. Money spent by this run is shown apart from the cost of
    answers found in the cache.

    Any unscored criterion (a failed call, an unknown level, a budget stop, a missing grade) counts:
    the command then exits 1, and the top reasons are printed with their counts.
    """
    from rubric_eval._failures import reason_lines
    from rubric_eval.steps.evaluate_file import EvaluationTally

    tally = records
    if not isinstance(tally, EvaluationTally):
        tally = EvaluationTally()
        for record in records:
            tally.add(record)
    cost_text = f"spent ${tally.spent_usd:.4f}" + (
        f" + unknown ({tally.unpriced} calls to an unpriced model)" if tally.unpriced else ""
    )
    if tally.cached:
        cost_text += f" (answers from the cache had cost ${tally.cached_usd:.4f})"
    lines = [
        f"evaluate: {tally.records} records: {tally.criteria} criteria graded, {tally.scored} scored, "
        f"{tally.criteria - tally.scored} unscored; {tally.unscored_instructions} instructions unscored; "
        f"{tally.calls} judge calls ({tally.failed} failed, {tally.cached} from cache); {cost_text}",
    ]
    if tally.invented or tally.unknown_levels:
        lines.append(
            f"dropped judge output: {tally.invented} invented criteria, {tally.unknown_levels} unknown levels"
        )
    lines += reason_lines(tally.reasons.elements(), "unscored criteria")
    return lines, tally.incomplete


def warn_about_input(records: Sequence[Any], source: str) -> None:
    """Refuse an empty input; print warnings about likely mistakes before any call is made."""
    from rubric_eval._input_checks import evaluation_input_warnings
    from rubric_eval.errors import InputError

    if not records:
        raise InputError("the input has no records; nothing to evaluate", path=source)
    for warning in evaluation_input_warnings(records, source):
        click.secho(f"warning: {warning}", fg="yellow", err=True)


def report_failures(incomplete: int) -> None:
    if incomplete:
        click.secho(
            f"{incomplete} records have unscored criteria (reasons above; each in 'grades' and "
            "'judge_issues'). Rerun the same command to retry failed calls: finished calls come from "
            "the cache.",
            fg="red",
            err=True,
        )


@click.command()
@input_path(help="Outputs file: records with 'instruction', 'rubric' and 'output' (or 'outputs').")
@output_path(help="Where to write the evaluations (JSON list, or JSONL by suffix).")
@EVALUATOR_OPTION
@judging_options
@MAX_INSTANCES_OPTION
@click.option(
    "--summarize",
    type=click.BOOL,
    default=None,
    help="Accepted for compatibility with the original README; evaluate never summarises "
    "(summaries are made by generate_report).",
)
@click.option(
    "--overwrite",
    is_flag=True,
    default=False,
    help="Replace an evaluations file written for another model or judge.",
)
@engine_options
def evaluate(
    input_path: Path,
    output_path: Path,
    evaluator_configs: str | None,
    max_instances: int | None,
    summarize: bool | None,
    overwrite: bool,
    **kwargs: Any,
) -> None:
    """Grade each output criterion by criterion; add grades, feedback and scores to each record.

    Also writes the run record (status, judge, dataset fingerprint, timing, totals) beside the output as
    <name>.runs.json; generate_report reads it.
    """
    import gc

    from rubric_eval._input_checks import InputChecks
    from rubric_eval._io import check_writable, read_records, write_records
    from rubric_eval.engine import Engine
    from rubric_eval.errors import FileEvaluationInterrupted, RunInterrupted
    from rubric_eval.pipeline import (
        guard_file,
        input_models,
        interrupted_output_path,
        model_from_path,
        name_unnamed,
        plan_identity,
        run_evaluation,
        write_runs,
    )
    from rubric_eval.runs import RunSettings, RunTally, new_run_id, utc_now
    from rubric_eval.steps.evaluate_file import evaluate_file

    plan = judging_plan_from(evaluator_configs, kwargs)
    engine = Engine(engine_settings_from(kwargs))
    check_writable(output_path)
    unknown_model = model_from_path(input_path)
    judges, judge_keys = frozenset({plan.name}), frozenset({plan_identity(plan).key})

    def partial_output(models: Callable[[], frozenset[str]] | frozenset[str]) -> Path | None:
        return interrupted_output_path(
            output_path,
            models=models,
            judges=judges,
            overwrite=overwrite,
            judge_keys=judge_keys,
            input_path=input_path,
        )

    guard_file(
        output_path,
        # Read only when the output exists: no pass over the whole input before the first request.
        models=lambda: input_models(input_path, unknown_model),
        judges=judges,
        overwrite=overwrite,
        judge_keys=judge_keys,
    )
    settings = RunSettings(
        max_instances=max_instances,
        max_cost_usd=engine.settings.max_cost_usd,
        max_concurrency=engine.settings.max_concurrency,
        use_cache=engine.settings.use_cache,
    )
    # What is loaded now (modules, configs, templates) lives to the end: keep the collector off it,
    # and collect less often (records come and go in batches; few cycles): halves the collector's
    # share of the CPU per judge call (benchmarks/evaluate_command.py).
    gc.freeze()
    gc.set_threshold(20_000, 50, 50)
    if len(plan.evaluators) == 1 and plan.escalate_to is None:
        # One judge: records stream from the input to the output in bounded memory; the input
        # checks run as records are read and their warnings come before the summary; the run
        # record is tallied as records are graded.
        checks = InputChecks(str(input_path))
        run_tally = RunTally(run_id=new_run_id(), unknown_model=unknown_model)
        started_at, t0 = utc_now(), time.monotonic()

        def tallied_runs(interrupted: bool = False) -> list[RunRecord]:
            return run_tally.runs(
                judge=plan_identity(plan),
                dataset_name=None,
                input_path=str(input_path),
                settings=settings,
                started_at=started_at,
                finished_at=utc_now(),
                wall_time_s=time.monotonic() - t0,
                interrupted=interrupted,
            )

        try:
            tally = evaluate_file(
                input_path,
                output_path,
                config=plan.evaluators[0],
                engine=engine,
                n_judge_samples=plan.n_judge_samples,
                aggregate=plan.aggregate,
                max_instances=max_instances,
                on_record=checks.add,
                finish=run_tally.add,
                interrupted_path=lambda: partial_output(lambda: input_models(input_path, unknown_model)),
            )
        except FileEvaluationInterrupted as stop:  # Ctrl-C / SIGTERM: recorded, then the interrupt goes on
            _echo_interrupted(stop.path, write_runs(stop.path, tallied_runs(interrupted=True)))
            raise
        runs = tallied_runs()
        for warning in checks.warnings():
            click.secho(f"warning: {warning}", fg="yellow", err=True)
        lines, failed = evaluation_lines(tally)
        n = tally.records
    else:
        records = read_records(input_path)
        warn_about_input(records, str(input_path))
        if max_instances is not None:
            records = records[:max_instances]
        records = name_unnamed(records, input_path)
        try:
            out, runs = run_evaluation(
                records,
                evaluator=plan,
                engine=engine,
                source=str(input_path),
                input_path=str(input_path),
                settings=settings,
            )
        except RunInterrupted as stop:  # a panel or escalation stopped: recorded as above
            target = partial_output(frozenset(r.model or "unknown model" for r in stop.evaluations))
            if target is not None:
                write_records(stop.evaluations, target)
                _echo_interrupted(target, write_runs(target, stop.runs))
            raise
        write_records(out, output_path)
        lines, failed = evaluation_lines(out)
        n = len(out)
    runs_file = write_runs(output_path, runs)
    for line in lines:
        click.echo(line)
    echo_engine_totals(engine)
    for run in runs:
        if not run.complete:
            click.secho(f"{run.model}: {run.status_text} (run {run.run_id})", fg="yellow")
    click.echo(f"wrote {n} evaluations to {output_path} (run record: {runs_file.name})")
    report_failures(failed)
    if failed:
        raise SystemExit(1)


def _echo_interrupted(path: Path, runs_file: Path) -> None:
    # stdout: stderr keeps its one line on the signal (cli/__init__.py).
    click.echo(f"interrupted: wrote the evaluations so far to {path} (run record: {runs_file.name})")

"""The orchestrator: the one place where the steps are chained into a run.

The CLI's one-step commands (`run_one_step`), `generate_report` command (`summarize_evaluations` +
`report_evaluations`), the Python API (`evaluate_and_generate_report`) and the demo call these functions.
Steps: generate outputs (optional) -> evaluate (`run_evaluation`: grades + one run record per model) ->
summarise (its own step, LLM calls) -> report (pure computation, `reporting.generate_report`) ->
leaderboard file and output files (here, and only here).

Nothing good is destroyed: the files' default names, the overwrite guard, the ``*.partial.*`` names of
an incomplete run and the run logs live in `_run_files` (re-exported here); an incomplete run never
replaces a complete run's files nor its leaderboard row.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rubric_eval._api_edge import RecordsLike, to_records
from rubric_eval._config import AnnotatorConfig, is_none, resolve_config
from rubric_eval._io import check_writable, write_records
from rubric_eval._run_files import (
    FileOwner,
    OutputFiles,
    choose_output_files,
    evaluations_owner,
    file_owner,
    guard_file,
    guard_outputs,
    input_models,
    interrupted_output_path,
    model_from_path,
    name_unnamed,
    partial_path,
    read_runs,
    report_owner,
    runs_path,
    slug,
    write_runs,
)
from rubric_eval._templates import load_template
from rubric_eval.engine import Engine
from rubric_eval.errors import (
    EvaluationInterrupted,
    GenerationInterrupted,
    InputError,
    RubricEvalError,
    RunInterrupted,
)
from rubric_eval.records import Record
from rubric_eval.runs import (
    JudgeIdentity,
    RunRecord,
    RunSettings,
    RunTally,
    judge_identity,
    new_run_id,
    utc_now,
)
from rubric_eval.steps.evaluate import DEFAULT_TEMPLATE as EVALUATE_TEMPLATE
from rubric_eval.steps.evaluate import interrupted_record
from rubric_eval.steps.panel import JudgingPlan, evaluate_with_plan

if TYPE_CHECKING:
    # Imported where used: `rubric_eval evaluate` chooses and guards files here but never reports,
    # and the reports, their HTML and statistics (numpy) cost a tenth of a second or more to import.
    from rubric_eval.reporting import EvaluationReport, FeedbackSummary, ReportRecord, ReportSummary
    from rubric_eval.trust import AuditReport, MetaEvaluation

__all__ = [
    "DEFAULT_RUNS_DIR",
    "FileOwner",
    "Judge",
    "OneStepResult",
    "OutputFiles",
    "as_plan",
    "choose_output_files",
    "evaluate_and_generate_report",
    "evaluations_owner",
    "file_owner",
    "guard_file",
    "input_models",
    "interrupted_output_path",
    "model_from_path",
    "name_unnamed",
    "partial_path",
    "plan_identity",
    "read_runs",
    "report_evaluations",
    "report_owner",
    "run_evaluation",
    "run_one_step",
    "runs_path",
    "skipped_summaries",
    "slug",
    "summarize_evaluations",
    "summary_skipped_because",
    "write_runs",
]

Judge = AnnotatorConfig | JudgingPlan

DEFAULT_RUNS_DIR = Path("rubric_eval_runs")
logger = logging.getLogger(__name__)


# -- steps ---------------------------------------------------------------------------------------


def as_plan(evaluator: Judge) -> JudgingPlan:
    """One judge as a plan of one."""
    return evaluator if isinstance(evaluator, JudgingPlan) else JudgingPlan(evaluators=[evaluator])


def plan_identity(plan: JudgingPlan) -> JudgeIdentity:
    """The judge's identity: one judge's config, or the panel's judges, repeats, rule and escalation."""
    first = plan.evaluators[0]
    template = load_template(first.template or EVALUATE_TEMPLATE).version_key
    if len(plan.evaluators) == 1 and plan.escalate_to is None and plan.n_judge_samples == 1:
        return judge_identity(first, template)
    judges = [*plan.evaluators, *([plan.escalate_to] if plan.escalate_to else [])]
    return JudgeIdentity(
        name=plan.name,
        provider="+".join(sorted({c.provider for c in judges})),
        model="+".join(c.model for c in plan.evaluators),
        params={
            "judges": [judge_identity(c, template).key for c in plan.evaluators],
            "n_judge_samples": plan.n_judge_samples,
            "aggregate": plan.aggregate,
            "escalate_to": judge_identity(plan.escalate_to, template).key if plan.escalate_to else None,
        },
        template=template,
    )


def run_evaluation(
    records: Sequence[Record],
    *,
    evaluator: Judge,
    engine: Engine,
    source: str = "records",
    input_path: str | None = None,
    dataset: str | None = None,
    settings: RunSettings | None = None,
) -> tuple[list[Record], list[RunRecord]]:
    """Grade the records (one judge, or a `JudgingPlan`: repeats, a panel, escalation) and make one run
    record per model (status, counts, timing, totals)."""
    plan = as_plan(evaluator)
    tally = RunTally(run_id=new_run_id())
    started_at, t0 = utc_now(), time.monotonic()
    try:
        graded = evaluate_with_plan(records, plan, engine=engine, source=source)
        interrupted = False
    except EvaluationInterrupted as stop:  # Ctrl-C / SIGTERM: what was graded is kept and counted
        graded, interrupted = stop.records, True
    evaluations = [tally.add(r) for r in graded]
    runs = tally.runs(
        judge=plan_identity(plan),
        dataset_name=dataset,
        input_path=input_path,
        settings=settings or RunSettings(max_cost_usd=engine.settings.max_cost_usd),
        started_at=started_at,
        finished_at=utc_now(),
        wall_time_s=time.monotonic() - t0,
        interrupted=interrupted,
    )
    if interrupted:
        raise RunInterrupted(evaluations, runs)
    return evaluations, runs


def summary_skipped_because(
    *, summarizer: str | AnnotatorConfig | None, summarize: bool, engine: Engine | None = None
) -> str | None:
    """Why the summarising step is skipped (``summarize=False``, ``summarizer="None"``, a spent
    --max_cost budget), or None when it runs."""
    if not summarize:
        return "summarize=False"
    if engine is not None and engine.totals.budget_exhausted > 0:
        # After a --max_cost stop every summary call would be refused too: say so once instead.
        return "the --max_cost budget is spent"
    if isinstance(summarizer, str) and is_none(summarizer):
        return f"summarizer {summarizer!r}"
    return None


def skipped_summaries(models: Iterable[str], why: str) -> dict[str, FeedbackSummary]:
    """Each model's summary, skipped for ``why`` (see `summary_skipped_because`)."""
    from rubric_eval.reporting import FeedbackSummary

    return dict.fromkeys(models, FeedbackSummary.skipped(f"summary skipped ({why})"))


def summarize_evaluations(
    evaluations: Iterable[Record | ReportRecord],
    *,
    summarizer: str | AnnotatorConfig | None = None,
    summarize: bool = True,
    engine: Engine | None = None,
    context_tokens: int | None = None,
) -> tuple[dict[str, FeedbackSummary] | None, str | None]:
    """The summarising step: model -> feedback summary and the summariser's name, or (None, None)
    when skipped (``summarize=False`` or ``summarizer="None"``)."""
    from rubric_eval.steps.summarize import DEFAULT_CONTEXT_TOKENS, summarize_feedback

    why = summary_skipped_because(summarizer=summarizer, summarize=summarize, engine=engine)
    if why is not None:
        return skipped_summaries({r.model or "unknown model" for r in evaluations}, why), None
    config = resolve_config("summarizer", summarizer)
    summaries = summarize_feedback(
        evaluations, summarizer=config, engine=engine, context_tokens=context_tokens or DEFAULT_CONTEXT_TOKENS
    )
    return summaries, config.name


def report_evaluations(
    evaluations: Sequence[Record] | ReportSummary,
    *,
    runs: Sequence[RunRecord] | None = None,
    summaries: dict[str, FeedbackSummary] | None = None,
    summarizer: str | None = None,
    dataset: str | None = None,
    leaderboard_path: str | os.PathLike[str] | None = None,
    baseline: str | None = None,
    source: str = "evaluations",
    audit: AuditReport | None = None,
    meta_evaluation: MetaEvaluation | None = None,
) -> EvaluationReport:
    """Compute the report (ranked against the leaderboard file, if any), then add its runs to that file.

    ``evaluations``: the evaluated records, or the `ReportSummary` of a file (`read_report_summary`:
    one streaming pass; then ``source`` is the summary's)."""
    from rubric_eval.reporting import (
        ReportSummary,
        generate_report,
        load_leaderboard,
        report_from_summary,
        update_leaderboard,
    )

    board = load_leaderboard(leaderboard_path) if leaderboard_path is not None else None
    options: dict[str, Any] = {
        "runs": runs,
        "summaries": summaries,
        "summarizer": summarizer,
        "dataset": dataset,
        "leaderboard": board,
        "leaderboard_path": leaderboard_path,
        "baseline": baseline,
        "audit": audit,
        "meta_evaluation": meta_evaluation,
    }
    if isinstance(evaluations, ReportSummary):
        report = report_from_summary(evaluations, **options)
    else:
        report = generate_report(evaluations, source=source, **options)
    if leaderboard_path is not None:
        update_leaderboard(leaderboard_path, report.runs)
    return report


def evaluate_and_generate_report(
    records: RecordsLike,
    *,
    evaluator: str | AnnotatorConfig | None = None,
    summarizer: str | AnnotatorConfig | None = None,
    summarize: bool = True,
    engine: Engine | None = None,
    max_instances: int | None = None,
    dataset: str | None = None,
    leaderboard_path: str | os.PathLike[str] | None = None,
    context_tokens: int | None = None,
    judging: JudgingPlan | None = None,
) -> tuple[Any, EvaluationReport]:
    """Evaluate, summarise and report with one engine (the same pipeline as the one-step command).

    ``judging`` (`rubric_eval.steps.panel.judging_plan`: repeats, a panel, escalation) replaces
    ``evaluator``. Returns ``(evaluations in the input's kind, report)``; ``leaderboard_path`` is
    updated when given. Ctrl-C (or SIGTERM in the CLI) raises `errors.RunInterrupted`, a
    `KeyboardInterrupt` carrying the evaluations so far and their ``interrupted`` run records, after
    adding those to ``leaderboard_path`` as a flagged, unranked row.
    """
    items, convert_back = to_records(records)
    if max_instances is not None:
        items = items[:max_instances]
    engine = engine or Engine()
    judge: Judge = judging or resolve_config("evaluator", evaluator)
    settings = RunSettings(max_instances=max_instances, max_cost_usd=engine.settings.max_cost_usd)
    try:
        evaluations, runs = run_evaluation(
            items, evaluator=judge, engine=engine, dataset=dataset, settings=settings
        )
    except RunInterrupted as stop:
        if leaderboard_path is not None:  # recorded as the one-step run records it, then raised on
            try:
                report_evaluations(
                    stop.evaluations, runs=stop.runs, dataset=dataset, leaderboard_path=leaderboard_path
                )
            except (RubricEvalError, OSError) as exc:
                logger.warning("the interrupted run was not recorded: %s", exc)
        raise
    summaries, summarizer_name = summarize_evaluations(
        evaluations, summarizer=summarizer, summarize=summarize, engine=engine, context_tokens=context_tokens
    )
    report = report_evaluations(
        evaluations,
        runs=runs,
        summaries=summaries,
        summarizer=summarizer_name,
        dataset=dataset,
        leaderboard_path=leaderboard_path,
    )
    return convert_back(evaluations), report


# -- the one-step run ---------------------------------------------------------------------------


@dataclass
class OneStepResult:
    report: EvaluationReport
    evaluations: list[Record]
    files: OutputFiles
    outputs_path: Path | None
    n_failed_calls: int


def run_one_step(
    records: Sequence[Record] | None,
    *,
    input_path: Path | None,
    generator: AnnotatorConfig | None,
    evaluator: Judge,
    engine: Engine,
    output_dir: Path | None = None,
    max_instances: int | None = None,
    seed: int = 0,
    summarizer: str | None = None,
    summarize: bool = True,
    context_tokens: int | None = None,
    leaderboard_path: Path | str | None = "default",
    dataset: str | None = None,
    overwrite: bool = False,
    benchmark: str = "default",
    audit: AuditReport | None = None,
    meta_evaluation: MetaEvaluation | None = None,
    echo: Callable[[str], None] = lambda line: None,
) -> OneStepResult:
    """Generate (with ``generator``), evaluate, summarise, report, and write every file of the run.

    ``leaderboard_path``: ``"default"`` for ``leaderboard.json`` in the output folder, None for none.
    ``benchmark``: the built-in benchmark to answer when generating without input records.
    """
    from rubric_eval.reporting import LEADERBOARD_FILE, write_html
    from rubric_eval.steps.outputs import dataset_label, generate_outputs

    folder = output_dir or (input_path.parent if input_path is not None else DEFAULT_RUNS_DIR)
    check_writable(folder / "evaluations.json")  # before any call is paid for
    settings = RunSettings(
        max_instances=max_instances,
        seed=seed if generator is not None else None,
        max_cost_usd=engine.settings.max_cost_usd,
        max_concurrency=engine.settings.max_concurrency,
        use_cache=engine.settings.use_cache,
    )

    def record_stop(stop: RunInterrupted | Callable[[], RunInterrupted], source: Path) -> None:
        # Ctrl-C / SIGTERM: the run is recorded (status `interrupted`, `.partial` files, a flagged and
        # unranked leaderboard row that never replaces a complete one), then the interrupt goes on.
        try:
            files = _record_interrupted(
                stop if isinstance(stop, RunInterrupted) else stop(),
                folder=folder,
                source=source,
                input_path=input_path,
                evaluator=evaluator,
                dataset=dataset,
                leaderboard_path=leaderboard_path,
                overwrite=overwrite,
            )
        except (RubricEvalError, OSError) as exc:  # the interrupt still ends the run, as asked
            logger.warning("the interrupted run was not recorded: %s", exc)
            return
        if files is not None:
            echo(f"interrupted: wrote the evaluations so far to {files.evaluations} and {files.report}")

    outputs_path: Path | None = None
    if generator is not None:
        if input_path is None and dataset is None:
            dataset = dataset_label(None, max_instances, seed, benchmark=benchmark)
        started_at = utc_now()
        try:
            records = generate_outputs(
                records,
                model=generator,
                engine=engine,
                max_instances=max_instances,
                seed=seed,
                benchmark=benchmark,
            )
            stopped: GenerationInterrupted | None = None
        except GenerationInterrupted as stop:  # the answers so far are kept, flagged, and nothing graded
            records, stopped = stop.records, stop
        assert records is not None
        model_name = records[0].model if records else generator.name
        outputs_path = folder / f"outputs_{slug(model_name or generator.name)}.json"
        if stopped is not None:
            outputs_path = partial_path(outputs_path)
            try:
                if not overwrite:
                    guard_outputs(outputs_path, model_name or "")
                write_records(records, outputs_path)
            except (RubricEvalError, OSError) as exc:
                logger.warning("the answers so far were not written: %s", exc)
            generated = records
            record_stop(
                lambda: _not_judged(generated, evaluator, outputs_path, dataset, settings, started_at),
                outputs_path,
            )
            raise stopped
        if not overwrite:
            guard_outputs(outputs_path, model_name or "")
        write_records(records, outputs_path)
        n_failed = sum(r.output is None for r in records)
        echo(f"generate_outputs: {len(records)} records, {n_failed} failed; wrote {outputs_path}")
        source = outputs_path
    else:
        assert input_path is not None and records is not None
        source = input_path
        if max_instances is not None:
            records = records[:max_instances]
        records = name_unnamed(records, input_path)
    try:
        evaluations, runs = run_evaluation(
            records,
            evaluator=evaluator,
            engine=engine,
            source=str(source),
            input_path=str(source),
            dataset=dataset,
            settings=settings,
        )
    except RunInterrupted as stop:
        record_stop(stop, source)
        raise
    files = _output_files(
        evaluations,
        folder=folder,
        source=source,
        evaluator=evaluator,
        complete=all(run.complete for run in runs),
        overwrite=overwrite,
    )
    if input_path is not None and _would_replace(input_path, files):
        raise InputError(
            f"the one-step command would overwrite its input with {input_path.name}; rename the input "
            "or pass --output_dir",
            path=str(input_path),
        )
    write_records(evaluations, files.evaluations)
    write_runs(files.evaluations, runs)
    echo(f"wrote {files.evaluations}")
    summaries, summarizer_name = summarize_evaluations(
        evaluations, summarizer=summarizer, summarize=summarize, engine=engine, context_tokens=context_tokens
    )
    board_path = folder / LEADERBOARD_FILE if leaderboard_path == "default" else leaderboard_path
    report = report_evaluations(
        evaluations,
        runs=runs,
        summaries=summaries,
        summarizer=summarizer_name,
        dataset=dataset,
        leaderboard_path=None if board_path is None else Path(board_path),
        source=str(files.evaluations),
        audit=audit,
        meta_evaluation=meta_evaluation,
    )
    report.write(files.report)
    write_html(report, evaluations, files.html, source=str(files.evaluations))
    failed = sum(
        bool(r.judge_issues and r.judge_issues.error and r.output_error is None) for r in evaluations
    )
    return OneStepResult(report, evaluations, files, outputs_path, failed)


def _output_files(
    evaluations: Sequence[Record],
    *,
    folder: Path,
    source: Path,
    evaluator: Judge,
    complete: bool,
    overwrite: bool,
    interrupted: bool = False,
) -> OutputFiles:
    """The files a one-step run's evaluations go to: named after their one model, else the source."""
    models = frozenset(r.model or "unknown model" for r in evaluations)
    name = next(iter(models)) if len(models) == 1 else (model_from_path(source) or source.stem)
    return choose_output_files(
        folder,
        name=name,
        models=models,
        judge=as_plan(evaluator).name,
        complete=complete,
        overwrite=overwrite,
        interrupted=interrupted,
    )


def _would_replace(input_path: Path, files: OutputFiles) -> bool:
    return input_path.resolve() in {p.resolve() for p in files.all}


def _record_interrupted(
    stop: RunInterrupted,
    *,
    folder: Path,
    source: Path,
    input_path: Path | None,
    evaluator: Judge,
    dataset: str | None,
    leaderboard_path: Path | str | None,
    overwrite: bool,
) -> OutputFiles | None:
    """Write an interrupted run's evaluations, run log, report and leaderboard row (no summary: that
    would be more LLM calls). Its files take the ``.partial`` names: a finished run's are never replaced.
    Returns them (None: nothing to write, or they would replace the input)."""
    from rubric_eval.reporting import LEADERBOARD_FILE

    evaluations: list[Record] = stop.evaluations
    if not evaluations:
        return None
    files = _output_files(
        evaluations,
        folder=folder,
        source=source,
        evaluator=evaluator,
        complete=False,
        overwrite=overwrite,
        interrupted=True,
    )
    if input_path is not None and _would_replace(input_path, files):
        return None  # never over the input; the one-step run refuses this before writing anything
    write_records(evaluations, files.evaluations)
    write_runs(files.evaluations, stop.runs)
    board_path = folder / LEADERBOARD_FILE if leaderboard_path == "default" else leaderboard_path
    report = report_evaluations(
        evaluations,
        runs=stop.runs,
        dataset=dataset,
        leaderboard_path=None if board_path is None else Path(board_path),
        source=str(files.evaluations),
    )
    report.write(files.report)
    return files


def _not_judged(
    records: Sequence[Record],
    evaluator: Judge,
    source: Path,
    dataset: str | None,
    settings: RunSettings,
    started_at: str,
) -> RunInterrupted:
    """A run stopped before judging (during generation): every answer unscored, ``interrupted``."""
    plan = as_plan(evaluator)
    tally = RunTally(run_id=new_run_id())
    stopped = (interrupted_record(r, plan.evaluators[0], plan.aggregate) for r in records)
    evaluations = [tally.add(r.model_copy(update={"evaluator": plan.name})) for r in stopped]
    runs = tally.runs(
        judge=plan_identity(plan),
        dataset_name=dataset,
        input_path=str(source),
        settings=settings,
        started_at=started_at,
        finished_at=utc_now(),
        wall_time_s=None,
        interrupted=True,
    )
    return RunInterrupted(evaluations, runs)

"""`rubric_eval meta_evaluate` and `rubric_eval audit`: how far the judge's numbers can be trusted."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from rubric_eval.cli._options import engine_options, engine_settings_from

SEED_OPTION = click.option("--seed", type=int, default=0, show_default=True, help="Seed of every resampling.")
RESAMPLES_OPTION = click.option(
    "--n_resamples",
    type=click.IntRange(min=100),
    default=2000,
    show_default=True,
    help="Bootstrap resamples for the confidence intervals.",
)


def _paths(value: str | None) -> list[Path]:
    return [Path(p.strip()) for p in (value or "").split(",") if p.strip()]


def _write_pair(md_path: Path, markdown: str, json_text: str) -> Path:
    from rubric_eval._io import atomic_write_text
    from rubric_eval.reporting import json_twin_path

    json_path = json_twin_path(md_path)
    atomic_write_text(md_path, markdown)
    atomic_write_text(json_path, json_text)
    return json_path


@click.command()
@click.option(
    "--input_path",
    default=None,
    help="Evaluations file(s) from `rubric_eval evaluate`, comma-separated; judges are told apart by the "
    "records' 'evaluator' field.",
)
@click.option(
    "--labels",
    "labels_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Human labels (JSON, JSONL or CSV): id or instruction, model, criterion, level, annotator.",
)
@click.option(
    "--reference_ranking",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Reference per-model scores (e.g. Arena): CSV/JSON with 'model' and 'score' (or rating/elo).",
)
@click.option(
    "--model_scores",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Our per-model scores as a file (same format, or a leaderboard file) instead of the evaluations'.",
)
@click.option(
    "--output_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Markdown path (default: meta_evaluation.md beside the first input); the JSON twin goes beside it.",
)
@RESAMPLES_OPTION
@SEED_OPTION
def meta_evaluate(
    input_path: str | None,
    labels_path: Path | None,
    reference_ranking: Path | None,
    model_scores: Path | None,
    output_path: Path | None,
    n_resamples: int,
    seed: int,
) -> None:
    """Measure the judge: agreement with human labels (and between humans), between judges, and rankings."""
    from rubric_eval._io import read_records
    from rubric_eval.errors import InputError
    from rubric_eval.reporting import json_twin_path
    from rubric_eval.trust import meta_evaluate as run_meta
    from rubric_eval.trust import read_labels, read_model_scores

    inputs = _paths(input_path)
    if not inputs and model_scores is None:
        raise InputError("give --input_path (evaluations) or --model_scores")
    if labels_path is None and reference_ranking is None and len(inputs) < 2:
        raise InputError(
            "nothing to compare with: give --labels (human labels), --reference_ranking, "
            "or two or more evaluation files (judge vs judge)"
        )
    first = inputs[0] if inputs else model_scores
    assert first is not None
    md_path = output_path or first.parent / "meta_evaluation.md"
    json_twin_path(md_path)  # reject a .json output path before any work
    records = [r for path in inputs for r in read_records(path)]
    result = run_meta(
        records,
        labels=read_labels(labels_path) if labels_path else (),
        labels_source=str(labels_path),
        reference_scores=read_model_scores(reference_ranking) if reference_ranking else None,
        model_scores=read_model_scores(model_scores) if model_scores else None,
        n_resamples=n_resamples,
        seed=seed,
    )
    json_path = _write_pair(md_path, result.markdown, result.model_dump_json(indent=2) + "\n")
    for judge in result.judges:
        a = judge.agreement
        if a is not None:
            click.echo(
                f"{judge.evaluator} vs humans: {a.n_items} criteria, exact {a.exact.value:.2f}, "
                f"kappa {_num(a.kappa_quadratic.value)}, alpha {_num(a.alpha_ordinal.value)}"
            )
    if result.human_ceiling is not None:
        h = result.human_ceiling
        click.echo(
            f"human vs human: {h.n_items} pairs, exact {_num(h.exact.value)}, "
            f"kappa {_num(h.kappa_quadratic.value)}"
        )
    for pair in result.judge_pairs:
        a = pair.agreement
        if a is not None:
            click.echo(
                f"{pair.evaluator_a} vs {pair.evaluator_b}: {a.n_items} criteria, "
                f"exact {_num(a.exact.value)}, kappa {_num(a.kappa_quadratic.value)}"
            )
    for ranking in result.rankings:
        click.echo(
            f"{ranking.evaluator} ranking vs reference ({ranking.n_models} models): "
            f"Spearman {_num(ranking.spearman.value)}, Kendall {_num(ranking.kendall.value)}, "
            f"Pearson {_num(ranking.pearson.value)}"
        )
    click.echo(f"wrote {md_path} and {json_path}")


def _num(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"


@click.command()
@click.option(
    "--input_path",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="Records with 'rubric' and 'output' (an outputs or evaluations file).",
)
@click.option(
    "--evaluator_configs",
    default=None,
    help="The judge to audit: a built-in config name, a YAML path, or provider/model.",
)
@click.option(
    "--reference_evaluator",
    default=None,
    help="A judge from another model family, for the self-preference check.",
)
@click.option(
    "--checks",
    default=",".join(("padding", "injection", "shuffle_criteria", "no_reference", "self_preference")),
    # Not click's "[default: ...]": the bare list has no spaces, and the wrapper cut it mid-word.
    help="Comma-separated checks to run (default: all of padding, injection, shuffle_criteria, "
    "no_reference, self_preference).",
)
@click.option(
    "--sample_size", type=click.IntRange(min=2), default=50, show_default=True, help="Answers re-graded."
)
@click.option(
    "--n_judge_samples", type=click.IntRange(min=1), default=1, show_default=True, help="Gradings per answer."
)
@click.option(
    "--min_effect",
    type=click.FloatRange(min=0),
    default=0.25,
    show_default=True,
    help="Smallest score change (1-10 scale) worth flagging.",
)
@click.option(
    "--output_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Markdown path (default: audit.md beside the input); the JSON twin goes beside it.",
)
@SEED_OPTION
@engine_options
def audit(
    input_path: Path,
    evaluator_configs: str | None,
    reference_evaluator: str | None,
    checks: str,
    sample_size: int,
    n_judge_samples: int,
    min_effect: float,
    output_path: Path | None,
    seed: int,
    **kwargs: Any,
) -> None:
    """Re-grade a sample under controlled changes (padding, injected instructions, criterion order,
    no reference, self-preference) and flag the changes that move the judge's scores."""
    from rubric_eval._config import resolve_config
    from rubric_eval._io import read_records
    from rubric_eval.engine import Engine
    from rubric_eval.reporting import json_twin_path
    from rubric_eval.steps.audit import run_audit

    md_path = output_path or input_path.parent / "audit.md"
    json_twin_path(md_path)
    evaluator = resolve_config("evaluator", evaluator_configs)
    reference = None if reference_evaluator is None else resolve_config("evaluator", reference_evaluator)
    engine = Engine(engine_settings_from(kwargs))
    report = run_audit(
        read_records(input_path),
        evaluator=evaluator,
        reference_evaluator=reference,
        checks=[c.strip() for c in checks.split(",") if c.strip()],
        sample_size=sample_size,
        seed=seed,
        n_judge_samples=n_judge_samples,
        min_effect=min_effect,
        engine=engine,
    )
    json_path = _write_pair(md_path, report.markdown, report.model_dump_json(indent=2) + "\n")
    for check in report.checks:
        change = "n/a" if check.mean_delta is None else f"{check.mean_delta:+.2f}"
        click.echo(f"{check.check}: {check.verdict} (score change {change}, n = {check.n}): {check.reason}")
    click.echo(f"wrote {md_path} and {json_path}")

"""`rubric_eval meta_evaluate` and `rubric_eval audit`: how far the judge's numbers can be trusted."""

from __future__ import annotations

from pathlib import Path

import click

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
    for ranking in result.rankings:
        click.echo(
            f"{ranking.evaluator} ranking vs reference ({ranking.n_models} models): "
            f"Spearman {_num(ranking.spearman.value)}, Kendall {_num(ranking.kendall.value)}, "
            f"Pearson {_num(ranking.pearson.value)}"
        )
    click.echo(f"wrote {md_path} and {json_path}")


def _num(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"

"""Meta-evaluation: how far to trust a judge, measured against human labels, other judges and rankings.

`meta_evaluate()` takes evaluated records (one or several judges, told apart by ``evaluator``) and,
optionally, human labels and a reference ranking, and returns a `MetaEvaluation`:

- judge vs human, per judge: criterion-level agreement (`Agreement`), pooled over annotators;
- human vs human (the ceiling), where two or more annotators labelled the same criterion;
- judge vs judge, for every pair of judges, on the criteria both graded;
- each judge's model ranking vs the reference ranking (Pearson, Spearman, Kendall with Fisher-z CIs).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from pydantic import BaseModel, Field

from rubric_eval.errors import InputError
from rubric_eval.records import Record
from rubric_eval.trust._agreement import Agreement, GradePair, agreement
from rubric_eval.trust._files import HumanLabel
from rubric_eval.trust._stats import (
    DEFAULT_BOOTSTRAP,
    DEFAULT_SEED,
    Correlation,
    fisher_ci,
    kendall_tau_b,
    pearson,
    spearman,
)

UNKNOWN_EVALUATOR = "unknown evaluator"
UNKNOWN_MODEL = "unknown model"
MIN_RANKED_MODELS = 3


def _norm(text: str) -> str:
    return " ".join(text.casefold().split())


@dataclass(frozen=True)
class _Grade:
    score: float
    position: int
    level: str
    weight: float


@dataclass
class _Answer:
    """One evaluated answer: its instruction key, model, rubric levels and weights, and the judge's grades."""

    instruction: str
    model: str
    levels: list[str]
    weights: dict[str, float]  # normalised criterion name -> weight
    names: dict[str, str]  # normalised criterion name -> name as written
    grades: dict[str, _Grade | None]  # normalised criterion name -> the judge's grade (None: unscored)
    text: str = ""  # the normalised instruction text, for labels that name the instruction instead of the id


def level_scores(levels: Sequence[str]) -> dict[str, float]:
    """`rubric_eval.reporting.scoring.level_scores`, imported late: reporting embeds trust models."""
    from rubric_eval.reporting.scoring import level_scores as scores

    return scores(levels)


def _answers(records: Sequence[Record]) -> dict[str, list[_Answer]]:
    """Evaluated records grouped by evaluator."""
    out: dict[str, list[_Answer]] = {}
    for record in records:
        if record.rubric is None or record.grades is None:
            continue
        levels = record.rubric.levels
        scores = level_scores(levels)
        weights = {_norm(c.criterion): c.weight for c in record.rubric.criteria}
        names = {_norm(c.criterion): c.criterion for c in record.rubric.criteria}
        grades: dict[str, _Grade | None] = {}
        for g in record.grades:
            key = _norm(g.criterion)
            if g.status == "scored" and g.level in scores:
                # The level's score, not g.score: with repeats or a panel, g.score is a mean of several
                # levels, while agreement compares levels.
                grades[key] = _Grade(scores[g.level], levels.index(g.level), g.level, weights.get(key, 1.0))
            else:
                grades[key] = None
        key = str(record.id) if record.id is not None else _norm(record.instruction)
        answer = _Answer(
            key, record.model or UNKNOWN_MODEL, levels, weights, names, grades, _norm(record.instruction)
        )
        out.setdefault(record.evaluator or UNKNOWN_EVALUATOR, []).append(answer)
    return out


class Ranking(BaseModel):
    """One judge's model ranking compared with a reference ranking."""

    evaluator: str
    n_models: int
    pearson: Correlation
    spearman: Correlation
    kendall: Correlation
    models: list[str] = Field(description="Matched models, best first by our score.")
    scores: list[float]
    reference_scores: list[float]
    unmatched: list[str] = Field(default_factory=list, description="Our models missing from the reference.")
    reference_unmatched: list[str] = Field(default_factory=list)


class JudgeVsHuman(BaseModel):
    evaluator: str
    agreement: Agreement | None
    n_labels_judge_unscored: int = Field(0, description="Labels whose criterion the judge left unscored.")


class JudgePair(BaseModel):
    evaluator_a: str
    evaluator_b: str
    agreement: Agreement | None


class MetaEvaluation(BaseModel):
    """Everything `meta_evaluate` measured; ``markdown`` renders it."""

    evaluators: list[str]
    annotators: list[str] = Field(default_factory=list)
    n_labels: int = 0
    n_labels_matched: int = 0
    unmatched_labels: list[str] = Field(
        default_factory=list, description="Labels naming an answer that is not in the evaluations (first 10)."
    )
    n_labels_unmatched: int = 0
    judges: list[JudgeVsHuman] = Field(default_factory=list)
    human_ceiling: Agreement | None = Field(
        None, description="Agreement between annotators on the same criteria (each pair of annotators once)."
    )
    judge_pairs: list[JudgePair] = Field(default_factory=list)
    rankings: list[Ranking] = Field(default_factory=list)
    n_resamples: int = DEFAULT_BOOTSTRAP
    seed: int = DEFAULT_SEED
    confidence: float = 0.95

    @property
    def markdown(self) -> str:
        from rubric_eval.trust._markdown import meta_markdown

        return meta_markdown(self)


# -- matching labels to answers ------------------------------------------------------------------


def _label_text(label: HumanLabel) -> str:
    what = f"id={label.id}" if label.id is not None else f"instruction {label.instruction!r:.60}"
    return f"{what}, model={label.model}, criterion={label.criterion!r}, annotator={label.annotator}"


def _match(
    labels: Sequence[HumanLabel], answers: Sequence[_Answer], source: str
) -> tuple[list[tuple[HumanLabel, _Answer, str, int, float]], list[HumanLabel]]:
    """Each label with its answer, normalised criterion, level position and score; the unmatched ones."""
    by_key: dict[str, list[_Answer]] = {}
    by_text: dict[str, list[_Answer]] = {}
    for answer in answers:
        by_key.setdefault(answer.instruction, []).append(answer)
        by_text.setdefault(answer.text, []).append(answer)
    matched = []
    unmatched = []
    for index, label in enumerate(labels):
        if label.id is not None:
            candidates = by_key.get(label.id, [])
        else:
            candidates = by_text.get(_norm(label.instruction or ""), [])
        if label.model is not None:
            candidates = [a for a in candidates if a.model == label.model]
        if len(candidates) > 1:
            raise InputError(
                f"the label matches {len(candidates)} answers ({', '.join(a.model for a in candidates)}); "
                "name the model",
                path=source,
                index=index,
                field="model",
            )
        if not candidates:
            unmatched.append(label)
            continue
        answer = candidates[0]
        criterion = _norm(label.criterion)
        if criterion not in answer.weights:
            raise InputError(
                f"criterion {label.criterion!r} is not in the answer's rubric "
                f"({', '.join(answer.names.values())})",
                path=source,
                index=index,
                field="criterion",
            )
        by_level = {_norm(lv): i for i, lv in enumerate(answer.levels)}
        position = by_level.get(_norm(label.level))
        if position is None:
            raise InputError(
                f"level {label.level!r} is not one of the rubric's levels {answer.levels}",
                path=source,
                index=index,
                field="level",
            )
        score = level_scores(answer.levels)[answer.levels[position]]
        matched.append((label, answer, criterion, position, score))
    return matched, unmatched


def _judge_vs_human(
    matched: Sequence[tuple[HumanLabel, _Answer, str, int, float]], *, n_resamples: int, seed: int
) -> tuple[Agreement | None, int]:
    pairs = []
    unscored = 0
    for label, answer, criterion, position, score in matched:
        grade = answer.grades.get(criterion)
        if grade is None:
            unscored += 1
            continue
        pairs.append(
            GradePair(
                instruction=answer.instruction,
                answer=f"{answer.instruction}\x00{answer.model}\x00{label.annotator}",
                weight=answer.weights[criterion],
                a_score=grade.score,
                b_score=score,
                a_position=grade.position,
                b_position=position,
                a_level=grade.level,
                b_level=answer.levels[position],
            )
        )
    return agreement(pairs, n_resamples=n_resamples, seed=seed), unscored


def _human_ceiling(
    matched: Sequence[tuple[HumanLabel, _Answer, str, int, float]], *, n_resamples: int, seed: int
) -> Agreement | None:
    items: dict[tuple[str, str, str], dict[str, tuple[_Answer, int, float]]] = {}
    for label, answer, criterion, position, score in matched:
        # One label per annotator and item: a repeated label replaces the earlier one.
        items.setdefault((answer.instruction, answer.model, criterion), {})[label.annotator] = (
            answer,
            position,
            score,
        )
    pairs = []
    for (instruction, model, criterion), by_annotator in items.items():
        m = len(by_annotator)
        for first, second in itertools.combinations(sorted(by_annotator), 2):
            answer, pa, sa = by_annotator[first]
            _, pb, sb = by_annotator[second]
            pairs.append(
                GradePair(
                    instruction=instruction,
                    answer=f"{instruction}\x00{model}\x00{first}\x00{second}",
                    weight=answer.weights[criterion],
                    a_score=sa,
                    b_score=sb,
                    a_position=pa,
                    b_position=pb,
                    a_level=answer.levels[pa],
                    b_level=answer.levels[pb],
                    alpha_weight=1.0 / (m - 1),
                )
            )
    return agreement(pairs, n_resamples=n_resamples, seed=seed)


def _judge_pair(
    a: Sequence[_Answer], b: Sequence[_Answer], *, n_resamples: int, seed: int
) -> Agreement | None:
    others = {(x.instruction, x.model): x for x in b}
    pairs = []
    for answer in a:
        other = others.get((answer.instruction, answer.model))
        if other is None:
            continue
        for criterion, grade in answer.grades.items():
            theirs = other.grades.get(criterion)
            if grade is None or theirs is None:
                continue
            pairs.append(
                GradePair(
                    instruction=answer.instruction,
                    answer=f"{answer.instruction}\x00{answer.model}",
                    weight=grade.weight,
                    a_score=grade.score,
                    b_score=theirs.score,
                    a_position=grade.position,
                    b_position=theirs.position,
                    a_level=grade.level,
                    b_level=theirs.level,
                )
            )
    return agreement(pairs, n_resamples=n_resamples, seed=seed)


# -- rankings ------------------------------------------------------------------------------------


def model_means(records: Sequence[Record]) -> dict[str, dict[str, float]]:
    """evaluator -> model -> mean instruction score over its scored instructions (unweighted)."""
    sums: dict[str, dict[str, list[float]]] = {}
    for record in records:
        if record.score is None:
            continue
        evaluator = record.evaluator or UNKNOWN_EVALUATOR
        sums.setdefault(evaluator, {}).setdefault(record.model or UNKNOWN_MODEL, []).append(record.score)
    return {e: {m: float(np.mean(v)) for m, v in models.items()} for e, models in sums.items()}


def _model_key(name: str) -> str:
    # "openai/gpt-4o" and "GPT-4o" are the same model for matching against a reference list.
    return _norm(name.rsplit("/", 1)[-1])


def compare_ranking(
    evaluator: str, scores: Mapping[str, float], reference: Mapping[str, float], *, confidence: float = 0.95
) -> Ranking:
    """Correlations between our per-model scores and a reference's, over the models both have.

    Names match exactly, else ignoring case and a ``provider/`` prefix. CIs are Fisher-z intervals
    over models (see `fisher_ci`); they are None with too few models.
    """
    ref_by_key = {_model_key(m): m for m in reference}
    pairs: list[tuple[str, float, float]] = []
    unmatched = []
    used = set()
    for model, value in scores.items():
        ref_name = model if model in reference else ref_by_key.get(_model_key(model))
        if ref_name is None or ref_name in used:
            unmatched.append(model)
            continue
        used.add(ref_name)
        pairs.append((model, value, reference[ref_name]))
    pairs.sort(key=lambda p: -p[1])
    ours = [p[1] for p in pairs]
    theirs = [p[2] for p in pairs]
    n = len(pairs)
    if n < MIN_RANKED_MODELS:
        # Two points always correlate perfectly: the number would say nothing.
        ours, theirs = [], []
    return Ranking(
        evaluator=evaluator,
        n_models=n,
        pearson=fisher_ci(pearson(ours, theirs), n, method="pearson", confidence=confidence),
        spearman=fisher_ci(spearman(ours, theirs), n, method="spearman", confidence=confidence),
        kendall=fisher_ci(kendall_tau_b(ours, theirs), n, method="kendall", confidence=confidence),
        models=[p[0] for p in pairs],
        scores=[p[1] for p in pairs],
        reference_scores=[p[2] for p in pairs],
        unmatched=sorted(unmatched),
        reference_unmatched=sorted(m for m in reference if m not in used),
    )


# -- the entry point -----------------------------------------------------------------------------


def meta_evaluate(
    evaluations: Sequence[Record] = (),
    *,
    labels: Sequence[HumanLabel] = (),
    labels_source: str = "labels",
    reference_scores: Mapping[str, float] | None = None,
    model_scores: Mapping[str, float] | None = None,
    n_resamples: int = DEFAULT_BOOTSTRAP,
    seed: int = DEFAULT_SEED,
) -> MetaEvaluation:
    """Measure the judges in ``evaluations`` against human ``labels``, each other and a reference ranking.

    ``model_scores`` (model -> score) replaces the scores computed from the evaluations in the ranking
    comparison (e.g. a leaderboard from another run).
    """
    by_evaluator = _answers(evaluations)
    if evaluations and not by_evaluator:
        raise InputError("no evaluated records (with 'rubric' and 'grades')", path="evaluations")
    result = MetaEvaluation(evaluators=sorted(by_evaluator), n_resamples=n_resamples, seed=seed)
    if labels:
        if not by_evaluator:
            raise InputError("human labels need evaluations to compare with", path=labels_source)
        result.n_labels = len(labels)
        result.annotators = sorted({label.annotator for label in labels})
        first_matched: list[tuple[HumanLabel, _Answer, str, int, float]] | None = None
        unmatched_all: list[HumanLabel] = []
        for evaluator in result.evaluators:
            matched, unmatched = _match(labels, by_evaluator[evaluator], labels_source)
            if first_matched is None:
                first_matched, unmatched_all = matched, unmatched
            judged, n_unscored = _judge_vs_human(matched, n_resamples=n_resamples, seed=seed)
            result.judges.append(
                JudgeVsHuman(evaluator=evaluator, agreement=judged, n_labels_judge_unscored=n_unscored)
            )
        assert first_matched is not None
        result.n_labels_matched = len(first_matched)
        result.n_labels_unmatched = len(unmatched_all)
        result.unmatched_labels = [_label_text(label) for label in unmatched_all[:10]]
        if not first_matched:
            raise InputError(
                "no label matches an evaluated answer (labels name answers by 'id' or 'instruction' and "
                f"'model'; first unmatched: {result.unmatched_labels[0]})",
                path=labels_source,
            )
        result.human_ceiling = _human_ceiling(first_matched, n_resamples=n_resamples, seed=seed)
    for a, b in itertools.combinations(result.evaluators, 2):
        result.judge_pairs.append(
            JudgePair(
                evaluator_a=a,
                evaluator_b=b,
                agreement=_judge_pair(by_evaluator[a], by_evaluator[b], n_resamples=n_resamples, seed=seed),
            )
        )
    if reference_scores is not None:
        if model_scores is not None:
            result.rankings.append(compare_ranking("given model scores", model_scores, reference_scores))
        else:
            for evaluator, means in sorted(model_means(evaluations).items()):
                result.rankings.append(compare_ranking(evaluator, means, reference_scores))
    return result

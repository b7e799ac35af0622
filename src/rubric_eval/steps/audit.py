"""`audit`: re-grade a seeded sample of answers under controlled perturbations and test the score changes.

The originals are graded again by the same judge (a cache hit when `evaluate` already graded them with
the same judge and samples), then every perturbed copy in one engine batch. The statistics and verdicts
are pure functions in `rubric_eval.trust` (see its `_audit` module doc for the checks and the rule).
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from rubric_eval._api_edge import RecordsLike, to_records
from rubric_eval._config import AnnotatorConfig, resolve_config
from rubric_eval.engine import Engine
from rubric_eval.errors import ConfigError, InputError
from rubric_eval.records import Record
from rubric_eval.steps.evaluate import evaluate_records
from rubric_eval.trust import (
    CHECKS,
    DEFAULT_AUDIT_ALPHA,
    DEFAULT_MIN_EFFECT,
    DESCRIPTIONS,
    AuditCheck,
    AuditReport,
    injected,
    model_family,
    padded,
    paired_check,
    self_preference_check,
    shuffled,
    without_reference,
)

DEFAULT_SAMPLE_SIZE = 50
PERTURBATION_CHECKS = ("padding", "injection", "shuffle_criteria", "no_reference")


def _gradable(record: Record) -> bool:
    return record.rubric is not None and record.output is not None


def sample_records(records: Sequence[Record], size: int, seed: int) -> list[Record]:
    """A seeded sample, without replacement and in input order, of the records with a rubric and an output."""
    gradable = [i for i, r in enumerate(records) if _gradable(r)]
    if not gradable:
        raise InputError("no record has both a rubric and an output to grade", path="audit input")
    chosen = sorted(random.Random(seed).sample(gradable, min(size, len(gradable))))
    return [records[i] for i in chosen]


def _perturb(check: str, record: Record, seed: int) -> Record | None:
    if check == "padding":
        return padded(record, seed)
    if check == "injection":
        return injected(record)
    if check == "shuffle_criteria":
        return shuffled(record, seed)
    if check == "no_reference":
        return without_reference(record)
    raise ValueError(f"unknown perturbation {check!r}")


def _changed(before: Record, after: Record) -> list[bool]:
    levels = after.level_per_criteria or {}
    return [
        levels.get(name) != level
        for name, level in (before.level_per_criteria or {}).items()
        if level is not None and levels.get(name) is not None
    ]


def run_audit(
    records: Sequence[Record],
    *,
    evaluator: AnnotatorConfig,
    reference_evaluator: AnnotatorConfig | None = None,
    checks: Sequence[str] = CHECKS,
    sample_size: int = DEFAULT_SAMPLE_SIZE,
    seed: int = 0,
    n_judge_samples: int = 1,
    alpha: float = DEFAULT_AUDIT_ALPHA,
    min_effect: float = DEFAULT_MIN_EFFECT,
    engine: Engine | None = None,
) -> AuditReport:
    """Audit ``evaluator`` on a seeded sample of ``records`` (see the module doc)."""
    unknown = [c for c in checks if c not in CHECKS]
    if unknown:
        raise ConfigError(f"unknown audit checks {unknown}; expected some of {', '.join(CHECKS)}")
    engine = engine or Engine()
    sample = sample_records(records, sample_size, seed)
    perturbations = [c for c in checks if c in PERTURBATION_CHECKS]
    batch: list[Record] = list(sample)
    slots: dict[str, list[int | None]] = {}
    for check in perturbations:
        positions: list[int | None] = []
        for i, record in enumerate(sample):
            perturbed = _perturb(check, record, seed * 1_000_003 + i)
            positions.append(None if perturbed is None else len(batch))
            if perturbed is not None:
                batch.append(perturbed)
        slots[check] = positions
    graded = evaluate_records(
        batch, config=evaluator, engine=engine, source="audit sample", n_judge_samples=n_judge_samples
    )
    originals = graded[: len(sample)]
    n_tests = len(perturbations) + ("self_preference" in checks)
    corrected = alpha / max(n_tests, 1)
    results: list[AuditCheck] = []
    for check in perturbations:
        before: list[float | None] = []
        after: list[float | None] = []
        changed: list[bool] = []
        skipped = 0
        for i, pos in enumerate(slots[check]):
            if pos is None:
                skipped += 1
                continue
            before.append(originals[i].score)
            after.append(graded[pos].score)
            changed += _changed(originals[i], graded[pos])
        results.append(
            paired_check(
                check,
                before,
                after,
                changed,
                alpha=corrected,
                min_effect=min_effect,
                seed=seed,
                n_skipped=skipped,
            )
        )
    if "self_preference" in checks:
        results.append(
            _self_preference(
                sample,
                originals,
                evaluator,
                reference_evaluator,
                engine,
                seed,
                n_judge_samples,
                alpha=corrected,
                min_effect=min_effect,
            )
        )
    return AuditReport(
        evaluator=evaluator.name,
        reference_evaluator=None if reference_evaluator is None else reference_evaluator.name,
        n_sampled=len(sample),
        seed=seed,
        alpha=alpha,
        min_effect=min_effect,
        checks=results,
    )


def _self_preference(
    sample: Sequence[Record],
    originals: Sequence[Record],
    evaluator: AnnotatorConfig,
    reference: AnnotatorConfig | None,
    engine: Engine,
    seed: int,
    n_judge_samples: int,
    *,
    alpha: float,
    min_effect: float,
) -> AuditCheck:
    family = model_family(evaluator.model) or model_family(evaluator.name)
    own = [i for i, r in enumerate(sample) if family is not None and model_family(r.model) == family]
    if reference is None or family is None or not own:
        why = (
            "needs --reference_evaluator (a judge from another family to compare with)"
            if reference is None
            else f"the judge's model family is unknown ({evaluator.model})"
            if family is None
            else f"no sampled answer comes from the judge's family ({family})"
        )
        return AuditCheck(
            check="self_preference",
            description=DESCRIPTIONS["self_preference"],
            n=0,
            verdict="not applicable",
            reason=why,
        )
    ref = evaluate_records(
        sample, config=reference, engine=engine, source="audit sample", n_judge_samples=n_judge_samples
    )
    deltas = {
        i: o.score - r.score
        for i, (o, r) in enumerate(zip(originals, ref, strict=True))
        if o.score is not None and r.score is not None
    }
    own_set = set(own)
    return self_preference_check(
        [d for i, d in deltas.items() if i in own_set],
        [d for i, d in deltas.items() if i not in own_set],
        alpha=alpha,
        min_effect=min_effect,
        seed=seed,
    )


def audit(
    records: RecordsLike,
    *,
    evaluator: str | AnnotatorConfig | None = None,
    reference_evaluator: str | AnnotatorConfig | None = None,
    checks: Sequence[str] = CHECKS,
    sample_size: int = DEFAULT_SAMPLE_SIZE,
    seed: int = 0,
    n_judge_samples: int = 1,
    engine: Engine | None = None,
) -> AuditReport:
    """Audit a judge for length bias, injection obedience, order effects, reliance on the reference and
    self-preference on a seeded sample of graded (or gradable) records; returns an `AuditReport`."""
    items, _ = to_records(records)
    return run_audit(
        items,
        evaluator=resolve_config("evaluator", evaluator),
        reference_evaluator=None
        if reference_evaluator is None
        else resolve_config("evaluator", reference_evaluator),
        checks=checks,
        sample_size=sample_size,
        seed=seed,
        n_judge_samples=n_judge_samples,
        engine=engine,
    )

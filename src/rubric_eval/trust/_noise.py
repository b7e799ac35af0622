"""Judge noise from repeated judging: how much of a model's SEM comes from the judge, not the instructions.

With ``k_i`` gradings of instruction ``i`` (scores ``s_ij``) and their mean ``m_i``, the reported score
is the mean of the ``m_i`` and ``SEM^2 = var(m) / n`` (ddof = 1). Each ``m_i`` is the instruction's
true score plus judge noise, so ``var(m) = s_b^2 + mean_i(s_w^2 / k_i)``, where ``s_w^2`` is the pooled
within-instruction variance of the repeats (ddof = 1 per instruction). Hence

- judge part of SEM^2 = ``mean_i(s_w^2 / k_i) / n``; instruction part = the rest (never below 0);
- judge share = judge part / SEM^2 (with a bootstrap CI over instructions);
- the SEM one sample per instruction would have given: ``sqrt((s_b^2 + s_w^2) / n)``.

Self-consistency: the share of (instruction, criterion) whose repeats all gave the same level, and
the share of pairs of repeats that agree.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from pydantic import BaseModel, Field

from rubric_eval.records import JudgeSample, Record
from rubric_eval.trust._stats import DEFAULT_BOOTSTRAP, DEFAULT_SEED, FloatArray, IntArray


class JudgeNoise(BaseModel):
    """The SEM split into its instruction part and its judge-noise part, and the judge's self-consistency."""

    n_instructions: int = Field(description="Instructions with at least two scored repeats.")
    samples_per_instruction: float = Field(description="Mean number of scored repeats per instruction.")
    sem: float | None = Field(description="SEM of the mean of the per-instruction repeat means.")
    sem_instructions: float | None = Field(description="The part of the SEM from sampling instructions.")
    sem_judge: float | None = Field(description="The part from judge noise (SEMs add in squares).")
    judge_share: float | None = Field(description="Judge part of SEM^2 / SEM^2.")
    judge_share_ci_low: float | None = None
    judge_share_ci_high: float | None = None
    within_sd: float | None = Field(description="SD of one grading of an instruction around its own mean.")
    sem_single_sample: float | None = Field(description="Estimated SEM with one grading per instruction.")
    identical_levels: float | None = Field(
        description="Share of (instruction, criterion) whose repeats all gave the same level."
    )
    pairwise_agreement: float | None = Field(description="Share of pairs of repeats giving the same level.")


def _parts(samples: Sequence[Sequence[float]]) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """Per instruction: mean of its repeats, within sum of squares, degrees of freedom, 1 / k."""
    arrays = [np.asarray(s, dtype=np.float64) for s in samples]
    means = np.array([a.mean() for a in arrays])
    ss = np.array([float(((a - a.mean()) ** 2).sum()) for a in arrays])
    k = np.array([a.size for a in arrays], dtype=np.float64)
    return means, ss, k - 1, 1.0 / k


def _shares(
    means: FloatArray, ss: FloatArray, dof: FloatArray, inv_k: FloatArray, draws: IntArray
) -> FloatArray:
    """The judge share for each row of instruction indices in ``draws`` (NaN where undefined), vectorised."""
    var_means = means[draws].var(axis=1, ddof=1)
    within = ss[draws].sum(axis=1) / dof[draws].sum(axis=1)
    judge = within * inv_k[draws].mean(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(var_means > 0, np.minimum(judge / var_means, 1.0), np.nan)
    return np.asarray(share, dtype=np.float64)


def judge_noise(
    instruction_samples: Sequence[Sequence[float]],
    criterion_levels: Sequence[Sequence[str]] = (),
    *,
    n_resamples: int = DEFAULT_BOOTSTRAP,
    seed: int = DEFAULT_SEED,
) -> JudgeNoise | None:
    """Split the SEM (see the module doc); ``instruction_samples[i]`` = the scores of instruction i's repeats.

    ``criterion_levels`` lists each (instruction, criterion)'s levels over the repeats, for
    self-consistency. None when fewer than two instructions have two scored repeats.
    """
    usable = [list(s) for s in instruction_samples if len(s) >= 2]
    n = len(usable)
    if n < 2:
        return None
    means, ss, dof, inv_k = _parts(usable)
    var_means = float(means.var(ddof=1))
    within = float(ss.sum() / dof.sum())
    judge_var = float(np.mean(within * inv_k))
    sem2 = var_means / n
    judge2 = min(judge_var / n, sem2)
    between = max(var_means - judge_var, 0.0)
    # Bootstrap over instructions, all resamples at once (this runs per model in every report).
    draws = np.random.default_rng(seed).integers(0, n, size=(n_resamples, n))
    shares = _shares(means, ss, dof, inv_k, draws)
    shares = shares[np.isfinite(shares)]
    lo = hi = None
    if shares.size >= n_resamples / 2:
        lo, hi = (float(q) for q in np.quantile(shares, [0.025, 0.975]))
    identical = [len(set(levels)) == 1 for levels in criterion_levels if len(levels) >= 2]
    pairs = agree = 0
    for levels in criterion_levels:
        for i in range(len(levels)):
            for j in range(i + 1, len(levels)):
                pairs += 1
                agree += levels[i] == levels[j]
    return JudgeNoise(
        n_instructions=n,
        samples_per_instruction=float(np.mean([len(s) for s in usable])),
        sem=math.sqrt(sem2),
        sem_instructions=math.sqrt(max(sem2 - judge2, 0.0)),
        sem_judge=math.sqrt(judge2),
        judge_share=judge2 / sem2 if sem2 > 0 else None,
        judge_share_ci_low=lo,
        judge_share_ci_high=hi,
        within_sd=math.sqrt(within),
        sem_single_sample=math.sqrt((between + within) / n),
        identical_levels=float(np.mean(identical)) if identical else None,
        pairwise_agreement=agree / pairs if pairs else None,
    )


def record_samples(record: Record) -> list[JudgeSample]:
    """The record's ``judge_samples`` (empty when it was graded once)."""
    return list(record.judge_samples or [])


def noise_of_samples(
    answers: Sequence[Sequence[JudgeSample]],
    *,
    n_resamples: int = DEFAULT_BOOTSTRAP,
    seed: int = DEFAULT_SEED,
) -> JudgeNoise | None:
    """`judge_noise` from each answer's repeats (one list of `JudgeSample` per answer)."""
    scores: list[list[float]] = []
    levels: list[list[str]] = []
    for samples in answers:
        scores.append([s.score for s in samples if s.score is not None])
        criteria = {c for s in samples for c in s.level_per_criteria}
        for criterion in sorted(criteria):
            given = [s.level_per_criteria.get(criterion) for s in samples]
            levels.append([lv for lv in given if lv is not None])
    return judge_noise(scores, levels, n_resamples=n_resamples, seed=seed)


def noise_of_records(
    records: Sequence[Record], *, n_resamples: int = DEFAULT_BOOTSTRAP, seed: int = DEFAULT_SEED
) -> JudgeNoise | None:
    """`judge_noise` of one model's records from their ``judge_samples``; None without repeats."""
    return noise_of_samples([record_samples(r) for r in records], n_resamples=n_resamples, seed=seed)

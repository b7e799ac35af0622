"""Markdown for the trust results: meta-evaluation, audit, judge noise, ensembles, rubric diagnostics.

Every name that came from a user file (models, judges, annotators, criteria) is escaped.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rubric_eval._text import escape_cell, escape_inline, fmt_number

if TYPE_CHECKING:
    from rubric_eval.trust._agreement import Agreement, Estimate
    from rubric_eval.trust._audit import AuditReport
    from rubric_eval.trust._diagnostics import RubricDiagnostics
    from rubric_eval.trust._judging import JudgingSummary
    from rubric_eval.trust._meta import MetaEvaluation, Ranking
    from rubric_eval.trust._noise import JudgeNoise
    from rubric_eval.trust._stats import Correlation


def fmt_estimate(est: Estimate | Correlation | None, digits: int = 2) -> str:
    """``0.71 [0.65, 0.77]``, or ``n/a``."""
    if est is None or est.value is None:
        return "n/a"
    if est.ci_low is None or est.ci_high is None:
        return fmt_number(est.value, digits)
    return f"{est.value:.{digits}f} [{est.ci_low:.{digits}f}, {est.ci_high:.{digits}f}]"


AGREEMENT_COLUMNS = (
    "| Comparison | Items | Exact | Within one level | Kappa (quadratic) | Alpha (ordinal) | Macro-F1 "
    "| Score Pearson | Score Spearman |"
)


def agreement_row(name: str, agreement: Agreement | None) -> str:
    if agreement is None:
        return f"| {escape_cell(name)} | 0 | n/a | n/a | n/a | n/a | n/a | n/a | n/a |"
    a = agreement
    return (
        f"| {escape_cell(name)} | {a.n_items} ({a.n_instructions} instr.) | {fmt_estimate(a.exact)} "
        f"| {fmt_estimate(a.within_one)} | {fmt_estimate(a.kappa_quadratic)} "
        f"| {fmt_estimate(a.alpha_ordinal)} "
        f"| {fmt_estimate(a.macro_f1)} | {fmt_estimate(a.score_pearson)} | {fmt_estimate(a.score_spearman)} |"
    )


def agreement_table(rows: list[tuple[str, Agreement | None]]) -> list[str]:
    return [
        AGREEMENT_COLUMNS,
        "|---|---|---|---|---|---|---|---|---|",
        *(agreement_row(n, a) for n, a in rows),
    ]


def _confusion(name: str, agreement: Agreement) -> list[str]:
    levels = [escape_cell(lv) for lv in agreement.levels]
    lines = [
        f"Confusion of {escape_inline(name)} (rows: reference, columns: judge):",
        "",
        "| reference \\ judge | " + " | ".join(levels) + " | F1 |",
        "|---|" + "---|" * (len(levels) + 1),
    ]
    for level, row, f1 in zip(levels, agreement.confusion, agreement.f1_per_level.values(), strict=True):
        lines.append(f"| {level} | " + " | ".join(f"{v:g}" for v in row) + f" | {fmt_number(f1)} |")
    return [*lines, ""]


def ranking_lines(ranking: Ranking) -> list[str]:
    lines = [
        f"**{escape_inline(ranking.evaluator)}** vs the reference over {ranking.n_models} models: "
        f"Pearson {fmt_estimate(ranking.pearson)}, Spearman {fmt_estimate(ranking.spearman)}, "
        f"Kendall tau-b {fmt_estimate(ranking.kendall)} (95% Fisher-z CIs over models).",
        "",
    ]
    if ranking.unmatched or ranking.reference_unmatched:
        lines += [
            f"Not compared: {len(ranking.unmatched)} of our models missing from the reference"
            + (f" ({escape_inline(', '.join(ranking.unmatched[:10]))})" if ranking.unmatched else "")
            + f"; {len(ranking.reference_unmatched)} reference models not evaluated.",
            "",
        ]
    lines += ["| Model | Score | Reference |", "|---|---|---|"]
    for model, ours, theirs in zip(ranking.models, ranking.scores, ranking.reference_scores, strict=True):
        lines.append(f"| {escape_cell(model)} | {ours:.2f} | {theirs:g} |")
    return [*lines, ""]


def meta_markdown(meta: MetaEvaluation) -> str:
    """The meta-evaluation as a markdown page."""
    lines = ["# Judge meta-evaluation", ""]
    lines.append(
        f"Judges: {escape_inline(', '.join(meta.evaluators)) or 'none'}. "
        f"CIs: {meta.confidence:.0%} bootstrap over instructions "
        f"({meta.n_resamples} resamples, seed {meta.seed}); "
        "ranking CIs are Fisher-z over models. What each number means: docs/trusting_judges.md."
    )
    lines.append("")
    if meta.n_labels:
        lines += [
            "## Judge vs human labels",
            "",
            f"{meta.n_labels} labels from {len(meta.annotators)} annotator(s) "
            f"({escape_inline(', '.join(meta.annotators))}); "
            f"{meta.n_labels_matched} matched an evaluated answer, "
            f"{meta.n_labels_unmatched} did not.",
            "",
        ]
        rows = [(j.evaluator, j.agreement) for j in meta.judges]
        if meta.human_ceiling is not None:
            rows.append(("human vs human (ceiling)", meta.human_ceiling))
        lines += agreement_table(rows)
        notes = []
        for j in meta.judges:
            if j.n_labels_judge_unscored:
                notes.append(
                    f"- {escape_inline(j.evaluator)} left {j.n_labels_judge_unscored} labelled criteria "
                    "unscored (not counted above)."
                )
        if meta.human_ceiling is None:
            notes.append(
                "- No criterion was labelled by two annotators, so there is no human-human ceiling "
                "to compare with."
            )
        if meta.unmatched_labels:
            notes.append(
                "- Unmatched labels (first 10): " + "; ".join(escape_inline(u) for u in meta.unmatched_labels)
            )
        lines += ["", *notes, ""] if notes else [""]
        for j in meta.judges:
            if j.agreement is not None:
                lines += _confusion(j.evaluator, j.agreement)
    if meta.judge_pairs:
        lines += ["## Judge vs judge", ""]
        lines += agreement_table(
            [(f"{p.evaluator_a} vs {p.evaluator_b}", p.agreement) for p in meta.judge_pairs]
        )
        lines.append("")
    if meta.rankings:
        lines += ["## Model ranking vs the reference ranking", ""]
        for ranking in meta.rankings:
            lines += ranking_lines(ranking)
    return "\n".join(lines).rstrip() + "\n"


def audit_lines(audit: AuditReport, heading: str = "##") -> list[str]:
    """The audit as a markdown section (heading level given, for embedding in the evaluation report)."""
    lines = [
        f"{heading} Judge audit: {escape_inline(audit.evaluator)}",
        "",
        f"{audit.n_sampled} answers re-graded under each change (seed {audit.seed}); score changes are "
        f"after minus before on the 1-10 scale, 95% bootstrap CI; flagged = paired test significant at "
        f"{audit.alpha:g} / {len(audit.checks)} checks and a change of at least {audit.min_effect:g} points.",
        "",
        "| Check | Answers | Score change | p | Levels changed | Verdict |",
        "|---|---|---|---|---|---|",
    ]
    for c in audit.checks:
        change = "n/a" if c.mean_delta is None else f"{c.mean_delta:+.2f}"
        if c.ci_low is not None and c.ci_high is not None:
            change += f" [{c.ci_low:+.2f}, {c.ci_high:+.2f}]"
        levels = "n/a" if c.changed_levels is None else f"{c.changed_levels:.0%}"
        p_value = "n/a" if c.p_value is None else f"{c.p_value:.3g}"
        verdict = f"**{c.verdict}**" if c.verdict == "flagged" else c.verdict
        lines.append(
            f"| {escape_cell(c.check)}: {escape_cell(c.description)} | {c.n} | {change} | {p_value} "
            f"| {levels} | {verdict}: {escape_cell(c.reason)} |"
        )
    return [*lines, ""]


def audit_markdown(audit: AuditReport) -> str:
    return "\n".join(["# Judge audit", "", *audit_lines(audit, "##")[2:]]).rstrip() + "\n"


def judging_lines(judging: JudgingSummary) -> list[str]:
    """A model's judging: the SEM split by judge noise, panel agreement, escalation savings."""
    lines = ["**How the judging was done**:", ""]
    if judging.aggregate:
        rule = escape_inline(judging.aggregate)
        lines.append(f"- Gradings combined per criterion by `{rule}` (docs/trusting_judges.md).")
    if judging.noise is not None:
        lines += _noise_lines(judging.noise, "")
    for judge, noise in judging.panel_noise.items():
        lines += _noise_lines(noise, f" by {escape_inline(judge)}")
    for pair in judging.panel:
        a = pair.agreement
        if a is None:
            continue
        names = f"{escape_inline(pair.evaluator_a)} vs {escape_inline(pair.evaluator_b)}"
        lines.append(
            f"- Panel agreement, {names}: {a.n_items} criteria, exact {fmt_estimate(a.exact)}, "
            f"kappa {fmt_estimate(a.kappa_quadratic)}, score Pearson {fmt_estimate(a.score_pearson)}."
        )
    esc = judging.escalation
    if esc is not None:
        cost = "unknown" if esc.cost_saved_usd is None else f"about ${esc.cost_saved_usd:.4f}"
        strong = escape_inline(esc.escalate_to or "the stronger judge")
        lines.append(
            f"- Escalation to {strong}: {esc.n_escalated} of {esc.n_answers} answers (where the panel "
            f"disagreed); {esc.calls_saved} calls saved, cost saved {cost}."
        )
    return [*lines, ""]


def _noise_lines(noise: JudgeNoise, who: str) -> list[str]:
    share = "n/a" if noise.judge_share is None else f"{noise.judge_share:.0%}"
    if noise.judge_share_ci_low is not None and noise.judge_share_ci_high is not None:
        share += f" [{noise.judge_share_ci_low:.0%}, {noise.judge_share_ci_high:.0%}]"
    k, n = f"{noise.samples_per_instruction:g}", noise.n_instructions
    parts = (
        f"SEM {fmt_number(noise.sem)} = instructions {fmt_number(noise.sem_instructions)} "
        f"and judge noise {fmt_number(noise.sem_judge)} (added in squares)"
    )
    return [
        f"- Repeated judging{who} ({k} gradings per answer, {n} instructions): {parts}; judge noise is "
        f"{share} of the score's variance; one grading per answer would give SEM "
        f"{fmt_number(noise.sem_single_sample)}.",
        f"- Judge self-consistency{who}: {_pct(noise.identical_levels)} of criteria got the same level in "
        f"every repeat; {_pct(noise.pairwise_agreement)} of pairs of repeats agree; one grading of an "
        f"instruction varies by {fmt_number(noise.within_sd)} points (SD).",
    ]


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0%}"


def _usage_line(diag: RubricDiagnostics) -> str:
    total = sum(diag.level_usage.values()) or 1
    usage = ", ".join(f"{escape_inline(lv)} {n / total:.0%}" for lv, n in diag.level_usage.items())
    line = f"- Levels given: {usage}."
    if diag.unused_levels:
        line += f" Never used: {escape_inline(', '.join(diag.unused_levels))}."
    if diag.dominant_level:
        line += f" **{escape_inline(diag.dominant_level)}** is given to more than 80% of criteria."
    return line


def diagnostics_lines(diag: RubricDiagnostics, heading: str = "##") -> list[str]:
    """Rubric diagnostics: which rows to revise."""
    n = diag.n_rows
    lines = [
        f"{heading} Rubric diagnostics",
        "",
        f"{n} rubric rows over {diag.n_instructions} instructions graded for {diag.n_models} models; "
        "rows to revise are listed first.",
        "",
        _usage_line(diag),
        f"- {diag.n_constant_rows} of {n} rows gave every model the same level (they separate no models).",
        f"- {diag.n_redundant_pairs} pairs of rows gave every model identical levels (possibly redundant).",
        f"- {diag.n_ranking_sensitive_rows} rows change the model ranking when their weight is 0 or doubled.",
        "",
    ]
    if diag.least_separating:
        lines += [
            "Least separating rows (score variance between models; with repeats, against judge noise):",
            "",
            "| Instruction | Criterion | Levels used | Between-model variance | Separation |",
            "|---|---|---|---:|---:|",
        ]
        for row in diag.least_separating:
            used = escape_cell(", ".join(row.levels_used))
            lines.append(
                f"| {escape_cell(row.instruction)} | {escape_cell(row.criterion)} | {used} "
                f"| {row.between_variance:.2f} | {fmt_number(row.separation)} |"
            )
        lines.append("")
    if diag.redundant_pairs:
        lines += ["Possibly redundant rows:", ""]
        for p in diag.redundant_pairs:
            pair = f"{escape_inline(p.criterion_a)} = {escape_inline(p.criterion_b)}"
            lines.append(f"- {escape_inline(p.instruction)}: {pair} for all {p.n_models} models")
        lines.append("")
    sensitive = [s for s in diag.weight_sensitivity if s.max_rank_change > 0]
    if sensitive:
        lines += [
            "Rows whose weight moves the ranking:",
            "",
            "| Instruction | Criterion | Weight | Kendall tau if removed | if doubled | Max rank change |",
            "|---|---|---:|---:|---:|---:|",
        ]
        for s in sensitive:
            taus = f"{fmt_number(s.tau_if_removed)} | {fmt_number(s.tau_if_doubled)}"
            lines.append(
                f"| {escape_cell(s.instruction)} | {escape_cell(s.criterion)} | {s.weight:.0f}% | {taus} "
                f"| {s.max_rank_change} |"
            )
        lines.append("")
    return lines


def meta_summary_lines(meta: MetaEvaluation, heading: str = "##") -> list[str]:
    """A short meta-evaluation section for the evaluation report (the full page is meta_evaluate's)."""
    lines = [f"{heading} Judge meta-evaluation", ""]
    rows = [(j.evaluator, j.agreement) for j in meta.judges]
    if meta.human_ceiling is not None:
        rows.append(("human vs human (ceiling)", meta.human_ceiling))
    rows += [(f"{p.evaluator_a} vs {p.evaluator_b}", p.agreement) for p in meta.judge_pairs]
    if rows:
        lines += [*agreement_table(rows), ""]
    for ranking in meta.rankings:
        lines += ranking_lines(ranking)
    return lines

"""The markdown rendering of an `EvaluationReport` (escaping and number formats from `rubric_eval._text`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rubric_eval._text import escape_cell, escape_inline, fmt_ci, fmt_cost, fmt_duration, fmt_number
from rubric_eval.reporting.leaderboard import above_next_text
from rubric_eval.trust import audit_lines, diagnostics_lines, judging_lines, meta_summary_lines

if TYPE_CHECKING:
    from rubric_eval.reporting.report import EvaluationReport, ModelReport
    from rubric_eval.reporting.summary import FeedbackSummary, ProCon

# -- the report ---------------------------------------------------------------------------------


def _pro_con_lines(summary: FeedbackSummary, pro_con: ProCon | None, what: str) -> list[str]:
    if summary.status == "skipped":
        return [f"_No {what}: {escape_inline(summary.reason)}._"]
    if pro_con is None:
        error = summary.errors.get("overall") or summary.reason or "the summariser call failed"
        return [f"_No {what}: the summary failed ({escape_inline(error)})._"]
    lines = ["Pro:", ""]
    lines += [f"- {escape_inline(p)}" for p in pro_con.pros] or ["- (none supported by the feedback)"]
    lines += ["", "Con:", ""]
    lines += [f"- {escape_inline(c)}" for c in pro_con.cons] or ["- (none supported by the feedback)"]
    return lines


def _pro_con_cell(summary: FeedbackSummary, category: str) -> str:
    pro_con = summary.per_category.get(category)
    if pro_con is None:
        error = summary.errors.get(category)
        return escape_cell(f"summary failed: {error}" if error else "no scored feedback")
    pros = "<br>".join(f"+ {escape_cell(p)}" for p in pro_con.pros) or "(none)"
    cons = "<br>".join(f"- {escape_cell(c)}" for c in pro_con.cons) or "(none)"
    return f"**Pro:**<br>{pros}<br>**Con:**<br>{cons}"


def _cost_text(model: ModelReport) -> str:
    def part(cost: float, unpriced: int) -> str:
        return fmt_cost(cost) + (f" + unknown for {unpriced} unpriced calls" if unpriced else "")

    judge = part(model.evaluation_cost_usd, model.n_unpriced_calls)
    summary = part(model.summary.cost_usd, model.summary.n_unpriced_calls)
    total = model.total_cost_usd
    head = "unknown (a model's price is not in the price table)" if total is None else fmt_cost(total)
    return f"{head} (judge {judge}; summary {summary})"


def _score_line(model: ModelReport) -> str:
    s = model.score
    if s.mean is None:
        return f"**Score**: n/a (no scored instruction; {s.n_unscored} unscored)"
    return (
        f"**Score**: {fmt_number(s.mean)} ± {fmt_number(s.sem)} "
        f"(1-10 scale; mean ± SEM over n = {s.n} scored instructions; {s.n_unscored} unscored)"
    )


def _leaderboard_table(report: EvaluationReport) -> list[str]:
    lines = [
        "| Rank | Model | Score | SEM | 95% CI | n | Unscored | Significantly above next? |",
        "|---:|---|---:|---:|---:|---:|---:|---|",
    ]
    for row in report.leaderboard:
        ci = fmt_ci(row.ci_low, row.ci_high)
        rank = "-" if row.rank is None else str(row.rank)
        lines.append(
            f"| {rank} | {escape_cell(row.model)} | {fmt_number(row.score)} | {fmt_number(row.sem)} | "
            f"{ci} | {row.n} | {row.n_unscored} | {escape_cell(above_next_text(row, report.alpha))} |"
        )
    return lines


def _judge_text(model: ModelReport) -> str:
    judge = model.run.judge
    if judge.provider is None:
        return judge.name
    params = ", ".join(f"{k}={v}" for k, v in sorted(judge.params.items()))
    return (
        f"{judge.name} ({judge.provider}/{judge.model}; {params or 'default parameters'}; {judge.template})"
    )


def _status_lines(report: EvaluationReport) -> list[str]:
    """The warning at the top of a report whose runs are not all complete."""
    lines = [
        f"> **{escape_inline(m.model)}: {escape_inline(m.status)}** (run {escape_inline(m.run.run_id)}): "
        "scores cover only the scored instructions; not ranked on the leaderboard."
        for m in report.incomplete
    ]
    return [*lines, ""] if lines else []


def _category_matrix(report: EvaluationReport) -> list[str]:
    categories = sorted({c.category for m in report.models for c in m.categories})
    lines = [
        "**Score per model and category** (mean; models best first):",
        "",
        "| Model | " + " | ".join(escape_cell(c) for c in categories) + " |",
        "|---|" + "---:|" * len(categories),
    ]
    for model, row in report.category_matrix().items():
        cells = " | ".join(fmt_number(row.get(c)) for c in categories)
        lines.append(f"| {escape_cell(model)} | {cells} |")
    return lines


def _pairwise_lines(report: EvaluationReport) -> list[str]:
    view = report.comparisons
    if view is None or not view.pairwise or len(view.pairwise) < 2:
        return []
    lines = [
        f"**Pairwise comparisons** (paired sign-flip test on shared instructions; p adjusted for "
        f"{len(view.pairwise)} comparisons with Holm's method; significant when adjusted p < "
        f"{view.alpha:g}):",
        "",
        "| Model A | Model B | Mean A - B | n paired | p | Holm p | Significant? |",
        "|---|---|---:|---:|---:|---:|---|",
    ]
    for c in view.pairwise:
        lines.append(
            f"| {escape_cell(c.model_a)} | {escape_cell(c.model_b)} | {fmt_number(c.mean_difference)} | "
            f"{c.n_paired} | {fmt_number(c.p_value, 3)} | {fmt_number(c.p_adjusted, 3)} | "
            f"{'yes' if c.significant else 'no'} |"
        )
    return lines


def _leaderboard_caption(report: EvaluationReport) -> str:
    source = f" (from `{escape_inline(report.leaderboard_path)}`)" if report.leaderboard_path else ""
    return (
        f"**Leaderboard**{source}: dataset {escape_inline(report.dataset)}, "
        f'judge {escape_inline(", ".join(report.evaluators))}. "Significantly above next": two-sided paired '
        f"sign-flip test over the instructions both models were graded on, alpha = {report.alpha:g}."
    )


def _grading_lines(model: ModelReport) -> list[str]:
    g = model.grading
    lines = [
        f"**Grading**: {g.n_criteria} criteria graded: {g.n_scored} scored, {g.n_unscored} unscored "
        f"({g.n_instructions_partially_scored} instructions partially scored). Dropped judge output: "
        f"{g.n_invented_criteria} invented criteria, {g.n_unknown_levels} unknown levels. "
        f"Failed judge calls: {g.n_failed_calls}."
    ]
    if g.unscored_reasons:
        lines += ["", "| Unscored criteria: reason | Count |", "|---|---:|"]
        lines += [f"| {escape_cell(reason)} | {count} |" for reason, count in g.unscored_reasons.items()]
    return lines


def _model_sections(report: EvaluationReport, model: ModelReport, h: str, *, leaderboard: bool) -> list[str]:
    s = model.score
    summary = model.summary
    ci = fmt_ci(s.ci_low, s.ci_high)
    cached = f"{model.n_cached} of {model.run.totals.calls} judge calls from the cache"
    summarizer = summary.summarizer or f"none ({summary.reason or 'skipped'})"
    wall = "unknown" if model.wall_time_s is None else fmt_duration(model.wall_time_s)
    time = (
        f"{wall} wall-clock; {fmt_duration(model.evaluation_time_s)} summed over judge calls "
        f"(calls overlap); {cached}"
    )
    lines = [f"{h} Overview", "", _score_line(model), "", "**Feedback**:", ""]
    lines += _pro_con_lines(summary, summary.overall, "feedback summary")
    lines += [
        "",
        f"{h} Details",
        "",
        f"**Model**: {escape_inline(model.model)}  ",
        f"**Date**: {escape_inline(model.date)}",
        "",
        f"**Dataset**: {escape_inline(model.dataset)} (fingerprint `{model.run.dataset.fingerprint}`)  ",
        f"**Num. instructions**: {model.n_instructions}  ",
        f"**Input file**: {escape_inline(model.run.input_path or 'n/a')}  ",
        f"**Run**: {escape_inline(model.run.run_id)}, {escape_inline(model.run.status_text)}",
        "",
        f"**Evaluator**: {escape_inline(_judge_text(model))}  ",
        f"**Summarizer**: {escape_inline(summarizer)}  ",
        f"**RubricEval version**: {escape_inline(report.version)}",
        "",
        f"**Evaluation time**: {time}  ",
        f"**Evaluation cost**: {_cost_text(model)}",
        "",
        f"{h} Quantitative evaluation",
        "",
        f"**Score**: {fmt_number(s.mean)} ± {fmt_number(s.sem)} (SEM); {s.confidence:.0%} bootstrap CI {ci} "
        f"({s.n_resamples} resamples, seed {s.seed}); n = {s.n} scored instructions; {s.n_unscored} unscored"
        + ("; weighted by the instructions' `weight`" if s.weighted else ""),
        "",
        "**Score per category**:",
        "",
        "| Category | Score | SEM | n | Unscored |",
        "|---|---:|---:|---:|---:|",
    ]
    for cat in model.categories:
        lines.append(
            f"| {escape_cell(cat.category)} | {fmt_number(cat.mean)} | {fmt_number(cat.sem)} | {cat.n} | "
            f"{cat.n_unscored} |"
        )
    lines += ["", *_grading_lines(model), ""]
    if model.judging is not None:
        lines += judging_lines(model.judging)
    if leaderboard:
        lines += [_leaderboard_caption(report), "", *_leaderboard_table(report), ""]
    lines += [f"{h} Qualitative evaluation", "", "**Feedback**:", ""]
    lines += _pro_con_lines(summary, summary.overall, "feedback summary")
    lines += ["", "**Feedback per category**:", ""]
    if summary.status == "skipped":
        lines += [f"_No feedback per category: {escape_inline(summary.reason)}._"]
    else:
        lines += ["| Category | Feedback |", "|---|---|"]
        lines += [
            f"| {escape_cell(c.category)} | {_pro_con_cell(summary, c.category)} |" for c in model.categories
        ]
    return lines


def render_markdown(report: EvaluationReport) -> str:
    """Render the report as markdown: the seed README's layout, per-model sections for several models."""
    lines = [f"# {escape_inline(report.title)}", "", *_status_lines(report)]
    lines += [f"> Note: {escape_inline(note)}" for note in report.notes]
    if report.notes:
        lines.append("")
    if len(report.models) == 1:
        lines += _model_sections(report, report.models[0], "##", leaderboard=True)
    else:
        lines += ["## Leaderboard", "", _leaderboard_caption(report), "", *_leaderboard_table(report), ""]
        lines += [*_category_matrix(report), ""]
        pairwise = _pairwise_lines(report)
        lines += [*pairwise, ""] if pairwise else []
        for model in report.models:
            lines += [f"## Model: {escape_inline(model.model)}", ""]
            lines += _model_sections(report, model, "###", leaderboard=False)
            lines.append("")
    lines += _trust_sections(report)
    return "\n".join(lines).rstrip() + "\n"


def _trust_sections(report: EvaluationReport) -> list[str]:
    """Rubric diagnostics, the judge audit and the meta-evaluation, when the report has them."""
    lines: list[str] = []
    if report.rubric_diagnostics is not None:
        lines += diagnostics_lines(report.rubric_diagnostics, "##")
    if report.audit is not None:
        lines += audit_lines(report.audit, "##")
    if report.meta_evaluation is not None:
        lines += meta_summary_lines(report.meta_evaluation, "##")
    return lines

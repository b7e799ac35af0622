"""Can the judge's numbers be trusted: meta-evaluation, repeated and ensemble judging, audits, diagnostics.

Statistics are small pure functions (`rubric_eval.trust._stats`, numpy only); the commands
`rubric_eval meta_evaluate` and `rubric_eval audit` and the report sections build on them.
What each number means and the thresholds used in the field: docs/trusting_judges.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rubric_eval._lazy import lazy_exports

if TYPE_CHECKING:
    from rubric_eval.records import JudgeSample
    from rubric_eval.trust._aggregate import AGGREGATES, Aggregate, combine_grades, combine_levels
    from rubric_eval.trust._agreement import Agreement, Estimate, GradePair, agreement
    from rubric_eval.trust._audit import (
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
    from rubric_eval.trust._diagnostics import (
        RedundantPair,
        RowSeparation,
        RubricDiagnostics,
        RubricRows,
        WeightSensitivity,
        rubric_diagnostics,
    )
    from rubric_eval.trust._files import HumanLabel, read_json_model, read_labels, read_model_scores
    from rubric_eval.trust._judging import (
        Escalation,
        JudgingRows,
        JudgingSummary,
        PanelAgreement,
        judging_summary,
    )
    from rubric_eval.trust._markdown import audit_lines, diagnostics_lines, judging_lines, meta_summary_lines
    from rubric_eval.trust._meta import (
        JudgePair,
        JudgeVsHuman,
        MetaEvaluation,
        Ranking,
        compare_ranking,
        meta_evaluate,
        model_means,
    )
    from rubric_eval.trust._noise import JudgeNoise, judge_noise, noise_of_records, record_samples
    from rubric_eval.trust._stats import (
        Correlation,
        cluster_bootstrap,
        exact_agreement,
        fisher_ci,
        kendall_tau_b,
        krippendorff_alpha,
        pearson,
        spearman,
        weighted_kappa,
        within_one_agreement,
    )

__all__ = [
    "AGGREGATES",
    "CHECKS",
    "DEFAULT_AUDIT_ALPHA",
    "DEFAULT_MIN_EFFECT",
    "DESCRIPTIONS",
    "Aggregate",
    "Agreement",
    "AuditCheck",
    "AuditReport",
    "Correlation",
    "Escalation",
    "Estimate",
    "GradePair",
    "HumanLabel",
    "JudgeNoise",
    "JudgePair",
    "JudgeSample",
    "JudgeVsHuman",
    "JudgingRows",
    "JudgingSummary",
    "MetaEvaluation",
    "PanelAgreement",
    "Ranking",
    "RedundantPair",
    "RowSeparation",
    "RubricDiagnostics",
    "RubricRows",
    "WeightSensitivity",
    "agreement",
    "audit_lines",
    "cluster_bootstrap",
    "combine_grades",
    "combine_levels",
    "compare_ranking",
    "diagnostics_lines",
    "exact_agreement",
    "fisher_ci",
    "injected",
    "judge_noise",
    "judging_lines",
    "judging_summary",
    "kendall_tau_b",
    "krippendorff_alpha",
    "meta_evaluate",
    "meta_summary_lines",
    "model_family",
    "model_means",
    "noise_of_records",
    "padded",
    "paired_check",
    "pearson",
    "read_json_model",
    "read_labels",
    "read_model_scores",
    "record_samples",
    "rubric_diagnostics",
    "self_preference_check",
    "shuffled",
    "spearman",
    "weighted_kappa",
    "within_one_agreement",
    "without_reference",
]

# Imported on first use (see rubric_eval._lazy); the same names as the imports above.
__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "rubric_eval.records": "JudgeSample",
        "rubric_eval.trust._aggregate": "AGGREGATES Aggregate combine_grades combine_levels",
        "rubric_eval.trust._agreement": "Agreement Estimate GradePair agreement",
        "rubric_eval.trust._audit": (
            "CHECKS DEFAULT_AUDIT_ALPHA DEFAULT_MIN_EFFECT DESCRIPTIONS AuditCheck "
            "AuditReport injected model_family padded paired_check self_preference_check "
            "shuffled without_reference"
        ),
        "rubric_eval.trust._diagnostics": (
            "RedundantPair RowSeparation RubricDiagnostics RubricRows WeightSensitivity rubric_diagnostics"
        ),
        "rubric_eval.trust._files": "HumanLabel read_json_model read_labels read_model_scores",
        "rubric_eval.trust._judging": "Escalation JudgingRows JudgingSummary PanelAgreement judging_summary",
        "rubric_eval.trust._markdown": "audit_lines diagnostics_lines judging_lines meta_summary_lines",
        "rubric_eval.trust._meta": (
            "JudgePair JudgeVsHuman MetaEvaluation Ranking compare_ranking meta_evaluate model_means"
        ),
        "rubric_eval.trust._noise": "JudgeNoise judge_noise noise_of_records record_samples",
        "rubric_eval.trust._stats": (
            "Correlation cluster_bootstrap exact_agreement fisher_ci kendall_tau_b "
            "krippendorff_alpha pearson spearman weighted_kappa within_one_agreement"
        ),
    },
)

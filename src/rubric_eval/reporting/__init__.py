"""Reporting: pure scoring, the report model, its markdown and HTML renderings, and the leaderboard.

Nothing here calls an LLM at import time; the layers below (records, engine) know nothing of it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rubric_eval._lazy import lazy_exports

if TYPE_CHECKING:
    from rubric_eval.reporting._input import ReportRecord, iter_report_records
    from rubric_eval.reporting._summary import ReportSummary, read_report_summary
    from rubric_eval.reporting.html import html_path_for, render_html, write_html
    from rubric_eval.reporting.leaderboard import (
        LEADERBOARD_FILE,
        Leaderboard,
        LeaderboardView,
        PairComparison,
        RankedRow,
        leaderboard_views,
        load_leaderboard,
        print_leaderboard,
        rank_runs,
        remove_from_leaderboard,
        update_leaderboard,
    )
    from rubric_eval.reporting.report import (
        AnswerReport,
        CategoryScore,
        EvaluationReport,
        GradingCounts,
        InstructionReport,
        ModelReport,
        ReportOwner,
        ScoreSummary,
        generate_report,
        json_twin_path,
        read_report_owner,
        report_from_json,
        report_from_summary,
    )
    from rubric_eval.reporting.summary import FeedbackSummary, ProCon

__all__ = [
    "LEADERBOARD_FILE",
    "AnswerReport",
    "CategoryScore",
    "EvaluationReport",
    "FeedbackSummary",
    "GradingCounts",
    "InstructionReport",
    "Leaderboard",
    "LeaderboardView",
    "ModelReport",
    "PairComparison",
    "ProCon",
    "RankedRow",
    "ReportOwner",
    "ReportRecord",
    "ReportSummary",
    "ScoreSummary",
    "generate_report",
    "html_path_for",
    "iter_report_records",
    "json_twin_path",
    "leaderboard_views",
    "load_leaderboard",
    "print_leaderboard",
    "rank_runs",
    "read_report_owner",
    "read_report_summary",
    "remove_from_leaderboard",
    "render_html",
    "report_from_json",
    "report_from_summary",
    "update_leaderboard",
    "write_html",
]

# Imported on first use (see rubric_eval._lazy); the same names as the imports above.
__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "rubric_eval.reporting._input": "ReportRecord iter_report_records",
        "rubric_eval.reporting._summary": "ReportSummary read_report_summary",
        "rubric_eval.reporting.html": "html_path_for render_html write_html",
        "rubric_eval.reporting.leaderboard": (
            "LEADERBOARD_FILE Leaderboard LeaderboardView PairComparison RankedRow "
            "leaderboard_views load_leaderboard print_leaderboard rank_runs "
            "remove_from_leaderboard update_leaderboard"
        ),
        "rubric_eval.reporting.report": (
            "AnswerReport CategoryScore EvaluationReport GradingCounts InstructionReport "
            "ModelReport ReportOwner ScoreSummary generate_report json_twin_path read_report_owner "
            "report_from_json report_from_summary"
        ),
        "rubric_eval.reporting.summary": "FeedbackSummary ProCon",
    },
)

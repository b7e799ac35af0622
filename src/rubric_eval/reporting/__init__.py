"""Reporting: pure scoring, the report model, its markdown and HTML renderings, and the leaderboard.

Nothing here calls an LLM at import time; the layers below (records, engine) know nothing of it.
"""

from __future__ import annotations

from rubric_eval.reporting.html import html_path_for, render_html, write_html
from rubric_eval.reporting.leaderboard import (
    LEADERBOARD_FILE,
    Leaderboard,
    LeaderboardRow,
    RankedRow,
    load_leaderboard,
    print_leaderboard,
    rank_rows,
    update_leaderboard,
)
from rubric_eval.reporting.report import (
    CategoryScore,
    EvaluationReport,
    GradingCounts,
    ModelReport,
    ScoreSummary,
    generate_report,
    json_twin_path,
    report_from_json,
)
from rubric_eval.reporting.summary import FeedbackSummary, ProCon

__all__ = [
    "LEADERBOARD_FILE",
    "CategoryScore",
    "EvaluationReport",
    "FeedbackSummary",
    "GradingCounts",
    "Leaderboard",
    "LeaderboardRow",
    "ModelReport",
    "ProCon",
    "RankedRow",
    "ScoreSummary",
    "generate_report",
    "html_path_for",
    "json_twin_path",
    "load_leaderboard",
    "print_leaderboard",
    "rank_rows",
    "render_html",
    "report_from_json",
    "update_leaderboard",
    "write_html",
]

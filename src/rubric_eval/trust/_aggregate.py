"""Combining several gradings of one answer (repeated samples of one judge, or several judges).

The rules (docs/trusting_judges.md):

- ``mean`` (default): a criterion's score is the mean of the scored gradings' level scores; its
  reported level is the median level (with an even number of gradings, the worse of the two middle
  levels).
- ``majority``: a criterion's level is the most frequent level; a tie goes to the worse of the tied
  levels (conservative); its score is that level's score.

Unscored gradings (failed calls, missing criteria) do not vote; a criterion is unscored only when
no grading scored it, with the first grading's reason.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Literal

from rubric_eval.records import CriterionGrade

Aggregate = Literal["mean", "majority"]
AGGREGATES: tuple[Aggregate, ...] = ("mean", "majority")


def combine_levels(
    levels: Sequence[str], scores: dict[str, float], given: Sequence[str], rule: Aggregate = "mean"
) -> tuple[str, float]:
    """The combined ``(level, score)`` of the (non-empty) levels ``given``; ``levels`` best first."""
    if not given:
        raise ValueError("nothing to combine")
    positions = sorted(levels.index(level) for level in given)  # 0 = best
    if rule == "mean":
        median = positions[len(positions) // 2]  # even count: the upper middle position = the worse level
        return levels[median], sum(scores[level] for level in given) / len(given)
    if rule == "majority":
        counts = Counter(positions)
        top = max(counts.values())
        worst = max(p for p, c in counts.items() if c == top)
        return levels[worst], scores[levels[worst]]
    raise ValueError(f"aggregate must be one of {AGGREGATES}, got {rule!r}")


def combine_grades(
    criteria: Sequence[str],
    levels: Sequence[str],
    scores: dict[str, float],
    gradings: Sequence[Sequence[CriterionGrade]],
    rule: Aggregate = "mean",
) -> list[CriterionGrade]:
    """One grade per criterion from several gradings of the same answer (see the module's rules)."""
    out = []
    for criterion in criteria:
        grades = [g for grading in gradings for g in grading if g.criterion == criterion]
        scored = [g for g in grades if g.status == "scored" and g.level is not None]
        if not scored:
            reason = next((g.reason for g in grades if g.reason), "no grading scored this criterion")
            out.append(
                CriterionGrade(
                    criterion=criterion, status="unscored", level=None, score=None, feedback="", reason=reason
                )
            )
            continue
        level, score = combine_levels(levels, scores, [g.level for g in scored if g.level], rule)
        feedback = next((g.feedback for g in scored if g.level == level), scored[0].feedback)
        out.append(
            CriterionGrade(
                criterion=criterion, status="scored", level=level, score=score, feedback=feedback, reason=None
            )
        )
    return out

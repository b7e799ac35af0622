"""Top failure reasons with counts: what every command prints when something was not done.

Reasons carry record-specific detail (a quoted level, an amount spent, a URL); `reason_key`
folds that away so that the same cause is counted once, e.g. 37 x "budget exhausted: ...".
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

_QUOTED = re.compile(r"'[^'\n]{0,300}'|\"[^\"\n]{0,300}\"")
_MONEY = re.compile(r"\$\d+(?:\.\d+)?")
_BRACKETED = re.compile(r"\[[^\[\]\n]{0,300}\]")
_SPACES = re.compile(r"\s+")
MAX_REASON_CHARS = 200


def reason_key(reason: str) -> str:
    """The reason with quoted values, amounts and lists elided, shortened to one line."""
    key = _QUOTED.sub("'…'", reason)
    key = _MONEY.sub("$…", key)
    key = _BRACKETED.sub("[…]", key)
    key = _SPACES.sub(" ", key).strip()
    return key if len(key) <= MAX_REASON_CHARS else key[: MAX_REASON_CHARS - 1] + "…"


def top_reasons(reasons: Iterable[str], limit: int = 5) -> list[tuple[str, int]]:
    """The most frequent reasons (folded by `reason_key`), most frequent first."""
    return Counter(reason_key(r) for r in reasons if r).most_common(limit)


def reason_lines(reasons: Iterable[str], what: str, limit: int = 5) -> list[str]:
    """``top reasons for N <what>:`` and one indented ``count x reason`` line each; [] when none."""
    counts = Counter(reason_key(r) for r in reasons if r)
    if not counts:
        return []
    total = sum(counts.values())
    lines = [f"top reasons for {total} {what}:"]
    lines += [f"  {n} x {reason}" for reason, n in counts.most_common(limit)]
    if len(counts) > limit:
        rest = total - sum(n for _, n in counts.most_common(limit))
        lines.append(f"  {rest} more, for {len(counts) - limit} other reasons")
    return lines

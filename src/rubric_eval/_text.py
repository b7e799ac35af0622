"""Text helpers shared by prompts and reports: escaping untrusted text for markdown, number formats."""

from __future__ import annotations

import re

_NEWLINES = re.compile(r"\r\n|\r|\n")


def escape_cell(text: object, *, html: bool = True) -> str:
    """Make text safe inside a markdown table cell: ``|`` escaped, newlines become ``<br>``.

    With ``html`` (reports), ``<`` and ``>`` become entities so model text cannot inject HTML;
    prompts pass ``html=False`` to keep the text readable.
    """
    body = "" if text is None else str(text)
    body = body.replace("\\", "\\\\").replace("|", "\\|")
    if html:
        body = body.replace("<", "&lt;").replace(">", "&gt;")
    return _NEWLINES.sub("<br>", body.strip())


def escape_inline(text: object) -> str:
    """Make text safe on one markdown line (a list item or a heading): no newlines, no raw HTML."""
    body = "" if text is None else str(text)
    body = body.replace("<", "&lt;").replace(">", "&gt;")
    return " ".join(_NEWLINES.sub(" ", body).split())


def fmt_number(value: float | None, digits: int = 2) -> str:
    """A number with fixed decimals, or ``n/a`` when undefined."""
    return "n/a" if value is None else f"{value:.{digits}f}"


def fmt_ci(low: float | None, high: float | None) -> str:
    """A 95% interval as ``[low, high]``, or ``n/a`` when it is undefined (one scored instruction)."""
    return "n/a" if low is None or high is None else f"[{low:.2f}, {high:.2f}]"


def fmt_cost(value: float | None) -> str:
    return "n/a" if value is None else f"${value:.4f}"


def fmt_duration(seconds: float | None) -> str:
    if seconds is None:
        return "n/a"
    if seconds < 120:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min {secs:02d} s"

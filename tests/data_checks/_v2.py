"""Shared helpers for checking the built-in benchmark v2's reference answers."""

from __future__ import annotations

import functools
import re
from typing import Any

from rubric_eval import Record
from rubric_eval.datasets import load_benchmark

V2 = "rubriceval_builtin_v2"
_FENCE = re.compile(r"```([A-Za-z0-9_+-]*)\n(.*?)```", re.DOTALL)


@functools.cache  # read-only use; loading the 10 files once keeps the checks fast
def v2_records() -> dict[str, Record]:
    return {str(r.id): r for r in load_benchmark(V2)}


def reference(record_id: str) -> str:
    record = v2_records()[record_id]
    assert record.excellent_response is not None, record_id
    return record.excellent_response


def code_blocks(text: str, lang: str) -> list[str]:
    """The fenced code blocks of one language in a reference answer, in order."""
    return [body for tag, body in _FENCE.findall(text) if tag.lower() == lang]


def exec_python_reference(record_id: str, text: str | None = None) -> dict[str, Any]:
    """Run every ```python block of a reference in one namespace, then each test_* function it defines.

    ``text`` is the reference answer to run (default: the v2 record's).
    """
    namespace: dict[str, Any] = {"__name__": f"reference_{record_id.replace('-', '_')}"}
    blocks = code_blocks(reference(record_id) if text is None else text, "python")
    assert blocks, f"{record_id}: no python block"
    for block in blocks:
        exec(compile(block, f"<{record_id}>", "exec"), namespace)
    tests = [f for name, f in list(namespace.items()) if name.startswith("test_") and callable(f)]
    for test in tests:
        for kwargs in _parametrised_calls(test):
            test(**kwargs)
    return namespace


def _parametrised_calls(test: Any) -> list[dict[str, Any]]:
    """The argument sets of a test function with one ``@pytest.mark.parametrize`` (or none)."""
    marks = [m for m in getattr(test, "pytestmark", []) if m.name == "parametrize"]
    if not marks:
        return [{}]
    assert len(marks) == 1, test.__name__
    names, values = marks[0].args[:2]
    names = [n.strip() for n in names.split(",")] if isinstance(names, str) else list(names)
    if len(names) == 1:
        return [{names[0]: v} for v in values]
    return [dict(zip(names, v, strict=True)) for v in values]


def words(text: str) -> int:
    """Word count as a word processor counts it: whitespace-separated tokens with a letter or digit."""
    return sum(1 for token in text.split() if re.search(r"\w", token))

"""Property-based tests (hypothesis) of the parsers that read untrusted bytes: record files, judge
answers, Retry-After headers. Whatever the input, they return a value or raise their one error type
with a message; they never crash with another exception."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rubric_eval._io import read_raw, read_records
from rubric_eval._templates import delimit
from rubric_eval.engine._structured import extract_json
from rubric_eval.engine.providers._setup import MAX_RETRY_AFTER_S, retry_after_seconds
from rubric_eval.errors import InputError
from rubric_eval.records import Rubric
from rubric_eval.steps.evaluate import interpret_answer

from ._helpers import rubric

FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)
hostile_text = st.one_of(
    st.text(),
    st.text(alphabet=st.sampled_from('{}[]",:\\ntrue0-9.eE+-\ud800\ufeff\u200b')),
    st.integers(1, 5000).map(lambda n: "[" * n),
    st.integers(1, 5000).map(lambda n: '{"a":' * n),
    json_values.map(json.dumps),
)


@FAST
@given(
    data=st.one_of(st.binary(max_size=400), hostile_text.map(lambda t: t.encode("utf-8", "surrogatepass")))
)
def test_loaders_return_records_or_an_input_error(tmp_path: Path, data: bytes) -> None:
    for name in ("records.json", "records.jsonl"):
        path = tmp_path / name
        path.write_bytes(data)
        try:
            raw = read_raw(path)
        except InputError as exc:
            assert str(exc).startswith(str(path))
            continue
        assert all(isinstance(item, dict) for item in raw)
        try:
            read_records(path)
        except InputError as exc:
            assert str(path) in str(exc)


@FAST
@given(text=hostile_text)
def test_json_extraction_returns_json_or_a_value_error(text: str) -> None:
    try:
        value = extract_json(text)
    except ValueError as exc:
        assert str(exc)
    else:
        json.dumps(value)  # plain JSON data, no NaN constants


@FAST
@given(answer=json_values)
def test_the_judge_answer_parser_grades_every_criterion_once(answer: Any) -> None:
    parsed = Rubric.model_validate(rubric())
    grades, _ = interpret_answer(parsed, answer)
    assert [g.criterion for g in grades] == parsed.names
    for grade in grades:
        if grade.status == "scored":
            assert grade.level in parsed.levels and grade.score is not None and math.isfinite(grade.score)
        else:
            assert grade.score is None and grade.reason


@FAST
@given(
    value=st.one_of(
        st.text(max_size=40),
        st.floats().map(str),
        st.integers().map(str),
        st.datetimes().map(lambda d: d.strftime("%a, %d %b %Y %H:%M:%S GMT")),
    ),
    millis=st.one_of(st.none(), st.text(max_size=12), st.floats().map(str)),
)
def test_retry_after_is_none_or_a_bounded_wait(value: str, millis: str | None) -> None:
    headers = {"retry-after": value, **({"retry-after-ms": millis} if millis is not None else {})}
    wait = retry_after_seconds(headers)
    assert wait is None or (math.isfinite(wait) and 0 <= wait <= MAX_RETRY_AFTER_S)


@FAST
@given(
    text=st.text(
        alphabet=st.sampled_from('<>/\uff1c\uff1e\ufe64\ufe65\uff0fanswerANSWER \t\u200b\u200d\u00adx=1"'),
        max_size=60,
    )
)
def test_no_text_can_close_its_fence(text: str) -> None:
    fenced = delimit(text, "answer")
    head, _, rest = fenced.partition("\n")
    closing = "</" + head[1:]
    body = rest[: -len(closing) - 1]
    assert fenced.endswith("\n" + closing) and closing not in body
    assert "</answer" not in body.lower() and "<answer" not in body.lower()

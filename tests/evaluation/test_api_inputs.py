"""The Python API's record arguments: a path or a single record is a clear error, not 'record 0: got str'."""

from __future__ import annotations

from typing import Any

import pytest

import rubric_eval
from rubric_eval import InputError


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("outputs.json", "got a path (read the file with rubric_eval.read_records(path)"),
        ({"instruction": "q", "output": "a"}, "got one record (pass a list of records)"),
    ],
)
def test_a_path_or_one_record_is_named_in_the_error(value: Any, expected: str) -> None:
    # evaluate("outputs.json") iterated the path's characters: "records, record 0: expected a dict or
    # Record, got str".
    for function in (rubric_eval.evaluate, rubric_eval.evaluate_and_generate_report):
        with pytest.raises(InputError) as info:
            function(value)
        assert expected in str(info.value)
        assert "record 0" not in str(info.value)

"""Built-in benchmarks shipped as package data, loadable by name.

``load_benchmark()`` returns the default benchmark (``rubriceval_builtin_v1``): instructions
with expert-style rubrics and reference answers, written by the rubric-eval developers.
A path to a JSON or JSONL record file is accepted wherever a name is.
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from rubric_eval.errors import InputError

if TYPE_CHECKING:
    from rubric_eval.records import Record

DEFAULT_BENCHMARK = "rubriceval_builtin_v1"

# benchmark name -> file under src/rubric_eval/data/
_FILES: dict[str, str] = {
    "rubriceval_builtin_v1": "rubriceval_builtin_v1.json",
}
_ALIASES: dict[str, str] = {"default": DEFAULT_BENCHMARK}


def benchmark_names() -> list[str]:
    """Names accepted by `load_benchmark` (aliases first, then the benchmarks)."""
    return [*_ALIASES, *_FILES]


def _canonical(name: str) -> str | None:
    name = _ALIASES.get(name, name)
    return name if name in _FILES else None


def benchmark_path(name: str = "default") -> Path:
    """The file of a built-in benchmark on disk (for `rubric_eval validate --input_path` and the like)."""
    canonical = _canonical(name)
    if canonical is None:
        raise InputError(f"unknown benchmark {name!r}; expected one of {benchmark_names()}")
    ref = resources.files("rubric_eval") / "data" / _FILES[canonical]
    if not isinstance(ref, Path):
        # Only happens when the package is imported from a zip archive.
        raise InputError(
            f"benchmark {name!r} is not a plain file in this installation; use load_benchmark({name!r})"
        )
    return ref


def load_benchmark(name: str | os.PathLike[str] = "default") -> list[Record]:
    """Load a benchmark as validated records.

    ``name`` is a built-in name (see `benchmark_names`; ``"default"`` is ``rubriceval_builtin_v1``)
    or a path to a JSON list / JSONL file of records. The records are returned as written: no
    ``dataset_name`` or other field is added here.
    """
    from rubric_eval._io import read_records

    canonical = _canonical(name) if isinstance(name, str) else None
    if canonical is None:
        path = Path(name)
        if path.suffix.lower() in {".json", ".jsonl", ".ndjson"} or path.exists():
            return read_records(path)
        raise InputError(
            f"unknown benchmark {str(name)!r}: expected one of {benchmark_names()} "
            "or the path of a JSON/JSONL record file"
        )
    ref = resources.files("rubric_eval") / "data" / _FILES[canonical]
    with resources.as_file(ref) as path:
        return read_records(path)

"""Built-in benchmarks shipped as package data, loadable by name.

``load_benchmark()`` returns the default benchmark (``rubriceval_builtin_v1``): instructions
with expert-style rubrics and reference answers, written by the rubric-eval developers.
``rubriceval_builtin_v2`` is larger and harder; it is stored as one JSON file per category in a
folder. A path to a JSON or JSONL record file, or to a folder of them, is accepted wherever a name is.
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from rubric_eval.errors import InputError

if TYPE_CHECKING:
    from rubric_eval.records import Record

# v1 stays the default: scores published on it remain comparable, and v2 awaits expert review
# (docs/builtin_benchmark.md). Select v2 by name.
DEFAULT_BENCHMARK = "rubriceval_builtin_v1"

# benchmark name -> file, or folder of per-category files, under src/rubric_eval/data/
_FILES: dict[str, str] = {
    "rubriceval_builtin_v1": "rubriceval_builtin_v1.json",
    "rubriceval_builtin_v2": "rubriceval_builtin_v2",
}
_RECORD_SUFFIXES = {".json", ".jsonl", ".ndjson"}
# Short names a user types (`--benchmark v2`); the canonical names stay what files and labels carry.
_ALIASES: dict[str, str] = {
    "default": DEFAULT_BENCHMARK,
    "v1": "rubriceval_builtin_v1",
    "v2": "rubriceval_builtin_v2",
}


def benchmark_names() -> list[str]:
    """Names accepted by `load_benchmark` (aliases first, then the benchmarks)."""
    return [*_ALIASES, *_FILES]


def benchmark_label(name: str = "default") -> str:
    """The ``dataset_name`` that outputs generated on a built-in benchmark carry (reports, leaderboards).

    v1 keeps the label it always had, so new runs on it rank beside earlier ones; others add their name.
    """
    canonical = _canonical(name)
    if canonical is None:
        raise InputError(f"unknown benchmark {name!r}; expected one of {benchmark_names()}")
    label = "rubric_eval built-in benchmark"
    return label if canonical == "rubriceval_builtin_v1" else f"{label} {canonical}"


def _canonical(name: str) -> str | None:
    name = _ALIASES.get(name, name)
    return name if name in _FILES else None


def benchmark_path(name: str = "default") -> Path:
    """The file (v1) or folder of files (v2) of a built-in benchmark on disk."""
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


def benchmark_files(name: str = "default") -> list[Path]:
    """The record files of a built-in benchmark, in load order (for `rubric_eval validate --input_path`)."""
    return _record_files(benchmark_path(name))


def _record_files(path: Path) -> list[Path]:
    if not path.is_dir():
        return [path]
    files = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in _RECORD_SUFFIXES)
    if not files:
        raise InputError(f"{path}: folder holds no .json/.jsonl record files")
    return files


def _read_all(path: Path) -> list[Record]:
    """One file's records, or a folder's files concatenated in name order; ids must be unique across files."""
    from rubric_eval._io import read_records

    records: list[Record] = []
    seen: dict[str, Path] = {}
    files = _record_files(path)
    for file in files:
        for record in read_records(file):
            if len(files) > 1 and record.id is not None:
                rid = str(record.id)
                if rid in seen:
                    raise InputError(f"{file}: record id {rid!r} is also in {seen[rid]}")
                seen[rid] = file
            records.append(record)
    return records


def load_benchmark(name: str | os.PathLike[str] = "default") -> list[Record]:
    """Load a benchmark as validated records.

    ``name`` is a built-in name (see `benchmark_names`; ``"default"`` is ``rubriceval_builtin_v1``),
    a path to a JSON list / JSONL file of records, or a folder of such files (read in name order).
    The records are returned as written: no ``dataset_name`` or other field is added here.
    """
    canonical = _canonical(name) if isinstance(name, str) else None
    if canonical is None:
        path = Path(name)
        if path.suffix.lower() in _RECORD_SUFFIXES or path.exists():
            return _read_all(path)
        raise InputError(
            f"unknown benchmark {str(name)!r}: expected one of {benchmark_names()} "
            "or the path of a JSON/JSONL record file"
        )
    ref = resources.files("rubric_eval") / "data" / _FILES[canonical]
    with resources.as_file(ref) as path:
        return _read_all(path)

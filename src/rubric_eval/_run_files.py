"""The files of a run: default names, the overwrite guard, ``.partial`` names and run logs.

`pipeline` chooses and guards its output files with these functions (and re-exports them: the CLI's
`evaluate` and `generate_report` commands use them through `pipeline`). Nothing good is destroyed:
default file names carry the model (and the judge, when a file for another judge is already there), a
file written for another model or judge is never overwritten without ``overwrite``, and a run that is
not complete never replaces a complete run's files (it takes ``*.partial.*`` names beside them).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from rubric_eval._io import atomic_write_text, iter_records
from rubric_eval.errors import InputError
from rubric_eval.records import Record
from rubric_eval.runs import RunLog, RunRecord

logger = logging.getLogger(__name__)
# Input stems that name a role, not a model: records in such files without a `model` stay unnamed.
_GENERIC_STEMS = frozenset({"outputs", "evaluations", "records", "data", "input", "instructions"})


# -- run logs beside evaluations files ------------------------------------------------------------


def runs_path(evaluations_path: Path) -> Path:
    """``evaluations_x.json`` -> ``evaluations_x.runs.json`` (the run records of that file)."""
    return evaluations_path.with_name(f"{evaluations_path.stem}.runs.json")


def write_runs(evaluations_path: Path, runs: Sequence[RunRecord]) -> Path:
    path = runs_path(evaluations_path)
    atomic_write_text(path, RunLog(runs=list(runs)).model_dump_json(indent=2) + "\n")
    return path


def read_runs(
    evaluations_path: Path, evaluations: Sequence[Record] | AbstractSet[str]
) -> list[RunRecord] | None:
    """The run records written beside an evaluations file, if they belong to these evaluations (the
    records, or the set of their ``evaluation_run_id`` values)."""
    path = runs_path(evaluations_path)
    if not path.is_file():
        return None
    try:
        log = RunLog.model_validate_json(path.read_text(encoding="utf-8"))
    except (ValidationError, OSError) as exc:
        raise InputError(f"not a rubric_eval run log: {exc}", path=str(path)) from None
    ids = evaluations if isinstance(evaluations, AbstractSet) else {r.evaluation_run_id for r in evaluations}
    runs = [run for run in log.runs if run.run_id in ids]
    return runs or None  # a log of another run (the file was edited or replaced): derive instead


# -- output files -------------------------------------------------------------------------------


def slug(name: str) -> str:
    """A file-name-safe version of a model name: ``openai/gpt-4o`` -> ``openai-gpt-4o``."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-") or "model"


def model_from_path(path: Path) -> str | None:
    """The model a file is named after: ``outputs_X.json`` or ``X.json`` -> X (None for generic names)."""
    stem = path.stem
    if stem.startswith("outputs_") and len(stem) > len("outputs_"):
        return stem[len("outputs_") :]
    return None if stem.lower() in _GENERIC_STEMS else stem


@dataclass(frozen=True)
class FileOwner:
    """Whom an existing output file was written for."""

    models: frozenset[str]
    judges: frozenset[str]
    complete: bool
    judge_keys: frozenset[str] = frozenset()
    """What defines the judges (`runs.JudgeIdentity.key`), from the file's run log when it has one."""


def evaluations_owner(path: Path) -> FileOwner | None:
    """Whom an existing evaluations file was written for (None: no such file, or not records).
    Read record by record, in bounded memory."""
    if not path.is_file():
        return None
    models: set[str] = set()
    judges: set[str] = set()
    complete = True
    try:
        for record in iter_records(path, model=Record):
            models.add(record.model or "unknown model")
            if record.evaluator:
                judges.add(record.evaluator)
            complete = complete and record.score is not None
    except InputError:
        return None
    if not models:
        return None
    keys: frozenset[str] = frozenset()
    log = runs_path(path)
    if log.is_file():
        try:
            keys = frozenset(r.judge.key for r in RunLog.model_validate_json(log.read_text("utf-8")).runs)
        except (ValidationError, OSError):
            keys = frozenset()
    return FileOwner(models=frozenset(models), judges=frozenset(judges), complete=complete, judge_keys=keys)


def input_models(path: Path, unknown_model: str | None = None) -> frozenset[str]:
    """The models of an input file's records (read in bounded memory); unnamed ones as `unknown_model`."""
    fallback = unknown_model or "unknown model"
    return frozenset(r.model or fallback for r in iter_records(path, model=Record))


def report_owner(report_path: Path) -> FileOwner | None:
    """Whom an existing report was written for, from its JSON twin (None: no readable twin)."""
    # Here, not at the top: `rubric_eval evaluate` guards its output with this module but never
    # reports, and the report modules (with numpy) are a large part of its start-up otherwise.
    from rubric_eval.reporting import json_twin_path, read_report_owner

    twin = report_path if report_path.suffix.lower() == ".json" else json_twin_path(report_path)
    owner = read_report_owner(twin) if twin.is_file() else None
    if owner is None:
        return None
    return FileOwner(
        models=frozenset(owner.models), judges=frozenset(owner.evaluators), complete=owner.complete
    )


def file_owner(evaluations_path: Path, report_path: Path) -> FileOwner | None:
    """Whom a run's files were written for: the evaluations file, else the report's JSON twin."""
    return evaluations_owner(evaluations_path) or report_owner(report_path)


@dataclass(frozen=True)
class OutputFiles:
    evaluations: Path
    report: Path

    @classmethod
    def named(cls, folder: Path, suffix: str) -> OutputFiles:
        return cls(folder / f"evaluations{suffix}.json", folder / f"evaluation_report{suffix}.md")

    @property
    def html(self) -> Path:
        from rubric_eval.reporting import html_path_for

        return html_path_for(self.report)

    @property
    def all(self) -> list[Path]:
        from rubric_eval.reporting import json_twin_path

        return [
            self.evaluations,
            runs_path(self.evaluations),
            self.report,
            json_twin_path(self.report),
            self.html,
        ]


def choose_output_files(
    folder: Path,
    *,
    name: str,
    models: frozenset[str],
    judge: str,
    complete: bool,
    overwrite: bool,
    interrupted: bool = False,
) -> OutputFiles:
    """Default names for one run's files: ``evaluations_<name>.json`` and ``evaluation_report_<name>.md``;
    ``_judge-<judge>`` is added when those hold another judge's results, ``.partial`` when they hold a
    complete run and this one is not. With ``overwrite`` the plain names are used whatever they hold.
    An ``interrupted`` run (Ctrl-C, SIGTERM) always takes the ``.partial`` names: the plain ones only
    ever hold a run that finished."""
    base = f"_{slug(name)}"
    if overwrite:
        return OutputFiles.named(folder, f"{base}.partial" if interrupted else base)

    def ours(owner: FileOwner | None) -> bool:
        return owner is None or (owner.models == models and owner.judges <= {judge})

    for suffix in (base, f"{base}_judge-{slug(judge)}"):
        files = OutputFiles.named(folder, suffix)
        owner = file_owner(files.evaluations, files.report)
        if interrupted:
            partial = OutputFiles.named(folder, f"{suffix}.partial")
            if ours(owner) and ours(file_owner(partial.evaluations, partial.report)):
                return partial
            continue
        if owner is None:
            return files
        if ours(owner):
            if owner.complete and not complete:
                return OutputFiles.named(folder, f"{suffix}.partial")
            return files
    raise InputError(
        f"{folder}: the files for {name} hold results of other models or judges; pass --overwrite to "
        "replace them or --output_dir to write elsewhere",
        path=str(folder),
    )


def partial_path(path: Path) -> Path:
    """``evaluations.json`` -> ``evaluations.partial.json``: where an interrupted run's output goes,
    beside the file a finished run writes (which it never replaces)."""
    if path.stem.endswith(".partial"):
        return path
    return path.with_name(f"{path.stem}.partial{path.suffix}")


def interrupted_output_path(
    path: Path,
    *,
    models: frozenset[str] | Callable[[], frozenset[str]],
    judges: frozenset[str],
    overwrite: bool,
    judge_keys: frozenset[str] = frozenset(),
    input_path: Path | None = None,
) -> Path | None:
    """Where an interrupted run writes the evaluations it has: ``path``'s `partial_path`, unless that
    file is the run's input or holds another model's or judge's results (None: not written)."""
    target = partial_path(path)
    if input_path is not None and target.resolve() == input_path.resolve():
        logger.warning("the interrupted run's evaluations are not written: %s is the input", target)
        return None
    try:
        guard_file(target, models=models, judges=judges, overwrite=overwrite, judge_keys=judge_keys)
    except InputError as exc:
        logger.warning("the interrupted run's evaluations are not written: %s", exc)
        return None
    return target


def guard_file(
    path: Path,
    *,
    models: frozenset[str] | Callable[[], frozenset[str]],
    judges: frozenset[str],
    overwrite: bool,
    report: bool = False,
    judge_keys: frozenset[str] = frozenset(),
) -> None:
    """Refuse to replace an evaluations file (or, with ``report``, a report) written for another model
    or judge. Judges are compared by what defines them when both sides know it (``judge_keys``: two
    spellings of one config are one judge), else by name. An empty ``models`` (no input records) is
    left to the step's own error. ``models`` may be a function (e.g. a pass over a large input): it
    is called only when there is a file to guard."""
    if overwrite:
        return
    owner = report_owner(path) if report else evaluations_owner(path)
    if owner is None:
        return
    if callable(models):
        models = models()
    if not models:
        return
    same_judge = owner.judge_keys <= judge_keys if owner.judge_keys and judge_keys else owner.judges <= judges
    if owner.models != models or not same_judge:
        raise InputError(
            f"{path.name} holds results for {', '.join(sorted(owner.models))} judged by "
            f"{', '.join(sorted(owner.judges)) or 'an unknown judge'}, not for {', '.join(sorted(models))} "
            f"judged by {', '.join(sorted(judges))}; pass --overwrite to replace it",
            path=str(path),
        )


def name_unnamed(records: Sequence[Record], path: Path | None) -> list[Record]:
    """Records without a ``model`` get the model their file is named after (``alpha.json`` -> alpha)."""
    model = model_from_path(path) if path is not None else None
    if model is None or all(r.model is not None for r in records):
        return list(records)
    return [r if r.model is not None else r.model_copy(update={"model": model}) for r in records]


def guard_outputs(path: Path, model: str) -> None:
    """An outputs file of another model is not replaced by generation (its answers may not be cached)."""
    if not path.is_file():
        return
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, OSError):
        return
    models = {str(r.get("model")) for r in data if isinstance(r, dict)} if isinstance(data, list) else set()
    if models and models != {model}:
        raise InputError(
            f"{path.name} holds outputs of {', '.join(sorted(models))}, not {model}; pass --overwrite "
            "to replace it",
            path=str(path),
        )

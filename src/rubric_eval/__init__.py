"""RubricEval: scalable expert evaluation of language models with instruction-specific rubrics.

The public API is re-exported here; everything in ``_``-prefixed modules is private.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rubric_eval._lazy import lazy_exports
from rubric_eval._version import __version__
from rubric_eval.errors import ConfigError, InputError, MissingExtraError, RubricEvalError

if TYPE_CHECKING:
    from rubric_eval._config import AnnotatorConfig, resolve_config
    from rubric_eval._io import read_records, write_records
    from rubric_eval.datasets import benchmark_names, load_benchmark
    from rubric_eval.demo import run_demo
    from rubric_eval.engine import Engine, EngineSettings
    from rubric_eval.pipeline import evaluate_and_generate_report
    from rubric_eval.records import (
        BrainstormCriterion,
        BrainstormedRubric,
        Criterion,
        CriterionGrade,
        Provenance,
        Record,
        Rubric,
    )
    from rubric_eval.reporting import EvaluationReport, Leaderboard, generate_report, load_leaderboard
    from rubric_eval.runs import RunRecord
    from rubric_eval.steps.audit import audit
    from rubric_eval.steps.brainstorm import brainstorm_rubrics
    from rubric_eval.steps.evaluate import evaluate
    from rubric_eval.steps.outputs import generate_outputs
    from rubric_eval.steps.panel import evaluate_panel
    from rubric_eval.steps.rubrics import brainstorm_and_generate_rubrics, generate_rubrics
    from rubric_eval.trust import meta_evaluate
    from rubric_eval.validation import DatasetSummary, validate_records

__all__ = [
    "AnnotatorConfig",
    "BrainstormCriterion",
    "BrainstormedRubric",
    "ConfigError",
    "Criterion",
    "CriterionGrade",
    "DatasetSummary",
    "Engine",
    "EngineSettings",
    "EvaluationReport",
    "InputError",
    "Leaderboard",
    "MissingExtraError",
    "Provenance",
    "Record",
    "Rubric",
    "RubricEvalError",
    "RunRecord",
    "__version__",
    "audit",
    "benchmark_names",
    "brainstorm_and_generate_rubrics",
    "brainstorm_rubrics",
    "evaluate",
    "evaluate_and_generate_report",
    "evaluate_panel",
    "generate_outputs",
    "generate_report",
    "generate_rubrics",
    "load_benchmark",
    "load_leaderboard",
    "meta_evaluate",
    "read_records",
    "resolve_config",
    "run_demo",
    "validate_records",
    "write_records",
]

# Imported on first use (see rubric_eval._lazy); the same names as the imports above.
__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "rubric_eval._config": "AnnotatorConfig resolve_config",
        "rubric_eval._io": "read_records write_records",
        "rubric_eval.datasets": "benchmark_names load_benchmark",
        "rubric_eval.demo": "run_demo",
        "rubric_eval.engine": "Engine EngineSettings",
        "rubric_eval.pipeline": "evaluate_and_generate_report",
        "rubric_eval.records": (
            "BrainstormCriterion BrainstormedRubric Criterion CriterionGrade Provenance Record Rubric"
        ),
        "rubric_eval.reporting": "EvaluationReport Leaderboard generate_report load_leaderboard",
        "rubric_eval.runs": "RunRecord",
        "rubric_eval.steps.audit": "audit",
        "rubric_eval.steps.brainstorm": "brainstorm_rubrics",
        "rubric_eval.steps.evaluate": "evaluate",
        "rubric_eval.steps.outputs": "generate_outputs",
        "rubric_eval.steps.panel": "evaluate_panel",
        "rubric_eval.steps.rubrics": "brainstorm_and_generate_rubrics generate_rubrics",
        "rubric_eval.trust": "meta_evaluate",
        "rubric_eval.validation": "DatasetSummary validate_records",
    },
)

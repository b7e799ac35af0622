"""Test helpers: a real OpenAI-compatible HTTP server on 127.0.0.1 with fault injection.

``OpenAICompatibleServer`` runs in-process (background thread); ``ServerProcess`` runs it as a
child process. ``synthesize_instance`` builds a deterministic valid JSON value from a schema.
"""

from rubric_eval.testing._process import ServerProcess
from rubric_eval.testing._schema_instance import SchemaError, synthesize_instance
from rubric_eval.testing._server import (
    FAULT_KINDS,
    Fault,
    OpenAICompatibleServer,
    Reply,
    request_seed,
)

__all__ = [
    "FAULT_KINDS",
    "Fault",
    "OpenAICompatibleServer",
    "Reply",
    "SchemaError",
    "ServerProcess",
    "request_seed",
    "synthesize_instance",
]

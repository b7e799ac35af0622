"""Test helpers: a real OpenAI-compatible HTTP server on 127.0.0.1 with fault injection.

``OpenAICompatibleServer`` runs in-process (background thread); ``ServerProcess`` runs it as a
child process. ``synthesize_instance`` builds a deterministic valid JSON value from a schema.
"""

import re

from rubric_eval.testing._batch_server import BatchServer
from rubric_eval.testing._process import ServerProcess
from rubric_eval.testing._schema_instance import SchemaError, synthesize_instance
from rubric_eval.testing._server import (
    FAULT_KINDS,
    Fault,
    OpenAICompatibleServer,
    Reply,
    request_seed,
)

_FENCE_ID = re.compile(r'(</?[a-z_]+) id="[0-9a-f]{16}">')


def unfence(text: str) -> str:
    """A prompt with the fences' hash ids removed (``<answer id="...">`` -> ``<answer>``), for assertions."""
    return _FENCE_ID.sub(r"\1>", text)


__all__ = [
    "FAULT_KINDS",
    "BatchServer",
    "Fault",
    "OpenAICompatibleServer",
    "Reply",
    "SchemaError",
    "ServerProcess",
    "request_seed",
    "synthesize_instance",
    "unfence",
]

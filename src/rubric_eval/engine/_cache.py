"""The LLM cache: SQLite in WAL mode, one row per finished answer, committed as it arrives.

The key is a SHA-256 of exactly what changes the answer (provider, endpoint, model, messages,
sampling parameters, answer schema, prompt template version, repeat index) and nothing else:
not concurrency, labels, timeouts or keys. Failures are logged in their own table and never
served as answers.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rubric_eval.engine._types import ChatMessage, ModelConfig

CACHE_ENV = "RUBRIC_EVAL_CACHE_DIR"
CACHE_FILE = "llm_cache.sqlite3"
KEY_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS answers (
    key TEXT PRIMARY KEY,
    text TEXT NOT NULL,
    input_tokens INTEGER NOT NULL,
    output_tokens INTEGER NOT NULL,
    cost_usd REAL,
    attempts INTEGER NOT NULL,
    latency_s REAL NOT NULL,
    model TEXT NOT NULL,
    template_key TEXT NOT NULL,
    created REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS failures (
    key TEXT NOT NULL,
    error TEXT NOT NULL,
    text TEXT,
    model TEXT NOT NULL,
    created REAL NOT NULL
);
"""


def default_cache_dir() -> Path:
    """``$RUBRIC_EVAL_CACHE_DIR``, else the platform's user cache folder for rubric_eval."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV]).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir("rubric_eval", appauthor=False))


def _key_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)


_SCHEMA_MEMO: dict[int, tuple[dict[str, Any], str]] = {}


def _schema_json(schema: dict[str, Any] | None) -> str:
    if schema is None:
        return "null"
    hit = _SCHEMA_MEMO.get(id(schema))
    if hit is not None and hit[0] is schema:
        return hit[1]
    if len(_SCHEMA_MEMO) >= 4096:
        _SCHEMA_MEMO.clear()
    text = _key_json(schema)
    _SCHEMA_MEMO[id(schema)] = (schema, text)  # the reference keeps the id from being reused
    return text


def _texts_json(value: list[Any] | str, texts: list[str]) -> str:
    """`_key_json` of ``value``, whose only strings are ``texts``."""
    if all(text.isascii() and "\x7f" not in text for text in texts):
        # The same text (ensure_ascii escapes only non-ASCII characters and DEL, and there are
        # none), from the ASCII encoder, which is twice as fast on long prompts.
        return json.dumps(value, separators=(",", ":"))
    return _key_json(value)


def _messages_json(messages: Sequence[ChatMessage]) -> str:
    texts = [m.content for m in messages]
    return _texts_json([[m.role, m.content] for m in messages], texts)


# (endpoint, messages before, role, shared prefix) -> SHA-256 state after the material up to the end
# of that prefix; bounded (a few hundred instructions' prefixes of ~10 KB each in a large job).
_PREFIX_MEMO: dict[tuple[str, tuple[tuple[str, str], ...], str, str], Any] = {}
_PREFIX_MEMO_MAX = 1024


def _prefix_state(endpoint: str, before: Sequence[ChatMessage], message: ChatMessage, prefix: str) -> Any:
    key = (endpoint, tuple((m.role, m.content) for m in before), message.role, prefix)
    state = _PREFIX_MEMO.get(key)
    if state is None:
        if len(_PREFIX_MEMO) >= _PREFIX_MEMO_MAX:
            _PREFIX_MEMO.clear()
        pairs = [[m.role, m.content] for m in before] + [[message.role, prefix]]
        texts = [m.content for m in before] + [prefix]
        # The messages' JSON up to the end of the prefix: without its closing quote and brackets.
        head = f'{{"endpoint":{_key_json(endpoint)},"messages":{_texts_json(pairs, texts)[:-3]}'
        state = _PREFIX_MEMO[key] = hashlib.sha256(head.encode("utf-8", "surrogatepass"))
    return state.copy()


def cache_key(
    config: ModelConfig,
    *,
    endpoint: str,
    messages: list[ChatMessage],
    response_schema: dict[str, Any] | None,
    template_key: str,
    repeat_index: int,
) -> str:
    """SHA-256 of what determines the answer; stable across runs, processes and machines."""
    # The keys in sorted order: endpoint, messages, model, params, provider, repeat, schema, template, v.
    # Parts are encoded apart and spliced: exactly the bytes of encoding the whole material at once
    # (keys from before are unchanged; JSON escapes each character on its own, and UTF-8 encodes
    # each on its own). The schema is one shared object per rubric, used by tens of calls, so its
    # text is memoised; the messages (most of the text) take the faster encoder when they can.
    rest = _key_json(
        {"model": config.model, "params": config.params, "provider": config.provider, "repeat": repeat_index}
    )
    tail = _key_json({"template": template_key, "v": KEY_VERSION})
    after = f',{rest[1:-1]},"schema":{_schema_json(response_schema)},{tail[1:]}'
    # surrogatepass: text with a lone surrogate (invalid Unicode from a bad decoder upstream) still
    # gets a key; every valid text encodes exactly as before, so existing keys are unchanged.
    split = next((i for i, m in enumerate(messages) if m.cache_prefix_chars), None)
    if split is None:
        encoded = f'{{"endpoint":{_key_json(endpoint)},"messages":{_messages_json(messages)}{after}'
        return hashlib.sha256(encoded.encode("utf-8", "surrogatepass")).hexdigest()
    # A message with a shared prefix (the judge prompt's instruction, rubric and reference, the same
    # for every answer to one instruction): the digest's state after it is memoised.
    message = messages[split]
    cut = message.cache_prefix_chars or 0
    state = _prefix_state(endpoint, messages[:split], message, message.content[:cut])
    later = messages[split + 1 :]
    encoded = (
        _texts_json(message.content[cut:], [message.content[cut:]])[1:]
        + "]"
        + (f",{_messages_json(later)[1:-1]}" if later else "")
        + "]"
        + after
    )
    state.update(encoded.encode("utf-8", "surrogatepass"))
    return str(state.hexdigest())


@dataclass
class CachedAnswer:
    text: str
    input_tokens: int
    output_tokens: int
    cost_usd: float | None
    attempts: int
    latency_s: float


class Cache:
    """An open cache database. Every `put` commits, so a killed run loses no finished answer.

    ``timeout_s`` is how long one statement waits for another process's lock; the engine keeps it
    short and retries without blocking its event loop (see `_cache_io.CacheStore`).
    """

    def __init__(self, directory: Path, *, timeout_s: float = 30.0) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.path = directory / CACHE_FILE
        self._db = sqlite3.connect(self.path, timeout=timeout_s, isolation_level=None)
        try:
            self._db.execute("PRAGMA journal_mode=WAL")
            # NORMAL in WAL mode: a commit survives a killed process; only power loss can drop the last ones.
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)
        except BaseException:
            self._db.close()
            raise

    def check(self) -> str | None:
        """None when the file is a sound cache database, else what is wrong (``PRAGMA quick_check``)."""
        rows = self._db.execute("PRAGMA quick_check(1)").fetchall()
        verdict = str(rows[0][0]) if rows else "no answer from quick_check"
        return None if verdict == "ok" else verdict

    def get(self, key: str) -> CachedAnswer | None:
        row = self._db.execute(
            "SELECT text, input_tokens, output_tokens, cost_usd, attempts, latency_s "
            "FROM answers WHERE key=?",
            (key,),
        ).fetchone()
        return None if row is None else CachedAnswer(*row)

    def put(self, key: str, answer: CachedAnswer, *, model: str, template_key: str) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO answers VALUES (?,?,?,?,?,?,?,?,?,?)",
            (
                key,
                answer.text,
                answer.input_tokens,
                answer.output_tokens,
                answer.cost_usd,
                answer.attempts,
                answer.latency_s,
                model,
                template_key,
                time.time(),
            ),
        )

    def log_failure(self, key: str, error: str, text: str | None, *, model: str) -> None:
        self._db.execute("INSERT INTO failures VALUES (?,?,?,?,?)", (key, error, text, model, time.time()))

    def delete(self, key: str) -> None:
        self._db.execute("DELETE FROM answers WHERE key=?", (key,))

    def count(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM answers").fetchone()[0])

    def close(self) -> None:
        self._db.close()

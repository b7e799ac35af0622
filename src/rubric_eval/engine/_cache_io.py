"""The engine's use of the cache: checked before the first call, and never the reason a run fails.

- Opening: a file that is not a sound SQLite database stops the run before any call, with a
  message naming the file and the fix (`CacheError`). A lock held by another process is waited for.
- Reads that keep failing count as misses (one warning); writes that fail (a lock held for longer
  than a statement's short timeout, a full disk, a read-only file) are kept in memory and retried
  while the run goes on, and once more at its end, so a lock held for a while loses no paid answer.
  What still cannot be written after that is reported once; the answers are in the run's output.
- Statements wait at most ``_STATEMENT_TIMEOUT_S`` inside SQLite, so a lock never freezes the event
  loop that all calls share; the waiting between tries is ``asyncio.sleep``.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from rubric_eval.engine._cache import CACHE_FILE, Cache, CachedAnswer
from rubric_eval.errors import CacheError

_STATEMENT_TIMEOUT_S = 0.2
_READ_TRIES = 5
_RETRY_PAUSE_S = 0.25
_saved_in_process = 0


def answers_saved_in_process() -> int:
    """How many answers this process has committed to a cache (for the message after Ctrl-C)."""
    return _saved_in_process


def _fix_hint(path: Path) -> str:
    return (
        f"Move or delete {path} (and its -wal/-shm files) to start an empty cache, "
        "pass --cache_dir to use another folder, or --no_cache to run without one"
    )


def open_cache(directory: Path, *, lock_wait_s: float) -> Cache:
    """Open and check the cache; `CacheError` (naming the file and the fix) if it is unusable."""
    path = directory / CACHE_FILE
    deadline = time.monotonic() + lock_wait_s
    last = ""
    for _ in range(max(1, int(lock_wait_s / _RETRY_PAUSE_S) + 1)):
        try:
            cache = Cache(directory, timeout_s=_STATEMENT_TIMEOUT_S)
        except sqlite3.OperationalError as exc:
            last = str(exc)
            if _is_lock(exc) and time.monotonic() < deadline:
                time.sleep(_RETRY_PAUSE_S)
                continue
            raise CacheError(f"cannot open the LLM cache {path}: {exc}. {_fix_hint(path)}") from None
        except sqlite3.DatabaseError as exc:
            raise CacheError(
                f"the LLM cache {path} is not a usable SQLite database ({exc}). {_fix_hint(path)}"
            ) from None
        except OSError as exc:
            raise CacheError(
                f"cannot create the LLM cache folder {directory}: {exc}. {_fix_hint(path)}"
            ) from None
        try:
            problem = cache.check()
        except sqlite3.DatabaseError as exc:
            problem = str(exc)
        if problem is not None:
            cache.close()
            raise CacheError(f"the LLM cache {path} is damaged ({problem}). {_fix_hint(path)}")
        return cache
    raise CacheError(
        f"the LLM cache {path} stayed locked by another process for {lock_wait_s:.0f}s ({last}). "
        "Wait for the other run to finish, or pass --cache_dir to use another folder"
    )


def _is_lock(exc: sqlite3.Error) -> bool:
    text = str(exc).lower()
    return "locked" in text or "busy" in text


@dataclass
class _Pending:
    kind: str  # "answer" or "failure"
    key: str
    answer: CachedAnswer | None
    error: str
    text: str | None
    model: str
    template_key: str


def _valid_text(text: str) -> str:
    # SQLite stores UTF-8: a lone surrogate in a reply becomes U+FFFD instead of failing the write.
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "replace").decode("utf-8")
    return text


class CacheStore:
    """The cache as one run uses it: reads and writes that retry, warn once, and never raise."""

    def __init__(self, cache: Cache, *, lock_wait_s: float, warn: Callable[[str], None]) -> None:
        self.cache = cache
        self.path = cache.path
        self.lock_wait_s = lock_wait_s
        self._warn = warn
        self._pending: list[_Pending] = []
        self._reads_off = False
        self._next_write = 0.0  # after a refused write, the next try waits (each try can block briefly)
        self._warned: set[str] = set()
        self.saved = 0

    def _warn_once(self, topic: str, message: str) -> None:
        if topic not in self._warned:
            self._warned.add(topic)
            self._warn(message)

    async def get(self, key: str) -> CachedAnswer | None:
        if self._reads_off:
            return None
        for attempt in range(_READ_TRIES):
            try:
                return self.cache.get(key)
            except sqlite3.OperationalError as exc:
                if _is_lock(exc) and attempt + 1 < _READ_TRIES:
                    await asyncio.sleep(_RETRY_PAUSE_S)
                    continue
                problem = str(exc)
            except sqlite3.DatabaseError as exc:
                problem = str(exc)
            self._reads_off = True
            self._warn_once(
                "read",
                f"cannot read the LLM cache {self.path} ({problem}); this run asks the model for every "
                "answer and keeps writing new ones",
            )
        return None

    async def put(self, key: str, answer: CachedAnswer, *, model: str, template_key: str) -> None:
        answer.text = _valid_text(answer.text)
        self._pending.append(_Pending("answer", key, answer, "", None, model, template_key))
        if time.monotonic() >= self._next_write:
            self._flush()

    async def log_failure(self, key: str, error: str, text: str | None, *, model: str) -> None:
        text = None if text is None else _valid_text(text)
        self._pending.append(_Pending("failure", key, None, _valid_text(error), text, model, ""))
        if time.monotonic() >= self._next_write:
            self._flush()

    def _flush(self) -> bool:
        """Write what is pending, oldest first; False (and kept) when the cache refuses."""
        global _saved_in_process
        while self._pending:
            item = self._pending[0]
            try:
                if item.answer is not None:
                    self.cache.put(item.key, item.answer, model=item.model, template_key=item.template_key)
                else:
                    self.cache.log_failure(item.key, item.error, item.text, model=item.model)
            except sqlite3.Error as exc:
                self._warn_once(
                    "write",
                    f"cannot write to the LLM cache {self.path} ({exc}); keeping new answers in memory "
                    "and retrying (they are in this run's output either way)",
                )
                self._next_write = time.monotonic() + 1.0
                return False
            self._pending.pop(0)
            if item.answer is not None:
                self.saved += 1
                _saved_in_process += 1
        return True

    async def close(self) -> None:
        """Write what is still pending (waiting up to ``lock_wait_s`` for a lock), then close."""
        deadline = time.monotonic() + self.lock_wait_s
        for _ in range(int(self.lock_wait_s / _RETRY_PAUSE_S) + 1):
            if self._flush() or time.monotonic() >= deadline:
                break
            await asyncio.sleep(_RETRY_PAUSE_S)
        unsaved = sum(item.answer is not None for item in self._pending)
        if unsaved:
            self._warn(
                f"{unsaved} answers could not be written to the LLM cache {self.path} within "
                f"{self.lock_wait_s:.0f}s; they are in this run's output, and a rerun asks for them again"
            )
        self._pending.clear()
        self.cache.close()

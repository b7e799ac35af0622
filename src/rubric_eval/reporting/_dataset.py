"""Which dataset a model's evaluated records come from, tallied as the report's pass reads them.

A dataset's identity (`rubric_eval.runs.dataset_identity`) is a fingerprint of its distinct (instruction,
rubric) pairs and its number of distinct instructions. Tens of models repeat the same pairs, so the digests
are numbered once per file (`DigestIndex`, shared) and each model marks the ones it saw as bits.
"""

from __future__ import annotations

import hashlib

from rubric_eval.records import Rubric
from rubric_eval.runs import DatasetIdentity, dataset_identity_from, pair_digest_of

_MEMO = 4096


class DigestIndex:
    """Digests numbered in order of appearance, and (instruction, rubric content) -> its two digests'
    numbers (memoised, bounded): what the `DatasetTally` of one file's models share."""

    def __init__(self) -> None:
        self.digests: list[str] = []
        self._numbers: dict[str, int] = {}
        self._memo: dict[tuple[str, tuple[object, ...]], tuple[int, int]] = {}

    def number(self, digest: str) -> int:
        found = self._numbers.get(digest)
        if found is None:
            found = self._numbers[digest] = len(self.digests)
            self.digests.append(digest)
        return found

    def pair(self, instruction: str, rubric: Rubric | None) -> tuple[int, int]:
        """The numbers of the (instruction, rubric) pair's digest and of the instruction's."""
        content: tuple[object, ...] = (
            ()
            if rubric is None
            else tuple(
                (c.criterion, c.weight, tuple(c.performance_to_description.items())) for c in rubric.criteria
            )
        )
        key = (instruction, content)
        found = self._memo.get(key)
        if found is None:
            if len(self._memo) >= _MEMO:
                self._memo.clear()  # bounded whatever the number of distinct pairs
            text_digest = hashlib.sha256(instruction.strip().encode()).hexdigest()
            found = self._memo[key] = (
                self.number(pair_digest_of(instruction, rubric)),
                self.number("instruction:" + text_digest),
            )
        return found


class DatasetTally:
    """`dataset_identity` of records added one at a time: which distinct pairs and instructions were
    seen, as bits over a `DigestIndex` (shared by the tallies of one file's models, which repeat the same
    pairs: a bit per answer, not a set entry), and the dataset names seen."""

    def __init__(self, index: DigestIndex | None = None) -> None:
        self.index = index if index is not None else DigestIndex()
        self._seen = bytearray()
        self.names: set[str] = set()

    def _mark(self, number: int) -> None:
        byte, bit = divmod(number, 8)
        if byte >= len(self._seen):
            self._seen.extend(bytes(byte + 1 - len(self._seen)))
        self._seen[byte] |= 1 << bit

    def add(self, instruction: str, rubric: Rubric | None, dataset_name: str | None) -> None:
        pair, text = self.index.pair(instruction, rubric)
        self._mark(pair)
        self._mark(text)
        if dataset_name:
            self.names.add(str(dataset_name))

    def identity(self, name: str | None = None) -> DatasetIdentity:
        seen = [
            digest
            for number, digest in enumerate(self.index.digests)
            if number // 8 < len(self._seen) and self._seen[number // 8] >> (number % 8) & 1
        ]
        digests = {d for d in seen if not d.startswith("instruction:")}
        return dataset_identity_from(digests, len(seen) - len(digests), self.names, name)

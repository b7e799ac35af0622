"""Rubric Studio on a large file: CPU per server operation against the CLI's own read and write of the file.

    python benchmarks/studio_large_file.py                 # 11,760 records (147 x the 80 sampled ones)
    python benchmarks/studio_large_file.py --records 2000  # quick look

Builds the file from ../shared/data/rubriceval_sampled/benchmark.json (ids made unique), or from synthetic
rubrics when the shared data is absent. Each operation runs in this process and is timed in CPU seconds
(user + sys), the median of --repeat runs. Peers measured in the same run: `json.loads` of the file (the
floor for any reader), `rubric_eval.read_records` (what every CLI command pays to read it) and
`rubric_eval.write_records` (what every CLI command pays to write it). A save must re-read the file (to
detect conflicts) and write it, so its ideal is one `json.loads` plus one `write_records` of the file.
"""

from __future__ import annotations

import argparse
import copy
import json
import resource
import statistics
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rubric_eval import read_records, write_records
from rubric_eval.diff import diff_field
from rubric_eval.provenance import fingerprint
from rubric_eval.studio import RecordStore, SaveRequest
from rubric_eval.studio._server import StudioState, record_payload
from rubric_eval.studio._store import summaries

SHARED = (
    Path(__file__).resolve().parents[1].parent / "shared" / "data" / "rubriceval_sampled" / "benchmark.json"
)


def cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def timed(fn: Callable[[], Any], repeat: int) -> float:
    runs = []
    for _ in range(repeat):
        start = cpu()
        fn()
        runs.append(cpu() - start)
    return statistics.median(runs)


def build(n: int) -> list[dict[str, Any]]:
    if SHARED.exists():
        base = json.loads(SHARED.read_text(encoding="utf-8"))
    else:
        levels = ("excellent", "good", "fair", "poor")
        base = [
            {
                "id": i,
                "category": f"c{i % 8}",
                "instruction": "Explain " * 40,
                "rubric": [
                    {
                        "criterion": f"criterion {k}",
                        "weight": 20,
                        "performance_to_description": {lv: "An answer that " * 15 for lv in levels},
                    }
                    for k in range(5)
                ],
            }
            for i in range(80)
        ]
    return [{**r, "id": f"{r['id']}-{k}"} for k in range(n // len(base) + 1) for r in base][:n]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=11_760)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "rubrics.json"
        records = build(args.records)
        path.write_text(json.dumps(records, indent=2, ensure_ascii=False), encoding="utf-8")
        size_mb = path.stat().st_size / 1e6
        parsed = read_records(path)
        rows: list[tuple[str, float]] = [
            (
                "peer: json.loads of the file",
                timed(lambda: json.loads(path.read_text(encoding="utf-8")), args.repeat),
            ),
            ("peer: read_records (CLI read)", timed(lambda: read_records(path), args.repeat)),
            (
                "peer: write_records (CLI write)",
                timed(lambda: write_records(parsed, Path(tmp) / "w.json"), args.repeat),
            ),
        ]

        def fresh_store() -> RecordStore:
            return RecordStore(path)

        rows.append(("studio: open the file (parse + sha256)", timed(fresh_store, args.repeat)))
        store = fresh_store()
        state = StudioState(store, assistant=None, token="x")  # type: ignore[arg-type]  # no LLM calls here
        rows.append(
            (
                "studio: instruction list (/api/records)",
                timed(lambda: summaries(store.snapshot()), args.repeat),
            )
        )
        middle = len(records) // 2
        rows.append(
            (
                "studio: one instruction (/api/records/i)",
                timed(lambda: record_payload(state, store.snapshot(), middle), args.repeat),
            )
        )
        raw = store.snapshot().raw[middle]
        edited = copy.deepcopy(raw["rubric"])
        rows.append(
            (
                "studio: live check + diff (/api/check)",
                timed(lambda: diff_field("rubric", raw["rubric"], edited), args.repeat),
            )
        )
        counter = iter(range(10**6))

        def save_one() -> None:
            current = store.snapshot().raw[middle]
            value = copy.deepcopy(current["rubric"])
            value[0]["performance_to_description"]["good"] = f"edit {next(counter)}"
            edit = {"field": "rubric", "base": fingerprint(current["rubric"]), "value": value}
            result = store.save(
                SaveRequest(
                    reviewer="bench",
                    edits=[{"index": middle, "key": f"id:{current['id']}", "fields": [edit]}],
                )
            )
            assert result.saved == [middle], result

        rows.append(("studio: save one edit (/api/save)", timed(save_one, args.repeat)))
    ideal = rows[0][1] + rows[2][1]
    print(f"{len(records)} records, {size_mb:.1f} MB JSON; CPU seconds, median of {args.repeat}")
    print(f"{'operation':45} {'CPU s':>8} {'x json.loads':>13}")
    for name, seconds in rows:
        print(f"{name:45} {seconds:8.3f} {seconds / rows[0][1]:13.2f}")
    print(f"save / ideal (json.loads + write_records of the file): {rows[-1][1] / ideal:.2f}")


if __name__ == "__main__":
    main()

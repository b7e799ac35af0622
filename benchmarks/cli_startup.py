"""CLI start-up time: `--help` and `validate` must start in well under half a second.

    python benchmarks/cli_startup.py [--runs 10]

Each command runs in a fresh interpreter (the real console-script path); the table gives the median and
best wall time and the ratio to a bare `python -c pass` (the floor) and to `python -c "import openai"`
(the cost we avoid by importing SDKs lazily), all measured in the same run.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SAMPLE = (
    '[{"instruction": "Say hi", "rubric": {"tone": {"good": "friendly", "bad": "rude"}}, "output": "hi"}]'
)


def _time(cmd: list[str], runs: int) -> tuple[float, float]:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples), min(samples)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "records.json"
        data.write_text(SAMPLE)
        py = sys.executable
        rows = {
            "python -c pass (floor)": [py, "-c", "pass"],
            "python -c 'import openai' (peer)": [py, "-c", "import openai"],
            "rubric_eval --help": [py, "-m", "rubric_eval", "--help"],
            "rubric_eval evaluate --help": [py, "-m", "rubric_eval", "evaluate", "--help"],
            "rubric_eval validate (1 record)": [
                py,
                "-m",
                "rubric_eval",
                "validate",
                "--input_path",
                str(data),
            ],
        }
        results = {name: _time(cmd, args.runs) for name, cmd in rows.items()}
    floor = results["python -c pass (floor)"][0]
    print(f"{'command':36} {'median s':>9} {'best s':>8} {'x floor':>8} {'< 0.5 s':>8}")
    for name, (median, best) in results.items():
        print(
            f"{name:36} {median:9.3f} {best:8.3f} {median / floor:8.1f} {'yes' if median < 0.5 else 'NO':>8}"
        )


if __name__ == "__main__":
    main()

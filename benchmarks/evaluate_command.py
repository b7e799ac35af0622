"""Whole-command benchmark: the real ``rubric_eval evaluate`` on a generated job of realistic shape.

    python benchmarks/evaluate_command.py                 # 30 models x 392 rubrics = 11,760 answers
    python benchmarks/evaluate_command.py --size small    # 10 models x 120 rubrics = 1,200 answers
    python benchmarks/evaluate_command.py --curve         # peak RSS and CPU from 1.2k to 11.8k answers
    python benchmarks/evaluate_command.py --report-only evaluations.json   # only the generate_report part

The job looks like a WildBench-hard run: distinct multi-criterion rubrics (4-6 criteria, four
levels, about 5,000 characters each), instructions of 200-3,000 characters, a reference answer,
and one answer of 300-3,000 characters per model. The OpenAI-compatible test server runs in its
own process and answers every call after ``--latency`` seconds with a schema-valid grading.

For each concurrency, ``rubric_eval evaluate`` runs as a child process with a fresh cache, and
beside it a bare aiohttp client does the same job (read the file, one request per answer with
the rubric's JSON schema, parse the reply, write JSONL): the floor for any Python client. The
last row reruns the command on the warm cache (no request at all). Columns:

- ``calls``: requests the server received;
- ``wall s``: child process wall time; ``1st req s``: server-side time of the first request minus
  the child's start; ``1st line s``: first progress line on stderr;
- ``calls/s``: request-phase rate (requests / (last request - first request + latency)), and
  ``/ideal`` against concurrency / latency;
- ``CPU ms/call``: the child's user+sys CPU (``getrusage`` via ``wait4``, imports and file I/O
  included) per answer; ``x bare``: the same against the bare client's;
- ``peak RSS MiB`` (``ru_maxrss`` of the child) and the output file's size.

On a shared machine wall-clock figures (rates, first request) are depressed by other work; CPU
per call and peak RSS are not. The server shares the machine's cores with the client.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rubric_eval.testing import ServerProcess


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


LEVELS = ("excellent", "good", "fair", "poor")
SIZES = {"full": (30, 392), "small": (10, 120)}
CURVE_MODELS = (3, 8, 15, 30)
PORT = _free_port()
PRODUCT_SRC = ""  # --src: run `rubric_eval` from another source tree (e.g. an older commit)
SYSTEM = "You are an impartial expert grader. Grade the answer against the rubric, criterion by criterion."


# -- the job ----------------------------------------------------------------------------------
def _vocabulary(rng: random.Random, size: int = 4000) -> list[str]:
    syllables = [c + v for c in "bcdfghklmnprstvwz" for v in ("a", "e", "i", "o", "u", "ai", "ou")]
    return ["".join(rng.choices(syllables, k=rng.randint(1, 4))) for _ in range(size)]


def _text(rng: random.Random, words: list[str], n_chars: int) -> str:
    out: list[str] = []
    length = 0
    while length < n_chars:
        sentence = rng.choices(words, k=rng.randint(6, 18))
        sentence[0] = sentence[0].capitalize()
        text = " ".join(sentence) + rng.choice([".", ".", ".", "?", ";"])
        out.append(text)
        length += len(text) + 1
    return " ".join(out)[:n_chars]


def _rubric(rng: random.Random, words: list[str]) -> list[dict[str, Any]]:
    n = rng.randint(4, 6)
    raw = [rng.randint(10, 40) for _ in range(n)]
    weights = [round(100 * w / sum(raw), 1) for w in raw]
    names: list[str] = []
    while len(names) < n:
        name = (
            " ".join(rng.choices(words, k=rng.randint(2, 4))).capitalize()
            + " "
            + rng.choice(
                ["accuracy", "completeness", "clarity", "depth", "correctness", "structure", "relevance"]
            )
        )
        if name not in names:
            names.append(name)
    return [
        {
            "criterion": name,
            "weight": weight,
            "performance_to_description": {lv: _text(rng, words, rng.randint(200, 330)) for lv in LEVELS},
        }
        for name, weight in zip(names, weights, strict=True)
    ]


def write_job(path: Path, models: int, instructions: int, seed: int = 0) -> int:
    """Write ``models x instructions`` output records (a JSON list); return the file size in bytes."""
    rng = random.Random(seed)
    words = _vocabulary(rng)
    tasks = [
        {
            "id": f"wb-{i:04d}",
            "category": rng.choice(["Coding & Debugging", "Math", "Planning", "Reasoning", "Editing"]),
            "instruction": _text(rng, words, int(min(3000, rng.lognormvariate(6.8, 0.7)) + 200)),
            "rubric": _rubric(rng, words),
            "excellent_response": _text(rng, words, rng.randint(500, 2000)),
        }
        for i in range(instructions)
    ]
    with path.open("w", encoding="utf-8") as handle:
        handle.write("[\n")
        first = True
        for m in range(models):
            model = f"model-{m:02d}"
            for task in tasks:
                record = {
                    **task,
                    "criteria": [row["criterion"] for row in task["rubric"]],
                    "model": model,
                    "output": _text(rng, words, rng.randint(300, 3000)),
                    "output_date": "2026-11-30T12:00:00+00:00",
                    "dataset_name": "generated-wildbench-shape",
                }
                handle.write(("" if first else ",\n") + json.dumps(record, ensure_ascii=False))
                first = False
        handle.write("\n]\n")
    return path.stat().st_size


def write_judge_config(path: Path, base_url: str) -> None:
    """A judge config for the test server, priced like gpt-4o-mini so costs are known."""
    path.write_text(
        "name: bench-judge\nprovider: openai\nmodel: gpt-4o-mini\n"
        "params: {temperature: 0.0, max_tokens: 4000}\n"
        f"provider_options: {{base_url: '{base_url}'}}\n",
        encoding="utf-8",
    )


# -- the bare client (the floor) ----------------------------------------------------------------
def _bare_schema(rubric: list[dict[str, Any]]) -> dict[str, Any]:
    item = {
        "type": "object",
        "properties": {"feedback": {"type": "string"}, "level": {"type": "string", "enum": list(LEVELS)}},
        "required": ["feedback", "level"],
        "additionalProperties": False,
    }
    names = [row["criterion"] for row in rubric]
    return {
        "type": "object",
        "properties": {name: item for name in names},
        "required": names,
        "additionalProperties": False,
    }


async def _bare(input_path: Path, output_path: Path, base_url: str, concurrency: int) -> int:
    import aiohttp

    records = json.loads(input_path.read_text(encoding="utf-8"))
    semaphore = asyncio.Semaphore(concurrency)
    ok = 0
    with output_path.open("w", encoding="utf-8") as out:
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:

            async def one(record: dict[str, Any]) -> None:
                nonlocal ok
                rubric = record["rubric"]
                table = "\n".join(
                    f"| {row['criterion']} | {row['weight']}% | "
                    + " | ".join(row["performance_to_description"][lv] for lv in LEVELS)
                    + " |"
                    for row in rubric
                )
                user = (
                    f"<instruction>\n{record['instruction']}\n</instruction>\n\n{table}\n\n"
                    f"<reference_answer>\n{record['excellent_response']}\n</reference_answer>\n\n"
                    f"<answer>\n{record['output']}\n</answer>"
                )
                body = {
                    "model": "gpt-4o-mini",
                    "messages": [{"role": "system", "content": SYSTEM}, {"role": "user", "content": user}],
                    "temperature": 0.0,
                    "response_format": {
                        "type": "json_schema",
                        "json_schema": {"name": "grading", "schema": _bare_schema(rubric), "strict": True},
                    },
                }
                url = f"{base_url}/chat/completions"
                async with semaphore, session.post(url, data=json.dumps(body)) as resp:
                    data = json.loads(await resp.read())
                grades = json.loads(data["choices"][0]["message"]["content"])
                ok += all(isinstance(grades.get(row["criterion"]), dict) for row in rubric)
                out.write(json.dumps({"id": record["id"], "model": record["model"], "grades": grades}) + "\n")

            await asyncio.gather(*(one(r) for r in records))
    return ok


# -- running a child and measuring it -------------------------------------------------------------
@dataclass
class Measured:
    label: str
    returncode: int
    wall_s: float
    cpu_s: float
    peak_rss_mib: float
    first_line_s: float | None
    stderr_lines: list[tuple[float, str]] = field(default_factory=list)
    stdout: str = ""


def measure(label: str, argv: list[str]) -> Measured:
    """Run ``argv``; CPU and peak RSS come from ``wait4`` on the child (its own resources only)."""
    env = {**os.environ, "PYTHONPATH": PRODUCT_SRC} if PRODUCT_SRC else None
    started = time.time()
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    stderr_pipe, stdout_pipe = process.stderr, process.stdout
    assert stderr_pipe is not None and stdout_pipe is not None
    lines: list[tuple[float, str]] = []
    stdout: list[str] = []

    def read_stderr() -> None:
        for line in stderr_pipe:
            lines.append((time.time() - started, line.rstrip("\n")))

    readers = [
        threading.Thread(target=read_stderr),
        threading.Thread(target=lambda: stdout.append(stdout_pipe.read())),
    ]
    for reader in readers:
        reader.start()
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.time() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    for reader in readers:
        reader.join()
    return Measured(
        label=label,
        returncode=process.returncode,
        wall_s=wall,
        cpu_s=usage.ru_utime + usage.ru_stime,
        peak_rss_mib=usage.ru_maxrss / 1024,
        first_line_s=lines[0][0] if lines else None,
        stderr_lines=lines,
        stdout="".join(stdout),
    )


@dataclass
class Row:
    run: Measured
    calls: int
    answers: int
    first_request_s: float | None
    rate: float | None
    output_mb: float


def run_row(
    label: str,
    make_argv: Callable[[str], list[str]],
    output: Path,
    answers: int,
    latency: float,
) -> Row:
    """Start a fresh test server, run the child against it, and read the server's side of the run."""
    # One port for every run: the endpoint is part of the cache key, so the rerun must hit the same URL.
    with ServerProcess(["--latency", str(latency), "--forget-bodies", "--port", str(PORT)]) as server:
        argv = make_argv(server.base_url)
        started = time.time()
        run = measure(label, argv)
        stats = server.stats()
    if run.returncode != 0:
        tail = "\n".join(text for _, text in run.stderr_lines[-8:])
        print(f"\n{label}: exit status {run.returncode}\n{tail}", file=sys.stderr)
    first, last, calls = stats.get("first_request_at"), stats.get("last_request_at"), stats["requests"]
    rate = calls / (last - first + latency) if first is not None and last is not None else None
    return Row(
        run=run,
        calls=calls,
        answers=answers,
        first_request_s=None if first is None else first - started,
        rate=rate,
        output_mb=output.stat().st_size / 1e6 if output.exists() else 0.0,
    )


def _fmt(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


HEADER = (
    f"{'run':<16} {'calls':>6} {'wall s':>7} {'1st req s':>9} {'1st line s':>10} {'calls/s':>8} "
    f"{'/ideal':>6} {'CPU ms/call':>11} {'x bare':>6} {'peak RSS MiB':>12} {'out MB':>7}"
)


def print_row(row: Row, ideal: float | None, bare_cpu_ms: float | None) -> float:
    cpu_ms = row.run.cpu_s / row.answers * 1000
    ratio = None if row.rate is None or ideal is None else row.rate / ideal
    print(
        f"{row.run.label:<16} {row.calls:>6} {row.run.wall_s:>7.1f} {_fmt(row.first_request_s, '.2f'):>9} "
        f"{_fmt(row.run.first_line_s, '.2f'):>10} {_fmt(row.rate, '.1f'):>8} {_fmt(ratio, '.3f'):>6} "
        f"{cpu_ms:>11.3f} {_fmt(cpu_ms / bare_cpu_ms if bare_cpu_ms else None, '.2f'):>6} "
        f"{row.run.peak_rss_mib:>12.0f} {row.output_mb:>7.1f}",
        flush=True,
    )
    return cpu_ms


def evaluate_runner(
    job: Path, out: Path, judge: Path, concurrency: int, cache: Path
) -> Callable[[str], list[str]]:
    """The ``rubric_eval evaluate`` command line, with a judge config pointing at the given server."""

    def make(base_url: str) -> list[str]:
        write_judge_config(judge, base_url)
        return [
            sys.executable, "-m", "rubric_eval", "evaluate", "--input_path", str(job),
            "--output_path", str(out), "--evaluator_configs", str(judge),
            "--max_concurrency", str(concurrency), "--cache_dir", str(cache),
        ]  # fmt: skip

    return make


def bare_runner(job: Path, out: Path, concurrency: int) -> Callable[[str], list[str]]:
    def make(base_url: str) -> list[str]:
        return [
            sys.executable, __file__, "--bare", "--input", str(job), "--output", str(out),
            "--base-url", base_url, "--concurrency", str(concurrency),
        ]  # fmt: skip

    return make


def make_job(work: Path, models: int, instructions: int, seed: int) -> Path:
    job = work / f"outputs_{models}x{instructions}.json"
    started = time.perf_counter()
    size = write_job(job, models, instructions, seed=seed)
    print(
        f"job: {models} models x {instructions} rubrics = {models * instructions} answers, "
        f"{size / 1e6:.0f} MB (generated in {time.perf_counter() - started:.0f}s)",
        flush=True,
    )
    return job


def bench(args: argparse.Namespace, work: Path) -> None:
    models, instructions = args.models, args.instructions
    answers = models * instructions
    job = make_job(work, models, instructions, args.seed)
    print(
        f"judge latency {args.latency}s; {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} "
        "(CPU ms/call and RSS are robust on a shared machine; rates and wall times are not)"
    )
    judge = work / "judge.yaml"
    cache = work / "cache"
    for concurrency in args.concurrency:
        ideal = concurrency / args.latency
        print(f"\nconcurrency {concurrency}: ideal {ideal:.0f} calls/s", flush=True)
        print(HEADER)
        print("-" * len(HEADER), flush=True)
        bare_out = work / f"bare_{concurrency}.jsonl"
        bare = run_row(
            "bare aiohttp", bare_runner(job, bare_out, concurrency), bare_out, answers, args.latency
        )
        bare_ms = print_row(bare, ideal, None)
        cache = work / f"cache_{concurrency}"
        out = work / f"evaluations_{concurrency}.json"
        row = run_row(
            "rubric_eval", evaluate_runner(job, out, judge, concurrency, cache), out, answers, args.latency
        )
        print_row(row, ideal, bare_ms)
        _show_progress(row.run)
    if args.concurrency:
        out = work / "evaluations_rerun.json"
        runner = evaluate_runner(job, out, judge, args.concurrency[-1], cache)
        row = run_row("cached rerun", runner, out, answers, args.latency)
        print(f"\nrerun on the warm cache of the concurrency {args.concurrency[-1]} run:")
        print_row(row, None, None)
        print("  stdout: " + row.run.stdout.strip().replace("\n", "\n          "))
        report_phase(out, work)


def report_phase(evaluations: Path, work: Path) -> None:
    """`rubric_eval generate_report` (markdown + JSON twin, every significance test, no summariser)
    on the evaluations just written: the report side of the same job. Then the same command on the
    first 3, 8, 15 and 30 models' evaluations: its peak RSS against the number of answers."""
    run = _report_run(evaluations, work / "evaluation_report.md")
    print(
        f"\ngenerate_report (no summariser, all tests): wall {run.wall_s:.1f}s, CPU {run.cpu_s:.2f}s, "
        f"peak RSS {run.peak_rss_mib:.0f} MiB"
    )
    subsets = _model_subsets(evaluations, work, CURVE_MODELS)
    if len(subsets) < 2:
        return
    print("generate_report memory curve (the first k models' evaluations, each in a fresh folder):")
    print(f"  {'answers':>8} {'models':>6} {'CPU s':>6} {'wall s':>6} {'peak RSS MiB':>12}")
    points: list[tuple[int, float]] = []
    for models, answers, path in subsets:
        run = _report_run(path, path.parent / "evaluation_report.md")
        points.append((answers, run.peak_rss_mib))
        print(f"  {answers:>8} {models:>6} {run.cpu_s:>6.2f} {run.wall_s:>6.1f} {run.peak_rss_mib:>12.0f}")
    (n0, r0), (n1, r1) = points[0], points[-1]
    slope = (r1 - r0) / (n1 - n0)
    print(
        f"  peak RSS grows {slope * 1024:.2f} KiB per answer from {n0} to {n1} answers; "
        f"straight line to 100,000 answers: {r0 + slope * (100_000 - n0):.0f} MiB"
    )


def _report_run(evaluations: Path, report: Path) -> Measured:
    argv = [
        sys.executable, "-m", "rubric_eval", "generate_report", "--input_path", str(evaluations),
        "--output_path", str(report), "--summarize", "False",
    ]  # fmt: skip
    run = measure("generate_report", argv)
    if run.returncode != 0:
        tail = "\n".join(text for _, text in run.stderr_lines[-8:])
        print(f"generate_report: exit status {run.returncode}\n{tail}", file=sys.stderr)
    return run


def _model_subsets(evaluations: Path, work: Path, sizes: tuple[int, ...]) -> list[tuple[int, int, Path]]:
    """The evaluations of the first k models for each k in ``sizes`` (as many as the file has), each in its
    own folder, in the layout `rubric_eval evaluate` writes (one record per line). Read and written line
    by line: this process stays small, since the measured children start as its copies."""
    folders = {k: work / f"report_{k}_models" for k in sizes}
    handles = {}
    for k, folder in folders.items():
        folder.mkdir(exist_ok=True)
        handles[k] = (folder / "evaluations.json").open("w", encoding="utf-8")
        handles[k].write("[")
    order: dict[str, int] = {}
    counts = dict.fromkeys(sizes, 0)
    with evaluations.open(encoding="utf-8") as source:
        for line in source:
            text = line.strip().rstrip(",")
            if text in {"[", "]", ""}:
                continue
            model = json.loads(text).get("model") or ""
            rank = order.setdefault(model, len(order))
            for k, handle in handles.items():
                if rank < k:
                    handle.write(("\n" if counts[k] == 0 else ",\n") + text)
                    counts[k] += 1
    for handle in handles.values():
        handle.write("\n]\n")
        handle.close()
    return [(k, counts[k], folders[k] / "evaluations.json") for k in sizes if k <= len(order)]


def _show_progress(run: Measured) -> None:
    """The first and last progress lines, with when they appeared (honest progress is part of the product)."""
    lines = run.stderr_lines
    shown = lines[:3] + ([(0.0, "...")] if len(lines) > 5 else []) + lines[-2:] if len(lines) > 5 else lines
    for at, text in shown:
        print(f"    {at:6.1f}s  {text[:110]}")


def curve(args: argparse.Namespace, work: Path) -> None:
    """Peak RSS and CPU per call at growing sizes (one concurrency); a straight-line fit to 100k answers."""
    concurrency = args.concurrency[-1]
    print(f"memory curve at concurrency {concurrency}, latency {args.latency}s")
    print(HEADER)
    print("-" * len(HEADER), flush=True)
    points: list[tuple[int, float]] = []
    for models in CURVE_MODELS:
        job = make_job(work, models, args.instructions, args.seed)
        answers = models * args.instructions
        out = work / f"evaluations_{answers}.json"
        runner = evaluate_runner(job, out, work / "judge.yaml", concurrency, work / f"cache_{answers}")
        row = run_row(f"n={answers}", runner, out, answers, args.latency)
        print_row(row, concurrency / args.latency, None)
        points.append((answers, row.run.peak_rss_mib))
        job.unlink()
    n0, r0 = points[0]
    n1, r1 = points[-1]
    slope = (r1 - r0) / (n1 - n0)
    print(
        f"peak RSS grows {slope * 1024:.1f} KiB per answer from {n0} to {n1} answers; "
        f"straight line to 100,000 answers: {r0 + slope * (100_000 - n0):.0f} MiB"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--size", choices=sorted(SIZES), default="full")
    parser.add_argument("--models", type=int, default=None, help="models (overrides --size)")
    parser.add_argument("--instructions", type=int, default=None, help="distinct rubrics (overrides --size)")
    parser.add_argument("--concurrency", default="64,256", help="comma-separated concurrencies")
    parser.add_argument("--latency", type=float, default=0.3, help="judge latency in seconds")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--curve", action="store_true", help="peak RSS from 1.2k to 11.8k answers")
    parser.add_argument(
        "--src",
        default="",
        help="run rubric_eval from this source folder (e.g. `git worktree add /tmp/base <commit>` then "
        "--src /tmp/base/src) to compare commits; the server and the bare client stay this checkout's",
    )
    parser.add_argument("--keep", type=Path, default=None, help="work in this folder and keep it")
    parser.add_argument(
        "--report-only",
        type=Path,
        default=None,
        metavar="EVALUATIONS",
        help="only the generate_report part, on this evaluations file (e.g. one kept with --keep)",
    )
    parser.add_argument("--bare", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--input", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--output", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--base-url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.bare:
        asyncio.run(_bare(args.input, args.output, args.base_url, int(args.concurrency)))
        return
    global PRODUCT_SRC
    PRODUCT_SRC = str(Path(args.src).resolve()) if args.src else ""
    default_models, default_instructions = SIZES[args.size]
    args.models = args.models or default_models
    args.instructions = args.instructions or default_instructions
    args.concurrency = [int(c) for c in args.concurrency.split(",") if c]
    if args.report_only is not None:
        with tempfile.TemporaryDirectory(prefix="rubric_eval_bench_") as tmp:
            report_phase(args.report_only, Path(tmp))
        return
    if args.keep is not None:
        args.keep.mkdir(parents=True, exist_ok=True)
        (curve if args.curve else bench)(args, args.keep)
        return
    with tempfile.TemporaryDirectory(prefix="rubric_eval_bench_") as tmp:
        (curve if args.curve else bench)(args, Path(tmp))


if __name__ == "__main__":
    main()

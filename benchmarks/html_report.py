"""HTML report at scale: file size, render time and time to interactive in chromium.

Generates a realistic evaluated job (default 30 models x 392 instructions = 11,760 answers: distinct rubrics
of 4-6 criteria x 4 levels, answers of 300-3,000 characters, judge feedback per criterion, ~1% unscored
criteria), builds the report, renders the HTML and opens it in Debian's chromium through Playwright.

Peers measured in the same run:
- render: the markdown report of the same job (`report.markdown`), CPU ms;
- browser: the *floor*, the same file with the page script replaced by one that only marks the page ready
  (the browser still reads and parses every byte, but no JSON is parsed and nothing is rendered).

    python benchmarks/html_report.py                        # 30 x 392, 3 browser runs
    python benchmarks/html_report.py --models 5 --instructions 80 --runs 5
"""

from __future__ import annotations

import argparse
import random
import re
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

from rubric_eval import Record, Rubric, generate_report
from rubric_eval.reporting.html import render_html

LEVELS = ["excellent", "good", "fair", "poor"]
SCORES = {"excellent": 10.0, "good": 7.0, "fair": 4.0, "poor": 1.0}
CATEGORIES = [
    "Brainstorming",
    "Coding & Debugging",
    "Creative Writing",
    "Editing",
    "Information seeking",
    "Math",
    "Planning",
    "Reasoning",
]


def _words(rng: random.Random, vocabulary: list[str], n_chars: int) -> str:
    out: list[str] = []
    size = 0
    while size < n_chars:
        word = rng.choice(vocabulary)
        out.append(word)
        size += len(word) + 1
        if rng.random() < 0.06:
            out.append(".\n" if rng.random() < 0.3 else ".")
    return " ".join(out)[:n_chars]


def make_job(n_models: int, n_instructions: int, seed: int = 0) -> list[Record]:
    """Evaluated records, grouped by model; the same instructions and rubrics for every model."""
    rng = random.Random(seed)
    letters = "abcdefghijklmnopqrstuvwxyz"
    vocabulary = ["".join(rng.choice(letters) for _ in range(rng.randint(2, 10))) for _ in range(3000)]
    instructions = []
    for i in range(n_instructions):
        criteria = []
        n_criteria = rng.randint(4, 6)
        raw = [rng.randint(10, 40) for _ in range(n_criteria)]
        for c in range(n_criteria):
            criteria.append(
                {
                    "criterion": f"{_words(rng, vocabulary, 30).strip().capitalize()} {c + 1}",
                    "weight": 100.0 * raw[c] / sum(raw),
                    "performance_to_description": {
                        lv: _words(rng, vocabulary, rng.randint(80, 220)) or lv for lv in LEVELS
                    },
                }
            )
        instructions.append(
            {
                "id": i,
                "instruction": _words(rng, vocabulary, rng.randint(100, 900)) or f"instruction {i}",
                "category": CATEGORIES[i % len(CATEGORIES)],
                "rubric": Rubric.model_validate(criteria),
            }
        )
    records = []
    for m in range(n_models):
        skill = rng.uniform(-1.0, 1.0)
        for ins in instructions:
            rubric: Rubric = ins["rubric"]
            grades = []
            for criterion in rubric.criteria:
                if rng.random() < 0.01:
                    grades.append(
                        {
                            "criterion": criterion.criterion,
                            "status": "unscored",
                            "reason": "judge call failed: HTTP 500",
                        }
                    )
                    continue
                level = LEVELS[max(0, min(3, round(1.5 - skill + rng.gauss(0, 1))))]
                grades.append(
                    {
                        "criterion": criterion.criterion,
                        "status": "scored",
                        "level": level,
                        "score": SCORES[level],
                        "feedback": _words(rng, vocabulary, rng.randint(100, 300)),
                    }
                )
            records.append(
                Record.model_validate(
                    {
                        **ins,
                        "output": _words(rng, vocabulary, rng.randint(300, 3000)),
                        "model": f"provider/model-{m:02d}",
                        "grades": grades,
                        "evaluator": "openai/gpt-4o-2024-08-06",
                    }
                )
            )
    return records


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _floor_page(page: str) -> str:
    """The same bytes minus the work: no CSP, a script that only marks the page ready."""
    page = re.sub(r'<meta http-equiv="Content-Security-Policy"[^>]*>', "", page, count=1)
    start = page.rindex("<script>")
    end = page.rindex("</script>")
    ready = "document.documentElement.dataset.readyMs=String(Math.round(performance.now()));"
    return page[:start] + "<script>" + ready + "document.documentElement.dataset.ready='1';" + page[end:]


_IN_PAGE = """async ([action, wait]) => {
  const t0 = performance.now();
  eval(action);  // the benchmark's own page copy; the report itself allows no eval
  await new Promise(r => requestAnimationFrame(() => setTimeout(r, 0)));
  if (!document.querySelector(wait)) throw new Error('not shown: ' + wait);
  return performance.now() - t0;
}"""

ACTIONS = {
    "table": ("document.getElementById('tab-instructions').click()", "#answers tbody tr"),
    "drill": ("document.querySelectorAll('#answers tbody tr')[10].click()", "#answer-detail .answer-text"),
    "filter": (
        "const s = document.getElementById('filter-category'); s.selectedIndex = 3;"
        " s.dispatchEvent(new Event('change'))",
        "#answers tbody tr",
    ),
    "compare": ("document.getElementById('tab-compare').click()", "#compare-view .compare-col"),
}


def _browser_runs(path: Path, floor: Path, runs: int) -> dict[str, list[float]]:
    from playwright.sync_api import sync_playwright

    names = ("floor", "floor_busy", "tti", "tti_busy", "script", "painted", "dcl", *ACTIONS)
    out: dict[str, list[float]] = {k: [] for k in names}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        warm = browser.new_context()
        warm.new_page().goto(floor.as_uri())  # first load of a browser is slower: not measured
        warm.close()
        for run in range(runs):
            order = [("floor", floor), ("tti", path)]
            for which, file in order if run % 2 == 0 else order[::-1]:
                # bypass_csp lets the benchmark time actions with an evaluated script; the page is unchanged.
                context = browser.new_context(viewport={"width": 1400, "height": 1000}, bypass_csp=True)
                page = context.new_page()
                cdp = context.new_cdp_session(page)
                cdp.send("Performance.enable")
                page.goto(file.as_uri())
                page.wait_for_selector("html[data-ready='1']", timeout=120_000)
                out[which].append(float(page.evaluate("document.documentElement.dataset.readyMs")))
                # Main-thread busy time (parsing, script, style, layout) up to now: less sensitive than wall
                # time to other processes on a shared machine.
                metrics = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}
                out[which + "_busy"].append(metrics["TaskDuration"] * 1000)
                if which == "tti":
                    out["script"].append(float(page.evaluate("document.documentElement.dataset.scriptMs")))
                    page.wait_for_selector("html[data-painted-ms]")
                    out["painted"].append(float(page.evaluate("document.documentElement.dataset.paintedMs")))
                    out["dcl"].append(
                        page.evaluate(
                            "performance.getEntriesByType('navigation')[0].domContentLoadedEventEnd"
                        )
                    )
                    for name, (action, wait) in ACTIONS.items():
                        out[name].append(page.evaluate(_IN_PAGE, [action, wait]))
                context.close()
        browser.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--models", type=int, default=30)
    parser.add_argument("--instructions", type=int, default=392)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--resamples", type=int, default=1000, help="bootstrap resamples of the report")
    parser.add_argument("--keep", type=Path, default=None, help="also write the HTML here")
    args = parser.parse_args()

    t0 = time.perf_counter()
    records = make_job(args.models, args.instructions)
    print(
        f"job: {args.models} models x {args.instructions} instructions = {len(records)} answers "
        f"(generated in {time.perf_counter() - t0:.1f} s)"
    )
    report = generate_report(records, summarize=False, n_resamples=args.resamples)
    cpu = _cpu()
    markdown = report.markdown
    md_ms = (_cpu() - cpu) * 1000
    cpu = _cpu()
    page = render_html(report, records)
    html_ms = (_cpu() - cpu) * 1000
    size = len(page.encode("utf-8"))
    texts = sum(
        len(m.group(0)) for m in re.finditer(r'<script type="application/json" id="texts-.*?</script>', page)
    )
    data_start = page.index('<script type="application/json" id="report-data">')
    data = page.index("</script>", data_start) - data_start
    raw = sum(len(r.output or "") + sum(len(g.feedback) for g in r.grades or []) for r in records)
    print(
        f"file: {size / 2**20:.1f} MiB ({size / len(records):.0f} bytes/answer); "
        f"texts {texts / 2**20:.1f} MiB "
        f"(raw answers + feedback {raw / 2**20:.1f} MiB), data {data / 2**20:.2f} MiB, page code "
        f"{(size - texts - data) / 1024:.0f} KiB"
    )
    print(
        f"render: HTML {html_ms:.0f} CPU ms; peer markdown {md_ms:.0f} CPU ms "
        f"({len(markdown) / 1024:.0f} KiB)"
    )

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "report.html"
        floor = Path(tmp) / "floor.html"
        path.write_text(page, encoding="utf-8")
        floor.write_text(_floor_page(page), encoding="utf-8")
        if args.keep:
            args.keep.write_text(page, encoding="utf-8")
        try:
            runs = _browser_runs(path, floor, args.runs)
        except ImportError:
            print("playwright is not installed: no browser figures", file=sys.stderr)
            return
    med = {k: statistics.median(v) for k, v in runs.items() if v}
    print(
        f"chromium, median of {args.runs} runs (ms in the page, from navigation start for the first three; "
        "the machine may be shared):"
    )
    print(
        f"  time to interactive   {med['tti']:8.0f}   (floor, the same bytes with no page work: "
        f"{med['floor']:.0f}; x floor {med['tti'] / med['floor']:.2f})"
    )
    print(
        f"  main thread busy      {med['tti_busy']:8.0f}   (floor {med['floor_busy']:.0f}; "
        f"x floor {med['tti_busy'] / med['floor_busy']:.2f})"
    )
    print(f"  page script           {med['script']:8.0f}   (JSON.parse of the data block + first render)")
    print(f"  first paint after it  {med['painted']:8.0f}")
    print(f"  DOMContentLoaded end  {med['dcl']:8.0f}")
    print(f"  instructions tab      {med['table']:8.0f}   (filter + sort every answer, draw page 1)")
    print(f"  open an answer        {med['drill']:8.0f}   (parses that model's texts on first use)")
    print(f"  filter by category    {med['filter']:8.0f}")
    print(f"  compare tab           {med['compare']:8.0f}")
    print("  all runs: " + ", ".join(f"{k} {[round(x) for x in v]}" for k, v in runs.items()))


if __name__ == "__main__":
    main()

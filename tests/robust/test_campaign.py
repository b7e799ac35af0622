"""A hostile campaign: `rubric_eval evaluate` against a server injecting every fault kind at random,
with a secret header and a signed base URL, then a rerun. Asserts the goals and prints the figures:
runs aborted 0, calls lost 0 (every answered call is in the cache; the rerun asks only for the
rest), secrets found in written files 0.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from rubric_eval.testing import FAULT_KINDS, OpenAICompatibleServer

from ._helpers import files_containing, grading, is_judge, judge_config, record, run_cli, write_records


@pytest.mark.slow
def test_hostile_campaign_loses_nothing_and_leaks_nothing(tmp_path: Path, make_openai_server: Any) -> None:
    kinds = sorted(FAULT_KINDS - {"hang"})
    server: OpenAICompatibleServer = make_openai_server(
        lambda body: grading("good") if is_judge(body) else None,
        fault_rates={kind: 0.6 / len(kinds) for kind in kinds},
        seed=14,
    )
    secret, signature = "gw-campaign-7a6b5c4d", "SIGcampaign0123456789"
    config = judge_config(
        tmp_path / "j.yaml",
        f"{server.base_url}?sig={signature}",
        provider_options={"headers": {"X-Gateway-Key": secret}},
    )
    n = 120
    inputs = write_records(tmp_path / "outputs.json", [record(i) for i in range(n)])
    args = [
        "evaluate", "--input_path", str(inputs), "--output_path", str(tmp_path / "evaluations.json"),
        "--evaluator_configs", str(config), "--cache_dir", str(tmp_path / "cache"), "--quiet",
        "--timeout", "5",
    ]  # fmt: skip
    first = run_cli(args)
    assert first.exit_code in {0, 1}, first.output  # never aborted
    evaluations = json.loads((tmp_path / "evaluations.json").read_text(encoding="utf-8"))
    assert len(evaluations) == n
    unexplained = [g for e in evaluations for g in e["grades"] if g["status"] != "scored" and not g["reason"]]
    assert unexplained == []
    answered = sum(e["score"] is not None for e in evaluations)
    db = sqlite3.connect(tmp_path / "cache" / "llm_cache.sqlite3")
    cached = int(db.execute("SELECT COUNT(*) FROM answers").fetchone()[0])
    db.close()
    requests_before = server.request_count
    second = run_cli(args)
    assert second.exit_code in {0, 1}, second.output
    rerun = json.loads((tmp_path / "evaluations.json").read_text(encoding="utf-8"))
    from_cache = sum(bool(e.get("evaluation_cached")) for e in rerun)
    leaks = files_containing(tmp_path, [secret, signature])
    leaks.pop(str(tmp_path / "j.yaml"), None)  # the config the user wrote
    lost = answered - min(answered, cached)
    print(
        f"\ncampaign: {n} records, {requests_before} requests, {len(kinds)} fault kinds at random; "
        f"runs aborted 0; answered {answered}, cached {cached}, calls lost {lost}; rerun: {from_cache} "
        f"from cache, {server.request_count - requests_before} new requests; secrets in files {len(leaks)}"
    )
    assert lost == 0 and from_cache >= answered and leaks == {}
    assert secret not in first.output + second.output and signature not in first.output + second.output

"""Repeated judging (judge noise, self-consistency, the cache) and panels of judges (aggregation, escalation)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from rubric_eval import Record, evaluate
from rubric_eval.cli import cli
from rubric_eval.engine import Engine, EngineSettings
from rubric_eval.engine.providers.scripted import ScriptedProvider
from rubric_eval.records import CriterionGrade
from rubric_eval.steps.panel import evaluate_panel
from rubric_eval.testing import OpenAICompatibleServer
from rubric_eval.trust import combine_grades, combine_levels, judge_noise, noise_of_records

from ._judges import LEVELS, SCORES, PlantedJudge, planted_records


def test_combine_levels_rules_by_hand() -> None:
    # mean: mean score, median level; an even count takes the worse middle level.
    assert combine_levels(LEVELS, SCORES, ["excellent", "poor", "good"]) == ("good", 6.0)
    assert combine_levels(LEVELS, SCORES, ["excellent", "good"]) == ("good", 8.5)
    # majority: the most frequent level; a tie goes to the worse level.
    assert combine_levels(LEVELS, SCORES, ["fair", "good", "fair"], "majority") == ("fair", 4.0)
    assert combine_levels(LEVELS, SCORES, ["excellent", "fair"], "majority") == ("fair", 4.0)
    with pytest.raises(ValueError):
        combine_levels(LEVELS, SCORES, [])


def test_unscored_gradings_do_not_vote() -> None:
    def grade(level: str | None) -> CriterionGrade:
        if level is None:
            return CriterionGrade(criterion="A", status="unscored", reason="call failed")
        return CriterionGrade(criterion="A", status="scored", level=level, score=SCORES[level])

    (combined,) = combine_grades(
        ["A"], LEVELS, SCORES, [[grade("good")], [grade(None)], [grade("excellent")]]
    )
    assert (combined.level, combined.score) == ("good", 8.5)
    (none,) = combine_grades(["A"], LEVELS, SCORES, [[grade(None)], [grade(None)]])
    assert none.status == "unscored" and none.reason == "call failed" and none.score is None


def test_judge_noise_by_hand() -> None:
    # Two instructions, two repeats each: means 2 and 6 (var 8); within variance (1 + 1 + 1 + 1) / 2 = 2.
    noise = judge_noise([[1, 3], [5, 7]], [["good", "good"], ["good", "fair"]], n_resamples=100)
    assert noise is not None
    assert noise.sem == pytest.approx(2.0)  # sqrt(8 / 2)
    assert noise.judge_share == pytest.approx((2 / 2) / 8)  # judge variance of a mean: s_w^2 / k = 1
    assert noise.sem_judge == pytest.approx(0.5**0.5)
    assert noise.sem_instructions**2 + noise.sem_judge**2 == pytest.approx(4.0)  # type: ignore[operator]
    assert noise.identical_levels == 0.5 and noise.pairwise_agreement == 0.5
    # One sample each: between variance 8 - 1 = 7 plus the whole within variance 2, over n = 2.
    assert noise.sem_single_sample == pytest.approx(4.5**0.5)
    assert judge_noise([[1, 2]]) is None  # one instruction: undefined


def planted_share(q: float, k: int) -> float:
    # Truth is excellent (10) or poor (1) with chance 1/2; the judge answers a uniformly random level with
    # chance q. Between variance of the true means: (9 (1 - q) / 2)^2; within variance 31.5 q - 20.25 q^2.
    between = (9 * (1 - q) / 2) ** 2
    within = 31.5 * q - 20.25 * q * q
    return (within / k) / (between + within / k)


def noisy_evaluations(
    settings: EngineSettings, n: int, k: int, q: float, seed: int
) -> tuple[list[Record], Any]:
    records, _ = planted_records(
        n, ["m"], truth_weights=(0.5, 0.0, 0.0, 0.5), criteria=[("Accuracy", 100.0)], seed=seed
    )
    provider = ScriptedProvider(PlantedJudge(noise=q, seed=seed).provider_fn)
    engine = Engine(settings, providers={"openai": provider})
    out = evaluate(
        [Record.model_validate(r) for r in records],
        evaluator="openai/noisy",
        engine=engine,
        n_judge_samples=k,
    )
    return out, provider


def test_repeated_judging_recovers_the_planted_noise_share(engine_settings: EngineSettings) -> None:
    out, provider = noisy_evaluations(engine_settings, n=60, k=3, q=0.5, seed=7)
    assert len(provider.requests) == 180
    first = out[0]
    assert [s.repeat for s in first.judge_samples or []] == [0, 1, 2]
    assert first.judge_aggregate == "mean"
    # typed fields, written under the same JSON names
    assert [s["repeat"] for s in first.dump()["judge_samples"]] == [0, 1, 2]
    noise = noise_of_records(out, n_resamples=500)
    assert noise is not None and noise.n_instructions == 60
    planted = planted_share(0.5, 3)  # 0.413
    assert noise.judge_share_ci_low <= planted <= noise.judge_share_ci_high  # type: ignore[operator]
    assert noise.sem_single_sample > noise.sem  # type: ignore[operator]  # repeats shrink the SEM
    # The record's score is the mean of its repeats' scores (one criterion).
    rec = out[0]
    assert rec.score == pytest.approx(sum(s.score or 0.0 for s in first.judge_samples or []) / 3)


@pytest.mark.slow
def test_noise_share_interval_covers_the_planted_value_over_seeds(engine_settings: EngineSettings) -> None:
    planted = planted_share(0.3, 2)
    covered = 0
    seeds = range(20)
    for seed in seeds:
        out, _ = noisy_evaluations(engine_settings.model_copy(update={"use_cache": False}), 80, 2, 0.3, seed)
        noise = noise_of_records(out, n_resamples=400, seed=seed)
        assert noise is not None
        covered += noise.judge_share_ci_low <= planted <= noise.judge_share_ci_high  # type: ignore[operator]
    print(f"noise share CI covered the planted {planted:.3f} in {covered} of 20 seeds")
    # Nominal 95%: 19 of 20 expected; 16 allows for a slightly liberal percentile interval.
    assert covered >= 16


def test_a_deterministic_judge_is_perfectly_self_consistent(engine_settings: EngineSettings) -> None:
    out, _ = noisy_evaluations(engine_settings, n=10, k=2, q=0.0, seed=1)
    noise = noise_of_records(out, n_resamples=100)
    assert noise is not None
    assert noise.identical_levels == 1.0 and noise.judge_share == 0.0 and noise.sem_judge == 0.0


def test_cli_repeats_through_the_test_server_and_reruns_from_cache(
    make_openai_server: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    judge = PlantedJudge(noise=0.4, seed=3)
    server: OpenAICompatibleServer = make_openai_server(handler=judge.handler)
    monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    records, _ = planted_records(6, ["m"], seed=2)
    (tmp_path / "outputs.json").write_text(json.dumps(records), encoding="utf-8")
    args = [
        "evaluate",
        "--input_path",
        str(tmp_path / "outputs.json"),
        "--output_path",
        str(tmp_path / "e.json"),
        "--evaluator_configs",
        "openai/judge",
        "--n_judge_samples",
        "3",
        "--judge_aggregate",
        "majority",
        "--quiet",
    ]
    result = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert server.request_count == 18
    written = json.loads((tmp_path / "e.json").read_text(encoding="utf-8"))
    assert all(len(r["judge_samples"]) == 3 and r["judge_aggregate"] == "majority" for r in written)
    for rec in written:  # majority: every criterion's score is a level's score
        assert all(v in SCORES.values() for v in rec["score_per_criteria"].values())
    again = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert again.exit_code == 0 and server.request_count == 18  # nothing repeated


def panel_engine(settings: EngineSettings, judges: dict[str, PlantedJudge]) -> tuple[Engine, dict[str, int]]:
    calls: dict[str, int] = dict.fromkeys(judges, 0)

    def reply(request: Any) -> str:
        calls[request.model] += 1
        return judges[request.model].provider_fn(request)

    return Engine(settings, providers={"openai": ScriptedProvider(reply)}), calls


def test_panel_majority_and_escalation_only_where_judges_disagree(engine_settings: EngineSettings) -> None:
    records, truth = planted_records(30, ["m"], seed=5)
    judges = {
        "exact-a": PlantedJudge(seed=1),
        "exact-b": PlantedJudge(seed=2),
        "noisy": PlantedJudge(noise=0.3, seed=3),
        "strong": PlantedJudge(seed=4),
    }
    engine, calls = panel_engine(engine_settings, judges)
    out = evaluate_panel(
        records,
        evaluators="openai/exact-a,openai/exact-b,openai/noisy",
        aggregate="majority",
        escalate_to="openai/strong",
        engine=engine,
    )
    assert calls["exact-a"] == calls["exact-b"] == calls["noisy"] == 30
    disagreeing = [r for r in out if r["judge_panel_disagrees"]]
    assert 0 < len(disagreeing) < 30
    assert calls["strong"] == len(disagreeing)  # escalation only where the panel disagrees
    for rec in out:
        assert rec["evaluator"] == "panel(openai/exact-a+openai/exact-b+openai/noisy)->openai/strong"
        assert [p["evaluator"] for p in rec["judge_panel"]] == [
            "openai/exact-a",
            "openai/exact-b",
            "openai/noisy",
        ]
        # Two exact judges out of three: the majority (and the escalated strong judge) is the truth.
        assert rec["level_per_criteria"] == truth[(rec["id"], "m")]
        assert (rec["escalated"] is not None) == rec["judge_panel_disagrees"]


def test_panel_mean_and_bad_panels(engine_settings: EngineSettings) -> None:
    records, truth = planted_records(4, ["m"], seed=6)
    judges = {
        "kind": PlantedJudge(confusion={lv: {"excellent": 1.0} for lv in LEVELS}),
        "exact": PlantedJudge(),
    }
    engine, _ = panel_engine(engine_settings, judges)
    out = evaluate_panel(records, evaluators=["openai/kind", "openai/exact"], engine=engine)
    for rec in out:
        for criterion, level in truth[(rec["id"], "m")].items():
            assert rec["score_per_criteria"][criterion] == pytest.approx((10 + SCORES[level]) / 2)
        assert "escalated" not in rec
    from rubric_eval import ConfigError

    with pytest.raises(ConfigError, match="named twice"):
        evaluate_panel(records, evaluators="openai/kind,openai/kind", engine=engine)
    with pytest.raises(ConfigError, match="at least two judges"):
        evaluate_panel(records, evaluators="openai/kind", escalate_to="openai/exact", engine=engine)


def test_panel_with_repeats_reports_each_judges_noise(engine_settings: EngineSettings) -> None:
    from rubric_eval import generate_report

    records, _ = planted_records(10, ["m"], seed=12)
    judges = {"steady": PlantedJudge(seed=1), "shaky": PlantedJudge(noise=0.5, seed=2)}
    engine, calls = panel_engine(engine_settings, judges)
    out = evaluate_panel(records, evaluators="openai/steady,openai/shaky", n_judge_samples=2, engine=engine)
    assert calls == {"steady": 20, "shaky": 20}
    assert all(len(entry["judge_samples"]) == 2 for rec in out for entry in rec["judge_panel"])
    judging = generate_report(out, summarize=False, n_resamples=300).models[0].judging
    assert judging is not None and judging.noise is None
    steady, shaky = judging.panel_noise["openai/steady"], judging.panel_noise["openai/shaky"]
    assert steady.identical_levels == 1.0 and steady.sem_judge == 0.0
    assert shaky.identical_levels is not None and shaky.identical_levels < 1.0
    assert shaky.sem_judge is not None and shaky.sem_judge > 0


def test_panel_summary_counts_one_judge_s_cached_answers_as_cached_not_spent(
    openai_env: OpenAICompatibleServer, tmp_path: Path
) -> None:
    # A panel whose first judge was already asked: the summary said "0 from cache" and counted the
    # cached answers' original price as money spent by this run.
    records, _ = planted_records(4, ["m"], seed=5)
    (tmp_path / "outputs.json").write_text(json.dumps(records), encoding="utf-8")

    def run(judges: str, out: str, *flags: str) -> str:
        args = [
            "evaluate",
            "--input_path",
            str(tmp_path / "outputs.json"),
            "--output_path",
            str(tmp_path / out),
            "--evaluator_configs",
            judges,
            "--quiet",
            *flags,
        ]
        result = CliRunner().invoke(cli, args, catch_exceptions=False)
        assert result.exit_code == 0, result.output
        (line,) = [x for x in result.stdout.splitlines() if x.startswith("evaluate: ")]
        return line.split(" instructions unscored; ")[1]

    first = run("gpt-5-mini", "a.json")
    assert first.startswith("4 judge calls (0 failed, 0 from cache); spent $")
    spent_first = float(first.split("spent $")[1].split()[0])
    alone = run("gpt-4.1-mini", "b.json", "--no_cache")  # what the second judge costs, left uncached
    spent_alone = float(alone.split("spent $")[1].split()[0])
    assert spent_first > 0 and spent_alone > 0
    both = run("gpt-5-mini,gpt-4.1-mini", "c.json")
    assert both == (
        "8 judge calls (0 failed, 4 from cache); "
        f"spent ${spent_alone:.4f} (answers from the cache had cost ${spent_first:.4f})"
    )

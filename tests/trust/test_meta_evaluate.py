"""`meta_evaluate`: a judge with a planted confusion matrix, graded through the real engine, is recovered.

The "human" labels are the true levels (annotator alice) and the true levels passed through a second
planted confusion (annotator bob). The population values of exact agreement, within-one agreement and
quadratic kappa follow from the planted joint distribution and must lie inside the reported CIs.
"""

from __future__ import annotations

import csv
import json
import random
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from scipy import stats as sps

from rubric_eval import evaluate
from rubric_eval.cli import cli
from rubric_eval.engine import Engine, EngineSettings
from rubric_eval.engine.providers.scripted import ScriptedProvider

from ._judges import LEVELS, SCORES, PlantedJudge, planted_records

TRUTH_WEIGHTS = (0.25, 0.35, 0.25, 0.15)
# The judge: right 70% of the time, else one level off (mostly too generous).
JUDGE_CONFUSION = {
    "excellent": {"excellent": 0.8, "good": 0.2},
    "good": {"excellent": 0.2, "good": 0.7, "fair": 0.1},
    "fair": {"good": 0.25, "fair": 0.65, "poor": 0.1},
    "poor": {"fair": 0.3, "poor": 0.7},
}
# A second annotator: right 85% of the time.
BOB_CONFUSION = {
    "excellent": {"excellent": 0.85, "good": 0.15},
    "good": {"excellent": 0.075, "good": 0.85, "fair": 0.075},
    "fair": {"good": 0.075, "fair": 0.85, "poor": 0.075},
    "poor": {"fair": 0.15, "poor": 0.85},
}


def population(confusion: dict[str, dict[str, float]]) -> dict[str, float]:
    """Exact, within-one and quadratic kappa of (truth, rater) under the planted joint distribution."""
    joint = {
        (t, r): pt * confusion[t].get(r, 0.0)
        for t, pt in zip(LEVELS, TRUTH_WEIGHTS, strict=True)
        for r in LEVELS
    }
    row = {t: sum(joint[(t, r)] for r in LEVELS) for t in LEVELS}
    col = {r: sum(joint[(t, r)] for t in LEVELS) for r in LEVELS}
    weight = {(t, r): ((SCORES[t] - SCORES[r]) / 9.0) ** 2 for t in LEVELS for r in LEVELS}
    observed = sum(weight[k] * p for k, p in joint.items())
    chance = sum(weight[(t, r)] * row[t] * col[r] for t in LEVELS for r in LEVELS)
    return {
        "exact": sum(joint[(lv, lv)] for lv in LEVELS),
        "within_one": sum(p for (t, r), p in joint.items() if abs(LEVELS.index(t) - LEVELS.index(r)) <= 1),
        "kappa": 1 - observed / chance,
    }


def write_labels(path: Path, truth: dict[tuple[int, str], dict[str, str]], seed: int) -> None:
    rng = random.Random(seed)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, ["id", "model", "criterion", "level", "annotator"])
        writer.writeheader()
        for (rid, model), levels in truth.items():
            for criterion, level in levels.items():
                writer.writerow(
                    {"id": rid, "model": model, "criterion": criterion, "level": level, "annotator": "alice"}
                )
                dist = BOB_CONFUSION[level]
                bob = rng.choices(list(dist), weights=list(dist.values()))[0]
                writer.writerow(
                    {"id": rid, "model": model, "criterion": criterion, "level": bob, "annotator": "bob"}
                )


def graded(
    settings: EngineSettings, records: list[dict[str, Any]], judge: PlantedJudge, name: str
) -> list[Any]:
    engine = Engine(settings, providers={"openai": ScriptedProvider(judge.provider_fn)})
    return list(evaluate(records, evaluator=f"openai/{name}", engine=engine))


def run_cli(args: list[str]) -> Any:
    result = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result


def inside(estimate: dict[str, Any], value: float) -> bool:
    return estimate["ci_low"] <= value <= estimate["ci_high"]


def test_meta_evaluate_recovers_the_planted_agreement(
    engine_settings: EngineSettings, tmp_path: Path
) -> None:
    records, truth = planted_records(80, seed=11, truth_weights=TRUTH_WEIGHTS)
    evaluations = graded(engine_settings, records, PlantedJudge(confusion=JUDGE_CONFUSION, seed=5), "planted")
    (tmp_path / "evaluations.json").write_text(json.dumps(evaluations), encoding="utf-8")
    write_labels(tmp_path / "labels.csv", truth, seed=2)
    result = run_cli(
        [
            "meta_evaluate",
            "--input_path",
            str(tmp_path / "evaluations.json"),
            "--labels",
            str(tmp_path / "labels.csv"),
            "--n_resamples",
            "300",
        ]
    )
    assert (
        "openai/planted vs humans: 960 criteria" in result.output
    )  # 80 x 2 models x 3 criteria x 2 annotators
    meta = json.loads((tmp_path / "meta_evaluation.json").read_text(encoding="utf-8"))
    markdown = (tmp_path / "meta_evaluation.md").read_text(encoding="utf-8")
    assert "human vs human (ceiling)" in markdown and "## Judge vs human labels" in markdown

    # Judge vs alice is the planted confusion; judge vs bob is a blend, so check against alice only.
    alice_only = [
        row for row in csv.DictReader((tmp_path / "labels.csv").open()) if row["annotator"] == "alice"
    ]
    with (tmp_path / "alice.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, list(alice_only[0]))
        writer.writeheader()
        writer.writerows(alice_only)
    run_cli(
        [
            "meta_evaluate",
            "--input_path",
            str(tmp_path / "evaluations.json"),
            "--labels",
            str(tmp_path / "alice.csv"),
            "--output_path",
            str(tmp_path / "alice.md"),
            "--n_resamples",
            "300",
        ]
    )
    judge = json.loads((tmp_path / "alice.json").read_text(encoding="utf-8"))["judges"][0]["agreement"]
    planted = population(JUDGE_CONFUSION)
    assert judge["n_items"] == 480
    assert inside(judge["exact"], planted["exact"])
    assert inside(judge["within_one"], planted["within_one"])
    assert inside(judge["kappa_quadratic"], planted["kappa"])
    assert judge["exact"]["ci_high"] - judge["exact"]["ci_low"] < 0.15  # informative, not vacuous

    ceiling = meta["human_ceiling"]
    planted_bob = population(BOB_CONFUSION)
    assert ceiling["n_items"] == 480
    assert inside(ceiling["exact"], planted_bob["exact"])
    assert inside(ceiling["kappa_quadratic"], planted_bob["kappa"])
    assert ceiling["kappa_quadratic"]["value"] > judge["kappa_quadratic"]["value"]  # the better rater


def test_judge_vs_judge_and_a_perfect_judge(engine_settings: EngineSettings, tmp_path: Path) -> None:
    records, _ = planted_records(20, seed=3)
    perfect = graded(engine_settings, records, PlantedJudge(seed=1), "perfect")
    noisy = graded(engine_settings, records, PlantedJudge(noise=0.5, seed=2), "noisy")
    (tmp_path / "a.json").write_text(json.dumps(perfect), encoding="utf-8")
    (tmp_path / "b.jsonl").write_text("\n".join(json.dumps(r) for r in noisy), encoding="utf-8")
    run_cli(
        [
            "meta_evaluate",
            "--input_path",
            f"{tmp_path / 'a.json'},{tmp_path / 'b.jsonl'}",
            "--n_resamples",
            "200",
        ]
    )
    meta = json.loads((tmp_path / "meta_evaluation.json").read_text(encoding="utf-8"))
    (pair,) = meta["judge_pairs"]
    assert {pair["evaluator_a"], pair["evaluator_b"]} == {"openai/perfect", "openai/noisy"}
    # noise 0.5 with a uniform draw over 4 levels: agreement 0.5 + 0.5 * 0.25 = 0.625 in expectation.
    assert inside(pair["agreement"]["exact"], 0.625)

    self_pair = [dict(r, evaluator="copy") for r in perfect]
    (tmp_path / "c.json").write_text(json.dumps(self_pair), encoding="utf-8")
    run_cli(
        [
            "meta_evaluate",
            "--input_path",
            f"{tmp_path / 'a.json'},{tmp_path / 'c.json'}",
            "--n_resamples",
            "200",
        ]
    )
    agreement = json.loads((tmp_path / "meta_evaluation.json").read_text(encoding="utf-8"))["judge_pairs"][0][
        "agreement"
    ]
    assert agreement["exact"]["value"] == 1.0
    assert agreement["kappa_quadratic"]["value"] == pytest.approx(1.0)
    assert agreement["score_pearson"]["value"] == pytest.approx(1.0)


def test_ranking_comparison_equals_scipy(tmp_path: Path) -> None:
    ours = {
        "gpt-4o": 8.1,
        "claude-3": 7.9,
        "llama-3-70b": 7.0,
        "mixtral": 6.2,
        "qwen-2": 6.9,
        "gemma": 5.0,
        "phi": 4.4,
    }
    arena = {
        "GPT-4o": 1287,
        "claude-3": 1250,
        "llama-3-70b": 1206,
        "mixtral": 1148,
        "qwen-2": 1187,
        "gemma": 1100,
        "phi": 1120,
        "not-evaluated": 1000,
    }
    (tmp_path / "scores.csv").write_text(
        "model,score\n" + "".join(f"{m},{s}\n" for m, s in ours.items()), encoding="utf-8"
    )
    (tmp_path / "arena.json").write_text(
        json.dumps([{"model": m, "rating": s} for m, s in arena.items()]), encoding="utf-8"
    )
    out = tmp_path / "ranking.md"
    run_cli(
        [
            "meta_evaluate",
            "--model_scores",
            str(tmp_path / "scores.csv"),
            "--reference_ranking",
            str(tmp_path / "arena.json"),
            "--output_path",
            str(out),
        ]
    )
    (ranking,) = json.loads(out.with_suffix(".json").read_text(encoding="utf-8"))["rankings"]
    x = list(ours.values())
    y = [arena["GPT-4o" if m == "gpt-4o" else m] for m in ours]
    assert ranking["n_models"] == 7
    assert ranking["reference_unmatched"] == ["not-evaluated"]
    assert ranking["pearson"]["value"] == pytest.approx(sps.pearsonr(x, y).statistic, abs=1e-12)
    assert ranking["spearman"]["value"] == pytest.approx(sps.spearmanr(x, y).statistic, abs=1e-12)
    assert ranking["kendall"]["value"] == pytest.approx(sps.kendalltau(x, y).statistic, abs=1e-12)
    ci = sps.pearsonr(x, y).confidence_interval(0.95)
    assert (ranking["pearson"]["ci_low"], ranking["pearson"]["ci_high"]) == pytest.approx((ci.low, ci.high))
    assert "Kendall tau-b" in out.read_text(encoding="utf-8")


def test_ranking_from_evaluations_orders_planted_model_quality(
    engine_settings: EngineSettings, tmp_path: Path
) -> None:
    quality = {"m-best": 1, "m-mid": 0, "m-low": -1, "m-worst": -2}
    records, _ = planted_records(15, list(quality), seed=4, model_quality=quality)
    evaluations = graded(engine_settings, records, PlantedJudge(seed=0), "judge")
    (tmp_path / "e.json").write_text(json.dumps(evaluations), encoding="utf-8")
    (tmp_path / "ref.csv").write_text(
        "model,elo\nm-best,1300\nm-mid,1200\nm-low,1100\nm-worst,1000\n", encoding="utf-8"
    )
    run_cli(
        [
            "meta_evaluate",
            "--input_path",
            str(tmp_path / "e.json"),
            "--reference_ranking",
            str(tmp_path / "ref.csv"),
        ]
    )
    (ranking,) = json.loads((tmp_path / "meta_evaluation.json").read_text(encoding="utf-8"))["rankings"]
    assert ranking["models"] == ["m-best", "m-mid", "m-low", "m-worst"]
    assert ranking["spearman"]["value"] == pytest.approx(1.0)
    assert ranking["kendall"]["value"] == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ({"id": "0", "model": "model-a", "criterion": "Accuracy", "level": "superb"}, "field 'level'"),
        ({"id": "0", "model": "model-a", "criterion": "Spelling", "level": "good"}, "field 'criterion'"),
        ({"model": "model-a", "criterion": "Accuracy", "level": "good"}, "needs 'id'"),
        ({"id": "0", "criterion": "Accuracy", "level": "good"}, "name the model"),
    ],
)
def test_bad_labels_fail_clearly(
    engine_settings: EngineSettings, tmp_path: Path, row: dict[str, str], message: str
) -> None:
    records, _ = planted_records(2, seed=0)
    (tmp_path / "e.json").write_text(
        json.dumps(graded(engine_settings, records, PlantedJudge(), "j")), encoding="utf-8"
    )
    (tmp_path / "labels.json").write_text(json.dumps([row]), encoding="utf-8")
    result = CliRunner().invoke(
        cli,
        [
            "meta_evaluate",
            "--input_path",
            str(tmp_path / "e.json"),
            "--labels",
            str(tmp_path / "labels.json"),
        ],
    )
    assert result.exit_code == 2
    assert message in result.output and "labels.json" in result.output
    assert not (tmp_path / "meta_evaluation.md").exists()


@pytest.mark.slow
def test_agreement_intervals_cover_the_planted_values_over_seeds(engine_settings: EngineSettings) -> None:
    """20 seeds x 60 instructions: the 95% CIs of exact agreement and kappa cover the planted values in at
    least 17 of 20 runs each (nominal 19)."""
    from rubric_eval.trust import HumanLabel, meta_evaluate

    planted = population(JUDGE_CONFUSION)
    settings = engine_settings.model_copy(update={"use_cache": False})
    covered = {"exact": 0, "kappa": 0}
    for seed in range(20):
        records, truth = planted_records(60, seed=100 + seed, truth_weights=TRUTH_WEIGHTS)
        evaluations = graded(settings, records, PlantedJudge(confusion=JUDGE_CONFUSION, seed=seed), "planted")
        labels = [
            HumanLabel(id=str(rid), model=model, criterion=c, level=lv, annotator="alice")
            for (rid, model), levels in truth.items()
            for c, lv in levels.items()
        ]
        from rubric_eval import Record

        meta = meta_evaluate([Record.model_validate(r) for r in evaluations], labels=labels, n_resamples=400)
        agreement = meta.judges[0].agreement
        assert agreement is not None
        for name, est in (("exact", agreement.exact), ("kappa", agreement.kappa_quadratic)):
            assert est.ci_low is not None and est.ci_high is not None
            covered[name] += est.ci_low <= planted[name] <= est.ci_high
    print(f"coverage over 20 seeds: {covered}")
    assert covered["exact"] >= 17 and covered["kappa"] >= 17


def test_repeated_judging_is_compared_by_levels(engine_settings: EngineSettings) -> None:
    """With repeats the criterion score is a mean (e.g. 8.5), but agreement compares the combined level."""
    from rubric_eval import Record
    from rubric_eval.trust import HumanLabel, meta_evaluate

    records, truth = planted_records(10, ["m"], seed=8)
    engine = Engine(
        engine_settings, providers={"openai": ScriptedProvider(PlantedJudge(noise=0.5).provider_fn)}
    )
    evaluated = [
        Record.model_validate(r)
        for r in evaluate(records, evaluator="openai/j", engine=engine, n_judge_samples=2)
    ]
    assert any(s not in SCORES.values() for r in evaluated for s in (r.score_per_criteria or {}).values())
    labels = [
        HumanLabel(id=str(i), model=m, criterion=c, level=lv)
        for (i, m), lvs in truth.items()
        for c, lv in lvs.items()
    ]
    agreement = meta_evaluate(evaluated, labels=labels, n_resamples=100).judges[0].agreement
    assert agreement is not None and set(agreement.levels) <= set(LEVELS)  # no mean-score categories
    combined = [
        (r.level_per_criteria or {})[c] == lv for r in evaluated for c, lv in truth[(r.id, "m")].items()
    ]
    assert agreement.exact.value == pytest.approx(sum(combined) / len(combined))


def test_labels_may_name_the_instruction_by_its_text(engine_settings: EngineSettings) -> None:
    """Records with ids, labels without: matched by the instruction's text (case and spacing ignored)."""
    from rubric_eval import Record
    from rubric_eval.trust import HumanLabel, meta_evaluate

    records, truth = planted_records(4, ["m"], seed=2)
    evaluated = [Record.model_validate(r) for r in graded(engine_settings, records, PlantedJudge(), "j")]
    text = {r["id"]: r["instruction"] for r in records}
    labels = [
        HumanLabel(instruction="  " + text[i].upper() + " ", model=m, criterion=c, level=lv)
        for (i, m), levels in truth.items()
        for c, lv in levels.items()
    ]
    meta = meta_evaluate(evaluated, labels=labels, n_resamples=100)
    assert meta.n_labels_matched == 12 and meta.n_labels_unmatched == 0
    agreement = meta.judges[0].agreement
    assert agreement is not None and agreement.exact.value == 1.0

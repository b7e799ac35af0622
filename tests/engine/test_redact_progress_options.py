"""Key redaction, progress output, and the CLI's engine flags."""

from __future__ import annotations

import click
import pytest
from click.testing import CliRunner
from engine_helpers import config_for, make_calls

from rubric_eval.cli._options import engine_options, engine_settings_from
from rubric_eval.engine import Engine, EngineSettings
from rubric_eval.engine._redact import REDACTED, redact
from rubric_eval.testing import OpenAICompatibleServer


@pytest.mark.parametrize(
    "secret_text",
    [
        "Incorrect API key provided: sk-proj-abcDEF1234567890xyz.",
        "Authorization: Bearer abcdefghijklmnopqrstuvwxyz012",
        "https://generativelanguage.googleapis.com/v1?key=AIzaSyA-1234567890abcdefghijklmn",
        '{"x-api-key": "ant-abcdefghijkl"}',
        "api_key=hunter2hunter2",
        "sk-ant-api03-abcdefghijklmnop",
    ],
)
def test_redact_removes_key_shapes(secret_text: str) -> None:
    out = redact(secret_text)
    assert REDACTED in out
    for secret in (
        "abcDEF123",
        "abcdefghijklmnopqrstuvwxyz012",
        "AIzaSy",
        "ant-abcdefghijkl",
        "hunter2",
        "api03",
    ):
        assert secret not in out


def test_redact_removes_given_secrets_and_key_env_values(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CUSTOM_PROVIDER_TOKEN", "plain-looking-value-42")
    out = redact("failed with plain-looking-value-42 and xyzzy-secret", ["xyzzy-secret"])
    assert "plain-looking-value-42" not in out and "xyzzy-secret" not in out


def test_redact_keeps_ordinary_messages() -> None:
    message = "HTTP 429 from http://127.0.0.1:8000/v1: Rate limit reached for requests (tokens per min)."
    assert redact(message) == message


def test_plain_progress_logs_to_stderr_and_quiet_logs_nothing(
    engine_settings: EngineSettings, openai_server: OpenAICompatibleServer, capsys: pytest.CaptureFixture[str]
) -> None:
    calls = make_calls(config_for(openai_server), 3)
    Engine(engine_settings.model_copy(update={"progress": "plain"})).run(calls, description="Grading")
    captured = capsys.readouterr()
    assert "Grading: 3/3 done (100%), 0 failed, 0 cached" in captured.err and captured.out == ""
    assert "$0.0" in captured.err and "unknown" not in captured.err
    Engine(engine_settings.model_copy(update={"progress": "quiet", "use_cache": False})).run(calls)
    assert capsys.readouterr().err == ""


def test_progress_says_when_cost_is_unknown(
    engine_settings: EngineSettings, openai_server: OpenAICompatibleServer, capsys: pytest.CaptureFixture[str]
) -> None:
    calls = make_calls(config_for(openai_server, model="unlisted-model"), 2)
    Engine(engine_settings.model_copy(update={"progress": "plain"})).run(calls, description="Grading")
    assert "+ unknown (2 unpriced)" in capsys.readouterr().err


def test_rich_progress_renders_without_a_terminal(
    engine_settings: EngineSettings, openai_server: OpenAICompatibleServer, capsys: pytest.CaptureFixture[str]
) -> None:
    calls = make_calls(config_for(openai_server), 2)
    Engine(engine_settings.model_copy(update={"progress": "rich"})).run(calls, description="Grading")
    captured = capsys.readouterr()
    assert "Grading" in captured.err and "2/2" in captured.err and captured.out == ""


def test_engine_flags_build_settings(tmp_path: object) -> None:
    seen: dict[str, EngineSettings] = {}

    @click.command()
    @engine_options
    def command(**kwargs: object) -> None:
        seen["settings"] = engine_settings_from(kwargs)
        assert kwargs == {}

    args = ["--max_concurrency", "8", "--requests_per_minute=600", "--max_attempts", "3", "--timeout", "20",
            "--no_cache", "--max_cost", "1.5", "--quiet", "--max_parse_retries", "0"]  # fmt: skip
    result = CliRunner().invoke(command, args)
    assert result.exit_code == 0, result.output
    settings = seen["settings"]
    assert settings.max_concurrency == 8 and "max_concurrency" in settings.model_fields_set
    assert settings.requests_per_minute == 600 and settings.max_attempts == 3 and settings.timeout_s == 20
    assert not settings.use_cache and settings.max_cost_usd == 1.5 and settings.progress == "quiet"
    assert settings.max_parse_retries == 0
    CliRunner().invoke(command, [])
    assert "max_concurrency" not in seen["settings"].model_fields_set


def test_cached_rerun_progress_shows_cache_apart_from_money_spent(
    engine_settings: EngineSettings,
    openai_server: OpenAICompatibleServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    config = config_for(
        openai_server,
        name="a-judge-config-with-a-rather-long-name",
        price_per_million_input=5000.0,
        price_per_million_output=5000.0,
    )
    calls = make_calls(config, 4)
    settings = engine_settings.model_copy(update={"progress": "plain"})
    Engine(settings).run(calls, description="evaluate (a-judge-config-with-a-rather-long-name)")
    first = capsys.readouterr().err
    spent = float(first.split(" spent")[0].rsplit("$", 1)[1])
    assert spent > 0 and "4/4 done (100%), 0 failed, 0 cached" in first
    Engine(settings).run(calls, description="evaluate (a-judge-config-with-a-rather-long-name)")
    rerun = capsys.readouterr().err
    assert "4/4 done (100%), 0 failed, 4 cached" in rerun
    assert "no requests yet" in rerun  # no rate or ETA made up from cache hits
    assert f"$0.0000 spent, ${spent:.4f} cached" in rerun
    assert all(len(line) <= 80 for line in first.splitlines() + rerun.splitlines())


def test_rich_progress_fits_80_columns_without_cutting_fields(
    engine_settings: EngineSettings,
    openai_server: OpenAICompatibleServer,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    calls = make_calls(config_for(openai_server), 3)
    Engine(engine_settings.model_copy(update={"progress": "rich"})).run(calls, description="evaluate (judge)")
    err = capsys.readouterr().err
    assert "3/3" in err and "0 failed, 0 cached" in err and " spent" in err and "/s" in err
    assert "…" not in err
    assert all(len(line.rstrip()) <= 80 for line in err.splitlines())


def test_no_rate_or_eta_from_the_first_few_answers() -> None:
    from rubric_eval.engine._progress import Tally, plain_lines

    tally = Tally(11_760)
    tally.requests_started = tally.started
    tally.advance(ok=True, cost_usd=0.0005, priced=True, cached=False)
    lines = plain_lines("evaluate (judge)", tally)
    assert "measuring the rate" in " ".join(lines) and "ETA" not in " ".join(lines)
    assert all(len(line) <= 80 for line in lines)

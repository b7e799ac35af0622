"""Benchmark v2's writing references (editing, creative writing): lengths counted, constraints checked."""

from __future__ import annotations

import re
from datetime import date

from tests.data_checks._v2 import code_blocks, reference, words


def _text(record_id: str) -> str:
    (block,) = code_blocks(reference(record_id), "text")[:1]
    return block.strip()


def _sentences(text: str) -> list[str]:
    return [s for s in re.split(r"(?<=[.!?])\s+|\n", text) if s.strip()]


def test_editing_01_email_under_150_words_with_every_fact() -> None:
    text = _text("builtin-v2-editing-01")
    assert words(text) == 106 < 150
    for fact in (
        "our own checkout update",
        "14:00 on 3 March",
        "09:30 on 4 March",
        "5 March",
        "3–5 working days",
    ):
        assert fact in text, fact
    assert "overdraft fee" in text and "screenshot" in text and "support@example.com" in text
    assert "payment provider" not in text and "24 hours" not in text


def test_editing_02_abstract_keeps_every_number() -> None:
    text = _text("builtin-v2-editing-02")
    assert words(text) == 106 <= 120
    for number in ("412", "65-89", "three UK cities", "n=208", "n=204", "12 weeks", "3-9", "5.1", "5.6"):
        assert number in text, number
    assert "-0.5, 95% CI -0.9 to -0.1" in text and "-0.4, 95% CI -1.3 to 0.5" in text
    assert "cure" not in text.lower() and "immediately" not in text.lower()


def test_editing_03_plain_language_limits() -> None:
    text = _text("builtin-v2-editing-03")
    assert words(text) == 80 <= 90
    assert max(words(s) for s in _sentences(text)) == 14 <= 15
    for kept in ("plain water", "200 mL", "30 minutes", "first food of the day", "Do not chew"):
        assert kept in text, kept


def test_editing_04_weekdays() -> None:
    assert date(2026, 10, 14).strftime("%A") == "Wednesday"
    assert date(2026, 9, 30).strftime("%A") == "Wednesday"
    assert date(2026, 10, 13).strftime("%A") == "Tuesday"
    text = _text("builtin-v2-editing-04")
    assert "Tuesday" not in text and "," not in text.split("(")[0].split("AGM")[0]
    assert "7pm" in text and "6.30pm" in text and "all 40 of" in text and "Treasurer and Secretary" in text


def test_editing_05_feedback_under_130_words() -> None:
    text = _text("builtin-v2-editing-05")
    assert words(text) == 110 < 130
    assert "Friday" in text and "release depends" in text and "`x2`" in text
    assert "mess" not in text and "not acceptable" not in text


def test_editing_06_actions_and_open_questions() -> None:
    ref = reference("builtin-v2-editing-06")
    actions = ref.split("**Actions**")[1].split("**Open questions**")[0]
    rows = [line for line in actions.splitlines() if line.startswith("| ") and "Owner" not in line]
    assert len(rows) == 4 and "| Set up the redirects | Mei" in actions and "Jo |" not in actions
    questions = re.findall(r"^\d\. ", ref.split("**Open questions**")[1], re.MULTILINE)
    assert len(questions) == 4 and "1 December 2026" in ref


def test_editing_07_changelog() -> None:
    text = _text("builtin-v2-editing-07")
    assert words(text) == 58 <= 90
    assert "INV-" not in text and "Marmot" not in text and "tax" not in text.lower()
    assert text.index("API v1") < text.index("PDF") and "in our tests" in text


def test_editing_08_figures() -> None:
    assert round(100 * (1.24 - 1.10) / 1.10, 1) == 12.7
    spend = 930_000 + 186_000 + 124_000
    assert spend == 1_240_000 and round(100 * 930_000 / spend) == 75 and round(100 * 186_000 / spend) == 15
    assert round(100 * (3_150 / 2_800 - 1), 1) == 12.5


def test_editing_09_cv_bullets() -> None:
    bullets = [b for b in _text("builtin-v2-editing-09").splitlines() if b.startswith("- ")]
    assert len(bullets) == 5
    assert [words(b) for b in bullets] == [14, 14, 12, 13, 11]
    assert all(re.search(r"\[[^\]]+\]", b) for b in bullets)  # placeholders, not invented numbers
    assert not re.search(r"\d+%", "\n".join(bullets))


def test_editing_10_post_fits_280_characters() -> None:
    text = _text("builtin-v2-editing-10")
    link = re.search(r"https://\S+", text)
    assert link is not None
    assert len(text) - len(link.group(0)) + 23 == 226 <= 280
    assert date(2026, 11, 5).strftime("%A") == "Thursday"
    for kept in (
        "Thursday 5 November 2026",
        "City Library",
        "Innovation Hub, Canal Street",
        "18:00 GMT",
        "13:00 EST",
    ):
        assert kept in text, kept
    assert "18:30 GMT" in text and "Free" in text


def test_creative_01_drabble() -> None:
    text = _text("builtin-v2-creative-01")
    assert words(text) == 100 and "lanyard" in text and "said" not in text.lower()


def test_creative_02_acrostic() -> None:
    lines = _text("builtin-v2-creative-02").splitlines()
    assert "".join(line[0] for line in lines) == "HARBOUR"
    assert all(6 <= words(line) <= 10 for line in lines)
    assert not re.search(r"sea|ocean", " ".join(lines), re.IGNORECASE)


def test_creative_03_lipogram() -> None:
    text = _text("builtin-v2-creative-03")
    assert "e" not in text.lower() and 60 <= words(text) == 83 <= 90
    for fact in ("£49", "1.2 kg", "bolt cutting", "as long as you own it"):
        assert fact in text, fact


def test_creative_04_six_word_stories() -> None:
    lines = _text("builtin-v2-creative-04").splitlines()
    assert len(lines) == 5
    assert [words(line.split(": ", 1)[1]) for line in lines] == [6] * 5


def test_creative_05_dialogue_only() -> None:
    lines = _text("builtin-v2-creative-05").splitlines()
    assert len(lines) == 14 <= 16
    assert all(re.match(r"^[A-Z][A-Z ]+: ", line) for line in lines)
    spoken = " ".join(line.split(": ", 1)[1] for line in lines)
    assert words(spoken) == 135 and 120 <= 135 <= 200
    assert not re.search(r"pregnan|baby|expecting", spoken, re.IGNORECASE)


def test_creative_06_limerick() -> None:
    lines = _text("builtin-v2-creative-06").splitlines()
    ends = [re.findall(r"[a-z]+", line.lower())[-1] for line in lines]
    assert ends == ["down", "brown", "sighed", "died", "town"] and "terabyte" in lines[2]


def test_creative_07_octopus_story() -> None:
    text = _text("builtin-v2-creative-07")
    assert words(text) == 235 and 200 <= 235 <= 260 and text.endswith("?")
    for fact in ("three hearts", "It is blue", "change colour", "suckers that can taste"):
        assert fact in text, fact


def test_creative_08_reverse_chronology() -> None:
    lines = _text("builtin-v2-creative-08").splitlines()
    stamps = [line[:5] for line in lines]
    assert len(lines) == 8 and all(re.fullmatch(r"\d{2}:\d{2}", s) for s in stamps)
    assert stamps == sorted(stamps, reverse=True) and len(set(stamps)) == 8


def test_creative_09_obituary() -> None:
    text = _text("builtin-v2-creative-09")
    assert words(text) == 183 and 150 <= 183 <= 200
    assert 180 * 250 * 10 == 450_000 and "450,000" in text and "survived by" in text
    assert text.splitlines()[0].endswith("2014–2025")


def test_creative_10_recipe_poem() -> None:
    text = _text("builtin-v2-creative-10")
    lines = [line for line in text.splitlines() if line.strip()]
    assert len(lines) == 16 and len(text.split("\n\n")) == 4
    assert len({lines[i] for i in (3, 7, 11, 15)}) == 1
    positions = [text.index(i) for i in ("flour", "butter", "sugar", "eggs", "lemons", "salt")]
    assert positions == sorted(positions)
    assert "one-eighty" in text and "forty minutes" in text

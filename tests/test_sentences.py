"""Rule-based job-ad sentence splitter: segments, offsets and bounds."""

from __future__ import annotations

import types

import pytest

from workvec.errors import InputError
from workvec.runtime.sentences import Span, iter_sentences, split_sentences


def _texts(text: str, max_chars: int = 400) -> list[str]:
    spans = split_sentences(text, max_chars)
    for span in spans:
        assert text[span.start : span.end] == span.text
        assert span.text == span.text.strip() and span.text
        assert len(span.text) <= max_chars
    return [span.text for span in spans]


@pytest.mark.parametrize("text", ["", "   ", "\n\r\n\t \n", "• \n- \n-----"])
def test_empty_or_contentless_input(text: str) -> None:
    assert split_sentences(text) == []
    assert list(iter_sentences(text)) == []


@pytest.mark.parametrize("glyph", ["•", "·", "-", "*", "–", "▪", "●"])
def test_bullets_start_segments_and_are_stripped(glyph: str) -> None:
    text = f"Requirements:\n{glyph} Python\n  {glyph} SQL and dbt\n{glyph}Docker"
    got = _texts(text)
    assert got[:3] == ["Requirements:", "Python", "SQL and dbt"]
    assert got[3].endswith("Docker")


def test_inline_bullets_split() -> None:
    assert _texts("Skills: • Python • Java ▪ Go") == ["Skills:", "Python", "Java", "Go"]
    assert _texts("Python · Java") == ["Python", "Java"]


def test_hyphens_inside_text_do_not_split() -> None:
    assert _texts("Full-time role - remote possible – apply now") == [
        "Full-time role - remote possible – apply now"
    ]


def test_numbered_lists() -> None:
    text = "1. Design APIs\n2) Write tests\n(3) Review code\n10. Mentor juniors\n4.\nDeploy"
    assert _texts(text) == ["Design APIs", "Write tests", "Review code", "Mentor juniors", "Deploy"]


def test_numbers_that_are_not_list_markers_are_kept() -> None:
    assert _texts("1.5 years of Go\n2 years of Rust") == ["1.5 years of Go", "2 years of Rust"]


def test_sentence_final_punctuation_splits() -> None:
    text = "We build tools. You ship them! Ready? 3 teams wait. really no split here."
    assert _texts(text) == [
        "We build tools.",
        "You ship them!",
        "Ready?",
        "3 teams wait. really no split here.",
    ]


def test_closing_quotes_and_brackets_stay_with_sentence() -> None:
    assert _texts('He said "go." Then (we left.) Next') == [
        'He said "go."',
        "Then (we left.)",
        "Next",
    ]


@pytest.mark.parametrize(
    "text",
    [
        "Use tools, e.g. Python and Spark.",
        "Use tools, e.g Python and Spark.",
        "Use tools, i.e. Python only.",
        "Tools etc. Are welcome.",
        "Ask Dr. Smith or Mr. Jones or Ms. Lee.",
        "Benefits incl. Gym and approx. 30 days off.",
        "Python vs. Java debates.",
        "Ranked No. 1 employer at 5 St. James Street.",
        "Ask John Smith Jr. About it or Sr. Staff.",
        "Based in the U.S. We hire remotely.",
    ],
)
def test_abbreviations_do_not_split(text: str) -> None:
    assert _texts(text) == [text]


@pytest.mark.parametrize(
    "text",
    [
        "Experience with Python 3.5 and Node.js required.",
        "Build apps with .NET and ASP.NET Core.",
        "Version 2.1.3 of Vue.js and React.",
        "Pay: 50.000 EUR. Bonus: 10.5 percent.",
    ],
)
def test_decimals_and_dotted_names_do_not_split(text: str) -> None:
    got = _texts(text)
    assert "".join(got).replace(" ", "") == text.replace(" ", "")
    if text.startswith("Pay"):
        assert got == ["Pay: 50.000 EUR.", "Bonus: 10.5 percent."]
    else:
        assert got == [text]


def test_sentence_ending_with_dotted_name_splits() -> None:
    assert _texts("We use ASP.NET. We also use Node.js. Join us") == [
        "We use ASP.NET.",
        "We also use Node.js.",
        "Join us",
    ]


def test_line_breaks_split_including_crlf() -> None:
    text = "First item\r\nSecond item\r\n\r\nThird item\rFourth item\n\nFifth"
    got = split_sentences(text)
    assert [s.text for s in got] == ["First item", "Second item", "Third item", "Fourth item", "Fifth"]
    assert all("\r" not in s.text and "\n" not in s.text for s in got)
    assert [text[s.start : s.end] for s in got] == [s.text for s in got]


def test_semicolons_split_only_between_long_sides() -> None:
    short = "Python; SQL; Docker"
    assert _texts(short) == [short]
    left = "You design, build and operate data pipelines for our analytics platform"
    right = "you also mentor junior engineers and review their code on a daily basis"
    assert len(left) > 60 and len(right) > 60
    assert _texts(f"{left}; {right}") == [f"{left};", right]
    assert _texts(f"{left}; short tail") == [f"{left}; short tail"]
    assert _texts(f"short head; {right}") == [f"short head; {right}"]


@pytest.mark.parametrize("max_chars", [10, 50, 400])
def test_long_unpunctuated_line_is_windowed(max_chars: int) -> None:
    text = " ".join(f"skill{i}, tool{i}" for i in range(300))
    got = _texts(text, max_chars)
    assert len(got) > 1
    assert all(len(t) <= max_chars for t in got)
    assert "".join(got).replace(" ", "") == text.replace(" ", "")


def test_window_cuts_at_last_whitespace_or_comma() -> None:
    got = _texts("aaaa bbbb,cccc dddd", max_chars=12)
    assert got == ["aaaa bbbb,", "cccc dddd"]


def test_unbreakable_token_is_hard_cut() -> None:
    text = "x" * 1000
    got = _texts(text, max_chars=400)
    assert [len(t) for t in got] == [400, 400, 200]
    assert "".join(got) == text


def test_offsets_map_back_to_original() -> None:
    text = (
        "  About us\r\n\r\n• We build .NET apps, e.g. for banks. You will help!\n"
        "  2) Own CI/CD ; keep it fast\n\t– Mentor others…  \n"
    )
    spans = split_sentences(text)
    assert [s.text for s in spans] == [
        "About us",
        "We build .NET apps, e.g. for banks.",
        "You will help!",
        "Own CI/CD ; keep it fast",
        "Mentor others…",
    ]
    for span in spans:
        assert text[span.start : span.end] == span.text
    assert [s.start for s in spans] == sorted(s.start for s in spans)


def test_span_is_frozen() -> None:
    span = Span("abc", 0, 3)
    with pytest.raises(AttributeError):
        span.text = "x"  # type: ignore[misc]


def test_iter_sentences_streams_and_validates() -> None:
    stream = iter_sentences("One. Two.")
    assert isinstance(stream, types.GeneratorType)
    assert next(stream) == Span("One.", 0, 4)
    with pytest.raises(InputError):
        iter_sentences("text", max_chars=0)


def test_unicode_capitals_split() -> None:
    assert _texts("Wir suchen dich. Über uns: viel.") == ["Wir suchen dich.", "Über uns: viel."]


@pytest.mark.parametrize(
    "chunk",
    [
        "We hire engineers. You build. • Python\n- SQL; Docker\r\n1. Go 3.5 and .NET\n\n",
        "word " * 200 + "\n",
        "A" + "." * 5000 + " " * 5000 + ";" * 5000 + "•B" * 500 + " 1. C" * 500 + "\n",
    ],
)
def test_one_megabyte_input_finishes_with_bounded_segments(chunk: str) -> None:
    text = chunk * (1_000_000 // len(chunk) + 1)
    assert len(text) >= 1_000_000
    count = 0
    last_end = 0
    for span in iter_sentences(text):
        assert 0 < len(span.text) <= 400
        assert span.start >= last_end
        last_end = span.end
        count += 1
    assert count > 0

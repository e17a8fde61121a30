"""SkillExtractor's extract API on the tiny skill bundle: batches, per-sentence results, merging, inputs, long ads."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from conftest import shared_index_dir, shared_path
from skills_support import AD, LINES, TINY_THRESHOLD, check_match

from workvec import (
    Encoder,
    ExtractSettings,
    LabelIndex,
    SkillExtractor,
    SkillMatch,
    Span,
    merge_sentences,
    split_sentences,
)
from workvec.errors import InputError
from workvec.runtime.skills import SENTENCES_PER_CHUNK

# --- batch, sentences, merge ----------------------------------------------------------------------------------------


def assert_same_matches(got: list[list[SkillMatch]], want: list[list[SkillMatch]]) -> None:
    """Equal matches, scores within float32 noise (a batch pads differently)."""
    assert len(got) == len(want)
    for a, b in zip(got, want):
        assert [(m.id, m.sentence_start, m.sentence_end, m.evidence) for m in a] == \
               [(m.id, m.sentence_start, m.sentence_end, m.evidence) for m in b]
        np.testing.assert_allclose([m.score for m in a], [m.score for m in b], atol=2e-5)


BATCH_TEXTS = [AD, "", "\n".join(LINES), "Python", AD.replace("\n", " "), "• • •"]


def test_extract_batch_equals_extract_one_by_one(tiny_skill_bundle: Path, esco: LabelIndex) -> None:
    fp32 = SkillExtractor(Encoder.open(tiny_skill_bundle, precision="fp32"), esco,
                          ExtractSettings(threshold=TINY_THRESHOLD))
    batch = [r.skills for r in fp32.extract_batch(BATCH_TEXTS)]
    assert_same_matches(batch, [fp32.extract(t).skills for t in BATCH_TEXTS])
    assert batch[1] == () and batch[5] == () and batch[0]
    assert fp32.extract_batch([]) == []


def test_int8_extract_batch_equals_extract_one_by_one(extractor: SkillExtractor) -> None:
    """Per-row int8 activations: a sentence's matches do not depend on its batch-mates (issue 9)."""
    assert_same_matches([r.skills for r in extractor.extract_batch(BATCH_TEXTS)],
                        [extractor.extract(t).skills for t in BATCH_TEXTS])


def test_extract_sentences_then_merge_is_extract(extractor: SkillExtractor) -> None:
    spans = split_sentences(AD)
    per_sentence = [o.matches for o in extractor.run([s.text for s in spans])]
    assert len(per_sentence) == len(spans)
    for span, matches in zip(spans, per_sentence):
        assert extractor.settings.k is None or len(matches) <= extractor.settings.k
        for m in matches:  # offsets relative to the sentence
            check_match(m, span.text)
            assert (m.sentence_start, m.sentence_end) == (0, len(span.text))
    merged = merge_sentences(spans, per_sentence)
    assert tuple(merged) == extractor.extract(AD).skills
    for m in merged:
        check_match(m, AD)


def test_merge_keeps_the_best_sentence_per_skill_and_shifts_offsets() -> None:
    from workvec import Evidence

    text = "Use Python. Know Python well."
    spans = [Span("Use Python.", 0, 11), Span("Know Python well.", 12, 29)]

    def match(cid: str, score: float, sentence: str, word: str) -> SkillMatch:
        start = sentence.index(word)
        return SkillMatch(cid, cid, score, sentence, 0, len(sentence),
                          (Evidence(word, start, start + len(word), 1.0),))

    per_sentence = [[match("py", 0.7, spans[0].text, "Python"), match("use", 0.65, spans[0].text, "Use")],
                    [match("py", 0.9, spans[1].text, "Python"), match("know", 0.6, spans[1].text, "Know")]]
    merged = merge_sentences(spans, per_sentence)
    assert [(m.id, m.score) for m in merged] == [("py", 0.9), ("use", 0.65), ("know", 0.6)]
    for m in merged:
        check_match(m, text)
    assert (merged[0].sentence_start, merged[0].evidence[0].start) == (12, 17)
    tie = merge_sentences(spans, [[match("py", 0.8, spans[0].text, "Python")], [match("py", 0.8, spans[1].text, "Python")]])
    assert tie[0].sentence_start == 0  # the first sentence wins a tie
    assert merge_sentences([], []) == []
    with pytest.raises(InputError, match="spans"):
        merge_sentences(spans, per_sentence[:1])


# --- input contract --------------------------------------------------------------------------------------------------


def test_skill_extractor_needs_a_skill_bundle(tiny_title_bundle: Path, esco: LabelIndex, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="skill bundle"):
        SkillExtractor(Encoder.open(tiny_title_bundle), esco)
    with pytest.raises(InputError, match="skill bundle"):
        SkillExtractor.open(tiny_title_bundle, index_dir=tmp_path, progress=False)


def test_open_builds_the_same_extractor(tiny_skill_bundle: Path, extractor: SkillExtractor, tmp_path_factory) -> None:
    opened = SkillExtractor.open(tiny_skill_bundle, threshold=TINY_THRESHOLD, k=extractor.settings.k,
                                 index_dir=shared_index_dir(tmp_path_factory, "esco"), progress=False)
    assert opened.settings == extractor.settings and opened.labels.taxonomy.name == "esco-skills"
    assert opened.extract(AD).skills == extractor.extract(AD).skills
    with pytest.raises(TypeError):
        SkillExtractor.open(tiny_skill_bundle, "esco-skills")  # type: ignore[misc]  # options are keyword-only


@pytest.mark.parametrize("text", ["", "   ", "\n\n\t", "-----\n* * *", "• • •"])
def test_text_without_words_has_no_skills(extractor: SkillExtractor, text: str) -> None:
    assert extractor.extract(text).skills == ()


@pytest.mark.parametrize("text", [None, b"Python programming", ["Python programming"], 42])
def test_non_string_text_is_a_type_error(extractor: SkillExtractor, text) -> None:
    with pytest.raises(TypeError, match="text must be str"):
        extractor.extract(text).skills


@pytest.mark.parametrize("kwargs", [{"threshold": -0.1}, {"threshold": 1.5}, {"threshold": math.nan},
                                    {"k": 0}, {"token_k": 0}, {"sentence_k": -3}, {"ef": 0}])
def test_bad_settings_are_input_errors(kwargs) -> None:
    with pytest.raises(InputError):
        ExtractSettings(**kwargs)


# --- long ads (SkillSpan sentences from the shared data) ------------------------------------------------------------


def _corpus_lines(limit_chars: int) -> list[str]:
    path = shared_path("corpus", "skillspan", "json", "train.json")
    lines, size = [], 0
    while size < limit_chars:
        with open(path, encoding="utf-8") as fh:
            for raw in fh:
                line = " ".join(json.loads(raw)["tokens"])
                lines.append(line)
                size += len(line) + 1
                if size >= limit_chars:
                    break
    return lines


def test_a_multi_chunk_ad(extractor: SkillExtractor) -> None:
    lines = [line for line in _corpus_lines(40_000) if len(line.split()) >= 6][: 2 * SENTENCES_PER_CHUNK + 5]
    ad = "\n".join(lines)
    sentences = {s.text for s in split_sentences(ad)}
    assert len(sentences) > 2 * SENTENCES_PER_CHUNK
    found = extractor.extract(ad).skills
    assert len(found) > 10 and len({m.id for m in found}) == len(found)
    assert {m.sentence for m in found} <= sentences
    assert [m.score for m in found] == sorted((m.score for m in found), reverse=True)
    for match in found:
        check_match(match, ad)


@pytest.mark.slow
def test_a_one_megabyte_ad_completes(extractor: SkillExtractor) -> None:
    ad = "\n".join(_corpus_lines(1_000_000))
    assert len(ad) >= 1_000_000
    found = extractor.extract(ad).skills
    assert isinstance(found, tuple) and found
    assert len({m.id for m in found}) == len(found)

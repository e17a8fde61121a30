"""Evidence worth showing (workvec.runtime.evidence.EvidenceRule, applied by workvec.runtime.shaping with
ShapeSettings(evidence=EvidenceRule())): a match whose only evidence is a fragment of a word, a word that is a
fragment of the label's, or function words is dropped; a match on a whole word is kept.

The word rules on their own, then real sentences through the shipped model: two SkillSpan validation
sentences whose fragment matches the rule was measured on, and the issue's own example, over a few ESCO
labels (the rule judges each match on its own, so with the full taxonomy it drops the same matches; the full
taxonomy answered these sentences with them)."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import write_taxonomy

from workvec.defaults import SHIPPED_BUNDLE
from workvec.runtime.evidence import EvidenceRule, Run, evidence_runs, fragment_of, same_word
from workvec.runtime.shaping import ShapeSettings, shape_sentence
from workvec.runtime.skills import SkillExtractor, default_threshold

OFF = EvidenceRule(False, False, False)


def run(sentence: str, word: str, share: float) -> Run:
    start = sentence.index(word)
    return Run(start, start + len(word), 1.0, ((start, start + len(word), share),))


def test_words_are_the_same_up_to_an_inflection_and_fragments_are_not() -> None:
    for a, b in [("layout", "layouts"), ("pig", "pigs"), ("proactive", "proactively"), ("surgeon", "surgery"),
                 ("copywriters", "copywriting"), ("sql", "sql")]:
        assert same_word(a, b) and not fragment_of(a, b), (a, b)
    for a, b in [("snowflake", "snow"), ("va", "vats"), ("java", "javascript"), ("teamwork", "team")]:
        assert fragment_of(a, b) and not same_word(a, b), (a, b)
    for a, b in [("castration", "casting"), ("excel", "spreadsheets")]:
        assert not fragment_of(a, b) and not same_word(a, b), (a, b)


def test_the_rule_judges_evidence_against_the_label() -> None:
    rule = EvidenceRule()
    snow = "Experience with Snowflake is required."
    assert rule.weak(snow, [run(snow, "Snowflake", 4 / 9)], "remove snow")  # only 'Snow' of it matched
    assert not rule.weak(snow, [run(snow, "Snowflake", 4 / 9)], "Snowflake")  # the label has the word
    assert not OFF.weak(snow, [run(snow, "Snowflake", 4 / 9)], "remove snow")
    va = "Located in Richmond VA."
    assert rule.weak(va, [run(va, "VA", 1.0)], "perform VATS")  # whole word, but a fragment of the label's
    assert not rule.weak(va, [run(va, "VA", 1.0)], "VA benefits")
    sql = "You are fluent in SQL."
    assert not rule.weak(sql, [run(sql, "in", 1.0), run(sql, "SQL", 1.0)], "SQL")
    assert not rule.weak(sql, [run(sql, "SQL", 1.0)], "use query languages")  # no lexical link: the model's call
    assert rule.weak(sql, [run(sql, "in", 1.0)], "use query languages")  # function words only
    mixed = "Knowledge of Snowflake and data warehousing."
    assert not rule.weak(mixed, [run(mixed, "Snowflake", 0.44), run(mixed, "warehousing", 1.0)], "data warehouse")


# ESCO preferred labels: the matches of the sentences below with the full taxonomy, and a few others.
ESCO = ["casting processes", "carry out feeding operations", "develop animal feeds", "numerology",
        "cooperate with colleagues", "remove snow", "SQL", "data warehouse", "Java (computer programming)",
        "JavaScript", "work in teams", "snow removal"]


@pytest.fixture(scope="module")
def extractor(tmp_path_factory) -> SkillExtractor:
    folder = tmp_path_factory.mktemp("evidence-rule")
    taxonomy = write_taxonomy(folder / "esco-some.csv", [(f"s{i}", label, ()) for i, label in enumerate(ESCO)])
    return SkillExtractor.open(SHIPPED_BUNDLE, taxonomy=taxonomy, index_dir=folder / "idx", requirement_filter=False,
                               threads=1, progress=False)


def shaped(extractor: SkillExtractor, sentence: str, rule: EvidenceRule | None) -> dict[str, list[str]]:
    """label -> evidence texts of a sentence's kept matches at the shipped model's calibrated threshold."""
    (encoded,) = extractor.encoder.encode_tokens([sentence])
    rows, scores = extractor.score_sentence_tokens(encoded.vectors)
    settings = ShapeSettings(threshold=extractor.settings.threshold, evidence=rule)
    out = shape_sentence(sentence, encoded.vectors, encoded.offsets, rows, scores, extractor.labels, settings)
    return {extractor.labels.taxonomy.concepts[m.owner].label: [e.text for e in m.evidence] for m in out}


@pytest.mark.parametrize("sentence, fragment, whole", [
    ("The tasks can be feeding moving castration insemination monitoring the animals health and others .",
     "casting processes", "carry out feeding operations"),  # 'cast' of 'castration'
    (("You must be highly numerate and possess strong communicative skills that enables you to interact with"
      " colleagues"), "numerology", "cooperate with colleagues"),  # 'nu', 'mer' of 'numerate'
    ("Experience with Snowflake and SQL is required.", "remove snow", "SQL"),  # 'Snow' of 'Snowflake'
])
def test_a_fragment_match_is_dropped_and_a_whole_word_match_kept(extractor: SkillExtractor, sentence: str,
                                                                 fragment: str, whole: str) -> None:
    assert extractor.settings.threshold == default_threshold(extractor.encoder.manifest) == 0.575
    before = {m.label: [e.text for e in m.evidence] for m in extractor.extract(sentence).skills}
    assert fragment in before and whole in before, before  # what `extract` answers (no rule by default)
    assert shaped(extractor, sentence, None) == before
    after = shaped(extractor, sentence, EvidenceRule())
    assert fragment not in after and after[whole] == before[whole], after


def test_a_margin_demotes_instead_of_dropping(extractor: SkillExtractor) -> None:
    sentence = "Experience with Snowflake and SQL is required."
    score = {m.label: m.score for m in extractor.extract(sentence).skills}["remove snow"]  # 0.67
    assert "remove snow" in shaped(extractor, sentence, EvidenceRule(margin=score - 0.575 - 0.01))
    assert "remove snow" not in shaped(extractor, sentence, EvidenceRule(margin=score - 0.575 + 0.01))


def test_the_rule_is_a_setting_off_by_default() -> None:
    assert ShapeSettings(threshold=0.5).evidence is None
    assert EvidenceRule().active and not OFF.active


def test_evidence_runs_say_how_much_of_each_word_the_tokens_cover(extractor: SkillExtractor) -> None:
    sentence = "Experience with Snowflake and SQL is required."
    (encoded,) = extractor.encoder.encode_tokens([sentence])
    weights = np.zeros(len(encoded.offsets), np.float32)
    weights[[i for i, (a, b) in enumerate(encoded.offsets.tolist()) if sentence[a:b] == "Snow"]] = 1.0
    (snow,) = evidence_runs(sentence, weights, encoded.offsets)  # the token 'Snow' alone carries the evidence
    assert sentence[snow.start:snow.end] == "Snowflake" and snow.words[0][2] == pytest.approx(4 / 9)
    assert EvidenceRule().weak(sentence, [snow], "remove snow") and not OFF.weak(sentence, [snow], "remove snow")

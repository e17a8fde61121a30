"""TitleNormalizer.normalize (plan -> search -> finish): cleaned titles, the original kept, and the calibrated no-match floor (real MiniLM
title bundle, the embedded ESCO occupations)."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import shared_index_dir

from workvec.runtime.encoder import Encoder
from workvec.runtime.labels import LabelIndex
from workvec.runtime.taxonomy import load_taxonomy
from workvec.runtime.settings import NormalizeSettings
from workvec.runtime.title_answer import no_match_floor
from workvec.runtime.title_job import TitleJob, title_queries
from workvec.runtime.titles import DEFAULT_TAXONOMY, TitleMatch, TitleNormalizer


@pytest.fixture(scope="module")
def normalizer(minilm_title: Path, tmp_path_factory) -> TitleNormalizer:
    encoder = Encoder.open(minilm_title, precision="int8", providers="cpu", threads=1)
    labels = LabelIndex.open(encoder, load_taxonomy(DEFAULT_TAXONOMY),
                             index_dir=shared_index_dir(tmp_path_factory, "esco-occupations"), progress=False)
    return TitleNormalizer(encoder, labels)


def test_a_trailing_qualifier_is_also_searched_without_it() -> None:
    cleaned = ["Java Developer (Spring Boot)", "Nurse", "(Marketing)", "Engineer [R&D] ", "Cook (Day) (Night)"]
    assert title_queries(cleaned) == [("Java Developer (Spring Boot)", "Java Developer"), ("Nurse",),
                                      ("(Marketing)",), ("Engineer [R&D] ", "Engineer"),
                                      ("Cook (Day) (Night)", "Cook (Day)")]
    assert title_queries(cleaned, clean=False) == [(t,) for t in cleaned]  # --no-clean: the title as given
    assert title_queries(["", "  "]) == [(), ()]  # a blank title searches nothing


def test_a_job_searches_each_distinct_text_once() -> None:
    job = TitleJob.plan(["Nurse (m/w/d)", "Nurse", "Nurse (Night)", "", "Nurse"], NormalizeSettings(), floor=0.5)
    assert job.texts == ("Nurse", "Nurse (Night)")
    assert job.queries == ((0,), (0,), (1, 0), (), (0,))
    answers = job.finish([[_match("nurse", 0.9)], [_match("night", 0.6)]])
    assert [a.matches[0].id if a.matches else None for a in answers] == ["nurse", "nurse", "nurse", None, "nurse"]
    assert answers[3].no_match and answers[2].cleaned == "Nurse (Night)"
    with pytest.raises(ValueError, match="2 texts were planned but 1"):
        job.finish([[]])


def _match(id_: str, score: float, via: str = "") -> TitleMatch:
    return TitleMatch(id_, id_, score, via or id_)


def test_answers_keep_each_concepts_best_score_over_the_texts() -> None:
    found = {"Java Developer (Spring Boot)": [_match("web", 0.52), _match("dev", 0.49, "full")],  # the full title
             "Java Developer": [_match("dev", 0.66, "bare"), _match("apps", 0.62), _match("web", 0.52, "bare")],
             "Nurse": [_match("nurse", 0.9)]}
    job = TitleJob.plan(["Sr. Java Developer (Spring Boot)", "Nurse"], NormalizeSettings(k=3), floor=0.53)
    java, nurse = job.finish([found[text] for text in job.texts])
    assert [(m.id, m.score, m.matched_label) for m in java.matches] == [("dev", 0.66, "bare"), ("apps", 0.62, "apps"),
                                                                         ("web", 0.52, "web")]  # a tie keeps the first
    assert java.cleaned == "Java Developer (Spring Boot)" and not java.no_match
    assert [m.id for m in nurse.matches] == ["nurse"]
    job = TitleJob.plan(["x (y)"], NormalizeSettings(k=1), floor=0.53)
    (low,) = job.finish([[_match("a", 0.3)], [_match("b", 0.5)]])
    assert [m.id for m in low.matches] == ["b"] and low.no_match  # k caps the merged list; floor on its best


def test_tied_concepts_keep_one_order_for_every_k() -> None:
    """Concepts sharing a label tie exactly ("physician": general practitioner, specialised doctor)."""
    full = [_match("lecturer", 0.76), _match("specialist", 0.74), _match("gp", 0.70)]
    bare = [_match("gp", 1.0), _match("specialist", 1.0), _match("lecturer", 0.76)]
    jobs = [TitleJob.plan(["Physician (Psychiatrist)"], NormalizeSettings(k=k), floor=None) for k in (1, 2, 3)]
    orders = [[m.id for m in job.finish([full[:k], bare[:k]])[0].matches] for k, job in zip((1, 2, 3), jobs)]
    assert orders == [["gp"], ["gp", "specialist"], ["gp", "specialist", "lecturer"]]


def test_default_taxonomy_is_esco_occupations() -> None:
    assert DEFAULT_TAXONOMY == "esco-occupations"
    assert len(load_taxonomy(DEFAULT_TAXONOMY)) == 2942


@pytest.mark.integration
def test_answers_clean_keep_the_query_and_flag_no_match(normalizer: TitleNormalizer) -> None:
    titles = ["Warehouse Worker (m/w/d)", "Pflegefachkraft", "   "]
    worker, german, blank = normalizer.normalize(titles, NormalizeSettings(k=3, language_guard=False))
    assert (worker.query, worker.cleaned, worker.no_match) == ("Warehouse Worker (m/w/d)", "Warehouse Worker", False)
    assert "warehouse worker" in [m.label for m in worker.matches[:2]]  # ties with "warehouse order picker" (0.99)
    assert german.no_match and len(german.matches) == 3  # best candidates kept for inspection
    assert german.matches[0].score < no_match_floor(normalizer.encoder, "esco-occupations")
    assert blank.no_match and blank.matches == ()
    assert worker.to_json()["query"] == "Warehouse Worker (m/w/d)"


@pytest.mark.integration
def test_cleaning_and_floor_can_be_turned_off(normalizer: TitleNormalizer) -> None:
    unfloored = TitleNormalizer(normalizer.encoder, normalizer.labels, floor=None)
    (raw,) = unfloored.normalize(["Pflegefachkraft (m/w/d)"], NormalizeSettings(k=2, clean=False, language_guard=False))
    assert raw.cleaned == raw.query and raw.no_match is False


@pytest.mark.integration
def test_the_floor_belongs_to_its_model(normalizer: TitleNormalizer, minilm_skill: Path) -> None:
    assert no_match_floor(normalizer.encoder, "esco-occupations") == pytest.approx(0.545)
    assert no_match_floor(normalizer.encoder, "onet") is None  # not calibrated: never says no_match
    other = Encoder.open(minilm_skill, precision="int8", providers="cpu", threads=1)
    assert no_match_floor(other, "esco-occupations") is None


def _tie(id_: str, score: float, preferred: float, via: str = "shared") -> TitleMatch:
    return TitleMatch(id_, id_, score, via, preferred)


def test_exact_ties_go_to_the_concept_the_title_names() -> None:
    """'accountant' is the occupation accountant's preferred label and an alternative of financial controller:
    the tie (within float noise) goes to the concept whose own preferred label is closer to the title."""
    found = [[_tie("controller", 1.0, 0.55, "accountant"), _tie("accountant", 0.9999995, 1.0, "accountant"),
              _tie("assistant", 0.86, 0.74)]]
    for k in (1, 2, 3):
        (answer,) = TitleJob.plan(["Accountant"], NormalizeSettings(k=k), floor=None).finish(found)
        assert [m.id for m in answer.matches] == ["accountant", "controller", "assistant"][:k]
        assert answer.tied_with == ("controller",)  # reported even when k cuts it off
        assert answer.to_json()["tied_with"] == ["controller"] and "preferred" not in answer.to_json()["matches"][0]
    (clear,) = TitleJob.plan(["x"], NormalizeSettings(k=2), floor=None).finish([[_tie("a", 0.9, 0.1), _tie("b", 0.8, 1.0)]])
    assert [m.id for m in clear.matches] == ["a", "b"] and clear.tied_with == ()  # no tie: the score decides


def test_the_shipped_model_resolves_ties_by_meaning(tmp_path: Path) -> None:
    """Real ESCO concepts that share a label: the answer names the occupation the title names."""
    from conftest import write_taxonomy

    esco = load_taxonomy("esco-occupations")
    wanted = {"accountant", "financial controller", "civil engineer", "land planner", "plumber", "pipe welder"}
    rows = [(c.id, c.label, list(c.alt_labels)) for c in esco.concepts if c.label in wanted]
    titles = TitleNormalizer.open(taxonomy=write_taxonomy(tmp_path / "ties.csv", rows), index_dir=tmp_path, threads=1)
    answers = titles.normalize(["Accountant", "Civil Engineer", "Lead Plumber"], k=1)
    assert [a.matches[0].label for a in answers] == ["accountant", "civil engineer", "plumber"]
    assert all(len(a.tied_with) == 1 for a in answers)

"""TitleNormalizer: job titles -> ranked taxonomy concepts (a concept scores by its best label).

Fast tier: the committed tiny title bundle with small CSV taxonomies and the embedded O*NET (contracts, not
semantics). Integration tier: all-MiniLM-L6-v2 on ESCO occupations (shared data) for the rankings' sense.
"""

from __future__ import annotations

import inspect

import shutil
from pathlib import Path

import numpy as np
import pytest

from conftest import shared_index_dir, shared_path, write_taxonomy
from workvec import Encoder, LabelIndex, Taxonomy, TitleMatch, TitleNormalizer
from workvec.errors import InputError

JOBS = [
    ("nurse", "registered nurse", ["staff nurse", "RN", "nursing officer", "ward nurse"]),
    ("driver", "truck driver", ["lorry driver", "HGV driver"]),
    ("chef", "chef", ["head cook", "kitchen chef", "sous chef"]),
    ("dev", "software developer", ["software engineer", "programmer", "backend developer"]),
    ("acct", "accountant", ["bookkeeper", "chartered accountant"]),
    ("teacher", "primary school teacher", ["elementary teacher"]),
    ("welder", "welder", ["welding technician"]),
    ("sales", "sales representative", ["sales rep", "account executive"]),
    ("clean", "cleaner", ["janitor", "housekeeper"]),
    ("mech", "car mechanic", ["automotive technician", "motor mechanic"]),
]
TITLES = ["Senior Java Developer", "RN - night shift", "Head Chef (Italian restaurant)", "HGV Class 1 driver",
          "school teacher", "office cleaner", "accounts assistant", "welding", "sales executive", "mechanic"]


def labels_of(taxonomy: Taxonomy, concept_id: str) -> set[str]:
    concept = next(c for c in taxonomy.concepts if c.id == concept_id)
    return {concept.label, *concept.alt_labels}


def check_ranking(matches: list[TitleMatch], taxonomy: Taxonomy, k: int) -> None:
    """Up to k distinct concepts, best first, each matched through one of its own labels."""
    assert 0 < len(matches) <= k
    ids = [m.id for m in matches]
    assert len(set(ids)) == len(ids), f"concepts repeat: {ids}"
    scores = [m.score for m in matches]
    assert scores == sorted(scores, reverse=True), scores
    by_id = {c.id: c for c in taxonomy.concepts}
    for m in matches:
        assert m.label == by_id[m.id].label
        assert m.matched_label in labels_of(taxonomy, m.id), (m.matched_label, m.id)
        assert -1.0 <= m.score <= 1.0 + 1e-5


def index_of(encoder: Encoder, taxonomy: Taxonomy, index_dir: Path) -> LabelIndex:
    return LabelIndex.open(encoder, taxonomy, index_dir=index_dir, progress=False)


@pytest.fixture(scope="module")
def encoder(tiny_title_bundle: Path) -> Encoder:
    return Encoder.open(tiny_title_bundle)


@pytest.fixture(scope="module")
def jobs_csv(tmp_path_factory) -> Path:
    return write_taxonomy(tmp_path_factory.mktemp("jobs") / "jobs.csv", JOBS)


@pytest.fixture(scope="module")
def jobs(jobs_csv: Path) -> Taxonomy:
    return Taxonomy.open(jobs_csv)


@pytest.fixture(scope="module")
def jobs_normalizer(encoder: Encoder, jobs: Taxonomy, tmp_path_factory) -> TitleNormalizer:
    return TitleNormalizer(encoder, index_of(encoder, jobs, tmp_path_factory.mktemp("idx")))


@pytest.fixture(scope="module")
def esco(minilm_title: Path, tmp_path_factory) -> TitleNormalizer:
    """ESCO occupations with their alternative labels (~33k labels, an HNSW index), as `workvec normalize` uses."""
    encoder = Encoder.open(minilm_title)
    taxonomy = Taxonomy.open(shared_path("esco", "occupations_en.csv"))
    return TitleNormalizer(encoder, index_of(encoder, taxonomy, shared_index_dir(tmp_path_factory, "occupations")))


def test_concepts_score_by_their_best_label_exactly(tiny_title_bundle: Path, jobs: Taxonomy, tmp_path: Path) -> None:
    # fp32 (batch-independent vectors) and an exact index: the ranking must equal a brute-force reference.
    encoder = Encoder.open(tiny_title_bundle, precision="fp32")
    index = index_of(encoder, jobs, tmp_path)
    assert index.index.mode == "exact"
    normalizer = TitleNormalizer(encoder, index)
    k = 4
    results = normalizer.search(TITLES, k=k)
    assert len(results) == len(TITLES)
    queries = encoder.encode(TITLES).astype(np.float64)
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    cosines = queries @ index.index.vectors().T.astype(np.float64)  # (titles, labels)
    for title, matches, row in zip(TITLES, results, cosines):
        check_ranking(matches, jobs, k)
        assert len(matches) == k
        best = {}  # concept id -> (best label cosine, that label)
        for label, owner, score in zip(index.labels, index.owners, row):
            cid = jobs.concepts[owner].id
            if cid not in best or score > best[cid][0]:
                best[cid] = (score, label)
        want = sorted(best.values(), reverse=True)[:k]
        np.testing.assert_allclose([m.score for m in matches], [s for s, _ in want], atol=1e-4, err_msg=title)
        for m in matches:
            assert m.score == pytest.approx(best[m.id][0], abs=1e-4), (title, m)
            assert m.matched_label == best[m.id][1], (title, m)


def test_k_larger_than_the_taxonomy_returns_every_concept(jobs_normalizer: TitleNormalizer, jobs: Taxonomy) -> None:
    (matches,) = jobs_normalizer.search(["line cook"], k=50)
    assert sorted(m.id for m in matches) == sorted(c.id for c in jobs.concepts)
    check_ranking(matches, jobs, 50)


def test_a_concept_with_many_close_labels_does_not_crowd_out_the_others(encoder: Encoder, tmp_path: Path) -> None:
    rows = [("dev", "software developer", [f"software developer {n}" for n in range(1, 400)]),
            ("chef", "chef", []), ("nurse", "nurse", []), ("driver", "truck driver", [])]
    taxonomy = Taxonomy.open(write_taxonomy(tmp_path / "crowded.csv", rows))
    normalizer = TitleNormalizer(encoder, index_of(encoder, taxonomy, tmp_path))
    for k in (1, 3, 4):
        (matches,) = normalizer.search(["software developer"], k=k)
        assert len(matches) == k, f"k={k}: only {[m.id for m in matches]} though the taxonomy has 4 concepts"
        assert matches[0].id == "dev"
        check_ranking(matches, taxonomy, k)


def test_blank_titles_get_empty_lists_in_place(jobs_normalizer: TitleNormalizer, jobs: Taxonomy) -> None:
    results = jobs_normalizer.search(["", "sous chef", "   ", "\t\n", "truck driver"], k=3)
    assert [len(r) for r in results] == [0, 3, 0, 0, 3]
    assert results[1][0].id == "chef" and results[4][0].id == "driver"  # exact label texts
    assert jobs_normalizer.search(["", " "], k=2) == [[], []]
    assert jobs_normalizer.search([], k=2) == []


@pytest.mark.parametrize("k", [0, -1, 2.5, "3", None])
def test_bad_k_is_an_input_error(jobs_normalizer: TitleNormalizer, k) -> None:
    with pytest.raises(InputError, match="k must be a positive integer"):
        jobs_normalizer.search(["chef"], k=k)


@pytest.mark.parametrize("titles", [["chef", None], [3], [b"chef"], "chef"])
def test_non_string_titles_are_a_type_error(jobs_normalizer: TitleNormalizer, titles) -> None:
    with pytest.raises(TypeError):
        jobs_normalizer.search(titles, k=2)


def test_title_normalizer_needs_a_title_bundle(tiny_skill_bundle: Path, tmp_path: Path, jobs: Taxonomy) -> None:
    skill_encoder = Encoder.open(tiny_skill_bundle)
    with pytest.raises(InputError, match="title bundle"):
        TitleNormalizer(skill_encoder, index_of(skill_encoder, jobs, tmp_path))
    with pytest.raises(InputError, match="title bundle"):
        TitleNormalizer.open(tiny_skill_bundle, taxonomy=jobs, index_dir=tmp_path, progress=False)


def test_matches_serialise_to_json(jobs_normalizer: TitleNormalizer) -> None:
    (matches,) = jobs_normalizer.search(["sous chef"], k=2)
    data = matches[0].to_json()
    assert data == {"id": "chef", "label": "chef", "score": matches[0].score, "matched_label": "sous chef"}


# --- the facade: TitleNormalizer.open ------------------------------------------------------------------------


def test_open_takes_a_name_a_path_or_a_taxonomy(tiny_title_bundle: Path, jobs_csv: Path, jobs: Taxonomy,
                                                jobs_normalizer: TitleNormalizer, tmp_path: Path) -> None:
    want = jobs_normalizer.search(TITLES, k=3)
    for taxonomy in (jobs, jobs_csv, str(jobs_csv)):
        titles = TitleNormalizer.open(tiny_title_bundle, taxonomy=taxonomy, index_dir=tmp_path, progress=False)
        assert titles.search(TITLES, k=3) == want
    assert inspect.signature(TitleNormalizer.open).parameters["taxonomy"].default == "esco-occupations"
    onet = TitleNormalizer.open(tiny_title_bundle, taxonomy="onet", index_dir=tmp_path, progress=False)
    assert onet.labels.taxonomy.name == "onet" and len(onet.labels.taxonomy) > 1000
    (matches,) = onet.search(["Registered Nurses"], k=2)
    assert matches[0].label == "Registered Nurses" and matches[0].id == "29-1141.00"  # exact label text
    with pytest.raises(TypeError):
        TitleNormalizer.open(tiny_title_bundle, "onet")  # type: ignore[misc]  # options are keyword-only


def test_open_without_a_bundle_uses_the_default_one(tiny_title_bundle: Path, jobs: Taxonomy,
                                                    jobs_normalizer: TitleNormalizer, tmp_path: Path,
                                                    monkeypatch) -> None:
    monkeypatch.setenv("WORKVEC_HOME", str(tmp_path))
    shutil.copytree(tiny_title_bundle, tmp_path / "bundles" / "minilm-title")
    monkeypatch.setenv("WORKVEC_TITLE_BUNDLE", str(tmp_path / "bundles" / "minilm-title"))  # instead of the shipped one
    titles = TitleNormalizer.open(taxonomy=jobs, progress=False)
    assert Path(titles.encoder.info.bundle) == tmp_path / "bundles" / "minilm-title"
    assert titles.search(TITLES, k=3) == jobs_normalizer.search(TITLES, k=3)
    assert len(list((tmp_path / "indexes").iterdir())) == 1  # the cache lives under $WORKVEC_HOME


@pytest.mark.integration
def test_esco_rankings_are_well_formed(esco: TitleNormalizer) -> None:
    taxonomy = esco.labels.taxonomy
    assert len(taxonomy) == 2942 and len(esco.labels.labels) > 30_000
    assert esco.labels.index.mode == "hnsw"
    for k in (1, 5, 10):
        for matches in esco.search(TITLES + ["registered nurse", "truck driver"], k=k):
            assert len(matches) == k
            check_ranking(matches, taxonomy, k)


@pytest.mark.integration
def test_esco_sanity(esco: TitleNormalizer) -> None:
    nurse, truck, dev, chef = esco.search(["Registered Nurse", "truck driver", "software engineer", "chef"], k=5)
    assert all("nurs" in m.label or "nurs" in m.matched_label for m in nurse[:3]), nurse
    # alternative labels count: 'truck driver' and 'software engineer' are alt labels of these ESCO occupations
    assert (truck[0].label, truck[0].matched_label) == ("cargo vehicle driver", "truck driver")
    assert (dev[0].label, dev[0].matched_label) == ("software developer", "software engineer")
    assert truck[0].score > 0.95 and dev[0].score > 0.95
    assert chef[0].label == "chef" and chef[0].score > 0.95


@pytest.mark.integration
def test_esco_preferred_labels_find_their_own_occupation(esco: TitleNormalizer) -> None:
    taxonomy = esco.labels.taxonomy
    rng = np.random.default_rng(3)
    concepts = [taxonomy.concepts[i] for i in rng.choice(len(taxonomy), 400, replace=False)]
    results = esco.search([c.label for c in concepts], k=5)
    in_top5 = [c.id in {m.id for m in r} for c, r in zip(concepts, results)]
    assert all(in_top5), [c.label for c, ok in zip(concepts, in_top5) if not ok]
    # Rank 1 is the concept itself, or another occupation holding the very same text as an alternative label
    # (ESCO has such overlaps, e.g. 'dancer' is also an alt label of 'artistic coach').
    first = [r[0].id == c.id or r[0].matched_label.casefold() == c.label.casefold() for c, r in zip(concepts, results)]
    share = np.mean(first)
    print(f"ESCO preferred labels: rank 1 {np.mean([r[0].id == c.id for c, r in zip(concepts, results)]):.3f}, "
          f"rank 1 or same-text label {share:.3f}")
    assert share >= 0.99, [(c.label, r[0].label, r[0].matched_label) for c, r, ok in zip(concepts, results, first)
                           if not ok]

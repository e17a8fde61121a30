"""LabelIndex: persisted label vectors of a taxonomy under a bundle (cache reuse, staleness, rebuild, HNSW recall).

Real all-MiniLM-L6-v2 bundles (conftest's `minilm_title` / `minilm_skill`), real taxonomies, no mocks.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from workvec.errors import LabelIndexError
from workvec.runtime.encoder import Encoder
from workvec.runtime.labels import LabelIndex
from workvec.runtime.manifest import MANIFEST_NAME
from workvec.runtime.taxonomy import load_taxonomy
from workvec.runtime.vector_index import IndexSpec
from conftest import open_esco_hnsw, write_taxonomy

OLD_NS = 1_000_000_000 * 10**9  # 2001-09-09: an mtime no (re)build can produce

OCCUPATIONS = [
    ("nurse", "registered nurse", ["staff nurse", "RN", "nursing officer"]),
    ("driver", "truck driver", ["lorry driver", "HGV driver"]),
    ("chef", "chef", ["head cook", "kitchen chef"]),
    ("dev", "software developer", ["software engineer", "programmer"]),
    ("acct", "accountant", ["bookkeeper", "chartered accountant"]),
    ("teacher", "primary school teacher", ["elementary teacher"]),
    ("welder", "welder", ["welding technician"]),
    ("sales", "sales representative", ["sales rep", "account executive"]),
]





def files_with_mtimes(directory: Path) -> dict[str, int]:
    return {p.name: p.stat().st_mtime_ns for p in sorted(directory.rglob("*")) if p.is_file()}


def age_files(directory: Path) -> None:
    for p in directory.rglob("*"):
        if p.is_file():
            os.utime(p, ns=(OLD_NS, OLD_NS))


@pytest.fixture(scope="module")
def title_encoder(minilm_title: Path) -> Encoder:
    return Encoder.open(minilm_title)


@pytest.fixture(scope="module")
def skill_encoder(minilm_skill: Path) -> Encoder:
    return Encoder.open(minilm_skill)


@pytest.fixture(scope="module")
def esco_skills_index(skill_encoder: Encoder, tmp_path_factory) -> LabelIndex:
    return open_esco_hnsw(skill_encoder, tmp_path_factory)


def assert_stale(encoder: Encoder, taxonomy, index_dir: Path, field: str) -> None:
    """Opening the cached index must fail as stale, naming what changed and the fix."""
    with pytest.raises(LabelIndexError) as err:
        LabelIndex.open(encoder, taxonomy, index_dir, progress=False)
    message = str(err.value)
    assert "stale" in message and f"'{field}'" in message, message
    assert "rebuild" in message, f"the error must name the fix: {message}"


def test_index_holds_every_label_with_its_owner(title_encoder: Encoder, tmp_path: Path) -> None:
    taxonomy = load_taxonomy(write_taxonomy(tmp_path / "jobs.csv", OCCUPATIONS))
    index = LabelIndex.open(title_encoder, taxonomy, tmp_path / "idx", progress=False)
    expected = [(label, cid) for cid, label, alts in OCCUPATIONS for label in (label, *alts)]
    assert [(label, taxonomy.concepts[o].id) for label, o in zip(index.labels, index.owners)] == expected
    assert index.index.count == len(expected) and index.norms.shape == (len(expected),)
    preferred = LabelIndex.open(title_encoder, taxonomy, tmp_path / "idx", include_alt=False, progress=False)
    assert preferred.labels == tuple(label for _, label, _ in OCCUPATIONS)
    assert [taxonomy.concepts[o].id for o in preferred.owners] == [cid for cid, _, _ in OCCUPATIONS]
    names = {p.name for p in (tmp_path / "idx").rglob("*.json")}
    assert names == {"jobs.all.int8.auto.json", "jobs.preferred.int8.auto.json"}, names


def test_raw_vectors_are_the_encoders_unnormalised_vectors(minilm_title: Path, tmp_path: Path) -> None:
    # fp32: its vectors do not depend on what else is in the batch, so an independent encode must agree.
    encoder = Encoder.open(minilm_title, precision="fp32")
    index = LabelIndex.open(encoder, load_taxonomy(write_taxonomy(tmp_path / "jobs.csv", OCCUPATIONS)), tmp_path, progress=False)
    direct = encoder.encode(list(index.labels), batch_size=3)
    np.testing.assert_allclose(index.raw_vectors(), direct, rtol=0, atol=1e-4)
    np.testing.assert_allclose(index.norms, np.linalg.norm(direct, axis=1), rtol=1e-5)
    assert encoder.manifest.normalize  # the title bundle keeps MiniLM's Normalize module: unit vectors
    np.testing.assert_allclose(index.norms, 1.0, atol=1e-5)
    rows = np.array([4, 0, 7])
    np.testing.assert_allclose(index.raw_vectors(rows), direct[rows], rtol=0, atol=1e-4)
    ids, scores = index.search(direct[[0]], 3)
    assert ids[0, 0] == 0 and scores[0, 0] == pytest.approx(1.0, abs=1e-5)


def test_second_open_reuses_the_cached_index(title_encoder: Encoder, tmp_path: Path) -> None:
    taxonomy = load_taxonomy(write_taxonomy(tmp_path / "jobs.csv", OCCUPATIONS))
    index_dir = tmp_path / "idx"
    first = LabelIndex.open(title_encoder, taxonomy, index_dir, progress=False)
    built = files_with_mtimes(index_dir)
    assert {"jobs.all.int8.auto.json", "jobs.all.int8.auto.norms.npy"} <= set(built), built
    age_files(index_dir)

    second = LabelIndex.open(title_encoder, load_taxonomy(tmp_path / "jobs.csv"), index_dir, progress=False)
    assert files_with_mtimes(index_dir) == dict.fromkeys(built, OLD_NS), "a cached index was rewritten"
    np.testing.assert_array_equal(second.raw_vectors(), first.raw_vectors())
    np.testing.assert_array_equal(second.owners, first.owners)
    query = title_encoder.encode(["head chef"])
    for got, want in zip(second.search(query, 5), first.search(query, 5)):
        np.testing.assert_array_equal(got, want)

    LabelIndex.open(title_encoder, taxonomy, index_dir, rebuild=True, progress=False)
    rebuilt = files_with_mtimes(index_dir)
    assert set(rebuilt) == set(built) and all(t != OLD_NS for t in rebuilt.values()), rebuilt


def _bundle_with_other_source(bundle: Path, root: Path) -> Path:
    """The same model files under a manifest that names another source model: another bundle to the index.

    Same directory name as `bundle`, so both map to the same index sub-directory."""
    other = root / bundle.name
    other.mkdir(parents=True)
    for path in bundle.iterdir():
        if path.name != MANIFEST_NAME:
            (other / path.name).symlink_to(path.resolve())
    manifest = json.loads((bundle / MANIFEST_NAME).read_text(encoding="utf-8"))
    manifest["source"]["model"] = "someone-else/another-model"
    (other / MANIFEST_NAME).write_text(json.dumps(manifest), encoding="utf-8")
    return other


def test_index_of_another_bundle_is_refused_until_rebuilt(title_encoder: Encoder, minilm_title: Path,
                                                          tmp_path: Path) -> None:
    taxonomy = load_taxonomy(write_taxonomy(tmp_path / "jobs.csv", OCCUPATIONS))
    index_dir = tmp_path / "idx"
    LabelIndex.open(title_encoder, taxonomy, index_dir, progress=False)
    other = Encoder.open(_bundle_with_other_source(Path(minilm_title), tmp_path / "copy"))
    assert other.manifest.digest() != title_encoder.manifest.digest()

    assert_stale(other, taxonomy, index_dir, "bundle")

    rebuilt = LabelIndex.open(other, taxonomy, index_dir, rebuild=True, progress=False)
    assert rebuilt.index.meta["bundle"] == other.manifest.digest()
    assert LabelIndex.open(other, taxonomy, index_dir, progress=False).labels == rebuilt.labels
    with pytest.raises(LabelIndexError, match="stale"):  # and now the original bundle's is the stale one
        LabelIndex.open(title_encoder, taxonomy, index_dir, progress=False)


def test_index_of_an_edited_taxonomy_is_refused_until_rebuilt(title_encoder: Encoder, tmp_path: Path) -> None:
    path = write_taxonomy(tmp_path / "jobs.csv", OCCUPATIONS)
    index_dir = tmp_path / "idx"
    LabelIndex.open(title_encoder, load_taxonomy(path), index_dir, progress=False)
    edited = [(cid, "pastry chef" if cid == "chef" else label, alts) for cid, label, alts in OCCUPATIONS]
    taxonomy = load_taxonomy(write_taxonomy(path, edited))

    assert_stale(title_encoder, taxonomy, index_dir, "taxonomy")

    index = LabelIndex.open(title_encoder, taxonomy, index_dir, rebuild=True, progress=False)
    assert "pastry chef" in index.labels and "chef" not in index.labels
    row = index.labels.index("pastry chef")
    ids, scores = index.search(title_encoder.encode(["pastry chef"]), 1)
    assert ids[0, 0] == row and scores[0, 0] > 0.95
    again = LabelIndex.open(title_encoder, taxonomy, index_dir, progress=False)  # the rebuilt one is cached
    assert again.labels == index.labels


def test_a_corrupted_norms_file_is_a_clear_error(title_encoder: Encoder, tmp_path: Path) -> None:
    taxonomy = load_taxonomy(write_taxonomy(tmp_path / "jobs.csv", OCCUPATIONS))
    LabelIndex.open(title_encoder, taxonomy, tmp_path, progress=False)
    (norms,) = tmp_path.rglob("jobs.all.int8.auto.norms.npy")
    norms.write_bytes(b"not a numpy file")
    with pytest.raises(LabelIndexError, match="rebuild"):
        LabelIndex.open(title_encoder, taxonomy, tmp_path, progress=False)
    assert LabelIndex.open(title_encoder, taxonomy, tmp_path, rebuild=True, progress=False).norms.min() > 0


def test_esco_skills_hnsw_recall_at_10_vs_exact(esco_skills_index: LabelIndex) -> None:
    index = esco_skills_index.index
    assert index.mode == "hnsw" and index.spec.ef == IndexSpec().ef
    assert index.count == len(esco_skills_index.labels) == 13_939
    # the skill bundle drops Normalize (ConTeXT-match needs the norms): raw vectors are far from unit length
    assert esco_skills_index.norms.min() > 1.5
    units = index.vectors().astype(np.float64)
    rng = np.random.default_rng(7)
    own = units[rng.choice(len(units), 1500, replace=False)]
    pairs = rng.choice(len(units), (1500, 2))
    between = units[pairs[:, 0]] + units[pairs[:, 1]]  # points between two labels: no exact hit to find
    between /= np.linalg.norm(between, axis=1, keepdims=True)
    for name, queries in (("label vectors", own), ("midpoints of label pairs", between)):
        got, _ = esco_skills_index.search(queries.astype(np.float32), 10)
        scores = queries @ units.T
        truth = np.argpartition(-scores, 10, axis=1)[:, :10]
        recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(got.tolist(), truth.tolist())])
        print(f"HNSW recall@10 vs exact, {name}: {recall:.4f}")
        assert recall >= 0.99, f"HNSW recall@10 on {name} is {recall:.4f} < 0.99"

"""LabelIndex: persisted label vectors of a taxonomy under a bundle, cached by content (reuse, no collisions
between same-named bundles, rebuild of a broken cache, strict mode, HNSW recall).

The committed tiny bundles, real taxonomies, no mocks.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from conftest import copy_bundle, open_esco_hnsw, other_bundle, write_taxonomy
from workvec import Encoder, IndexSpec, LabelIndex, Taxonomy, TitleNormalizer
from workvec.errors import LabelIndexError
from workvec.runtime.labels import index_key
from workvec.runtime.manifest import MANIFEST_NAME

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
INDEX_FILES = {"index.npy", "index.json", "index.norms.npy", "about.json"}


def files_with_mtimes(directory: Path) -> dict[str, int]:
    return {p.name: p.stat().st_mtime_ns for p in sorted(directory.rglob("*")) if p.is_file()}


def age_files(directory: Path) -> None:
    for p in directory.rglob("*"):
        if p.is_file():
            os.utime(p, ns=(OLD_NS, OLD_NS))


@pytest.fixture(scope="module")
def title_encoder(tiny_title_bundle: Path) -> Encoder:
    return Encoder.open(tiny_title_bundle)


@pytest.fixture
def jobs(tmp_path: Path) -> Taxonomy:
    return Taxonomy.open(write_taxonomy(tmp_path / "jobs.csv", OCCUPATIONS))


def open_index(encoder: Encoder, taxonomy: Taxonomy, index_dir: Path, **options) -> LabelIndex:
    return LabelIndex.open(encoder, taxonomy, index_dir=index_dir, progress=False, **options)


def key_folders(index_dir: Path) -> list[str]:
    return sorted(p.name for p in index_dir.iterdir() if p.is_dir())


def test_index_holds_every_label_with_its_owner(title_encoder: Encoder, jobs: Taxonomy, tmp_path: Path) -> None:
    index = open_index(title_encoder, jobs, tmp_path / "idx")
    expected = [(label, cid) for cid, label, alts in OCCUPATIONS for label in (label, *alts)]
    assert [(label, jobs.concepts[o].id) for label, o in zip(index.labels, index.owners)] == expected
    assert index.index.count == len(expected) and index.norms.shape == (len(expected),)
    preferred = open_index(title_encoder, jobs, tmp_path / "idx", include_alt=False)
    assert preferred.labels == tuple(label for _, label, _ in OCCUPATIONS)
    assert [jobs.concepts[o].id for o in preferred.owners] == [cid for cid, _, _ in OCCUPATIONS]
    folders = key_folders(tmp_path / "idx")
    assert folders == sorted([index_key(title_encoder, jobs, include_alt=True, spec=IndexSpec()),
                              index_key(title_encoder, jobs, include_alt=False, spec=IndexSpec())])
    for folder in folders:
        assert {p.name for p in (tmp_path / "idx" / folder).iterdir()} == INDEX_FILES
    about = json.loads((tmp_path / "idx" / folders[0] / "about.json").read_text(encoding="utf-8"))
    assert about["taxonomy"] == "jobs" and about["precision"] == "int8"


def test_raw_vectors_are_the_encoders_unnormalised_vectors(tiny_title_bundle: Path, jobs: Taxonomy,
                                                           tmp_path: Path) -> None:
    # fp32: its vectors do not depend on what else is in the batch, so an independent encode must agree.
    encoder = Encoder.open(tiny_title_bundle, precision="fp32")
    index = open_index(encoder, jobs, tmp_path)
    direct = encoder.encode(list(index.labels), batch_size=3)
    np.testing.assert_allclose(index.raw_vectors(), direct, rtol=0, atol=1e-4)
    np.testing.assert_allclose(index.norms, np.linalg.norm(direct, axis=1), rtol=1e-5)
    assert encoder.manifest.normalize  # the title bundle keeps the Normalize module: unit vectors
    np.testing.assert_allclose(index.norms, 1.0, atol=1e-5)
    rows = np.array([4, 0, 7])
    np.testing.assert_allclose(index.raw_vectors(rows), direct[rows], rtol=0, atol=1e-4)
    ids, scores = index.search(direct[[0]], 3)
    assert ids[0, 0] == 0 and scores[0, 0] == pytest.approx(1.0, abs=1e-5)


def test_second_open_reuses_the_cached_index(title_encoder: Encoder, jobs: Taxonomy, tmp_path: Path) -> None:
    index_dir = tmp_path / "idx"
    first = open_index(title_encoder, jobs, index_dir)
    built = files_with_mtimes(index_dir)
    assert INDEX_FILES <= set(built), built
    age_files(index_dir)

    second = open_index(title_encoder, Taxonomy.open(tmp_path / "jobs.csv"), index_dir)
    assert files_with_mtimes(index_dir) == dict.fromkeys(built, OLD_NS), "a cached index was rewritten"
    np.testing.assert_array_equal(second.raw_vectors(), first.raw_vectors())
    np.testing.assert_array_equal(second.owners, first.owners)
    query = title_encoder.encode(["head chef"])
    for got, want in zip(second.search(query, 5), first.search(query, 5)):
        np.testing.assert_array_equal(got, want)

    open_index(title_encoder, jobs, index_dir, rebuild=True)
    rebuilt = files_with_mtimes(index_dir)
    assert set(rebuilt) == set(built) and all(t != OLD_NS for t in rebuilt.values()), rebuilt


def test_a_byte_identical_reexport_reuses_the_index(tiny_title_bundle: Path, jobs: Taxonomy, tmp_path: Path,
                                                    capsys) -> None:
    """Same files in another folder, with another export time and source path in the manifest: same index."""
    index_dir = tmp_path / "idx"
    open_index(Encoder.open(tiny_title_bundle), jobs, index_dir)
    built = files_with_mtimes(index_dir)
    age_files(index_dir)
    again = copy_bundle(tiny_title_bundle, tmp_path / "elsewhere" / "reexported")
    manifest = json.loads((again / MANIFEST_NAME).read_text(encoding="utf-8"))
    manifest["parity"]["seconds"] = 123.4
    manifest["source"]["path"] = "/somewhere/else/model"
    (again / MANIFEST_NAME).write_text(json.dumps(manifest), encoding="utf-8")
    encoder = Encoder.open(again)
    assert encoder.manifest.identity() == Encoder.open(tiny_title_bundle).manifest.identity()
    index = open_index(encoder, jobs, index_dir)
    assert files_with_mtimes(index_dir) == dict.fromkeys(built, OLD_NS), "the re-export rebuilt the index"
    assert len(key_folders(index_dir)) == 1 and index.index.count == len(index.labels)
    assert "rebuilding" not in capsys.readouterr().err


def test_same_named_bundles_used_alternately_never_collide(tiny_title_bundle: Path, jobs: Taxonomy, tmp_path: Path,
                                                           capsys) -> None:
    """Two different bundles, both in a folder called `title` (this happened for real), share the default index
    folder: each gets its own index, alternately, with no stale error and no rebuild after the first build."""
    first = copy_bundle(tiny_title_bundle, tmp_path / "a" / "title")
    second = other_bundle(tiny_title_bundle, tmp_path / "b" / "title")
    index_dir = tmp_path / "indexes"
    want = {}
    for bundle in (first, second):
        normalizer = TitleNormalizer.open(bundle, taxonomy=jobs, index_dir=index_dir, progress=False)
        want[bundle] = normalizer.search(["head chef", "staff nurse"], k=3)
    assert want[first] != want[second], "the two bundles should rank differently"
    assert len(key_folders(index_dir)) == 2
    built = files_with_mtimes(index_dir)
    age_files(index_dir)
    for bundle in (first, second, first, second):
        normalizer = TitleNormalizer.open(bundle, taxonomy=jobs, index_dir=index_dir, strict=True, progress=False)
        assert normalizer.search(["head chef", "staff nurse"], k=3) == want[bundle]
    assert files_with_mtimes(index_dir) == dict.fromkeys(built, OLD_NS), "an index was rebuilt"
    assert "rebuilding" not in capsys.readouterr().err


def test_the_key_follows_content_not_paths(title_encoder: Encoder, tiny_title_bundle: Path, tiny_skill_bundle: Path,
                                           jobs: Taxonomy, tmp_path: Path) -> None:
    key = index_key(title_encoder, jobs, include_alt=True, spec=IndexSpec())
    assert key == index_key(Encoder.open(copy_bundle(tiny_title_bundle, tmp_path / "copy")), jobs, include_alt=True,
                            spec=IndexSpec())
    assert key == index_key(title_encoder, jobs, include_alt=True, spec=IndexSpec(threads=4))  # threads: no
    others = {
        index_key(title_encoder, jobs, include_alt=False, spec=IndexSpec()),
        index_key(title_encoder, jobs, include_alt=True, spec=IndexSpec(mode="hnsw")),
        index_key(Encoder.open(tiny_title_bundle, precision="fp32"), jobs, include_alt=True, spec=IndexSpec()),
        index_key(Encoder.open(tiny_skill_bundle), jobs, include_alt=True, spec=IndexSpec()),
        index_key(title_encoder, Taxonomy.open(write_taxonomy(tmp_path / "jobs2.csv", OCCUPATIONS[:-1])),
                  include_alt=True, spec=IndexSpec()),
    }
    assert key not in others and len(others) == 5


def test_an_edited_taxonomy_gets_its_own_index(title_encoder: Encoder, tmp_path: Path) -> None:
    path = write_taxonomy(tmp_path / "jobs.csv", OCCUPATIONS)
    index_dir = tmp_path / "idx"
    open_index(title_encoder, Taxonomy.open(path), index_dir)
    edited = [(cid, "pastry chef" if cid == "chef" else label, alts) for cid, label, alts in OCCUPATIONS]
    taxonomy = Taxonomy.open(write_taxonomy(path, edited))  # same file, same name, one label changed
    index = open_index(title_encoder, taxonomy, index_dir, strict=True)
    assert "pastry chef" in index.labels and "chef" not in index.labels
    row = index.labels.index("pastry chef")
    ids, scores = index.search(title_encoder.encode(["pastry chef"]), 1)
    assert ids[0, 0] == row and scores[0, 0] > 0.99
    assert len(key_folders(index_dir)) == 2  # both versions cached side by side


@pytest.mark.parametrize("damage", ["norms", "vectors", "sidecar", "missing"])
def test_a_broken_cached_index_is_rebuilt_or_refused_in_strict_mode(title_encoder: Encoder, jobs: Taxonomy,
                                                                    tmp_path: Path, capsys, damage: str) -> None:
    good = open_index(title_encoder, jobs, tmp_path)
    (folder,) = [tmp_path / name for name in key_folders(tmp_path)]
    if damage == "norms":
        (folder / "index.norms.npy").write_bytes(b"not a numpy file")
    elif damage == "vectors":
        data = bytearray((folder / "index.npy").read_bytes())
        data[-1] ^= 0xFF
        (folder / "index.npy").write_bytes(bytes(data))
    elif damage == "sidecar":
        (folder / "index.json").write_text("{broken", encoding="utf-8")
    else:
        (folder / "index.npy").unlink()
    capsys.readouterr()
    with pytest.raises(LabelIndexError):
        open_index(title_encoder, jobs, tmp_path, strict=True)

    rebuilt = open_index(title_encoder, jobs, tmp_path)
    err = capsys.readouterr().err
    assert err.startswith("workvec: rebuilding the jobs label index") and err.count("\n") == 1, err
    np.testing.assert_array_equal(rebuilt.raw_vectors(), good.raw_vectors())
    open_index(title_encoder, jobs, tmp_path, strict=True)  # the rebuilt one is sound
    assert capsys.readouterr().err == ""


@pytest.mark.integration
def test_esco_skills_hnsw_recall_at_10_vs_exact(minilm_skill: Path, tmp_path_factory) -> None:
    """On real label vectors (all-MiniLM-L6-v2): the HNSW index keeps recall@10 >= 0.99."""
    esco_skills_index = open_esco_hnsw(Encoder.open(minilm_skill), tmp_path_factory)
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

"""Tests for workvec.runtime.vector_index (HNSW + exact cosine search)."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import numpy as np
import pytest

from workvec.errors import InputError, LabelIndexError
from workvec.runtime import vector_index as vi
from workvec.runtime.vector_index import IndexSpec, VectorIndex

N, D, K = 8_000, 64, 10  # HNSW build in the fast tier: ~3 s on a busy 2-core box (20k took 7-27 s)


def _clustered(n: int, d: int, seed: int, centers: np.ndarray | None = None) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if centers is None:
        centers = np.random.default_rng(0).standard_normal((200, d))
    x = centers[rng.integers(0, len(centers), n)] + 1.0 * rng.standard_normal((n, d))
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def _brute(data: np.ndarray, q: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    v = data / np.maximum(np.linalg.norm(data, axis=1, keepdims=True), 1e-30)
    qq = q / np.linalg.norm(q, axis=1, keepdims=True)
    s = qq.astype(np.float64) @ v.T.astype(np.float64)
    ids = np.argsort(-s, axis=1, kind="stable")[:, :k]
    return ids, np.take_along_axis(s, ids, 1)


def _recall(got: np.ndarray, truth: np.ndarray) -> float:
    return float(np.mean([len(set(a) & set(b)) / truth.shape[1] for a, b in zip(got, truth)]))


@pytest.fixture(scope="module")
def data() -> np.ndarray:
    return _clustered(N, D, seed=1)


@pytest.fixture(scope="module")
def queries() -> np.ndarray:
    return _clustered(500, D, seed=2)


@pytest.fixture(scope="module")
def hnsw(data: np.ndarray) -> VectorIndex:
    return VectorIndex.build(data, IndexSpec(mode="hnsw", threads=1), meta={"bundle": "b1", "taxonomy": "t1"})


@pytest.fixture(scope="module")
def exact(data: np.ndarray) -> VectorIndex:
    return VectorIndex.build(data, IndexSpec(mode="exact"), meta={"bundle": "b1"})


def test_spec_validation() -> None:
    for bad in ({"mode": "ivf"}, {"M": 0}, {"ef": -1}, {"threads": 0}, {"ef_construction": 1.5},
                {"M": True}):
        with pytest.raises(InputError):
            IndexSpec(**bad)


def test_exact_equals_brute_force(exact: VectorIndex, data: np.ndarray, queries: np.ndarray) -> None:
    ids, scores = exact.query(queries, K)
    t_ids, t_scores = _brute(data, queries, K)
    assert ids.dtype == np.int64 and scores.dtype == np.float32 and ids.shape == (len(queries), K)
    np.testing.assert_allclose(scores, t_scores, atol=1e-5)
    assert _recall(ids, t_ids) > 0.999  # only float ties could differ
    assert np.all(np.diff(scores, axis=1) <= 0)


def test_exact_chunking(monkeypatch: pytest.MonkeyPatch, exact: VectorIndex, queries: np.ndarray) -> None:
    full = exact.query(queries[:50], K)
    monkeypatch.setattr(vi, "_CHUNK_SCORE_BYTES", 4 * N * 7)  # 7 queries per chunk
    chunked = exact.query(queries[:50], K)
    # BLAS may round differently per batch shape (1 ulp), so ids may swap only on near-ties
    np.testing.assert_allclose(full[1], chunked[1], atol=1e-6)
    assert _recall(chunked[0], full[0]) > 0.99


def test_hnsw_recall_at_default_ef(hnsw: VectorIndex, exact: VectorIndex, queries: np.ndarray) -> None:
    assert hnsw.mode == "hnsw" and hnsw.spec.ef == IndexSpec().ef
    ids, scores = hnsw.query(queries, K)
    t_ids, _ = exact.query(queries, K)
    assert _recall(ids, t_ids) >= 0.99
    assert np.all(np.diff(scores, axis=1) <= 0)
    # scores are exact dot products of the stored vectors
    np.testing.assert_allclose(scores, np.einsum("qd,qkd->qk", queries, hnsw.vectors()[ids]), atol=1e-6)


def test_save_load_roundtrip_hnsw(hnsw: VectorIndex, exact: VectorIndex, queries: np.ndarray,
                                  tmp_path: Path) -> None:
    hnsw.save(tmp_path, "labels")
    side = json.loads((tmp_path / "labels.json").read_text())
    assert side["format"] == 1 and side["mode"] == "hnsw" and side["space"] == "ip"
    assert (side["dim"], side["count"], side["M"], side["ef_construction"], side["ef"]) == (D, N, 32, 200, 128)
    assert side["meta"] == {"bundle": "b1", "taxonomy": "t1"} and sorted(side["sha256"]) == ["labels.hnsw", "labels.npy"]
    loaded = VectorIndex.load(tmp_path, "labels", expect_meta={"bundle": "b1", "taxonomy": "t1"}, threads=1)
    assert (loaded.mode, loaded.dim, loaded.count, loaded.spec.ef) == ("hnsw", D, N, 128)
    assert loaded._hnsw.ef == 128  # ef restored from the sidecar (hnswlib would reset it to 10)
    np.testing.assert_array_equal(loaded.vectors(), hnsw.vectors())
    ids, _ = loaded.query(queries, K)
    assert _recall(ids, exact.query(queries, K)[0]) >= 0.99
    np.testing.assert_array_equal(ids, hnsw.query(queries, K)[0])


def test_save_load_roundtrip_exact(exact: VectorIndex, queries: np.ndarray, tmp_path: Path) -> None:
    exact.save(tmp_path / "sub", "x")
    loaded = VectorIndex.load(tmp_path / "sub", "x", expect_meta={"bundle": "b1"})
    assert loaded.mode == "exact" and loaded.meta == {"bundle": "b1"}
    a, b = exact.query(queries[:20], 5), loaded.query(queries[:20], 5)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert sorted(p.name for p in (tmp_path / "sub").iterdir()) == ["x.json", "x.npy"]  # no temporary files


def test_guards(hnsw: VectorIndex, exact: VectorIndex, queries: np.ndarray) -> None:
    for idx in (hnsw, exact):
        for bad_k in (0, -3, 2.0, True):
            with pytest.raises(InputError):
                idx.query(queries[:2], bad_k)
        with pytest.raises(InputError, match=r"32.*64"):
            idx.query(np.ones((2, 32), np.float32), 3)
        bad = queries[:3].copy()
        bad[1, 4] = np.nan
        with pytest.raises(InputError, match="NaN"):
            idx.query(bad, 3)
        bad[1, 4] = np.inf
        with pytest.raises(InputError):
            idx.query(bad, 3)
        with pytest.raises(InputError):
            idx.query(queries[:2], 3, ef=0)


def test_single_vector_and_dtypes(hnsw: VectorIndex, queries: np.ndarray) -> None:
    ids1, s1 = hnsw.query(queries[0], K)
    assert ids1.shape == (1, K) and s1.shape == (1, K)
    # float64, non-contiguous, unnormalized inputs are handled
    q = np.asfortranarray(queries[:5].astype(np.float64) * 3.0)
    ids, _ = hnsw.query(q, K)
    np.testing.assert_array_equal(ids, hnsw.query(queries[:5], K)[0])
    ids0, s0 = hnsw.query(np.empty((0, D)), K)
    assert ids0.shape == (0, K) and s0.shape == (0, K)


def test_a_query_gets_the_same_bits_in_any_batch(hnsw: VectorIndex, exact: VectorIndex, queries: np.ndarray) -> None:
    for index in (hnsw, exact):  # BLAS sums a 1-row product in another order than a 64-row one; the result must not
        for i in (0, 5, 63):
            alone, batch = index.query(queries[i:i + 1], K), index.query(queries[:64], K)
            np.testing.assert_array_equal(alone[0][0], batch[0][i])
            np.testing.assert_array_equal(alone[1][0], batch[1][i])


def test_ef_below_k_is_raised(hnsw: VectorIndex, exact: VectorIndex, queries: np.ndarray) -> None:
    ids, scores = hnsw.query(queries[:50], 50, ef=5)  # hnswlib alone would raise / return junk
    assert ids.shape == (50, 50)
    assert _recall(ids, exact.query(queries[:50], 50)[0]) >= 0.9
    assert hnsw._hnsw.ef == hnsw.spec.ef  # the per-call ef does not leak


def test_k_larger_than_count() -> None:
    data = _clustered(7, 16, seed=3)
    for mode in ("hnsw", "exact"):
        idx = VectorIndex.build(data, IndexSpec(mode=mode, M=4, ef_construction=10, ef=2))
        ids, scores = idx.query(data[:3], 50)
        assert ids.shape == (3, 7) and scores.shape == (3, 7)
        assert sorted(ids[0].tolist()) == list(range(7))
        assert ids[0, 0] == 0 and scores[0, 0] == pytest.approx(1.0, abs=1e-6)


def test_zero_rows_stay_zero() -> None:
    data = _clustered(50, 8, seed=4)
    data[[3, 10]] = 0.0
    for mode in ("hnsw", "exact"):
        idx = VectorIndex.build(data, IndexSpec(mode=mode, M=8, ef_construction=50))
        v = idx.vectors()
        assert np.isfinite(v).all() and not v[[3, 10]].any()
        ids, scores = idx.query(data[:4], 50)
        assert np.isfinite(scores).all() and ids.shape == (4, 50)
        _, zero_scores = idx.query(np.zeros(8), 5)  # zero query: all scores 0, no NaN
        assert np.all(zero_scores == 0)


def test_build_errors() -> None:
    with pytest.raises(InputError):
        VectorIndex.build(np.zeros((0, 4)))
    with pytest.raises(InputError):
        VectorIndex.build(np.zeros(4))
    with pytest.raises(InputError, match="NaN"):
        VectorIndex.build(np.array([[1.0, np.nan]]))
    with pytest.raises(InputError, match="JSON"):
        VectorIndex.build(np.ones((2, 2)), meta={"x": object()})


def test_auto_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    assert vi.AUTO_EXACT_BELOW == 20_000
    data = _clustered(100, 8, seed=5)
    assert VectorIndex.build(data).mode == "exact"
    monkeypatch.setattr(vi, "AUTO_EXACT_BELOW", 50)
    assert VectorIndex.build(data, IndexSpec(M=8, ef_construction=20)).mode == "hnsw"


def test_hnsw_failure_falls_back_to_exact() -> None:
    data = _clustered(300, 8, seed=6)
    idx = VectorIndex.build(data, IndexSpec(mode="hnsw", M=8, ef_construction=40))
    real = idx._hnsw

    class Broken:
        def set_ef(self, ef: int) -> None:
            real.set_ef(ef)

        def knn_query(self, *a: object, **kw: object) -> None:
            raise RuntimeError("Cannot return the results in a contiguous 2D array. Probably ef or M is too small")

    idx._hnsw = Broken()
    ids, scores = idx.query(data[:5], 10)
    t_ids, t_scores = _brute(data, data[:5], 10)
    np.testing.assert_allclose(scores, t_scores, atol=1e-5)


def test_add_and_concurrent_queries() -> None:
    data = _clustered(2000, 16, seed=7)
    for mode in ("hnsw", "exact"):
        idx = VectorIndex.build(data[:1000], IndexSpec(mode=mode, M=8, ef_construction=40))
        errors: list[BaseException] = []

        def reader() -> None:
            try:
                for _ in range(20):
                    idx.query(data[:20], 5)
            except BaseException as e:  # pragma: no cover - reported below
                errors.append(e)

        threads = [threading.Thread(target=reader) for _ in range(2)]
        for t in threads:
            t.start()
        new_ids = [idx.add(data[i:i + 250]) for i in range(1000, 2000, 250)]
        for t in threads:
            t.join()
        assert not errors and idx.count == 2000
        np.testing.assert_array_equal(np.concatenate(new_ids), np.arange(1000, 2000))
        ids, _ = idx.query(data[1500], 1)
        assert ids[0, 0] == 1500
        with pytest.raises(InputError):
            idx.add(np.ones((2, 3)))


def test_progress_bar() -> None:
    idx = VectorIndex.build(_clustered(100, 8, seed=8), IndexSpec(mode="hnsw", M=8, ef_construction=20),
                            progress=True)
    assert idx.count == 100


@pytest.fixture()
def saved(tmp_path: Path) -> Path:
    idx = VectorIndex.build(_clustered(200, 8, seed=9), IndexSpec(mode="hnsw", M=8, ef_construction=40),
                            meta={"bundle": "abc", "taxonomy": "t1"})
    idx.save(tmp_path / "idx", "labels")
    return tmp_path / "idx"


def test_load_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(LabelIndexError, match="build it with"):
        VectorIndex.load(tmp_path / "nope", "labels")


def test_load_missing_or_corrupt_sidecar(saved: Path) -> None:
    with pytest.raises(LabelIndexError, match="missing"):
        VectorIndex.load(saved, "other")
    (saved / "labels.json").write_text("{not json")
    with pytest.raises(LabelIndexError, match="corrupt"):
        VectorIndex.load(saved, "labels")


def test_load_altered_or_missing_file(saved: Path) -> None:
    path = saved / "labels.hnsw"
    raw = bytearray(path.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    path.write_bytes(bytes(raw))
    with pytest.raises(LabelIndexError, match=r"labels\.hnsw.*altered"):
        VectorIndex.load(saved, "labels")
    path.write_bytes(bytes(raw[:100]))  # truncated
    with pytest.raises(LabelIndexError, match=r"labels\.hnsw"):
        VectorIndex.load(saved, "labels")
    path.unlink()
    with pytest.raises(LabelIndexError, match=r"labels\.hnsw.*missing"):
        VectorIndex.load(saved, "labels")


def test_load_meta_mismatch(saved: Path) -> None:
    with pytest.raises(LabelIndexError, match=r"'taxonomy'.*t1.*t2.*rebuild") as e:
        VectorIndex.load(saved, "labels", expect_meta={"bundle": "abc", "taxonomy": "t2"})
    assert "rebuild=True" in str(e.value)
    with pytest.raises(LabelIndexError, match="'extra'"):
        VectorIndex.load(saved, "labels", expect_meta={"extra": 1})
    assert VectorIndex.load(saved, "labels", expect_meta={"bundle": "abc"}).meta["taxonomy"] == "t1"

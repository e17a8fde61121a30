"""The runtime `Encoder` contract, on bundles exported for real by the session fixtures (no torch at run time)."""

from __future__ import annotations

import random
import shutil
import warnings

import numpy as np
import pytest

from workvec.errors import BundleError, InputError, ProviderError
from workvec.runtime.encoder import Encoder
from workvec.runtime.manifest import MANIFEST_NAME

TEXTS = [
    "software engineer",
    "registered nurse in a busy emergency department, night shifts",
    "",
    "SQL",
    "Wir suchen eine Buchhalterin (m/w/d) mit Erfahrung in SAP",
    "truck driver",
    "lead data scientist with deep experience in python, spark, airflow and cloud platforms such as aws and gcp",
    "chef",
    "project manager",
    "customer service representative — fluent English and French",
    "a",
]


@pytest.fixture(scope="module")
def title_fp32(minilm_title):
    return Encoder.open(minilm_title, precision="fp32", providers="cpu")


@pytest.fixture(scope="module")
def title_int8(minilm_title):
    return Encoder.open(minilm_title, precision="int8", providers="cpu")


@pytest.fixture(scope="module")
def skill_fp32(minilm_skill):
    return Encoder.open(minilm_skill, precision="fp32", providers="cpu")


# --- loading ------------------------------------------------------------------------------------------------


def test_auto_precision_is_int8_on_cpu(minilm_title):
    encoder = Encoder.open(minilm_title)
    assert encoder.info.precision == "int8"
    assert encoder.info.providers[0] == "CPUExecutionProvider"
    assert encoder.info.dim == encoder.dim == 384 and encoder.info.max_seq_length == 256


def test_fp32_only_bundle_refuses_int8(tiny_bundles):
    with pytest.raises(BundleError, match="no int8 model"):
        Encoder.open(tiny_bundles["router-title"], precision="int8", providers="cpu")


def test_unknown_provider_lists_available(minilm_title):
    with pytest.raises(ProviderError) as info:
        Encoder.open(minilm_title, providers=["FooExecutionProvider"])
    message = str(info.value)
    assert "FooExecutionProvider" in message and "CPUExecutionProvider" in message


def test_unknown_provider_alias(minilm_title):
    with pytest.raises(ProviderError, match="'tpu'"):
        Encoder.open(minilm_title, providers="tpu")


def test_bad_precision_and_threads(minilm_title):
    with pytest.raises(InputError, match="precision"):
        Encoder.open(minilm_title, precision="fp16")
    with pytest.raises(InputError, match="threads"):
        Encoder.open(minilm_title, threads=0)


@pytest.fixture
def bundle_copy(minilm_title, tmp_path):
    copy = tmp_path / "bundle"
    shutil.copytree(minilm_title, copy)
    return copy


def test_flipped_byte_is_detected(bundle_copy):
    path = bundle_copy / "model.int8.onnx"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(BundleError, match=r"model\.int8\.onnx.*altered"):
        Encoder.open(bundle_copy, precision="int8", providers="cpu")
    Encoder.open(bundle_copy, precision="fp32", providers="cpu")  # the untouched fp32 model still loads


def test_graph_cache_serves_later_loads_with_equal_outputs(bundle_copy, tmp_path, monkeypatch):
    monkeypatch.setenv("WORKVEC_HOME", str(tmp_path / "home"))
    first = Encoder.open(bundle_copy, precision="int8", providers="cpu")
    entries = list((tmp_path / "home" / "graphs").glob("*.onnx"))
    assert len(entries) == 1 and not list((tmp_path / "home" / "graphs").glob(".*"))  # no temp file left
    second = Encoder.open(bundle_copy, precision="int8", providers="cpu")
    np.testing.assert_array_equal(first.encode(TEXTS), second.encode(TEXTS))


def test_graph_cache_never_hides_an_altered_model(bundle_copy, tmp_path, monkeypatch):
    monkeypatch.setenv("WORKVEC_HOME", str(tmp_path / "home"))
    Encoder.open(bundle_copy, precision="int8", providers="cpu")  # fills the cache
    path = bundle_copy / "model.int8.onnx"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))  # same size, new mtime: a different file state
    with pytest.raises(BundleError, match=r"model\.int8\.onnx.*altered"):
        Encoder.open(bundle_copy, precision="int8", providers="cpu")


def test_graph_cache_can_be_turned_off(bundle_copy, tmp_path, monkeypatch):
    monkeypatch.setenv("WORKVEC_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("WORKVEC_GRAPH_CACHE", "0")
    Encoder.open(bundle_copy, precision="int8", providers="cpu")
    assert not (tmp_path / "home" / "graphs").exists()


def test_truncated_file_is_detected(bundle_copy):
    path = bundle_copy / "model.int8.onnx"
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])
    for verify in (True, False):  # the size check runs even without the sha256 pass
        with pytest.raises(BundleError, match=r"model\.int8\.onnx.*truncated"):
            Encoder.open(bundle_copy, precision="int8", providers="cpu", verify=verify)


def test_missing_or_broken_manifest(bundle_copy, tmp_path):
    (bundle_copy / "tokenizer.json").unlink()
    with pytest.raises(BundleError, match=r"tokenizer\.json.*missing"):
        Encoder.open(bundle_copy, precision="int8", providers="cpu")
    (bundle_copy / MANIFEST_NAME).write_text("{not json")
    with pytest.raises(BundleError, match="not valid JSON"):
        Encoder.open(bundle_copy)
    with pytest.raises(BundleError, match="does not exist"):
        Encoder.open(tmp_path / "nowhere")


# --- input contract -------------------------------------------------------------------------------------------


def test_empty_list(title_int8, skill_fp32):
    out = title_int8.encode([])
    assert out.shape == (0, 384) and out.dtype == np.float32
    assert skill_fp32.encode_tokens([]) == []
    assert skill_fp32.encode([]).shape == (0, 384)


def test_empty_string_gives_a_finite_vector(title_int8, title_fp32, skill_fp32):
    for encoder in (title_int8, title_fp32):
        out = encoder.encode([""])
        assert out.shape == (1, 384) and np.isfinite(out).all()
        assert np.linalg.norm(out[0]) == pytest.approx(1.0, abs=1e-4)  # MiniLM normalises
    (tokens,) = skill_fp32.encode_tokens([""])
    assert tokens.shape == (2, 384) and np.isfinite(tokens).all()  # [CLS] [SEP]


@pytest.mark.parametrize("bad", [None, 3, b"bytes", ["nested"]])
def test_non_string_names_the_index(title_int8, skill_fp32, bad):
    with pytest.raises(TypeError, match=r"texts\[2\]"):
        title_int8.encode(["a", "b", bad])
    with pytest.raises(TypeError, match=r"texts\[1\]"):
        skill_fp32.encode_tokens(["a", bad])


def test_a_single_string_is_refused(title_int8):
    with pytest.raises(TypeError, match="list of strings"):
        title_int8.encode("software engineer")


def test_bad_batch_size(title_int8):
    with pytest.raises(InputError, match="batch_size"):
        title_int8.encode(["a"], batch_size=0)


def test_title_bundle_has_no_token_output(title_int8):
    with pytest.raises(BundleError, match="--kind skill"):
        title_int8.encode_tokens(["a"])


# --- truncation -----------------------------------------------------------------------------------------------


def test_long_text_is_truncated(title_fp32, skill_fp32):
    long, longer = "engineer " * 400, "engineer " * 700
    out = title_fp32.encode([long, longer])
    assert np.isfinite(out).all()
    np.testing.assert_allclose(out[0], out[1], atol=1e-6)  # both cut to the same 256 tokens
    tokens = skill_fp32.encode_tokens([longer, "engineer"])
    assert tokens[0].shape == (256, 384)
    assert tokens[1].shape == (3, 384)


def test_warn_truncation(title_int8):
    with pytest.warns(UserWarning, match=r"1 text\(s\) exceed 256 tokens"):
        title_int8.encode(["short", "engineer " * 300], warn_truncation=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        title_int8.encode(["short", "engineer " * 300])  # off by default
        title_int8.encode(["short", "engineer " * 200], warn_truncation=True)  # 202 tokens: fits


def test_counting_truncation_keeps_truncation_on(skill_fp32):
    with pytest.warns(UserWarning):
        first = skill_fp32.encode_tokens(["engineer " * 300], warn_truncation=True)
    second = skill_fp32.encode_tokens(["engineer " * 300])
    assert first[0].shape == second[0].shape == (256, 384)


# --- token outputs and batching -------------------------------------------------------------------------------


def test_encode_tokens_shapes(skill_fp32, minilm_skill):
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(minilm_skill / "tokenizer.json"))
    tok.no_padding()
    got = skill_fp32.encode_tokens(TEXTS, batch_size=4)
    assert isinstance(got, list) and len(got) == len(TEXTS)
    for text, arr in zip(TEXTS, got):
        assert arr.dtype == np.float32 and arr.flags.c_contiguous
        assert arr.shape == (len(tok.encode(text).ids), 384)
    # the pooled output is the mean of the token states (mean pooling, special tokens included)
    pooled = skill_fp32.encode(TEXTS)
    np.testing.assert_allclose(pooled, np.stack([t.mean(axis=0) for t in got]), atol=1e-5)


@pytest.mark.parametrize("batch_size", [1, 3, 32])
def test_batching_restores_input_order(title_fp32, batch_size):
    texts = TEXTS * 2
    random.Random(batch_size).shuffle(texts)
    one_by_one = np.concatenate([title_fp32.encode([t]) for t in texts])
    np.testing.assert_allclose(title_fp32.encode(texts, batch_size=batch_size), one_by_one, atol=1e-5, rtol=0)


def test_token_batching_restores_input_order(skill_fp32):
    texts = list(TEXTS)
    random.Random(7).shuffle(texts)
    batched = skill_fp32.encode_tokens(texts, batch_size=3)
    for text, got in zip(texts, batched):
        (alone,) = skill_fp32.encode_tokens([text])
        np.testing.assert_allclose(got, alone, atol=1e-5, rtol=0)


def test_int8_batching_keeps_order(title_int8):
    """int8 activations are quantized per batch (padding included), so a text's vector shifts a little with its
    batch-mates (cosine ~0.97 for the empty string); only the order is asserted here, not 1e-5 equality."""
    texts = list(TEXTS)
    random.Random(3).shuffle(texts)
    batched = title_int8.encode(texts, batch_size=4)
    one_by_one = np.concatenate([title_int8.encode([t]) for t in texts])
    assert (np.sum(batched * one_by_one, axis=1) > 0.95).all()
    sims = batched @ one_by_one.T
    assert (sims.argmax(axis=1) == np.arange(len(texts))).all()


def test_tiny_mpnet_batching(tiny_bundles):
    """The same on MPNet (pad id 1, no token_type_ids input)."""
    encoder = Encoder.open(tiny_bundles["router-skill"], precision="fp32", providers="cpu")
    assert encoder.manifest.pad_id == 1
    assert encoder.manifest.extra["inputs"] == ["input_ids", "attention_mask"]
    texts = TEXTS * 2
    random.Random(11).shuffle(texts)
    batched = encoder.encode_tokens(texts, batch_size=5)
    for text, got in zip(texts, batched):
        np.testing.assert_allclose(got, encoder.encode_tokens([text])[0], atol=1e-5, rtol=0)

"""`Encoder.encode`, `encode_tokens` and `count_tokens` on the committed tiny bundles: inputs, truncation, batching."""

from __future__ import annotations

import random
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from encoder_support import DIM, MAX_LEN, TEXTS
from tokenizers import Tokenizer

from workvec import Encoder, TokenEncoding
from workvec.errors import BundleError, InputError

LONG = "engineer " * 400


@pytest.fixture(scope="module")
def title_fp32(tiny_title_bundle):
    return Encoder.open(tiny_title_bundle, precision="fp32", providers="cpu")


@pytest.fixture(scope="module")
def title_int8(tiny_title_bundle):
    return Encoder.open(tiny_title_bundle, precision="int8", providers="cpu")


@pytest.fixture(scope="module")
def skill_fp32(tiny_skill_bundle):
    return Encoder.open(tiny_skill_bundle, precision="fp32", providers="cpu")


def raw_tokenizer(bundle) -> Tokenizer:
    tok = Tokenizer.from_file(str(bundle / "tokenizer.json"))
    tok.no_padding()
    tok.no_truncation()
    return tok


# --- input contract -------------------------------------------------------------------------------------------


def test_empty_list(title_int8, skill_fp32):
    out = title_int8.encode([])
    assert out.shape == (0, DIM) and out.dtype == np.float32
    assert skill_fp32.encode_tokens([]) == []
    assert skill_fp32.encode([]).shape == (0, DIM)
    assert skill_fp32.count_tokens([]).shape == (0,)


def test_empty_string_gives_a_finite_vector(title_int8, title_fp32, skill_fp32):
    for encoder in (title_int8, title_fp32):
        out = encoder.encode([""])
        assert out.shape == (1, DIM) and np.isfinite(out).all()
        assert np.linalg.norm(out[0]) == pytest.approx(1.0, abs=1e-4)  # the title bundle keeps Normalize
    (tokens,) = skill_fp32.encode_tokens([""])
    assert tokens.vectors.shape == (2, DIM) and np.isfinite(tokens.vectors).all()  # [CLS] [SEP]
    np.testing.assert_array_equal(tokens.offsets, [[0, 0], [0, 0]])
    assert tokens.truncated is False


@pytest.mark.parametrize("bad", [None, 3, b"bytes", ["nested"]])
def test_non_string_names_the_index(title_int8, skill_fp32, bad):
    with pytest.raises(TypeError, match=r"texts\[2\]"):
        title_int8.encode(["a", "b", bad])
    with pytest.raises(TypeError, match=r"texts\[1\]"):
        skill_fp32.encode_tokens(["a", bad])
    with pytest.raises(TypeError, match=r"texts\[0\]"):
        skill_fp32.count_tokens([bad])


def test_a_single_string_is_refused(title_int8):
    with pytest.raises(TypeError, match="list of strings"):
        title_int8.encode("software engineer")


def test_bad_batch_size(title_int8):
    with pytest.raises(InputError, match="batch_size"):
        title_int8.encode(["a"], batch_size=0)


def test_title_bundle_has_no_token_output(title_int8):
    with pytest.raises(BundleError, match="--kind skill"):
        title_int8.encode_tokens(["a"])


# --- truncation, offsets and counts from one tokenization ---------------------------------------------------------


def test_long_text_is_truncated(title_fp32, skill_fp32):
    longer = "engineer " * 700
    out = title_fp32.encode([LONG, longer])
    assert np.isfinite(out).all()
    np.testing.assert_allclose(out[0], out[1], atol=1e-6)  # both cut to the same max_seq_length tokens
    long_tokens, short = skill_fp32.encode_tokens([longer, "engineer"])
    assert long_tokens.vectors.shape == (MAX_LEN, DIM) and long_tokens.offsets.shape == (MAX_LEN, 2)
    assert long_tokens.truncated is True
    assert short.truncated is False and short.vectors.shape[0] == short.offsets.shape[0] < MAX_LEN


def test_truncation_flag_is_exact_at_the_limit(skill_fp32, tiny_skill_bundle):
    tok = raw_tokenizer(tiny_skill_bundle)
    words = "python " * 200
    # the longest prefix that fits (MAX_LEN tokens with [CLS] and [SEP]) and one word more
    fits = next(" ".join(words.split()[:n]) for n in range(200, 0, -1)
                if len(tok.encode(" ".join(words.split()[:n])).ids) <= MAX_LEN)
    over = fits + " python"
    assert len(tok.encode(fits).ids) <= MAX_LEN < len(tok.encode(over).ids)
    a, b = skill_fp32.encode_tokens([fits, over])
    assert (a.truncated, b.truncated) == (False, True)
    assert a.vectors.shape[0] == len(tok.encode(fits).ids) and b.vectors.shape[0] == MAX_LEN


def test_token_offsets_come_with_the_vectors(skill_fp32, tiny_skill_bundle):
    tok = raw_tokenizer(tiny_skill_bundle)
    texts = ["Skills: C++, e-mail and CI/CD (naïve café 😀 Führung) – Zürich's R&D.", "", "Python", LONG]
    for text, got in zip(texts, skill_fp32.encode_tokens(texts)):
        assert isinstance(got, TokenEncoding)
        assert got.offsets.dtype == np.int64 and got.offsets.shape == (got.vectors.shape[0], 2)
        want = tok.encode(text)
        n = got.vectors.shape[0]
        if not got.truncated:
            np.testing.assert_array_equal(got.offsets, np.asarray(want.offsets).reshape(-1, 2))
        else:  # the kept tokens, then [SEP] as (0, 0)
            np.testing.assert_array_equal(got.offsets[:-1], np.asarray(want.offsets[: n - 1]))
        np.testing.assert_array_equal(got.offsets[0], [0, 0])  # [CLS]
        np.testing.assert_array_equal(got.offsets[-1], [0, 0])  # [SEP]
        for start, end in got.offsets[1:-1].tolist():
            assert 0 <= start < end <= len(text) and text[start:end].strip() == text[start:end]


def test_encoding_never_changes_the_tokenizer(skill_fp32):
    """Nothing toggles truncation on the shared tokenizer: the same text gives the same result before and after."""
    before = skill_fp32.encode_tokens([LONG, "chef"])
    skill_fp32.count_tokens([LONG])
    after = skill_fp32.encode_tokens([LONG, "chef"])
    for a, b in zip(before, after):
        np.testing.assert_array_equal(a.vectors, b.vectors)
        np.testing.assert_array_equal(a.offsets, b.offsets)
        assert a.truncated == b.truncated


def test_count_tokens_is_the_token_count_after_truncation(skill_fp32, title_int8):
    counts = skill_fp32.count_tokens(TEXTS + [LONG])
    assert counts.dtype == np.int64
    assert counts.tolist() == [e.vectors.shape[0] for e in skill_fp32.encode_tokens(TEXTS + [LONG])]
    assert counts[-1] == MAX_LEN and counts[2] == 2
    np.testing.assert_array_equal(title_int8.count_tokens(TEXTS), counts[:-1])  # same tokenizer


# --- token outputs and batching -------------------------------------------------------------------------------


def test_encode_tokens_shapes(skill_fp32, tiny_skill_bundle):
    tok = raw_tokenizer(tiny_skill_bundle)
    got = skill_fp32.encode_tokens(TEXTS, batch_size=4)
    assert isinstance(got, list) and len(got) == len(TEXTS)
    for text, enc in zip(TEXTS, got):
        assert enc.vectors.dtype == np.float32 and enc.vectors.flags.c_contiguous
        assert enc.vectors.shape == (len(tok.encode(text).ids), DIM)
    # the pooled output is the mean of the token states (mean pooling, special tokens included)
    pooled = skill_fp32.encode(TEXTS)
    np.testing.assert_allclose(pooled, np.stack([e.vectors.mean(axis=0) for e in got]), atol=1e-5)


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
        np.testing.assert_allclose(got.vectors, alone.vectors, atol=1e-5, rtol=0)
        np.testing.assert_array_equal(got.offsets, alone.offsets)


def test_int8_batching_keeps_order_and_values(title_int8):
    """int8 activations are quantized per row, so a text's vector does not depend on its batch-mates (up to
    fp32 rounding in attention and pooling over the padded length)."""
    texts = list(TEXTS)
    random.Random(3).shuffle(texts)
    batched = title_int8.encode(texts, batch_size=4)
    one_by_one = np.concatenate([title_int8.encode([t]) for t in texts])
    np.testing.assert_allclose(batched, one_by_one, atol=1e-6, rtol=0)


def test_one_encoder_from_four_threads_equals_serial(tiny_skill_bundle):
    """The HTTP service shares one Encoder between threads: results must equal a serial run."""
    encoder = Encoder.open(tiny_skill_bundle, precision="fp32", providers="cpu", threads=1)
    jobs = [[f"{t} {i}" for t in TEXTS] + ([LONG] if i % 3 == 0 else []) for i in range(16)]
    serial = [(encoder.encode(j, batch_size=4), encoder.encode_tokens(j, batch_size=4), encoder.count_tokens(j))
              for j in jobs]
    with ThreadPoolExecutor(max_workers=4) as pool:
        threaded = list(pool.map(lambda j: (encoder.encode(j, batch_size=4), encoder.encode_tokens(j, batch_size=4),
                                            encoder.count_tokens(j)), jobs))
    for (v1, t1, c1), (v2, t2, c2) in zip(serial, threaded):
        np.testing.assert_array_equal(v1, v2)
        np.testing.assert_array_equal(c1, c2)
        for a, b in zip(t1, t2):
            np.testing.assert_array_equal(a.vectors, b.vectors)
            np.testing.assert_array_equal(a.offsets, b.offsets)
            assert a.truncated == b.truncated


@pytest.mark.integration
def test_tiny_mpnet_batching(tiny_bundles):
    """The same on MPNet (pad id 1, no token_type_ids input)."""
    encoder = Encoder.open(tiny_bundles["router-skill"], precision="fp32", providers="cpu")
    assert encoder.manifest.pad_id == 1
    assert encoder.manifest.extra["inputs"] == ["input_ids", "attention_mask"]
    texts = TEXTS * 2
    random.Random(11).shuffle(texts)
    batched = encoder.encode_tokens(texts, batch_size=5)
    for text, got in zip(texts, batched):
        np.testing.assert_allclose(got.vectors, encoder.encode_tokens([text])[0].vectors, atol=1e-5, rtol=0)


def test_one_text_is_tokenized_and_encoded_as_inside_a_batch(title_int8, skill_fp32):
    """A text alone (the batch-1 path of normalize and serve) gets the encoding, truncation flag, vectors and token
    vectors it gets inside a batch: guards any single-text shortcut in tokenization or padding."""
    from workvec.runtime.tokenizer import tokenize

    texts = [*TEXTS, LONG]
    together = tokenize(title_int8._tokenizer, texts)
    for text, batched in zip(texts, together):
        (alone,) = tokenize(title_int8._tokenizer, [text])
        assert (alone.ids, alone.attention_mask) == (batched.ids, batched.attention_mask)
        assert alone.offsets == batched.offsets
        assert bool(alone.overflowing) == bool(batched.overflowing)
    for text in ("data scientist", LONG, ""):
        np.testing.assert_array_equal(title_int8.encode([text]), title_int8.encode([text, "x"])[:1])
        (one,) = skill_fp32.encode_tokens([text])
        (two, _) = skill_fp32.encode_tokens([text, "x y z"])
        assert one.truncated == two.truncated
        np.testing.assert_array_equal(one.offsets, two.offsets)
        np.testing.assert_allclose(one.vectors, two.vectors, rtol=0, atol=1e-6)

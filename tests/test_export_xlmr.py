"""`workvec export` of an XLM-RoBERTa with TechWolf/JobBERT-v3's exact layout (tests/tiny_xlmr.py): the Asym anchor
head, no token_type_ids, a SentencePiece-style Unigram vocabulary, languages from the model card, through the same
parity gate (per-row int8, batch invariance, int8 embedding tables per row); and skill bundles whose token spans
index texts in German, Spanish, French, Polish and Chinese.

Real and offline: sentence-transformers 5.x loads the legacy layout, torch exports it, onnxruntime runs it.
"""

from __future__ import annotations

import importlib.util
import json
import unicodedata

import numpy as np
import pytest

from conftest import FIXTURE_BUNDLES, torch_threads
from workvec.runtime.encoder import Encoder
from workvec.runtime.manifest import read_manifest

if importlib.util.find_spec("sentence_transformers") is None:  # checked without importing torch
    pytest.skip("the export tests need the export extra (torch)", allow_module_level=True)
pytestmark = pytest.mark.integration  # exports through torch

TEXTS = [
    "Pflegefachkraft (m/w/d) für die Intensivstation",
    "Ingeniero/a de software sénior",
    "Développeur full-stack confirmé (H/F)",
    "Księgowa z doświadczeniem w biurze rachunkowym",
    "高级软件工程师",
    "我们正在招聘一名高级软件工程师，熟悉Python和数据库。",
    "Ingénieur ﬁnancier e\u0301tudes",
    "Senior Data Engineer",
    "the quick brown fox jumps over the lazy dog " * 6,  # over 64 tokens: truncated like sentence-transformers
]


def _st(model, texts, **kwargs):
    with torch_threads(1):
        return model.encode(texts, convert_to_numpy=True, **kwargs)


def test_fixture_is_jobbert_v3s_layout(tiny_xlmr):
    modules = json.loads((tiny_xlmr.asym / "modules.json").read_text())
    assert [m["type"].rsplit(".", 1)[-1] for m in modules] == ["Transformer", "Pooling", "Asym"]
    head = json.loads((tiny_xlmr.asym / "2_Asym" / "config.json").read_text())
    assert head["structure"] == {"anchor": ["6235903824_Dense"], "positive": ["6235904160_Dense"]}
    for folder in ("6235903824_Dense", "6235904160_Dense"):
        files = sorted(p.name for p in (tiny_xlmr.asym / "2_Asym" / folder).iterdir())
        assert files == ["config.json", "model.safetensors"]
    config = json.loads((tiny_xlmr.asym / "config.json").read_text())
    assert (config["model_type"], config["type_vocab_size"], config["pad_token_id"]) == ("xlm-roberta", 1, 1)
    assert json.loads((tiny_xlmr.asym / "sentence_bert_config.json").read_text())["max_seq_length"] == 64
    tokenizer = json.loads((tiny_xlmr.asym / "tokenizer.json").read_text())
    assert tokenizer["model"]["type"] == "Unigram" and tokenizer["post_processor"]["type"] == "TemplateProcessing"
    assert "- zh\n- mul\n- multilingual" in (tiny_xlmr.asym / "README.md").read_text()


def test_title_bundle_passes_the_gate_and_is_the_anchor_route(xlmr_bundles, xlmr_st):
    manifest = read_manifest(xlmr_bundles["title"])
    assert manifest.extra["inputs"] == ["input_ids", "attention_mask"]
    assert manifest.branch == "anchor" and manifest.extra["head"] == ["Dense"] and manifest.dim == 48
    assert manifest.languages == ("en", "es", "de", "zh") and manifest.source["languages_from"] == "model card"
    parity = manifest.parity
    assert parity["fp32"]["min_cosine"] >= 0.99999 and parity["int8"]["mean_cosine"] >= 0.99
    assert parity["int8"]["top10_overlap"] >= 0.90 and parity["int8"]["batch_invariance"]["min_cosine"] >= 0.99999
    assert parity["multilingual_probes"] > 40 and parity["probes"] == 230 + parity["multilingual_probes"]
    assert manifest.quantization["tables"].startswith("QInt8 per row")
    fp32 = Encoder.open(xlmr_bundles["title"], precision="fp32")
    got = fp32.encode(TEXTS, batch_size=4)
    np.testing.assert_allclose(got, _st(xlmr_st, TEXTS, task="anchor"), atol=1e-5, rtol=0)
    assert np.abs(got - _st(xlmr_st, TEXTS, task="positive")).max() > 0.1
    int8 = Encoder.open(xlmr_bundles["title"], precision="int8").encode(TEXTS)
    assert (np.sum(got * int8, 1) / np.linalg.norm(got, axis=1) / np.linalg.norm(int8, axis=1)).min() > 0.99


def test_the_committed_xlmr_bundle_is_what_the_exporter_makes(xlmr_bundles):
    """tests/fixtures/bundles/tiny-xlmr-title (the fast tier's) from today's exporter: the same fp32 graph and
    tokenizer, byte for byte (int8 depends on this CPU's preset; the committed one is avx2)."""
    fresh = read_manifest(xlmr_bundles["title"]).files
    committed = read_manifest(FIXTURE_BUNDLES / "tiny-xlmr-title").files
    for name in ("model.onnx", "tokenizer.json"):
        assert fresh[name]["sha256"] == committed[name]["sha256"], (
            f"{name} differs: rebuild it with `PYTHONPATH=$PWD .venv/bin/python tests/fixtures/make_tiny_bundles.py --only xlmr`")


def test_skill_bundle_token_vectors_and_spans(xlmr_bundles, xlmr_st):
    encoder = Encoder.open(xlmr_bundles["skill"], precision="fp32")
    got = encoder.encode_tokens(TEXTS, batch_size=4)
    with torch_threads(1):
        ref = xlmr_st.encode(TEXTS, output_value="token_embeddings")
    for text, g, r in zip(TEXTS, got, ref):
        np.testing.assert_allclose(g.vectors, r.numpy(), atol=1e-5, rtol=0)
        assert len(g.offsets) == len(g.vectors)
        for a, b in g.offsets.tolist():
            assert 0 <= a <= b <= len(text)
            if b > a:  # a real token: a piece of the caller's text, the normaliser's changes undone
                assert unicodedata.normalize("NFKC", text[a:b]).strip()
    assert got[-1].truncated and len(got[-1].vectors) == 64
    accent = TEXTS[6].index("\u0301")
    assert any(a <= accent < b for a, b in got[6].offsets.tolist())  # the decomposed accent is inside a span
    manifest = encoder.manifest
    assert manifest.outputs == {"sentence_embedding": 32, "token_embeddings": 32}
    assert manifest.parity["int8"]["token_min_cosine"] >= 0.975
    assert manifest.parity["int8"]["batch_invariance"]["token_min_cosine"] >= 0.99999


def test_languages_option_and_the_router_layout(xlmr_bundles, xlmr_st):
    """--languages overrides the card; the 5.x `2_Router` save of the same model exports the same graph."""
    manifest = read_manifest(xlmr_bundles["router-title"])
    assert manifest.languages == ("de", "fr") and manifest.source["languages_from"] == "--languages"
    a = Encoder.open(xlmr_bundles["router-title"], precision="fp32").encode(TEXTS)
    b = Encoder.open(xlmr_bundles["title"], precision="fp32").encode(TEXTS)
    np.testing.assert_allclose(a, b, atol=1e-6, rtol=0)

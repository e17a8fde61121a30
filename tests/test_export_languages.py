"""Which languages, max length and files an export takes from the model's folder (workvec/export/source.py),
without torch: model cards, known models (TechWolf/JobBERT-v3), `--languages`, and what a hub download skips."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from workvec.errors import ExportError
from workvec.export.source import card_languages, parse_languages, resolve, unused_files

V3_FRONT = "---\nbase_model: sentence-transformers/paraphrase-multilingual-mpnet-base-v2\nlanguage:\n- en\n- es\n" \
           "- de\n- zh\n- mul\n- multilingual\nlibrary_name: sentence-transformers\n---\n"


def _folder(root: Path, card: str | None = None, max_len: int | None = 512) -> Path:
    """A sentence-transformers folder as far as resolve() reads it."""
    root.mkdir(parents=True)
    (root / "modules.json").write_text(json.dumps([
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
        {"idx": 2, "name": "2", "path": "2_Asym", "type": "sentence_transformers.models.Asym"}]), encoding="utf-8")
    if max_len is not None:
        (root / "sentence_bert_config.json").write_text(json.dumps({"max_seq_length": max_len}), encoding="utf-8")
    if card is not None:
        (root / "README.md").write_text(card, encoding="utf-8")
    return root


@pytest.mark.parametrize("card, languages", [
    (V3_FRONT + "# JobBERT-v3", ("en", "es", "de", "zh")),  # mul / multilingual say nothing specific
    ("---\nlanguage: de\n---\n", ("de",)),
    ("---\nlanguage: [en, 'fr']\ntags: [x]\n---\n", ("en", "fr")),
    ("---\nlanguage:\n  - multilingual\n---\n", ("mul",)),
    ("---\ntags:\n- x\n---\nlanguage: en\n", ()),  # not in the front matter
    ("# no front matter\nlanguage: de", ()),
])
def test_card_languages(card: str, languages: tuple[str, ...]) -> None:
    assert card_languages(card) == languages


def test_parse_languages() -> None:
    assert parse_languages(" en, DE,es,en ") == ("en", "de", "es")
    assert parse_languages(["zh", "mul"]) == ("zh", "mul")
    with pytest.raises(ExportError, match="'deutsch' is not an ISO 639-1 code"):
        parse_languages("en,deutsch")


def test_languages_come_from_the_card_then_a_known_model_then_english(tmp_path: Path) -> None:
    card = resolve(_folder(tmp_path / "card", V3_FRONT))
    assert (card.languages, card.languages_from, card.max_seq_length) == (("en", "es", "de", "zh"), "model card", 512)
    given = resolve(_folder(tmp_path / "given", V3_FRONT), languages=("de",))
    assert (given.languages, given.languages_from) == (("de",), "--languages")
    plain = resolve(_folder(tmp_path / "plain", "# a model\n"))
    assert (plain.languages, plain.languages_from) == (("en",), "default")
    assert plain.to_json()["languages_from"] == "default"


def test_jobbert_v3_is_known_from_its_usage_snippet_and_hub_cache_path(tmp_path: Path) -> None:
    """`huggingface-cli download TechWolf/JobBERT-v3 --local-dir DIR`: the card's snippet names the model (its
    citations name JobBERT-v2 too); its trained length is 64 whatever the folder's config says."""
    card = "# JobBERT\nBuilds on [JobBERT-v2](https://huggingface.co/TechWolf/JobBERT-v2).\n" \
           'model = SentenceTransformer("TechWolf/JobBERT-v3")\n'
    local = resolve(_folder(tmp_path / "DIR", card, max_len=512))
    assert (local.max_seq_length, local.languages, local.languages_from) == (64, ("en", "es", "de", "zh"), "known model")
    cached = resolve(_folder(tmp_path / "models--TechWolf--JobBERT-v3" / "snapshots" / "abc", None, max_len=None))
    assert cached.max_seq_length == 64 and cached.languages_from == "known model"
    v2 = resolve(_folder(tmp_path / "v2", 'SentenceTransformer("TechWolf/JobBERT-v2")', max_len=512))
    assert (v2.max_seq_length, v2.languages) == (64, ("en",))


def test_hub_download_skips_other_formats_and_twin_weights() -> None:
    files = ["model.safetensors", "pytorch_model.bin", "onnx/model.onnx", "openvino/openvino_model.xml",
             "2_Asym/1_Dense/model.safetensors", "2_Asym/1_Dense/pytorch_model.bin", "2_Asym/2_Dense/pytorch_model.bin",
             "tf_model.h5", "tokenizer.json"]
    skipped = unused_files(files)
    assert "pytorch_model.bin" in skipped and "2_Asym/1_Dense/pytorch_model.bin" in skipped
    assert "2_Asym/2_Dense/pytorch_model.bin" not in skipped  # that Dense has no other copy of its weights
    assert {"onnx/*", "openvino/*", "*.h5"} <= set(skipped)
    assert "tokenizer.json" not in skipped and "model.safetensors" not in skipped

"""Beyond English without torch: the committed tiny XLM-R bundle (JobBERT-v3's layout), its tokenizer's character
offsets in German, Spanish, French, Polish and Chinese, and bundles that know their languages.

The bundle's vectors mean nothing (random weights): these tests check contracts (inputs, offsets, languages,
batch invariance, an exact label found), never semantics. tests/test_export_xlmr.py exports the same model
through torch; tests/test_taxonomy_i18n.py covers ESCO in German and Spanish.
"""

from __future__ import annotations

import json
import unicodedata
from pathlib import Path

import numpy as np
import pytest
from cli_helpers import error_line, normalize, run_cli

from workvec.runtime.encoder import Encoder
from workvec.runtime.manifest import read_manifest
from workvec.runtime.tokenizer import char_offsets, load_tokenizer, tokenize

FIXTURES = Path(__file__).resolve().parent / "fixtures"
TEXTS = [line for line in (FIXTURES / "multilingual.txt").read_text(encoding="utf-8").splitlines()
         if line.strip() and not line.startswith("#")]
ODD = [
    "Ingénieur ﬁnancier e\u0301tudes",  # a ligature (NFKC: fi) and a decomposed é (e + U+0301)
    "  Księgowa  –  zdalna ",  # runs of spaces around the words
    "数据分析师（Python/SQL）",  # full-width brackets (NFKC: ASCII)
]


def _offsets(tokenizer, text: str):
    (encoding,) = tokenize(tokenizer, [text])
    return encoding, char_offsets(encoding, text)


# --- the bundle -----------------------------------------------------------------------------------------------


def test_xlmr_bundle_has_no_token_type_ids_and_knows_its_languages(tiny_xlmr_bundle) -> None:
    manifest = read_manifest(tiny_xlmr_bundle)
    assert manifest.languages == ("en", "es", "de", "zh")
    assert manifest.source["languages_from"] == "model card"
    assert manifest.extra["inputs"] == ["input_ids", "attention_mask"]
    assert manifest.branch == "anchor" and manifest.extra["head"] == ["Dense"] and manifest.max_seq_length == 64
    assert manifest.source["modules"] == ["Transformer", "Pooling", "Asym"]
    assert manifest.pad_id == 1  # XLM-R's <pad>
    assert manifest.parity["multilingual_probes"] > 40 and manifest.quantization["tables"].startswith("QInt8 per row")
    for precision in ("fp32", "int8"):
        encoder = Encoder.open(tiny_xlmr_bundle, precision=precision)
        assert [i.name for i in encoder._session.get_inputs()] == ["input_ids", "attention_mask"]


def test_xlmr_bundle_is_small_enough_to_commit(tiny_xlmr_bundle) -> None:
    assert sum(p.stat().st_size for p in tiny_xlmr_bundle.iterdir()) < 1_000_000


def test_xlmr_int8_follows_fp32_and_is_batch_invariant(tiny_xlmr_bundle) -> None:
    texts = TEXTS + ODD
    fp32 = Encoder.open(tiny_xlmr_bundle, precision="fp32").encode(texts)
    int8 = Encoder.open(tiny_xlmr_bundle, precision="int8")
    got = int8.encode(texts)
    cos = np.sum(fp32 * got, 1) / (np.linalg.norm(fp32, axis=1) * np.linalg.norm(got, axis=1))
    assert cos.min() > 0.99
    alone = np.stack([int8.encode([t])[0] for t in texts])
    assert np.array_equal(alone, got)  # one length per batch, one row as a pair: bit-identical (BATCHING)


def test_info_shows_languages(tiny_xlmr_bundle, tiny_title_bundle, capsys) -> None:
    code, out, _ = run_cli(capsys, "info", tiny_xlmr_bundle)
    assert code == 0 and "languages    en,es,de,zh  (from model card)" in out
    code, out, _ = run_cli(capsys, "info", tiny_title_bundle)  # exported before bundles recorded languages
    assert code == 0 and "languages    en  (not recorded: English-only)" in out


# --- character offsets ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("text", TEXTS + ODD)
def test_offsets_index_the_original_text(tiny_xlmr_bundle, text: str) -> None:
    """Every token's span is a piece of the caller's text that normalises (NFKC, as the tokenizer does) to the
    token: accents, CJK and full-width punctuation included; special tokens have (0, 0)."""
    tokenizer = load_tokenizer(tiny_xlmr_bundle / "tokenizer.json", 512)  # whole texts: truncation is not tested
    encoding, offsets = _offsets(tokenizer, text)
    assert "<unk>" not in encoding.tokens
    for piece, (a, b), special in zip(encoding.tokens, offsets.tolist(), encoding.special_tokens_mask):
        if special:
            assert (a, b) == (0, 0)
            continue
        assert 0 <= a < b <= len(text)
        if piece != "▁":  # a lone word-start marker takes the span of the character it precedes
            assert unicodedata.normalize("NFKC", text[a:b]) == piece.replace("▁", ""), (piece, text[a:b])
    covered = {i for a, b in offsets.tolist() for i in range(a, b)}
    assert covered == {i for i, ch in enumerate(text) if not ch.isspace()}  # nothing lost, spaces aside


def test_offsets_keep_combining_accents(tiny_xlmr_bundle) -> None:
    text = ODD[0]
    tokenizer = load_tokenizer(tiny_xlmr_bundle / "tokenizer.json", 64)
    encoding, offsets = _offsets(tokenizer, text)
    raw = np.asarray(encoding.offsets).reshape(-1, 2)
    accent = text.index("\u0301")
    assert not any(a <= accent < b for a, b in raw.tolist())  # tokenizers' own spans leave U+0301 out
    assert any(a <= accent < b and text[a:b] == "e\u0301" for a, b in offsets.tolist())


@pytest.mark.parametrize("text", [t for t in TEXTS if "\u4e00" <= t[0] <= "\u9fff"])
def test_chinese_spans_tile_the_text(tiny_xlmr_bundle, text: str) -> None:
    """Chinese has no spaces: the token spans, in order, are short pieces that put the clause back together."""
    tokenizer = load_tokenizer(tiny_xlmr_bundle / "tokenizer.json", 512)
    _, offsets = _offsets(tokenizer, text)
    spans = list(dict.fromkeys((a, b) for a, b in offsets.tolist() if b > a))  # a lone '▁' repeats its neighbour
    assert "".join(text[a:b] for a, b in spans) == text
    assert all(b - a <= 6 for a, b in spans)  # pieces, never the whole unspaced clause


# --- languages from the command line ---------------------------------------------------------------------------


@pytest.mark.parametrize("value, problem", [("english", "'english' is not an ISO 639-1 code"),
                                            (",", "no language given")])
def test_bad_languages_is_one_clear_line(capsys, tmp_path, value: str, problem: str) -> None:
    code, _, err = run_cli(capsys, "export", tmp_path / "model", "--kind", "title", "--out", tmp_path / "out",
                           "--languages", value)
    assert code == 2
    line = error_line(err)
    assert problem in line and "en,de,es,zh" in line
    assert not (tmp_path / "out").exists()


def test_a_multilingual_bundle_answers_german_titles_from_a_german_esco_file(capsys, tiny_xlmr_bundle,
                                                                              tmp_path) -> None:
    """A multilingual bundle is not language-guarded, and an ESCO CSV in German given as a file has its gendered
    labels split: the feminine form written alone is a label of its own (exact text: cosine 1)."""
    header = "conceptType,conceptUri,iscoGroup,preferredLabel,altLabels,hiddenLabels,status\n"
    rows = ['Occupation,u1,2654,"Technischer Leiter für Bühne/Technische Leiterin für Bühne","Inspizient\nInspizientin",,released',
            'Occupation,u2,5120,Koch/Köchin,Küchenchef/in,,released',
            'Occupation,u3,2221,Pflegefachmann/Pflegefachfrau,,,released']
    path = tmp_path / "occupations_de.csv"
    path.write_text(header + "\n".join(rows) + "\n", encoding="utf-8")
    titles = ["Technische Leiterin für Bühne", "Köchin", "Küchenchefin"]
    (tmp_path / "index").mkdir()
    code, out, err = normalize(capsys, tiny_xlmr_bundle, tmp_path / "index", *titles, "--taxonomy", path, "--k", 1,
                               "--json", "--no-clean")
    assert code == 0, err
    records = [json.loads(line) for line in out.splitlines()]
    assert [r["language"] for r in records] == [None, None, None]
    assert [(r["matches"][0]["id"], r["matches"][0]["matched_label"]) for r in records] == [
        ("u1", "Technische Leiterin für Bühne"), ("u2", "Köchin"), ("u2", "Küchenchefin")]
    assert records[0]["matches"][0]["label"] == "Technischer Leiter für Bühne"

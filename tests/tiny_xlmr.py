"""A tiny random XLM-RoBERTa with TechWolf/JobBERT-v3's exact layout (for the export tests; needs torch).

JobBERT-v3 (see shared MODELS.md and its model card) is paraphrase-multilingual-mpnet-base-v2, an XLM-RoBERTa
(250,002-piece SentencePiece Unigram vocabulary, no token_type_ids, pad id 1) -> mean pooling -> the legacy
``2_Asym`` head of JobBERT-v2 (anchor and positive: Dense 768->1024 tanh), max_seq_length 64, saved by
sentence-transformers 4.1 (Dense weights as model.safetensors), with a card whose ``language:`` lists en, es, de, zh,
mul, multilingual. Here the same stack at tiny size: 2 layers, hidden 32, a Unigram vocabulary of VOCAB pieces
trained locally with `tokenizers` on text in several languages (the export probes, tests/fixtures/multilingual.txt
and the embedded ESCO occupation labels in English, German and Spanish), normalised like XLM-R's (NMT + NFKC),
split on whitespace and Metaspace'd, and `<s> $A </s>` around each text. The Unigram trainer is not deterministic
(the same pieces, scores and order a little different from run to run), so the trained vocabulary is pinned: the
committed bundle's tokenizer.json (tests/fixtures/bundles/tiny-xlmr-title) is reused unless `train=True`, and a
fresh export then reproduces that bundle's files. Saved as

- ``asym``:   JobBERT-v3's hub layout (``2_Asym/6235903824_Dense`` ...), with a model card;
- ``router``: what ``SentenceTransformer.save()`` writes with sentence-transformers 5.x (``2_Router``).
"""

from __future__ import annotations

import json
import types
from pathlib import Path

from tiny_mpnet import LEGACY_TYPES, _st_modules, _write_legacy_asym

__all__ = ["LANGUAGES", "MAX_SEQ_LENGTH", "OUT", "PINNED", "VOCAB", "build_tiny_xlmr", "train_tokenizer", "training_texts"]

HIDDEN = 32
OUT = 48
MAX_SEQ_LENGTH = 64  # JobBERT-v3's
VOCAB = 2000
IDS = ("6235903824_Dense", "6235904160_Dense")  # the folder names of JobBERT-v3's 2_Asym
LANGUAGES = ("en", "es", "de", "zh")  # what the card's `language:` list means (mul and multilingual dropped)
FIXTURES = Path(__file__).resolve().parent / "fixtures"
PINNED = FIXTURES / "bundles" / "tiny-xlmr-title" / "tokenizer.json"  # the vocabulary trained by train_tokenizer
CARD = """---
base_model: sentence-transformers/paraphrase-multilingual-mpnet-base-v2
language:
- en
- es
- de
- zh
- mul
- multilingual
library_name: sentence-transformers
license: mit
pipeline_tag: feature-extraction
---

# Tiny random stand-in with JobBERT-v3's layout (workvec tests)

XLM-RoBERTa (2 layers, hidden 32, a {vocab}-piece Unigram vocabulary) -> mean pooling -> Asym (anchor-0, positive-0:
Dense 32 -> 48, tanh). Random weights: the vectors mean nothing. Maximum Sequence Length: 64 tokens.
"""


def training_texts() -> list[str]:
    """The tokenizer's training text: probes, the multilingual fixture texts and ESCO occupation labels."""
    from workvec.export.parity import probe_texts
    from workvec.runtime.taxonomy import EMBEDDED, load_taxonomy

    lines = (FIXTURES / "multilingual.txt").read_text(encoding="utf-8").splitlines()
    texts = probe_texts(multilingual=True) + [t for t in lines if t.strip() and not t.startswith("#")]
    for name in (n for n in EMBEDDED if n.startswith("esco-occupations")):
        for concept in load_taxonomy(name).concepts:
            texts.extend([concept.label, *concept.alt_labels[:2]])
    return texts


def train_tokenizer():
    """A new Unigram tokenizer (tokenizers) trained on `training_texts`, with XLM-R's specials and templates."""
    from tokenizers import AddedToken, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers

    tok = Tokenizer(models.Unigram())
    tok.normalizer = normalizers.Sequence([normalizers.Nmt(), normalizers.NFKC()])
    tok.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.WhitespaceSplit(),
                                                 pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")])
    tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always")
    trainer = trainers.UnigramTrainer(vocab_size=VOCAB, special_tokens=["<s>", "<pad>", "</s>", "<unk>"],
                                      unk_token="<unk>", max_piece_length=12)
    tok.train_from_iterator(training_texts(), trainer)
    tok.add_special_tokens([AddedToken("<mask>", lstrip=True, special=True)])  # last id, as XLM-R's
    tok.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>", pair="<s> $A </s> </s> $B </s>", special_tokens=[("<s>", 0), ("</s>", 2)])
    return tok


def _tokenizer(folder: Path, train: bool):
    """The pinned (or, `train`, a newly trained) tokenizer saved as an XLMRobertaTokenizerFast into `folder`."""
    from tokenizers import AddedToken, Tokenizer
    from transformers import XLMRobertaTokenizerFast

    if train or not PINNED.is_file():
        tok = train_tokenizer()
    else:
        tok = Tokenizer.from_file(str(PINNED))
        tok.no_truncation()
        tok.no_padding()
    fast = XLMRobertaTokenizerFast(tokenizer_object=tok, bos_token="<s>", eos_token="</s>", sep_token="</s>",
                                   cls_token="<s>", unk_token="<unk>", pad_token="<pad>",
                                   mask_token=AddedToken("<mask>", lstrip=True, special=True),
                                   model_max_length=MAX_SEQ_LENGTH)
    assert (fast.pad_token_id, fast.bos_token_id, fast.eos_token_id, fast.unk_token_id) == (1, 0, 2, 3)
    assert fast.model_input_names == ["input_ids", "attention_mask"]  # no token_type_ids, as XLM-R
    fast.save_pretrained(folder)
    return fast


def build_tiny_xlmr(root: Path, train: bool = False) -> types.SimpleNamespace:
    """Build the tiny random XLM-R and save it as `asym` (JobBERT-v3's layout) and `router` (5.x); `train`: a new
    vocabulary instead of the pinned one."""
    import torch
    from sentence_transformers import SentenceTransformer
    from transformers import XLMRobertaConfig, XLMRobertaModel

    modules = _st_modules()
    root.mkdir(parents=True, exist_ok=True)
    hf = root / "hf"
    tokenizer = _tokenizer(hf, train)
    config = XLMRobertaConfig(
        vocab_size=len(tokenizer), hidden_size=HIDDEN, num_hidden_layers=2, num_attention_heads=4,
        intermediate_size=64, max_position_embeddings=MAX_SEQ_LENGTH + 2,  # positions start after the pad id
        type_vocab_size=1, pad_token_id=1, bos_token_id=0, eos_token_id=2, layer_norm_eps=1e-5,
    )
    torch.manual_seed(0)
    XLMRobertaModel(config, add_pooling_layer=False).eval().save_pretrained(hf)

    transformer = modules.Transformer(str(hf), max_seq_length=MAX_SEQ_LENGTH)
    pooling = modules.Pooling(HIDDEN, "mean")
    torch.manual_seed(1)
    anchor = modules.Dense(HIDDEN, OUT, activation_function=torch.nn.Tanh())
    torch.manual_seed(2)
    positive = modules.Dense(HIDDEN, OUT, activation_function=torch.nn.Tanh())
    router_dir = root / "router"
    SentenceTransformer(modules=[transformer, pooling, modules.Router({"anchor": [anchor], "positive": [positive]})],
                        device="cpu").save(str(router_dir))

    asym_dir = root / "asym"
    _write_legacy_asym(router_dir, asym_dir, anchor, positive, hidden=HIDDEN, max_seq_length=MAX_SEQ_LENGTH, ids=IDS,
                       versions={"__version__": {"sentence_transformers": "4.1.0", "transformers": "4.48.3",
                                                 "pytorch": "2.6.0+cu126"},
                                 "prompts": {}, "default_prompt_name": None, "similarity_fn_name": "cosine"},
                       pooling_extra={"pooling_mode_weightedmean_tokens": False, "pooling_mode_lasttoken": False,
                                      "include_prompt": True},
                       safetensors=True)
    (asym_dir / "README.md").write_text(CARD.format(vocab=len(tokenizer)), encoding="utf-8")
    modules_json = json.loads((asym_dir / "modules.json").read_text(encoding="utf-8"))
    assert modules_json[2]["type"] == LEGACY_TYPES["Asym"] and (asym_dir / "2_Asym" / IDS[0] / "model.safetensors").is_file()
    return types.SimpleNamespace(root=root, asym=asym_dir, router=router_dir, vocab=len(tokenizer))

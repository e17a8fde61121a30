"""A tiny random MPNet in both JobBERT-v2 head layouts (for the export tests; needs torch).

The tiny model mirrors TechWolf/JobBERT-v2's module stack (see shared MODELS.md): MPNet transformer -> mean
pooling -> Asym/Router head with a tanh Dense per route (anchor and positive differ). It is saved twice:

- ``router``: what ``SentenceTransformer.save()`` writes with sentence-transformers 5.x (``2_Router``);
- ``asym``:   the legacy layout written by hand (``2_Asym/config.json`` with types/structure/parameters and one
  ``<id>_Dense`` folder per Dense holding ``config.json`` + ``pytorch_model.bin``), as the hub repo has it.

Plus ``plain``: the same transformer + pooling without any head (for ``--branch`` misuse).
"""

from __future__ import annotations

import contextlib
import json
import shutil
import types
from pathlib import Path

TINY_MAX_SEQ_LENGTH = 64
TINY_HIDDEN = 32
TINY_OUT = 48
# Legacy Asym folders are named after Python object ids on the hub (e.g. 140216480444672_Dense).
ANCHOR_ID = "140216480444672_Dense"
POSITIVE_ID = "140216480447040_Dense"
LEGACY_TYPES = {
    "Transformer": "sentence_transformers.models.Transformer",
    "Pooling": "sentence_transformers.models.Pooling",
    "Asym": "sentence_transformers.models.Asym",
    "Dense": "sentence_transformers.models.Dense",
}
WORDS = (
    "the and of to in for with on at by an or as is are be this that from we you our your will have has "
    "software engineer developer data analyst scientist senior junior lead manager sales marketing nurse teacher "
    "python java sql cloud project team work experience skills customer service management design support "
    "business financial accountant driver chef mechanical electrical technician assistant administrative"
).split()


def _st_modules():
    """The sentence-transformers module classes (new import path, falling back to the deprecated one)."""
    try:
        from sentence_transformers.sentence_transformer import modules
    except ImportError:  # pragma: no cover - older 5.x
        from sentence_transformers import models as modules
    return modules


def _write_vocab(path: Path) -> None:
    """A small WordPiece vocab: MPNet's specials, printable ASCII (+ ## continuations) and common words."""
    specials = ["<s>", "<pad>", "</s>", "<unk>", "[UNK]", "<mask>"]  # MPNetTokenizer's unk_token is "[UNK]"
    chars = [chr(c) for c in range(33, 127) if not chr(c).isupper()]
    vocab: list[str] = []
    for token in specials + chars + ["##" + c for c in chars if c.isalnum()] + WORDS:
        if token not in vocab:
            vocab.append(token)
    path.write_text("\n".join(vocab) + "\n", encoding="utf-8")


def build_tiny_mpnet(root: Path) -> types.SimpleNamespace:
    """Build the tiny random MPNet and save it as `router` (5.x), `asym` (legacy) and `plain` (no head)."""
    import torch
    from sentence_transformers import SentenceTransformer
    from transformers import MPNetConfig, MPNetModel, MPNetTokenizerFast

    modules = _st_modules()
    root.mkdir(parents=True, exist_ok=True)
    _write_vocab(root / "vocab.txt")
    tokenizer = MPNetTokenizerFast(vocab_file=str(root / "vocab.txt"), do_lower_case=True)
    config = MPNetConfig(
        vocab_size=len(tokenizer),
        hidden_size=TINY_HIDDEN,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=64,
        max_position_embeddings=TINY_MAX_SEQ_LENGTH + 2,  # MPNet offsets positions by padding_idx + 1
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
    )
    torch.manual_seed(0)
    hf = root / "hf"
    MPNetModel(config).eval().save_pretrained(hf)
    tokenizer.save_pretrained(hf)
    assert (hf / "tokenizer.json").is_file()

    transformer = modules.Transformer(str(hf), max_seq_length=TINY_MAX_SEQ_LENGTH)
    pooling = modules.Pooling(TINY_HIDDEN, "mean")
    torch.manual_seed(1)
    anchor = modules.Dense(TINY_HIDDEN, TINY_OUT, activation_function=torch.nn.Tanh())
    torch.manual_seed(2)
    positive = modules.Dense(TINY_HIDDEN, TINY_OUT, activation_function=torch.nn.Tanh())
    router = modules.Router({"anchor": [anchor], "positive": [positive]})

    router_dir = root / "router"
    SentenceTransformer(modules=[transformer, pooling, router], device="cpu").save(str(router_dir))
    assert (router_dir / "2_Router" / "router_config.json").is_file()

    plain_dir = root / "plain"
    SentenceTransformer(modules=[transformer, pooling], device="cpu").save(str(plain_dir))

    asym_dir = root / "asym"
    _write_legacy_asym(router_dir, asym_dir, anchor, positive)
    return types.SimpleNamespace(root=root, router=router_dir, asym=asym_dir, plain=plain_dir)


def _write_legacy_asym(router_dir: Path, out: Path, anchor, positive, *, hidden: int = TINY_HIDDEN,
                       max_seq_length: int = TINY_MAX_SEQ_LENGTH, ids: tuple[str, str] = (ANCHOR_ID, POSITIVE_ID),
                       versions: dict | None = None, pooling_extra: dict | None = None,
                       safetensors: bool = False) -> None:
    """The legacy JobBERT-v2 layout: old module type names, `2_Asym` with one folder per Dense id (JobBERT-v3's
    too: other ids, safetensors weights, a 4.x config_sentence_transformers.json and pooling keys)."""
    shutil.copytree(router_dir, out, ignore=shutil.ignore_patterns("2_Router", "README.md"))
    (out / "modules.json").write_text(json.dumps([
        {"idx": 0, "name": "0", "path": "", "type": LEGACY_TYPES["Transformer"]},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": LEGACY_TYPES["Pooling"]},
        {"idx": 2, "name": "2", "path": "2_Asym", "type": LEGACY_TYPES["Asym"]},
    ], indent=2), encoding="utf-8")
    (out / "sentence_bert_config.json").write_text(
        json.dumps({"max_seq_length": max_seq_length, "do_lower_case": False}, indent=2), encoding="utf-8"
    )
    (out / "config_sentence_transformers.json").write_text(json.dumps(versions or {
        "__version__": {"sentence_transformers": "2.2.2", "transformers": "4.28.1", "pytorch": "2.0.0"}},
        indent=2), encoding="utf-8")
    (out / "1_Pooling" / "config.json").write_text(json.dumps({
        "word_embedding_dimension": hidden, "pooling_mode_cls_token": False, "pooling_mode_mean_tokens": True,
        "pooling_mode_max_tokens": False, "pooling_mode_mean_sqrt_len_tokens": False, **(pooling_extra or {}),
    }, indent=2), encoding="utf-8")
    head = out / "2_Asym"
    head.mkdir()
    anchor_id, positive_id = ids
    (head / "config.json").write_text(json.dumps({
        "types": {anchor_id: LEGACY_TYPES["Dense"], positive_id: LEGACY_TYPES["Dense"]},
        "structure": {"anchor": [anchor_id], "positive": [positive_id]},
        "parameters": {"allow_empty_key": True},
    }, indent=2), encoding="utf-8")
    weights = "model.safetensors" if safetensors else "pytorch_model.bin"
    for folder_id, dense in ((anchor_id, anchor), (positive_id, positive)):
        folder = head / folder_id
        folder.mkdir()
        dense.save(str(folder), safe_serialization=safetensors)  # the Dense's own save: config.json + weights
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
        legacy = {k: config[k] for k in ("in_features", "out_features", "bias", "activation_function")}
        assert legacy["activation_function"] == "torch.nn.modules.activation.Tanh"
        (folder / "config.json").write_text(json.dumps(legacy), encoding="utf-8")  # the pre-5.x keys only
        assert sorted(p.name for p in folder.iterdir()) == ["config.json", weights]


@contextlib.contextmanager
def torch_threads(n: int = 1):
    """Run torch with `n` intra-op threads. The tiny model's ops are so small that thread hand-off dominates:
    one thread is several times faster on a busy 2-core box (measured 4 s vs 20 s per tiny export)."""
    import torch

    old = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(old)

"""Shared fixtures: a tiny random MPNet in both JobBERT-v2 head layouts, and MiniLM bundles exported once.

The tiny model mirrors TechWolf/JobBERT-v2's module stack (see shared MODELS.md): MPNet transformer -> mean
pooling -> Asym/Router head with a tanh Dense per route (anchor and positive differ). It is saved twice:

- ``router``: what ``SentenceTransformer.save()`` writes with sentence-transformers 5.x (``2_Router``);
- ``asym``:   the legacy layout written by hand (``2_Asym/config.json`` with types/structure/parameters and one
  ``<id>_Dense`` folder per Dense holding ``config.json`` + ``pytorch_model.bin``), as the hub repo has it.

Plus ``plain``: the same transformer + pooling without any head (for ``--branch`` misuse).

Tiers: the default run needs no torch. Its bundles are the committed tiny fixtures (``tiny_title_bundle``,
``tiny_skill_bundle``; see tests/fixtures/make_tiny_bundles.py). Everything that builds or exports a model
through torch (the fixtures in TORCH_FIXTURES) is the ``integration`` tier, and a test that uses one of those
fixtures without the marker is a collection error, so the fast tier can never start an export by accident.

Shared data (../shared/data, or $WORKVEC_SHARED): ``shared_path(*parts)`` skips a test when the path is absent,
except under CI=true where it fails.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
import json
import os
import shutil
import types
import csv
from pathlib import Path

import pytest

FIXTURE_BUNDLES = Path(__file__).resolve().parent / "fixtures" / "bundles"
SHARED_ENV = "WORKVEC_SHARED"
# Fixtures that build or export a model through torch: only integration tests may use them.
TORCH_FIXTURES = frozenset({"tiny_mpnet", "tiny_bundles", "tiny_st", "minilm_title", "minilm_skill"})

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


def _write_legacy_asym(router_dir: Path, out: Path, anchor, positive) -> None:
    """The legacy JobBERT-v2 layout: old module type names, `2_Asym` with one folder per Dense id."""
    shutil.copytree(router_dir, out, ignore=shutil.ignore_patterns("2_Router", "README.md"))
    (out / "modules.json").write_text(json.dumps([
        {"idx": 0, "name": "0", "path": "", "type": LEGACY_TYPES["Transformer"]},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": LEGACY_TYPES["Pooling"]},
        {"idx": 2, "name": "2", "path": "2_Asym", "type": LEGACY_TYPES["Asym"]},
    ], indent=2), encoding="utf-8")
    (out / "sentence_bert_config.json").write_text(
        json.dumps({"max_seq_length": TINY_MAX_SEQ_LENGTH, "do_lower_case": False}), encoding="utf-8"
    )
    (out / "config_sentence_transformers.json").write_text(
        json.dumps({"__version__": {"sentence_transformers": "2.2.2", "transformers": "4.28.1", "pytorch": "2.0.0"}}),
        encoding="utf-8",
    )
    (out / "1_Pooling" / "config.json").write_text(json.dumps({
        "word_embedding_dimension": TINY_HIDDEN, "pooling_mode_cls_token": False, "pooling_mode_mean_tokens": True,
        "pooling_mode_max_tokens": False, "pooling_mode_mean_sqrt_len_tokens": False,
    }), encoding="utf-8")
    head = out / "2_Asym"
    head.mkdir()
    (head / "config.json").write_text(json.dumps({
        "types": {ANCHOR_ID: LEGACY_TYPES["Dense"], POSITIVE_ID: LEGACY_TYPES["Dense"]},
        "structure": {"anchor": [ANCHOR_ID], "positive": [POSITIVE_ID]},
        "parameters": {"allow_empty_key": True},
    }, indent=2), encoding="utf-8")
    for folder_id, dense in ((ANCHOR_ID, anchor), (POSITIVE_ID, positive)):
        folder = head / folder_id
        folder.mkdir()
        dense.save(str(folder), safe_serialization=False)  # the Dense's own save: config.json + pytorch_model.bin
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
        legacy = {k: config[k] for k in ("in_features", "out_features", "bias", "activation_function")}
        assert legacy["activation_function"] == "torch.nn.modules.activation.Tanh"
        (folder / "config.json").write_text(json.dumps(legacy), encoding="utf-8")  # the pre-5.x keys only
        assert sorted(p.name for p in folder.iterdir()) == ["config.json", "pytorch_model.bin"]


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


@pytest.fixture(scope="session")
def tiny_mpnet(tmp_path_factory) -> types.SimpleNamespace:
    """Paths of the tiny MPNet in its three saved forms (`router`, `asym`, `plain`)."""
    pytest.importorskip("sentence_transformers")
    with torch_threads(1):
        return build_tiny_mpnet(tmp_path_factory.mktemp("tiny-mpnet"))


def export(model: str | Path | None, out: Path, *extra: str) -> int:
    """Run `workvec export` through the CLI entry point; returns its exit code."""
    from workvec.cli import main

    argv = ["export"] + ([str(model)] if model is not None else []) + ["--out", str(out), *extra]
    return main(argv)


@pytest.fixture(scope="session")
def tiny_bundles(tiny_mpnet, tmp_path_factory) -> dict[str, Path]:
    """fp32-only bundles of the tiny MPNet, exported once.

    `--quantize none` throughout: random weights are not what the int8 ladder is tuned for, and int8 is not the
    point of these bundles (the MiniLM fixtures cover the int8 gate).
    """
    out = tmp_path_factory.mktemp("tiny-bundles")
    plans = {
        "asym-title": (tiny_mpnet.asym, "--kind", "title"),
        "asym-positive": (tiny_mpnet.asym, "--kind", "title", "--branch", "positive"),
        "router-title": (tiny_mpnet.router, "--kind", "title"),
        "router-positive": (tiny_mpnet.router, "--kind", "title", "--branch", "positive"),
        "router-skill": (tiny_mpnet.router, "--kind", "skill"),
    }
    bundles = {}
    for name, (model, *args) in plans.items():
        with torch_threads(1):
            code = export(model, out / name, *args, "--quantize", "none")
        assert code == 0, f"tiny export {name} failed with exit code {code}"
        bundles[name] = out / name
    return bundles


@pytest.fixture(scope="session")
def tiny_st(tiny_mpnet) -> dict:
    """sentence-transformers' own view of the tiny model, per layout (the reference the bundles must match)."""
    from sentence_transformers import SentenceTransformer

    return {
        name: SentenceTransformer(str(getattr(tiny_mpnet, name)), device="cpu", local_files_only=True).eval()
        for name in ("asym", "router")
    }


@pytest.fixture(scope="session", autouse=True)
def workvec_home(tmp_path_factory) -> Iterator[Path]:
    """Tests never touch the user's cache: WORKVEC_HOME (indexes, optimised-graph cache) is a temp folder."""
    home = tmp_path_factory.mktemp("workvec-home")
    saved = os.environ.get("WORKVEC_HOME")
    os.environ["WORKVEC_HOME"] = str(home)
    yield home
    if saved is None:
        os.environ.pop("WORKVEC_HOME", None)
    else:
        os.environ["WORKVEC_HOME"] = saved


@pytest.fixture(scope="session")
def minilm_title(tmp_path_factory) -> Path:
    """The default model (all-MiniLM-L6-v2) exported as a title bundle through the full int8 gate."""
    pytest.importorskip("sentence_transformers")
    out = tmp_path_factory.mktemp("minilm") / "title"
    assert export(None, out, "--kind", "title") == 0
    return out


@pytest.fixture(scope="session")
def minilm_skill(tmp_path_factory) -> Path:
    """The default model exported as a skill bundle (token + pooled outputs) through the full int8 gate."""
    pytest.importorskip("sentence_transformers")
    out = tmp_path_factory.mktemp("minilm") / "skill"
    assert export(None, out, "--kind", "skill") == 0
    return out


def shared_index_dir(tmp_path_factory: pytest.TempPathFactory, name: str) -> Path:
    """One label-index directory per session, shared by the matching tests (built once, loaded after)."""
    path = tmp_path_factory.getbasetemp() / f"shared-label-index-{name}"
    path.mkdir(exist_ok=True)
    return path


def export_leftovers(parent: Path) -> list[str]:
    """Temporary export folders left in `parent` (a failed export must leave none)."""
    return sorted(p.name for p in parent.iterdir() if p.name.startswith(".workvec-export-"))


def open_esco_hnsw(encoder, tmp_path_factory):
    """ESCO skill preferred labels in an HNSW index, built once per session (per bundle content)."""
    from workvec import IndexSpec, LabelIndex, Taxonomy

    return LabelIndex.open(encoder, Taxonomy.open("esco-skills"), include_alt=False, spec=IndexSpec(mode="hnsw"),
                           index_dir=shared_index_dir(tmp_path_factory, "esco"), progress=False)


def write_taxonomy(path: Path, rows) -> Path:
    """A generic CSV taxonomy (id,label,alt_labels with '|' between alternatives) from (id, label, alts) rows."""
    with open(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["id", "label", "alt_labels"])
        for cid, label, alts in rows:
            writer.writerow([cid, label, "|".join(alts)])
    return path


# --- tiers -------------------------------------------------------------------------------------------------------


def pytest_collection_modifyitems(config, items) -> None:
    """A test that needs a torch-built model must be marked integration (the default tier runs without torch)."""
    wrong = [item.nodeid for item in items
             if TORCH_FIXTURES & set(getattr(item, "fixturenames", ())) and item.get_closest_marker("integration") is None]
    if wrong:
        raise pytest.UsageError("these tests use a torch fixture but lack @pytest.mark.integration: " + ", ".join(wrong))


# --- the committed tiny bundles (no torch) -------------------------------------------------------------------------


@pytest.fixture(scope="session")
def tiny_title_bundle() -> Path:
    """The committed tiny title bundle (read-only: copy it with `copy_bundle` before changing anything)."""
    return FIXTURE_BUNDLES / "tiny-title"


@pytest.fixture(scope="session")
def tiny_skill_bundle() -> Path:
    """The committed tiny skill bundle (read-only: copy it with `copy_bundle` before changing anything)."""
    return FIXTURE_BUNDLES / "tiny-skill"


def copy_bundle(bundle: Path, target: Path) -> Path:
    """A private copy of a bundle (for tests that alter or move files)."""
    shutil.copytree(bundle, target)
    return target


def other_bundle(bundle: Path, target: Path) -> Path:
    """A different bundle of the same kind from the same files: its tokenizer maps every non-special token to
    another id (the vocab reversed), so the same model computes other vectors. For cache-collision tests."""
    from workvec.runtime.manifest import MANIFEST_NAME, TOKENIZER_FILE, file_record

    copy_bundle(bundle, target)
    path = target / TOKENIZER_FILE
    data = json.loads(path.read_text(encoding="utf-8"))
    vocab = data["model"]["vocab"]
    specials = {t["content"] for t in data["added_tokens"]}
    movable = sorted((i, tok) for tok, i in vocab.items() if tok not in specials)
    for (i, _), (_, tok) in zip(movable, reversed(movable)):
        vocab[tok] = i
    path.write_text(json.dumps(data), encoding="utf-8")
    manifest = json.loads((target / MANIFEST_NAME).read_text(encoding="utf-8"))
    manifest["files"][TOKENIZER_FILE] = file_record(path)
    (target / MANIFEST_NAME).write_text(json.dumps(manifest), encoding="utf-8")
    return target


# --- shared data ---------------------------------------------------------------------------------------------------


def shared_root() -> Path:
    """The shared data folder: $WORKVEC_SHARED, else <repo>/../shared/data (what benchmarks/_common.py uses)."""
    default = Path(__file__).resolve().parents[2] / "shared" / "data"
    return Path(os.environ.get(SHARED_ENV) or default).expanduser()


def shared_path(*parts: str) -> Path:
    """`shared_root() / parts`; when it is absent the test skips, or fails under CI=true (CI must have the data)."""
    path = shared_root().joinpath(*parts)
    if not path.exists():
        message = f"shared data not found: {path} (set {SHARED_ENV} to the shared data folder)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message + "; CI=true requires it", pytrace=False)
        pytest.skip(message)
    return path


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The shared data folder (skip, or fail under CI=true, when it is absent)."""
    return shared_path()

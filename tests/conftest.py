"""Shared fixtures: the committed tiny bundles, a tiny random MPNet in both JobBERT-v2 head layouts (built by
tests/tiny_mpnet.py) and its exports, a tiny random XLM-RoBERTa with JobBERT-v3's layout (tests/tiny_xlmr.py) and
its exports, MiniLM bundles exported once, and the shared-data resolver.

Tiers: the default run needs no torch. Its bundles are the committed tiny fixtures (``tiny_title_bundle``,
``tiny_skill_bundle``; see tests/fixtures/make_tiny_bundles.py). Everything that builds or exports a model
through torch (the fixtures in TORCH_FIXTURES) is the ``integration`` tier, and a test that uses one of those
fixtures without the marker is a collection error, so the fast tier can never start an export by accident.

Shared data (../shared/data, or $WORKVEC_SHARED): ``shared_path(*parts)`` skips a test when the path is absent,
except under CI=true where it fails.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import types
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tiny_mpnet import ANCHOR_ID, POSITIVE_ID, TINY_MAX_SEQ_LENGTH, TINY_OUT, build_tiny_mpnet, torch_threads

__all__ = ["ANCHOR_ID", "POSITIVE_ID", "TINY_MAX_SEQ_LENGTH", "TINY_OUT", "torch_threads"]  # re-exported for tests

if TYPE_CHECKING:
    from workvec import Encoder, LabelIndex, SkillExtractor

FIXTURE_BUNDLES = Path(__file__).resolve().parent / "fixtures" / "bundles"
SHARED_ENV = "WORKVEC_SHARED"
# Fixtures that build or export a model through torch: only integration tests may use them.
TORCH_FIXTURES = frozenset({"tiny_mpnet", "tiny_bundles", "tiny_st", "minilm_title", "minilm_skill", "tiny_xlmr",
                            "xlmr_bundles", "xlmr_st"})

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
def tiny_xlmr(tmp_path_factory) -> types.SimpleNamespace:
    """Paths of the tiny XLM-R in JobBERT-v3's hub layout (`asym`) and the 5.x save (`router`)."""
    pytest.importorskip("sentence_transformers")
    from tiny_xlmr import build_tiny_xlmr

    with torch_threads(1):
        return build_tiny_xlmr(tmp_path_factory.mktemp("tiny-xlmr"))


@pytest.fixture(scope="session")
def xlmr_bundles(tiny_xlmr, tmp_path_factory) -> dict[str, Path]:
    """The tiny XLM-R exported once per plan: title and skill bundles through the full int8 gate (languages from
    the model card), and the 5.x layout's title bundle fp32-only with --languages given."""
    out = tmp_path_factory.mktemp("xlmr-bundles")
    plans = {
        "title": (tiny_xlmr.asym, "--kind", "title"),
        "skill": (tiny_xlmr.asym, "--kind", "skill"),
        "router-title": (tiny_xlmr.router, "--kind", "title", "--quantize", "none", "--languages", "de,fr"),
    }
    bundles = {}
    for name, (model, *args) in plans.items():
        with torch_threads(1):
            code = export(model, out / name, *args)
        assert code == 0, f"tiny XLM-R export {name} failed with exit code {code}"
        bundles[name] = out / name
    return bundles


@pytest.fixture(scope="session")
def xlmr_st(tiny_xlmr):
    """sentence-transformers' own view of the tiny XLM-R (JobBERT-v3 layout)."""
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(tiny_xlmr.asym), device="cpu", local_files_only=True).eval()


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
    """Temporary export folders left in `parent` (a failed export must leave none; see workvec.runtime.atomic)."""
    return sorted(p.name for p in parent.iterdir() if p.name.startswith(".") and ".tmp" in p.name)


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


@pytest.fixture(scope="session")
def tiny_xlmr_bundle() -> Path:
    """The committed tiny XLM-R title bundle with JobBERT-v3's layout (languages en, es, de, zh; read-only)."""
    return FIXTURE_BUNDLES / "tiny-xlmr-title"


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


# The CLI tests' fixtures (test_cli_match.py, test_cli_extract.py; helpers in cli_helpers.py).
@pytest.fixture(scope="module")
def title_bundle(tiny_title_bundle) -> Path:
    return tiny_title_bundle


@pytest.fixture(scope="module")
def skill_bundle(tiny_skill_bundle) -> Path:
    return tiny_skill_bundle


@pytest.fixture(scope="module")
def jobs_csv(tmp_path_factory) -> Path:
    from cli_helpers import JOBS

    return write_taxonomy(tmp_path_factory.mktemp("taxonomy") / "jobs.csv", JOBS)


@pytest.fixture(scope="module")
def jobs_index(tmp_path_factory) -> Path:
    return shared_index_dir(tmp_path_factory, "esco-occupations")  # keyed by content; test_title_answer's too


@pytest.fixture(scope="module")
def skills_index(tmp_path_factory) -> Path:
    return shared_index_dir(tmp_path_factory, "esco")  # keyed by content: the tiny and MiniLM indexes coexist


# The tiny skill-extractor tests' fixtures (test_skills.py, test_skills_extract.py; helpers in skills_support.py).
# Modules that test another model define their own `encoder` and `esco`, which take precedence over these.
@pytest.fixture(scope="module")
def encoder(tiny_skill_bundle: Path) -> Encoder:
    from workvec import Encoder

    return Encoder.open(tiny_skill_bundle)


@pytest.fixture(scope="module")
def esco(encoder: Encoder, tmp_path_factory) -> LabelIndex:
    """ESCO skill preferred labels under the tiny bundle: below 20k labels, so an exact index."""
    from workvec import LabelIndex, Taxonomy

    return LabelIndex.open(encoder, Taxonomy.open("esco-skills"), include_alt=False,
                           index_dir=shared_index_dir(tmp_path_factory, "esco"), progress=False)


@pytest.fixture(scope="module")
def extractor(encoder: Encoder, esco: LabelIndex) -> SkillExtractor:
    from skills_support import TINY_THRESHOLD

    from workvec import ExtractSettings, SkillExtractor

    return SkillExtractor(encoder, esco, ExtractSettings(threshold=TINY_THRESHOLD))

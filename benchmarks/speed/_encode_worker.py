"""Child process of encode_speed.py: load one variant with its thread settings, measure it, print one RESULT line.

Run in a fresh interpreter per measurement so that its peak RSS, import and load times are that variant's alone;
it imports only what its variant needs (workvec variants never import torch).

    python benchmarks/speed/_encode_worker.py JOB.json
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
from _common import peak_rss_mib, percentile

AGREE_N = 64  # titles whose vectors are saved, to check that every variant computes the same thing
Encode = Callable[[list[str], int], np.ndarray]


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
    import onnxruntime as ort
    import torch
    from sentence_transformers import SentenceTransformer

    torch.set_num_threads(threads)
    torch.set_num_interop_threads(1)
    t1 = time.perf_counter()
    if variant == "st-onnx-int8":
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
    tw, tc = _timed(lambda: encode(titles, job["title_batch"]))
    sw, sc = _timed(lambda: encode(sents, job["sentence_batch"]))
    latency = []
    for i, text in enumerate(titles[: job["n_latency"] + 5]):
        started = time.perf_counter()
        encode([text], 1)
        if i >= 5:  # the first few calls warm the batch-1 path
            latency.append((time.perf_counter() - started) * 1000)
    vectors = encode(titles[:AGREE_N], job["title_batch"])
    if job.get("vectors"):
        np.save(job["vectors"], vectors)
    result = {"titles_per_s": len(titles) / tw, "sentences_per_s": len(sents) / sw,
              "p50_ms": percentile(latency, 50), "p95_ms": percentile(latency, 95), "import_s": import_s,
              "load_s": load_s, "cpu_per_wall": (tc + sc) / (tw + sw), "dim": int(vectors.shape[1]),
              "peak_rss_mib": peak_rss_mib(), "checks": facts}
    print("RESULT " + json.dumps(result, default=str), flush=True)


if __name__ == "__main__":
    main(Path(sys.argv[1]))

"""The physical limit of `speed.py`: this CPU's 1-thread int8/fp32 matmul peak (onnxruntime), the model's
multiply-adds per token, achieved throughput of batched titles as a share of the peak, and an op-type profile."""

from __future__ import annotations

import json
import tempfile
import time
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from _common import log, median
from speed_setup import Config, bundle, job_titles

SHAPE = (4096, 384, 1536)  # (M tokens, K in, N out): MiniLM's FFN up-projection over 4096 tokens
SHAPE_QUICK = (1024, 384, 1536)
INT8_OPS = ("MatMulInteger", "DynamicQuantizeMatMul", "MatMulIntegerToFloat")
WEIGHT_OPS = ("MatMul", "Gemm", *INT8_OPS)
BATCH = 64


@dataclass(frozen=True)
class Peak:
    """One matmul kernel at one thread: best and median of `reps` runs."""

    kernel: str
    shape: tuple[int, int, int]
    best_ms: float
    median_ms: float
    gops_best: float  # 2 ops (multiply + add) per multiply-add
    gops_median: float


def _session(model: bytes | str, profile_prefix: str | None = None):
    """A 1-thread CPU session with workvec's session settings (plus profiling when asked)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3
    if profile_prefix:
        options.enable_profiling = True
        options.profile_file_prefix = profile_prefix
    return ort.InferenceSession(model, sess_options=options, providers=["CPUExecutionProvider"])


def _graph(kernel: str, shape: tuple[int, int, int]) -> tuple[bytes, np.ndarray]:
    """A one-node ONNX model Y = A @ B with B a constant (K, N) initializer, and an input A."""
    from onnx import TensorProto, helper, numpy_helper

    m, k, n = shape
    rng = np.random.default_rng(0)
    inits = []
    if kernel == "MatMulInteger":  # uint8 activations x int8 weights -> int32
        a = rng.integers(0, 255, (m, k), dtype=np.uint8)
        inits.append(numpy_helper.from_array(rng.integers(-127, 127, (k, n), dtype=np.int8), "B"))
        node = helper.make_node("MatMulInteger", ["A", "B"], ["Y"])
        a_type, y_type = TensorProto.UINT8, TensorProto.INT32
    elif kernel == "DynamicQuantizeMatMul":  # what the int8 bundle runs after fusion: fp32 in, quantize, int8 GEMM
        a = rng.standard_normal((m, k), dtype=np.float32)
        inits += [numpy_helper.from_array(rng.integers(-127, 127, (k, n), dtype=np.int8), "B"),
                  numpy_helper.from_array(np.array(0.01, np.float32), "B_scale")]
        node = helper.make_node("DynamicQuantizeMatMul", ["A", "B", "B_scale"], ["Y"], domain="com.microsoft")
        a_type, y_type = TensorProto.FLOAT, TensorProto.FLOAT
    else:
        a = rng.standard_normal((m, k), dtype=np.float32)
        inits.append(numpy_helper.from_array(rng.standard_normal((k, n), dtype=np.float32), "B"))
        node = helper.make_node("MatMul", ["A", "B"], ["Y"])
        a_type, y_type = TensorProto.FLOAT, TensorProto.FLOAT
    graph = helper.make_graph([node], "peak", [helper.make_tensor_value_info("A", a_type, [m, k])],
                              [helper.make_tensor_value_info("Y", y_type, [m, n])], initializer=inits)
    opsets = [helper.make_opsetid("", 17), helper.make_opsetid("com.microsoft", 1)]
    model = helper.make_model(graph, opset_imports=opsets)
    model.ir_version = 8
    return model.SerializeToString(), a


def matmul_peak(kernel: str, shape: tuple[int, int, int], reps: int) -> Peak:
    """Run one matmul kernel `reps` times at one thread."""
    blob, a = _graph(kernel, shape)
    session = _session(blob)
    session.run(None, {"A": a})
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        session.run(None, {"A": a})
        times.append(time.perf_counter() - t0)
    macs = shape[0] * shape[1] * shape[2]
    return Peak(kernel, shape, round(min(times) * 1e3, 2), round(median(times) * 1e3, 2),
                round(2 * macs / min(times) / 1e9, 1), round(2 * macs / median(times) / 1e9, 1))


def weight_macs(model_path: Path) -> dict[str, int]:
    """Multiply-adds per token of the weight matmuls (sum of K*N of their constant B), split int8 / fp32, and
    the number of attention layers (Softmax nodes)."""
    import onnx

    model = onnx.load(str(model_path), load_external_data=False)
    dims = {i.name: list(i.dims) for i in model.graph.initializer}
    totals: Counter[str] = Counter()
    for node in model.graph.node:
        if node.op_type in WEIGHT_OPS and len(node.input) > 1 and len(dims.get(node.input[1], [])) == 2:
            k, n = dims[node.input[1]]
            totals["int8" if node.op_type in INT8_OPS else "fp32"] += k * n
        totals["layers"] += node.op_type == "Softmax"
    return {"int8": totals["int8"], "fp32": totals["fp32"], "layers": totals["layers"]}


def _attention(tokens: int, length: int, layers: int, hidden: int) -> int:
    """QK^T and attention x V multiply-adds of `tokens` tokens in sequences of `length`."""
    return tokens * layers * 2 * length * hidden


def achieved(cfg: Config, peaks: dict[str, Peak]) -> dict:
    """workvec int8 titles at batch 64, one thread: tokens/s, multiply-adds/s, share of the int8 peak."""
    from workvec.runtime.encoder import Encoder
    from workvec.runtime.manifest import MODEL_FILES, TOKENIZER_FILE
    from workvec.runtime.tokenizer import iter_batches, load_tokenizer, tokenize

    directory = bundle("title")
    encoder = Encoder.open(directory, precision="int8", providers="cpu", threads=1)
    macs = weight_macs(directory / MODEL_FILES["int8"])
    hidden, layers, per_token = encoder.dim, macs["layers"], macs["int8"] + macs["fp32"]
    titles = job_titles(cfg.profile_titles)
    tokenizer = load_tokenizer(directory / TOKENIZER_FILE, encoder.manifest.max_seq_length)
    real = padded = attn_exec = attn_real = 0
    for batch in iter_batches(tokenize(tokenizer, titles), BATCH, encoder.manifest.pad_id):
        rows, width = batch.input_ids.shape
        padded += rows * width
        attn_exec += _attention(rows * width, width, layers, hidden)
        real += int(batch.lengths.sum())
        attn_real += sum(_attention(int(n), int(n), layers, hidden) for n in batch.lengths)
    encoder.encode(titles[:BATCH], batch_size=BATCH)  # warm-up
    runs = []
    for _ in range(max(2, cfg.peak_reps // 2)):
        t0 = time.perf_counter()
        encoder.encode(titles, batch_size=BATCH)
        runs.append(time.perf_counter() - t0)
    seconds = min(runs)
    executed = padded * per_token + attn_exec
    int8_peak = max(peaks[k].gops_best for k in INT8_OPS if k in peaks) / 2 * 1e9  # the faster int8 kernel
    fp32_peak = peaks["MatMul"].gops_best / 2 * 1e9
    bound_s = padded * macs["int8"] / int8_peak + (padded * macs["fp32"] + attn_exec) / fp32_peak
    return {
        "titles": len(titles), "batch": BATCH, "threads": 1, "seconds_best": round(seconds, 4),
        "titles_per_s": round(len(titles) / seconds, 1), "tokens_real": real, "tokens_padded": padded,
        "tokens_per_s_real": round(real / seconds, 1), "tokens_per_s_padded": round(padded / seconds, 1),
        "weight_macs_per_token": per_token, "weight_macs_int8": macs["int8"], "weight_macs_fp32": macs["fp32"],
        "layers": layers, "hidden": hidden,
        "attention_macs_per_token_mean": round(attn_exec / padded, 1),
        "gmac_per_s_executed": round(executed / seconds / 1e9, 2),
        "gmac_per_s_useful": round((real * per_token + attn_real) / seconds / 1e9, 2),
        "pct_of_int8_peak_executed": round(100 * executed / seconds / int8_peak, 1),
        "pct_of_int8_peak_useful": round(100 * (real * per_token + attn_real) / seconds / int8_peak, 1),
        "pct_of_mixed_bound": round(100 * bound_s / seconds, 1),
        "int8_peak_gops": round(2 * int8_peak / 1e9, 1),
        "peak_note": "int8 peak = the faster of MatMulInteger and DynamicQuantizeMatMul; mixed bound = the time the "
                     "executed work needs at the measured peaks (int8 weight matmuls at the int8 peak, fp32 weight "
                     "matmuls and attention at the fp32 MatMul peak)",
    }


def op_profile(cfg: Config) -> dict:
    """onnxruntime's profile of batched titles (int8, batch 64, 1 thread): share of kernel time per op type."""
    from workvec.runtime.encoder import Encoder
    from workvec.runtime.manifest import MODEL_FILES, TOKENIZER_FILE
    from workvec.runtime.tokenizer import load_tokenizer

    directory = bundle("title")
    plain = Encoder.open(directory, precision="int8", providers="cpu", threads=1)
    titles = job_titles(cfg.profile_titles)
    with tempfile.TemporaryDirectory() as tmp:
        session = _session(str(directory / MODEL_FILES["int8"]), str(Path(tmp) / "speed"))
        tokenizer = load_tokenizer(directory / TOKENIZER_FILE, plain.manifest.max_seq_length)
        encoder = Encoder(directory, plain.manifest, session, tokenizer, plain.info)
        encoder.encode(titles[:BATCH], batch_size=BATCH)  # warm-up, excluded below
        encoder.encode(titles, batch_size=BATCH)
        events = json.loads(Path(session.end_profiling()).read_text(encoding="utf-8"))
    runs = [e for e in events if e.get("name") == "model_run"]
    after = runs[0]["ts"] + runs[0]["dur"] if runs else 0
    kernels = [e for e in events if e.get("cat") == "Node" and e.get("name", "").endswith("_kernel_time")
               and e["ts"] >= after]
    by_op: Counter[str] = Counter()
    for e in kernels:
        by_op[e["args"]["op_name"]] += e["dur"]
    total = sum(by_op.values()) or 1
    run_us = sum(e["dur"] for e in runs[1:])
    return {"titles": len(titles), "batch": BATCH, "threads": 1, "kernel_ms": round(total / 1e3, 1),
            "model_run_ms": round(run_us / 1e3, 1),
            "ops": [{"op": op, "pct": round(100 * us / total, 2), "ms": round(us / 1e3, 2)}
                    for op, us in by_op.most_common()]}


def peak(cfg: Config) -> dict:
    """Matmul peaks, multiply-adds per token, achieved share and the op profile."""
    from threadpoolctl import threadpool_limits

    shape = SHAPE_QUICK if cfg.quick else SHAPE
    with threadpool_limits(1):
        peaks = {}
        for kernel in ("MatMulInteger", "DynamicQuantizeMatMul", "MatMul"):
            log(f"peak: {kernel} {shape} x{cfg.peak_reps} ...")
            peaks[kernel] = matmul_peak(kernel, shape, cfg.peak_reps)
        log("peak: achieved throughput of batched titles and the op profile ...")
        return {"peaks": {k: asdict(v) for k, v in peaks.items()}, "achieved": achieved(cfg, peaks),
                "profile": op_profile(cfg),
                "note": "MatMulInteger: uint8 x int8 -> int32; DynamicQuantizeMatMul (com.microsoft): fp32 input "
                        "quantized per call, int8 weights, fp32 out (the fused op of dynamically quantized models); "
                        "MatMul: fp32. One thread, ORT_ENABLE_ALL, best of the runs."}

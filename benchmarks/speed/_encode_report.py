"""Reporting for encode_speed.py: speed-up ratios, pass/fail against the targets, notes, markdown."""

from __future__ import annotations

from typing import Any

from _common import markdown_table

TARGETS = {"vs_torch": 3.0, "vs_onnx": 1.5, "vs_per_tensor": 1.0, "vs_peer": 1.0,
           "p50_ms": {"minilm": 1.0, "mpnet": 5.0}, "normalize_p50_ms": 2.0}
# workvec int8 over each of these, at equal threads (issue 9: keep the lead over every peer)
AGAINST = (("st-torch", "vs_torch"), ("st-onnx-int8", "vs_onnx"), ("workvec-int8-per-tensor", "vs_per_tensor"),
           ("ov-fp32", "vs_peer"), ("ov-int8-static", "vs_peer"), ("fastembed-fp32", "vs_peer"),
           ("fastembed-int8", "vs_peer"))


def ratios(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """workvec int8 throughput over each sentence-transformers variant's, at equal threads."""
    at = {(r["model"], r["variant"], r["threads"]): r for r in rows}
    out = []
    for (model, variant, threads), mine in at.items():
        if variant != "workvec-int8":
            continue
        for other, name in AGAINST:
            ref = at.get((model, other, threads))
            if ref:
                out.append({"model": model, "threads": threads, "against": other, "target": TARGETS[name],
                            "titles": mine["titles_per_s"] / ref["titles_per_s"],
                            "sentences": mine["sentences_per_s"] / ref["sentences_per_s"]})
    return out


def targets(rows: list[dict[str, Any]], ratio_rows: list[dict[str, Any]],
            missing: dict[str, str]) -> list[dict[str, Any]]:
    """Pass/fail against the issue's targets; `missing` names the models without a workvec int8 bundle."""
    checks = [{"model": r["model"], "threads": r["threads"], "check": f"int8 {kind}/s vs {r['against']}",
               "measured": r[kind], "target": f">= {r['target']}x", "pass": r[kind] >= r["target"]}
              for r in ratio_rows for kind in ("titles", "sentences")]
    for r in rows:
        if r["variant"] == "workvec-int8" and r["model"] in TARGETS["p50_ms"]:
            bar = TARGETS["p50_ms"][r["model"]]
            checks.append({"model": r["model"], "threads": r["threads"], "check": "int8 batch-1 title p50 ms",
                           "measured": r["p50_ms"], "target": f"<= {bar} ms", "pass": r["p50_ms"] <= bar})
        if r["variant"] == "workvec-int8":
            for taxonomy, found in r.get("normalize", {}).items():
                bar = TARGETS["normalize_p50_ms"]
                checks.append({"model": r["model"], "threads": r["threads"],
                               "check": f"int8 batch-1 TitleNormalizer.normalize p50 ms ({taxonomy})",
                               "measured": found["p50_ms"], "target": f"<= {bar} ms", "pass": found["p50_ms"] <= bar})
    checks += [{"model": m, "threads": "-", "check": "workvec int8 bundle (all int8 targets)", "measured": "none",
                "target": "passes the parity gate", "pass": False} for m in missing]
    return checks


def notes(rows: list[dict[str, Any]]) -> list[str]:
    """What a reader must know to read the table right, derived from what the children reported."""
    said = []
    for r in rows:
        c = r["checks"]
        if r["variant"] == "st-onnx-int8":
            said.append(_st_onnx_note(r))
        if c.get("after_openvino"):
            said.append(f"{r['model']} {r['variant']}: OpenVINO runs the Transformer; {', '.join(c['after_openvino'])} "
                        f"run in torch after it (OpenVINO threads {c.get('inference_num_threads')}, streams "
                        f"{c.get('num_streams')}, precision {c.get('inference_precision_hint')}).")
        if c.get("fastembed_model_file"):
            tail = f"; then {', '.join(c['after_fastembed'])} (fastembed has no Dense module)" if c["after_fastembed"] else ""
            said.append(f"{r['model']} {r['variant']}: fastembed custom model on sentence-transformers' ONNX export "
                        f"({c['fastembed_model_file']}), mean pooling{tail}.")
        for knob in ("intra_op_threads", "torch_threads"):
            if knob in c and c[knob] != r["threads"]:
                said.append(f"WARNING {r['model']} {r['variant']}: asked for {r['threads']} threads, "
                            f"{knob} is {c[knob]}.")
        if "providers" in c and c["providers"][0] != "CPUExecutionProvider":
            said.append(f"WARNING {r['model']} {r['variant']} runs on {c['providers']}.")
    busy = [f"{r['model']} {r['variant']} t={r['threads']} ({r['cpu_per_wall']:.2f})" for r in rows
            if r["cpu_per_wall"] < 0.8 * r["threads"]]
    if busy:
        said.append("WARNING CPU/wall well below the thread count (other load on the machine, or threads not used): "
                    + ", ".join(busy) + ". Rerun on a quiet machine before quoting these figures.")
    return list(dict.fromkeys(said))


def _st_onnx_note(row: dict[str, Any]) -> str:
    """What sentence-transformers' ONNX variant actually runs in ONNX and what in torch."""
    c, cos = row["checks"], row["min_cos_vs_st_torch"]
    outs = ", ".join(f"{k} {v}" for k, v in c.get("onnx_outputs", {}).items())
    torch_side = c.get("after_onnx", [])
    head = [m for m in torch_side if m in ("Router", "Asym", "Dense")]
    said = (f"{row['model']}: sentence-transformers' ONNX file holds the Transformer only (outputs: {outs}); "
            f"{', '.join(torch_side)} run in torch after it")
    if cos is None:
        return said + f". WARNING: its {row['dim']}-d output differs in shape from ST torch's: it computes less."
    return said + ((f", so the {'/'.join(head)} head is computed (in torch)" if head else "") +
                   f"; {row['dim']}-d out, min cosine vs ST torch {cos:.4f}.")


def setup_lines(setup: dict[str, Any]) -> list[str]:
    """The run's setup, one fact per line."""
    m, cfg, texts = setup["machine"], setup["config"], setup["texts"]
    lines = [
        f"CPU: {m['cpu']} ({m['arch']}; flags {', '.join(m['flags'])}); {m['physical_cores']} physical / "
        f"{m['usable_cores']} usable cores; {m['memory_gib']} GiB; load average at start {m['load_average']}",
        "versions: " + ", ".join(f"{k} {v}" for k, v in m["versions"].items()) + f"; Python {m['python']}",
        f"threads {', '.join(map(str, cfg['threads']))} (workvec: session intra-op threads; ST torch: "
        "torch.set_num_threads; ST ONNX: SessionOptions intra-op threads via model_kwargs['session_options'] + "
        "torch.set_num_threads for its torch modules; all: inter-op 1, RAYON_NUM_THREADS for the tokenizer)",
        f"batch sizes: titles {cfg['title_batch']}, sentences {cfg['sentence_batch']}; latency: batch 1 over "
        f"{cfg['n_latency']} titles; {cfg['reps']} repetition(s), variants round-robin, medians reported",
    ]
    for kind, t in texts.items():
        tokens = ", ".join(f"{k} {v:.1f}" for k, v in t["mean_tokens"].items())
        lines.append(f"{kind}: {t['n']} {t['source']}; mean tokens incl. specials: {tokens}")
    for name, model in setup["models"].items():
        q = model["workvec_int8"]
        int8 = (f"{q.get('preset')} {q.get('weight_type')} weights, fp32 kept for {q.get('exclude') or 'nothing'}"
                if not model["int8_missing"] else "none (missed the parity gate, see notes)")
        route = f"titles through route {model['route']!r}" if model["route"] else "no head"
        lines.append(f"{name}: {model['description']}; {route}; max_seq_length {model['max_seq_length']} for every "
                     f"variant; workvec int8: {int8}; ST ONNX int8: {model['st_onnx_file']} "
                     f"(export_dynamic_quantized_onnx_model preset {setup['quant_preset']})")
    peers = setup.get("peers", {})
    for env, found in peers.get("venvs", {}).items():
        key = [x for x in found["freeze"] if x.split("==")[0].lower() in PEER_PACKAGES]
        lines.append(f"peer venv {env} (its own, built by the benchmark from pins {', '.join(found['pins'])}): "
                     + ", ".join(key))
    if "openvino" in peers.get("venvs", {}):
        cal = peers["ov_calibration"]
        lines.append(f"OpenVINO static int8: export_static_quantized_openvino_model, OVQuantizationConfig(num_samples="
                     f"{cal['num_samples']}), calibration: {cal['folder']} (a local dataset folder: dataset_name, "
                     "dataset_config_name, dataset_split and column_name all given)")
    if setup.get("latency_titles"):
        lines.append(f"normalize latency: {setup['latency_titles']['n']} {setup['latency_titles']['source']}, one "
                     "per call")
    return lines


PEER_PACKAGES = ("openvino", "optimum-intel", "nncf", "fastembed", "onnxruntime", "torch", "sentence-transformers",
                 "transformers", "tokenizers")


def markdown(setup: dict[str, Any], rows: list[dict[str, Any]], ratio_rows: list[dict[str, Any]],
             checks: list[dict[str, Any]], said: list[str]) -> str:
    """The results as markdown, ready to paste into benchmarks/README.md."""
    parts = ["## Encoding speed (`benchmarks/speed/encode_speed.py`)", ""]
    if setup["config"]["quick"]:
        parts += ["> `--quick` run: few texts, one repetition. A smoke test, not figures to publish.", ""]
    parts += [*(f"- {line}" for line in setup_lines(setup)), ""]
    head = ["variant", "threads", "titles/s", "sentences/s", "batch-1 p50 ms", "p95 ms", "peak RSS MiB", "import s",
            "load s", "CPU/wall", "mean cos vs ST torch", "min cos", "top-10 overlap"]
    for name in setup["models"]:
        table = [[r["variant"], r["threads"], r["titles_per_s"], r["sentences_per_s"], r["p50_ms"], r["p95_ms"],
                  r["peak_rss_mib"], r["import_s"], r["load_s"], r["cpu_per_wall"], *_fid(r)]
                 for r in rows if r["model"] == name]
        parts += [f"### {name}", "", markdown_table(head, table, "l" + "r" * 12), ""]
    norm = [[r["model"], r["variant"], r["threads"], taxonomy, f"{f['labels']:,} ({f['index']})", f["p50_ms"], f["p95_ms"],
             *(f["split_ms"][s] for s in SPLIT)] for r in rows for taxonomy, f in r.get("normalize", {}).items()]
    if norm:
        parts += ["### Batch-1 `TitleNormalizer.normalize` (k=5; median ms per stage from a second, stage-timed pass)",
                  "", markdown_table(["model", "variant", "threads", "taxonomy", "labels (index)", "p50 ms", "p95 ms",
                                      *SPLIT], [[*x[:5], *(f"{v:.3f}" for v in x[5:])] for x in norm],
                                     "llll" + "r" * (3 + len(SPLIT))), ""]
    parts += ["### workvec int8 throughput over the others' (equal threads)", "", markdown_table(
        ["model", "threads", "against", "titles", "sentences", "target"],
        [[r["model"], r["threads"], r["against"], f"{r['titles']:.2f}x", f"{r['sentences']:.2f}x", f">= {r['target']}x"]
         for r in ratio_rows], "llrrrr"), ""]
    parts += ["### Targets", "", markdown_table(
        ["model", "threads", "check", "measured", "target", "result"],
        [[c["model"], c["threads"], c["check"], _num(c["measured"]), c["target"], "pass" if c["pass"] else "FAIL"]
         for c in checks], "llllll"), ""]
    return "\n".join(parts + ["### Notes", "", *(f"- {line}" for line in said)])


SPLIT = ("tokenize", "pad", "onnxruntime", "search", "concepts")


def _fid(row: dict[str, Any]) -> list[Any]:
    f = row.get("fidelity") or {}
    if row["variant"] == "st-torch":
        return ["(reference)", "", ""]
    return [f"{f['mean_cos']:.4f}", f"{f['min_cos']:.4f}", f"{f['top10_overlap']:.3f}"] if "mean_cos" in f else \
        [f.get("note", "-"), "", ""]


def _num(value: Any) -> str:
    return f"{value:.2f}" if isinstance(value, float) else str(value)

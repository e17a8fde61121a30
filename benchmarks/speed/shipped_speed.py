"""The shipped model's cost against zero-shot all-MiniLM-L6-v2's int8 bundle (issue 13: the cost must not grow).

Both run through encode_speed.py's worker (a fresh child per measurement, workvec int8, 1 thread): titles/s at
batch 64, sentences/s at batch 32, batch-1 p50. Variants alternate over --reps rounds; each figure is the median.

    python benchmarks/speed/shipped_speed.py --baseline DIR [--bundle DIR] [--reps 3]

DIR: `workvec export --kind title --out DIR` (all-MiniLM-L6-v2 through the current export code).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/: the shared _common helpers
import _encode_worker as worker
import _speed_assets as assets
from _common import RESULTS, log, machine_info, markdown_table, median, write_json, write_text

from workvec.defaults import SHIPPED_BUNDLE
from workvec.runtime.manifest import read_manifest

KEYS = ("titles_per_s", "sentences_per_s", "p50_ms")


def measure(bundle: Path, texts: Path, work: Path, n_latency: int) -> dict:
    job = {"variant": "workvec-int8", "threads": 1, "bundle": str(bundle), "texts": str(texts), "title_batch": 64,
           "sentence_batch": 32, "n_latency": n_latency, "route": None,
           "max_seq_length": read_manifest(bundle).max_seq_length}
    child = worker.run(job, work / "job.json", timeout=1800)
    data = worker.result_of(child)
    if data is None:
        raise SystemExit(f"worker failed for {bundle}: {child.stderr[-2000:]}")
    return data


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--baseline", type=Path, required=True, help="all-MiniLM-L6-v2 int8 title bundle")
    ap.add_argument("--bundle", type=Path, default=SHIPPED_BUNDLE, help="default: the shipped model")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--titles", type=int, default=2048)
    ap.add_argument("--sentences", type=int, default=512)
    ap.add_argument("--latency", type=int, default=200)
    args = ap.parse_args(argv)
    variants = {"shipped workvec-minilm-esco": args.bundle, "zero-shot all-MiniLM-L6-v2": args.baseline}
    runs: dict[str, list[dict]] = {name: [] for name in variants}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        texts = work / "texts.json"
        texts.write_text(json.dumps({"titles": list(assets.titles(args.titles).texts),
                                     "sentences": list(assets.sentences(args.sentences).texts)}))
        for rep in range(args.reps):
            for name, bundle in variants.items():
                runs[name].append(measure(bundle, texts, work, args.latency))
                log(f"round {rep + 1}: {name}: " + ", ".join(f"{k} {runs[name][-1][k]:.1f}" for k in KEYS))
    table = {name: {k: median([r[k] for r in rs]) for k in KEYS} for name, rs in runs.items()}
    base = table["zero-shot all-MiniLM-L6-v2"]
    rows = [[name, *(f"{v[k]:.1f}" for k in KEYS), *(f"{v[k] / base[k]:.2f}x" for k in KEYS)]
            for name, v in table.items()]
    md = markdown_table(["bundle (int8, 1 thread)", "titles/s", "sentences/s", "batch-1 p50 ms",
                         "titles/s vs MiniLM", "sentences/s vs MiniLM", "p50 / MiniLM p50"], rows)
    out = RESULTS / "shipped_speed"
    write_text(out / "shipped_speed.md", md + "\n")
    write_json(out / "shipped_speed.json", {"medians": table, "runs": runs, "reps": args.reps,
                                            "machine": machine_info(["onnxruntime", "numpy"])})
    print(md)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

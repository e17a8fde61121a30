"""The `workvec` command line."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from workvec.errors import ParityError, WorkvecError


def _export(args: argparse.Namespace) -> int:
    from workvec.defaults import default_model
    from workvec.export import ExportRequest, Thresholds, export_bundle

    request = ExportRequest(
        model=args.model or str(default_model()),
        kind=args.kind,
        out=Path(args.out),
        branch=args.branch,
        quantize=args.quantize,
        max_seq_length=args.max_seq_length,
        bar=Thresholds.parse(args.bar),
    )
    try:
        manifest = export_bundle(request, log=lambda m: print(m, file=sys.stderr))
    except ParityError as exc:
        print(json.dumps(exc.report, indent=2), file=sys.stderr)
        raise
    print(f"wrote {args.out}")
    print(_parity_line(manifest.parity))
    return 0


def _parity_line(report: dict) -> str:
    fp32, int8 = report.get("fp32", {}), report.get("int8")
    line = f"parity fp32 min cosine {fp32.get('min_cosine', float('nan')):.7f}"
    if int8:
        line += (f" | int8 mean {int8['mean_cosine']:.4f} min {int8['min_cosine']:.4f}"
                 f" top10 overlap {int8['top10_overlap']:.3f}")
    return line


def _info(args: argparse.Namespace) -> int:
    from workvec.runtime.manifest import read_manifest

    manifest = read_manifest(args.bundle)
    data = manifest.to_json()
    if args.json:
        print(json.dumps(data, indent=2, sort_keys=True))
        return 0
    src = data["source"]
    print(f"bundle       {args.bundle}")
    print(f"kind         {data['kind']}  branch={data['branch']}  outputs={data['outputs']}")
    print(f"source       {src.get('model')}  revision={src.get('revision')}  modules={' -> '.join(src.get('modules', []))}")
    print(f"text         max_seq_length={data['max_seq_length']}  pooling={data['pooling']}  normalize={data['normalize']}")
    q = data["quantization"]
    print(f"int8         preset={q.get('preset')}  weights={q.get('weight_type')}  per_channel={q.get('per_channel')}"
          f"  fp32 nodes={q.get('exclude')}")
    print(f"opset        {data['opset']}")
    print(_parity_line(data["parity"]))
    for name, rec in sorted(data["files"].items()):
        print(f"  {name:18s} {rec['bytes'] / 1e6:9.2f} MB  sha256 {rec['sha256'][:16]}…")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (sub-commands register themselves here)."""
    parser = argparse.ArgumentParser(prog="workvec", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("export", help="export a sentence-transformers model to an ONNX bundle (fp32 + int8)")
    p.add_argument("model", nargs="?", help="local sentence-transformers directory or hub id (default: all-MiniLM-L6-v2)")
    p.add_argument("--kind", choices=("title", "skill"), required=True)
    p.add_argument("--out", required=True, help="bundle directory to write")
    p.add_argument("--branch", help="Asym/Router route for titles (default: anchor when present)")
    p.add_argument("--quantize", default="auto", choices=("auto", "avx2", "avx512", "avx512_vnni", "arm64", "none"))
    p.add_argument("--max-seq-length", type=int, help="override the model's max sequence length")
    p.add_argument("--bar", action="append", default=[], metavar="NAME=VALUE",
                   help="override a parity threshold, e.g. int8_top10_overlap=0.95")
    p.set_defaults(func=_export)

    p = sub.add_parser("info", help="print a bundle's manifest")
    p.add_argument("bundle")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_info)

    from workvec import cli_match, demo

    cli_match.register(sub)
    demo.register(sub)
    from workvec.serve.cli import register as register_serve; register_serve(sub)  # noqa: E702
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: errors workvec raises on purpose become one clear line and exit code 2 (1 for parity)."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except ParityError as exc:
        print(f"workvec: error: {exc} (no bundle written)", file=sys.stderr)
        return 1
    except (WorkvecError, TypeError, ValueError, FileNotFoundError) as exc:
        print(f"workvec: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

"""The `workvec` command line."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from workvec import __version__
from workvec.cli_io import HelpFormatter, check_arguments, quiet_third_parties
from workvec.errors import ParityError, WorkvecError
from workvec.parity_line import parity_line

SHARED_FLAGS = (
    ("--quiet", "no progress bars or notes on stderr"),
    ("--verbose", "show third-party warnings and logs (torch, onnxruntime, transformers)"),
)


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
        languages=args.languages,
    )
    log = (lambda m: None) if args.quiet else (lambda m: print(f"workvec: {m}", file=sys.stderr, flush=True))
    try:
        manifest = export_bundle(request, log=log)
    except ParityError as exc:
        print(json.dumps(exc.report, indent=2), file=sys.stderr)
        raise
    print(f"wrote {args.out}")
    print(parity_line(manifest.parity))
    return 0


def _info(args: argparse.Namespace) -> int:
    from workvec.runtime.manifest import read_manifest

    manifest = read_manifest(args.bundle)
    data = manifest.to_json()
    if args.json:
        print(json.dumps(data, indent=2, sort_keys=True))
        return 0
    src = data["source"]
    print(f"bundle       {args.bundle}")
    print(f"identity     {manifest.identity()[:16]}")
    print(f"kind         {data['kind']}  branch={data['branch']}  outputs={data['outputs']}")
    print(f"source       {src.get('model')}  revision={src.get('revision')}  modules={' -> '.join(src.get('modules', []))}")
    print(f"text         max_seq_length={data['max_seq_length']}  pooling={data['pooling']}  normalize={data['normalize']}")
    recorded = "languages" in manifest.extra
    print(f"languages    {','.join(manifest.languages)}" + ("" if recorded else "  (not recorded: English-only)")
          + (f"  (from {src['languages_from']})" if src.get("languages_from") else ""))
    q = data["quantization"]
    print(f"int8         preset={q.get('preset')}  weights={q.get('weight_type')}  per_channel={q.get('per_channel')}"
          f"  fp32 nodes={q.get('exclude')}")
    print(f"opset        {data['opset']}")
    print(parity_line(data["parity"]))
    for name, rec in sorted(data["files"].items()):
        print(f"  {name:18s} {rec['bytes'] / 1e6:9.2f} MB  sha256 {rec['sha256'][:16]}…")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (sub-commands register themselves here)."""
    from workvec.export.quantize import PRESETS

    parser = argparse.ArgumentParser(prog="workvec", description="CPU-first ONNX job-title normalization and skill extraction.")
    parser.add_argument("--version", action="version", version=f"workvec {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    formatter = HelpFormatter

    p = sub.add_parser("export", help="export a sentence-transformers model to an ONNX bundle (fp32 + int8)",
                       formatter_class=formatter)
    p.add_argument("model", nargs="?", help="local sentence-transformers directory or hub id (default: all-MiniLM-L6-v2)")
    p.add_argument("--kind", choices=("title", "skill"), required=True)
    p.add_argument("--out", required=True, help="bundle directory to write")
    p.add_argument("--branch", help="Asym/Router route for titles (default: anchor when present)")
    p.add_argument("--quantize", default="auto", choices=PRESETS, help="int8 preset (auto: this CPU's)")
    p.add_argument("--max-seq-length", type=int, help="override the model's max sequence length")
    p.add_argument("--languages", metavar="CODES",
                   help="languages the model serves, ISO 639-1 codes such as en,de,es,zh (default: the model card's"
                        " `language:` list, else en); a bundle that serves only en guards against other languages")
    p.add_argument("--bar", action="append", default=[], metavar="NAME=VALUE",
                   help="override a parity threshold, e.g. int8_top10_overlap=0.95")
    p.set_defaults(func=_export)

    p = sub.add_parser("info", help="print a bundle's manifest")
    p.add_argument("bundle")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_info)

    from workvec import cli_cache, cli_match, demo

    from workvec.analyze import cli as cli_analyze
    from workvec.serve import cli as cli_serve

    for module in (cli_match, cli_cache, cli_analyze, demo, cli_serve):
        module.register(sub)
    for command in sub.choices.values():
        for flag, text in SHARED_FLAGS:
            if flag not in command._option_string_actions:
                command.add_argument(flag, action="store_true", help=text)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: errors workvec raises on purpose become one clear line and exit code 2 (1 for parity)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        check_arguments(argv)
        args = build_parser().parse_args(argv)
        quiet_third_parties(args.verbose)
        return int(args.func(args) or 0)
    except BrokenPipeError:  # `workvec ... | head`: the reader left; stop quietly
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        print("workvec: interrupted", file=sys.stderr)
        return 130
    except ParityError as exc:
        print(f"workvec: error: {exc} (no bundle written)", file=sys.stderr)
        return 1
    except (WorkvecError, TypeError, ValueError, FileNotFoundError) as exc:
        print(f"workvec: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

"""CLI sub-commands for matching: `normalize` titles and `extract` skills."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from workvec.errors import InputError

def _taxonomy(name: str):
    from workvec.runtime.taxonomy import load_taxonomy

    return load_taxonomy(name)


def _encoder(bundle: str | None, kind: str, threads: int | None):
    from workvec.defaults import default_bundle
    from workvec.runtime.encoder import Encoder

    path = Path(bundle) if bundle else default_bundle(kind)
    if not bundle and not path.exists():
        raise InputError(f"no --bundle given and the default {kind} bundle {path} does not exist;"
                         f" create it with `workvec demo` or `workvec export --kind {kind} --out {path}`")
    return Encoder.load(path, threads=threads)


def _labels(args: argparse.Namespace, encoder, include_alt: bool, mode: str):
    from workvec.runtime.labels import LabelIndex
    from workvec.runtime.vector_index import IndexSpec

    if args.index_dir is not None and not Path(args.index_dir).is_dir():
        raise InputError(f"--index-dir {args.index_dir} does not exist; create it (mkdir -p) or omit the flag")
    return LabelIndex.open(encoder, _taxonomy(args.taxonomy), args.index_dir, include_alt=include_alt,
                           spec=IndexSpec(mode=mode, threads=args.threads or 1), rebuild=args.rebuild_index,
                           progress=sys.stderr.isatty())


def _normalize(args: argparse.Namespace) -> int:
    from workvec.runtime.titles import TitleNormalizer

    encoder = _encoder(args.bundle, "title", args.threads)
    normalizer = TitleNormalizer(encoder, _labels(args, encoder, include_alt=True, mode="auto"))
    for answer in normalizer.answer(args.titles, k=args.k, clean=args.clean):
        if args.json:
            print(json.dumps(answer.to_json(), ensure_ascii=False))
            continue
        cleaned = f"  (as {answer.cleaned!r})" if answer.cleaned != answer.query else ""
        print(answer.query + cleaned + ("  NO MATCH (best candidates below)" if answer.no_match else ""))
        for m in answer.matches:
            via = "" if m.matched_label == m.label else f"  (via {m.matched_label!r})"
            print(f"  {m.score:.3f}  {m.id}  {m.label}{via}")
    return 0


def read_text(args: argparse.Namespace) -> str:
    """The ad text from the argument, --file F, or stdin ('-'); binary or non-UTF-8 input is an error."""
    if args.file and args.text:
        raise InputError("give the ad either as TEXT or with --file, not both")
    if args.file or args.text == "-":
        data = sys.stdin.buffer.read() if not args.file or args.file == "-" else _read_file(Path(args.file))
        if b"\x00" in data[:65536]:
            raise InputError(f"{args.file or 'stdin'} looks binary (NUL bytes); pass a UTF-8 text file")
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InputError(f"{args.file or 'stdin'} is not UTF-8 (byte {exc.start}); convert it, e.g. iconv -t utf-8") from exc
    if args.text is None:
        raise InputError("no ad given: pass TEXT, --file F, or '-' to read stdin")
    return args.text


def _read_file(path: Path) -> bytes:
    if not path.is_file():
        raise InputError(f"--file {path} does not exist or is not a file")
    return path.read_bytes()


def _extract(args: argparse.Namespace) -> int:
    from workvec.runtime.skills import ExtractSettings, SkillExtractor

    threshold = ExtractSettings.threshold if args.threshold is None else args.threshold
    from workvec.runtime.requirement import requirement_for

    settings = ExtractSettings(threshold=threshold, top_k=args.top_k, exact=True if args.exact else None)
    text = read_text(args)
    encoder = _encoder(args.bundle, "skill", args.threads)
    requirement = requirement_for(encoder, enabled=args.requirement_filter, path=args.requirement_filter_file)
    extractor = SkillExtractor(encoder, _labels(args, encoder, include_alt=False, mode="auto"), settings, requirement)
    report = extractor.extract_report(text)
    skills = report.skills
    if args.json:
        print(json.dumps({"skills": [s.to_json() for s in skills], "skipped": [s.to_json() for s in report.skipped],
                          "requirement_filter": requirement.sha256 if requirement else None}, ensure_ascii=False))
        return 0
    for s in skills:
        words = ", ".join(e.text for e in s.evidence)
        print(f"{s.score:.3f}  {s.label}  [{words}]  <- {s.sentence[:80]}")
    return 0


def _common(p: argparse.ArgumentParser, taxonomy: str) -> None:
    p.add_argument("--taxonomy", default=taxonomy, help=f"embedded name or a file path (default: {taxonomy})")
    p.add_argument("--bundle", help="bundle directory (default: the one `workvec demo` exports)")
    p.add_argument("--index-dir", help="where label indexes are cached (default: ~/.cache/workvec/indexes)")
    p.add_argument("--rebuild-index", action="store_true", help="rebuild the label index even if a cached one exists")
    p.add_argument("--threads", type=int, help="intra-op threads (default: all cores, at most 8)")
    p.add_argument("--json", action="store_true", help="print JSON lines")


def register(sub: argparse._SubParsersAction) -> None:
    """Add the `normalize` and `extract` sub-commands."""
    p = sub.add_parser("normalize", help="map job titles to occupations")
    p.add_argument("titles", nargs="+", metavar="TITLE")
    p.add_argument("--k", type=int, default=5, help="concepts per title (default 5)")
    p.add_argument("--no-clean", dest="clean", action="store_false",
                   help="encode titles as given (default: drop gender, seniority, shift and contract markers first)")
    _common(p, "esco-occupations")
    p.set_defaults(func=_normalize)

    p = sub.add_parser("extract", help="find skills in a job ad (ConTeXT-match)")
    p.add_argument("text", nargs="?", metavar="TEXT", help="the ad text, or '-' for stdin")
    p.add_argument("--file", help="read the ad from a UTF-8 file")
    p.add_argument("--threshold", type=float, default=None, help="minimum ConTeXT-match score (default: calibrated)")
    p.add_argument("--top-k", type=int, default=None, help="cap on skills per sentence (default: none, the threshold decides)")
    p.add_argument("--no-requirement-filter", dest="requirement_filter", action="store_false",
                   help="score every sentence (default: skip sentences that state no requirement, reported in JSON)")
    p.add_argument("--requirement-filter", dest="requirement_filter_file", metavar="FILE",
                   help="requirement filter file (default: the one trained for the bundle's model)")
    p.add_argument("--exact", action="store_true", help="score every label even with an HNSW index (the default below 20k labels)")
    _common(p, "esco-skills")
    p.set_defaults(func=_extract)

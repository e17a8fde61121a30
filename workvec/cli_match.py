"""CLI sub-commands for matching: `normalize` titles and `extract` skills."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from itertools import chain

from workvec.cli_io import HelpFormatter, iter_line_chunks, note, read_source, show_progress
from workvec.errors import InputError
PROGRESS_SENTENCES = 256  # a long ad gets a progress bar above this many sentences


def _taxonomy(name: str):
    from workvec.runtime.taxonomy import load_taxonomy

    return load_taxonomy(name)


def _open(cls, args: argparse.Namespace, **options):
    from pathlib import Path

    if args.index_dir is not None and not Path(args.index_dir).is_dir():
        raise InputError(f"--index-dir {args.index_dir} does not exist; create it (mkdir -p) or omit the flag")
    return cls.open(args.bundle, taxonomy=_taxonomy(args.taxonomy), threads=args.threads, index_dir=args.index_dir,
                    strict=args.strict_index, progress=show_progress(args.quiet), **options)


def _title_chunks(args: argparse.Namespace) -> Iterator[list[str]]:
    if args.file and args.titles:
        raise InputError("give titles either as arguments or with --file, not both")
    if args.file:
        return iter_line_chunks(args.file)
    if args.titles == ["-"]:
        return iter_line_chunks("-")
    if not args.titles:
        raise InputError("no titles given: pass TITLE..., --file F (one title per line), or '-' to read stdin")
    return iter([args.titles])


def _normalize(args: argparse.Namespace) -> int:
    from workvec.runtime.settings import NormalizeSettings
    from workvec.runtime.titles import TitleNormalizer

    settings = NormalizeSettings(k=args.k, clean=args.clean, language_guard=args.language_guard)  # checked first
    chunks = _title_chunks(args)
    first = next(chunks, [])  # read (and validate) input before loading any model
    if not first:
        note("the input holds no titles")
        return 0
    normalizer = _open(TitleNormalizer, args)
    count = 0
    for titles in chain([first], chunks):
        for answer in normalizer.normalize(titles, settings):
            count += 1
            if not answer.query.strip():
                note(f"title {count} is empty; it gets no matches")
            if args.json:
                print(json.dumps(answer.to_json(), ensure_ascii=False))
                continue
            cleaned = f"  (as {answer.cleaned!r})" if answer.cleaned != answer.query.strip() else ""
            print(answer.query + cleaned + ("  [no match: best candidates below the floor]" if answer.no_match else ""))
            for m in answer.matches:
                via = "" if m.matched_label == m.label else f"  (via {m.matched_label!r})"
                print(f"  {m.score:.3f}  {m.id}  {m.label}{via}")
        sys.stdout.flush()
    return 0


def _ad_text(args: argparse.Namespace) -> str:
    if args.file and args.text:
        raise InputError("give the ad either as TEXT or with --file, not both")
    if args.file:
        return read_source(args.file)
    if args.text == "-":
        return read_source("-")
    if args.text is None:
        raise InputError("no ad given: pass TEXT, --file F, or '-' to read stdin")
    return args.text


def _extract(args: argparse.Namespace) -> int:
    from workvec.runtime.settings import ExtractSettings
    from workvec.runtime.skill_job import ExtractReport
    from workvec.runtime.skills import SkillExtractor

    settings = ExtractSettings(threshold=args.threshold, k=args.k, exact=True if args.exact else None,
                               requirement_filter=args.requirement_filter,
                               language_guard=args.language_guard)  # bad options fail before any loading
    text = _ad_text(args)
    if not any(ch.isalnum() for ch in text):
        note("the text is empty (no sentence with a letter or digit); no skills")
        report = ExtractReport(())
    else:
        extractor = _open(SkillExtractor, args, requirement_filter=args.requirement_filter_file or args.requirement_filter)
        job = extractor.plan([text], settings)
        (report,) = job.finish(_run(extractor, job, args.quiet))
    if report.truncated:
        note("the text is over 1 MB; its first 1 MB (up to its last full sentence) was read")
    if args.json:
        print(json.dumps(report.to_json(), ensure_ascii=False))
        return 0
    if report.skipped:
        note(f"{len(report.skipped)} sentence(s) state no requirement and were skipped (--json lists them;"
             " --no-requirement-filter scores them)")
    for s in report.skills:
        words = ", ".join(e.text for e in s.evidence)
        print(f"{s.score:.3f}  {s.label}  [{words}]  <- {s.sentence[:80]}")
    return 0


def _run(extractor, job, quiet: bool) -> list:
    """The job's sentence outcomes, with a progress bar on a terminal for long texts."""
    sentences = list(job.texts)
    if len(sentences) <= PROGRESS_SENTENCES or not show_progress(quiet):
        return extractor.run(sentences, job.settings)
    from tqdm import tqdm

    out: list = []
    with tqdm(total=len(sentences), unit="sentence", desc="extract", file=sys.stderr) as bar:
        for start in range(0, len(sentences), PROGRESS_SENTENCES):
            out.extend(extractor.run(sentences[start:start + PROGRESS_SENTENCES], job.settings))
            bar.update(min(PROGRESS_SENTENCES, len(sentences) - start))
    return out


def _common(p: argparse.ArgumentParser, taxonomy: str) -> None:
    from workvec.runtime.taxonomy import EMBEDDED

    p.add_argument("--taxonomy", default=taxonomy,
                   help=f"embedded name ({', '.join(EMBEDDED)}) or a taxonomy file (ESCO CSV, O*NET, CSV/JSONL)")
    p.add_argument("--bundle", help="bundle directory (default: the model shipped in the package; $WORKVEC_TITLE_BUNDLE /"
                   " $WORKVEC_SKILL_BUNDLE override it)")
    p.add_argument("--index-dir", help="where label indexes are cached (default: $WORKVEC_HOME/indexes)")
    p.add_argument("--strict-index", action="store_true",
                   help="fail on a broken cached label index instead of rebuilding it")
    p.add_argument("--threads", type=int, help="intra-op threads (default: 1 on <= 2 cores, else all, at most 8)")
    p.add_argument("--no-language-guard", dest="language_guard", action="store_false",
                   help="answer texts in languages the bundle was not trained for anyway (default: a title gets"
                   " no_match with its language, a sentence is skipped with it)")
    p.add_argument("--json", action="store_true", help="print JSON lines")


def register(sub: argparse._SubParsersAction) -> None:
    """Add the `normalize` and `extract` sub-commands."""
    from workvec.runtime.skills import DEFAULT_THRESHOLD

    formatter = HelpFormatter
    p = sub.add_parser("normalize", help="map job titles to occupations", formatter_class=formatter,
                       description="Map job titles to taxonomy concepts; one result (a JSON line with --json) per title.")
    p.add_argument("titles", nargs="*", metavar="TITLE", help="titles, or '-' to read one title per line from stdin")
    p.add_argument("--file", help="read one title per line from a UTF-8 file (streamed)")
    p.add_argument("--k", type=int, default=5, help="concepts per title")
    p.add_argument("--no-clean", dest="clean", action="store_false",
                   help="encode titles as given (default: drop gender, seniority, shift and contract markers first)")
    _common(p, "esco-occupations")
    p.set_defaults(func=_normalize)

    p = sub.add_parser("extract", help="find skills in a job ad (ConTeXT-match)", formatter_class=formatter,
                       description="Find taxonomy skills in one job ad, with the words that support each.")
    p.add_argument("text", nargs="?", metavar="TEXT", help="the ad text, or '-' for stdin")
    p.add_argument("--file", help="read the ad from a UTF-8 file")
    p.add_argument("--threshold", type=float, default=None,
                   help="minimum ConTeXT-match score (default: the bundle's calibrated threshold; "
                   f"{DEFAULT_THRESHOLD} for bundles without one)")
    p.add_argument("--k", type=int, default=None, help="cap on skills per sentence (default: none, the threshold decides)")
    p.add_argument("--no-requirement-filter", dest="requirement_filter", action="store_false",
                   help="score every sentence (default: skip sentences that state no requirement; --json lists them)")
    p.add_argument("--requirement-filter", dest="requirement_filter_file", metavar="FILE",
                   help="requirement filter file (default: the one trained for the bundle's model)")
    p.add_argument("--exact", action="store_true",
                   help="score every label even with an HNSW index (the default below 20k labels)")
    _common(p, "esco-skills")
    p.set_defaults(func=_extract)

"""`workvec demo`: the main job on the offline default model, end to end, with timings."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

SAMPLE_TITLES = ("Sr. Java Developer (Spring Boot)", "RN - ICU night shifts", "CE truck driver", "Accounts payable clerk")
SAMPLE_AD = """Data Engineer (m/f/d) - Brussels

We are looking for a data engineer to join our analytics team.
Your tasks:
- Build and maintain data pipelines in Python and Apache Spark
- Model data in our PostgreSQL warehouse and write efficient SQL
- Work with product owners to translate business questions into dashboards
Your profile:
• 3+ years of experience with cloud platforms (AWS or Azure)
• You communicate clearly in English and Dutch
"""


def _speed_line(bundle: Path, threads: int) -> str:
    from workvec.runtime.encoder import Encoder
    from workvec.runtime.manifest import MODEL_FILES, read_manifest

    texts = [f"{t} {i}" for i in range(64) for t in SAMPLE_TITLES]
    rates = {}
    files = read_manifest(bundle).files
    for precision in [p for p in ("fp32", "int8") if MODEL_FILES[p] in files]:
        enc = Encoder.open(bundle, precision=precision, providers="cpu", threads=threads)
        enc.encode(texts[:64], batch_size=64)
        start = time.perf_counter()
        enc.encode(texts, batch_size=64)
        rates[precision] = len(texts) / (time.perf_counter() - start)
    line = f"speed ({threads} thread): " + ", ".join(f"{p} {r:.0f} titles/s" for p, r in rates.items())
    if len(rates) == 2:
        line += f" (int8/fp32 {rates['int8'] / rates['fp32']:.2f}x)"
    return line + " (peers: benchmarks/README.md)"


def run(args: argparse.Namespace) -> int:
    """Report the default bundles' parity and speed (exporting them first where the package ships none), build
    indexes, normalize titles, extract skills."""
    from workvec import SkillExtractor, TitleNormalizer
    from workvec.defaults import ensure_default_bundle
    from workvec.parity_line import parity_line
    from workvec.runtime.labels import default_index_dir
    from workvec.runtime.manifest import read_manifest

    log = print
    bundles = {kind: ensure_default_bundle(kind) for kind in ("title", "skill")}
    for kind, path in bundles.items():
        log(f"[{kind}] {path}: {parity_line(read_manifest(path).parity)}")
    log(_speed_line(bundles["title"], 1))

    t0 = time.perf_counter()
    normalizer = TitleNormalizer.open(bundles["title"], threads=args.threads)
    extractor = SkillExtractor.open(bundles["skill"], threads=args.threads)
    log(f"indexes ready in {time.perf_counter() - t0:.1f} s (cached under {default_index_dir()})")

    t0 = time.perf_counter()
    answers = normalizer.normalize(list(SAMPLE_TITLES), k=3)
    ms = (time.perf_counter() - t0) * 1000
    log(f"\nTitle normalization (ESCO occupations, {ms / len(SAMPLE_TITLES):.1f} ms/title):")
    for a in answers:
        shown = "no match; best: " if a.no_match else ""
        log(f"  {a.query!r} (as {a.cleaned!r}) -> {shown}" + "; ".join(f"{m.label} ({m.score:.2f})" for m in a.matches))

    t0 = time.perf_counter()
    report = extractor.extract(SAMPLE_AD)
    ms = (time.perf_counter() - t0) * 1000
    log(f"\nSkill extraction (ESCO, ConTeXT-match, {ms:.0f} ms for the ad):")
    for s in report.skills[:12]:
        related = f"  (related: {', '.join(r.label for r in s.related)})" if s.related else ""
        log(f"  {s.score:.3f}  {s.label:40s} evidence: {', '.join(e.text for e in s.evidence)}{related}")
    for skipped in report.skipped:
        log(f"  skipped (no requirement): {skipped.text!r}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add the `demo` sub-command."""
    p = sub.add_parser("demo", help="the default model end to end: parity, speed, indexes, titles, skills")
    p.add_argument("--threads", type=int, default=None)
    p.set_defaults(func=run)

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


def _ensure_bundle(kind: str, log) -> Path:
    from workvec.defaults import default_bundle, default_model

    path = default_bundle(kind)
    if (path / "workvec.json").is_file():
        return path
    from workvec.export import ExportRequest, export_bundle

    log(f"exporting the default {kind} encoder (all-MiniLM-L6-v2) to {path} ...")
    export_bundle(ExportRequest(model=str(default_model()), kind=kind, out=path), log=log)
    return path


def _speed_line(bundle: Path, threads: int) -> str:
    from workvec.runtime.encoder import Encoder

    texts = [f"{t} {i}" for i in range(64) for t in SAMPLE_TITLES]
    rates = {}
    for precision in ("fp32", "int8"):
        enc = Encoder.load(bundle, precision, "cpu", threads=threads)
        enc.encode(texts[:64], batch_size=64)
        start = time.perf_counter()
        enc.encode(texts, batch_size=64)
        rates[precision] = len(texts) / (time.perf_counter() - start)
    return (f"speed ({threads} thread): int8 {rates['int8']:.0f} titles/s, fp32 {rates['fp32']:.0f} titles/s"
            f" (int8/fp32 {rates['int8'] / rates['fp32']:.2f}x; peers: benchmarks/README.md)")


def run(args: argparse.Namespace) -> int:
    """Export (if needed), report parity and speed, build indexes, normalize titles, extract skills."""
    from workvec.cli import _parity_line
    from workvec.runtime.encoder import Encoder
    from workvec.runtime.labels import LabelIndex, default_index_dir
    from workvec.runtime.skills import SkillExtractor
    from workvec.runtime.taxonomy import load_taxonomy
    from workvec.runtime.titles import TitleNormalizer

    log = print
    bundles = {kind: _ensure_bundle(kind, log) for kind in ("title", "skill")}
    for kind, path in bundles.items():
        enc = Encoder.load(path, threads=args.threads)
        log(f"[{kind}] {path}: {_parity_line(enc.manifest.parity)}")
    log(_speed_line(bundles["title"], 1))

    t0 = time.perf_counter()
    titles_enc = Encoder.load(bundles["title"], threads=args.threads)
    normalizer = TitleNormalizer(titles_enc, LabelIndex.open(titles_enc, load_taxonomy("onet")))
    skills_enc = Encoder.load(bundles["skill"], threads=args.threads)
    skill_index = LabelIndex.open(skills_enc, load_taxonomy("esco-skills"), include_alt=False)
    extractor = SkillExtractor(skills_enc, skill_index)
    log(f"indexes ready in {time.perf_counter() - t0:.1f} s (cached under {default_index_dir()})")

    t0 = time.perf_counter()
    results = normalizer.normalize(list(SAMPLE_TITLES), k=3)
    ms = (time.perf_counter() - t0) * 1000
    log(f"\nTitle normalization (O*NET-SOC, {ms / len(SAMPLE_TITLES):.1f} ms/title):")
    for title, matches in zip(SAMPLE_TITLES, results):
        log(f"  {title!r} -> " + "; ".join(f"{m.label} ({m.score:.2f})" for m in matches))

    t0 = time.perf_counter()
    skills = extractor.extract(SAMPLE_AD)
    ms = (time.perf_counter() - t0) * 1000
    log(f"\nSkill extraction (ESCO, ConTeXT-match, {ms:.0f} ms for the ad):")
    for s in skills[:12]:
        log(f"  {s.score:.3f}  {s.label:40s} evidence: {', '.join(e.text for e in s.evidence)}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add the `demo` sub-command."""
    p = sub.add_parser("demo", help="export the default encoders (once), then normalize titles and extract skills")
    p.add_argument("--threads", type=int, default=None)
    p.set_defaults(func=run)

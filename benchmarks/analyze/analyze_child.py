"""Child processes of analyze_speed.py (each timed in its own process).

`loop`: the plain per-ad loop a user would write (SkillExtractor.extract + TitleNormalizer.normalize per ad),
writing its results as JSON for the identity check. `ray`: `workvec analyze --engine ray` through the API on a
local Ray started with a fixed CPU count (Ray start-up inside the timed span).
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from benchmarks._common import peak_rss_mib


def _ads(corpus: str, limit: int) -> list[dict]:
    opener = gzip.open if corpus.endswith(".gz") else open
    out = []
    with opener(corpus, "rt", encoding="utf-8") as fh:
        for line in fh:
            if len(out) == limit:
                break
            out.append(json.loads(line))
    return out


def loop(args: argparse.Namespace) -> dict:
    import workvec

    started = time.perf_counter()
    titles = workvec.TitleNormalizer.open(args.title_bundle, precision=args.precision, threads=1, progress=False)
    skills = workvec.SkillExtractor.open(args.skill_bundle, precision=args.precision, threads=1, progress=False)
    ads = _ads(args.corpus, args.limit)
    loaded = time.perf_counter()
    results = []
    for ad in ads:
        found = skills.extract(ad["text"]).skills
        occ = titles.normalize([ad["title"]], k=2)[0].matches
        results.append({"id": ad["id"], "occupation": [(m.id, m.score) for m in occ],
                        "skills": [(m.id, m.score, m.sentence_start, m.sentence_end,
                                    [(e.text, e.start, e.end, e.weight) for e in m.evidence]) for m in found]})
    done = time.perf_counter()
    Path(args.results).write_text(json.dumps(results), encoding="utf-8")
    return {"ads": len(ads), "load_s": loaded - started, "loop_s": done - loaded, "total_s": done - started,
            "peak_rss_mib": peak_rss_mib()}


def ray_run(args: argparse.Namespace) -> dict:
    import ray

    from workvec.analyze import ModelSpec, run_analyze
    from workvec.analyze.plan import AnalyzeSpec

    started = time.perf_counter()
    ray.init(num_cpus=args.cpus, include_dashboard=False, log_to_driver=False)
    models = ModelSpec(args.title_bundle, args.skill_bundle, args.titles_taxonomy, args.skills_taxonomy,
                       precision=args.precision, threads=1)
    info = run_analyze(AnalyzeSpec(inputs=(args.corpus,), out=Path(args.out), models=models, limit=args.limit,
                                   shard_rows=args.shard_rows, engine="ray", quiet=True))
    ray.shutdown()
    return {"ads": info["counts"]["ads"], "total_s": time.perf_counter() - started, "peak_rss_mib": peak_rss_mib()}


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=("loop", "ray"))
    p.add_argument("--corpus", required=True)
    p.add_argument("--limit", type=int, required=True)
    p.add_argument("--title-bundle", required=True)
    p.add_argument("--skill-bundle", required=True)
    p.add_argument("--precision", default="fp32")
    p.add_argument("--results", help="loop: where to write per-ad results")
    p.add_argument("--out", help="ray: run directory")
    p.add_argument("--cpus", type=int, default=1)
    p.add_argument("--shard-rows", type=int, default=500)
    p.add_argument("--titles-taxonomy", default="onet")
    p.add_argument("--skills-taxonomy", default="esco-skills")
    args = p.parse_args()
    print(json.dumps(loop(args) if args.mode == "loop" else ray_run(args)))


if __name__ == "__main__":
    main()

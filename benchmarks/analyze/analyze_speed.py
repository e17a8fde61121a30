"""`workvec analyze` benchmarks (issue 10), every timing in its own child process, 1 intra-op thread.

- headline: ads/s of `workvec analyze` vs a plain per-ad loop (SkillExtractor.extract + TitleNormalizer.normalize)
  on the first N ads of the USAJOBS corpus (file order), with the product defaults (O*NET titles, ESCO skills at
  0.60) and fp32, checking that both give identical results; plus the sentence duplicate rate.
- sizes: time and peak RSS vs corpus size; sizes above the corpus are the corpus resampled with shifted dates.
- ray: the Ray Data engine (local Ray, 1 CPU, 1 actor) vs the local engine on the same ads.

Run under the bench lock: flock /work/bench.lock python benchmarks/analyze/analyze_speed.py [--parts headline,sizes,ray]
"""

from __future__ import annotations

import argparse
import datetime as dt
import gzip
import json
import os
import random
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from benchmarks._common import RESULTS, ROOT, log, machine_info, markdown_table, run_child, write_json, write_text

PY = sys.executable
SHARED = Path(os.environ.get("WORKVEC_SHARED", ROOT.parent / "shared" / "data"))
CORPUS = SHARED / "corpus" / "usajobs-2017" / "ads.jsonl.gz"
OUT = RESULTS / "analyze"
FIXTURES = ROOT / "tests" / "fixtures"


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}


def analyze(corpus: Path, out: Path, bundles: tuple[str, str], *extra: str) -> dict:
    """`workvec analyze` in a child: wall time, peak RSS and what run.json says."""
    cmd = [PY, "-m", "workvec", "analyze", str(corpus), "--out", str(out), "--title-bundle", bundles[0],
           "--skill-bundle", bundles[1], "--threads", "1", "--quiet", *extra]
    child = run_child(cmd, env=_env())
    if child.returncode != 0:
        raise SystemExit(f"analyze failed: {child.stderr[-2000:]}")
    info = json.loads((out / "run.json").read_text(encoding="utf-8"))
    return {"wall_s": round(child.wall_s, 2), "peak_rss_mib": round(child.peak_rss_mib or 0, 1),
            "ads": info["counts"]["ads"], "shard_s": info["timings"]["shard_seconds"],
            "duplicate_rate": info["counts"]["duplicate_rate"], "sentences": info["counts"]["sentences"],
            "sentences_matched": info["counts"]["sentences_matched"], "skills": info["counts"]["skills"]}


def _identical(run_dir: Path, loop_results: Path) -> tuple[bool, int]:
    import pyarrow.parquet as pq

    ads = pq.read_table(run_dir / "ads.parquet").to_pylist()
    skills: dict[str, list] = {}
    for r in pq.read_table(run_dir / "ad_skills.parquet").to_pylist():
        skills.setdefault(r["id"], []).append([r["skill_id"], r["score"], r["sentence_start"], r["sentence_end"],
                                               [[e["text"], e["start"], e["end"], e["weight"]] for e in r["evidence"]]])
    loop = json.loads(loop_results.read_text(encoding="utf-8"))
    bad = 0
    for ad, ref in zip(ads, loop, strict=True):
        occ = [[ad["occupation_id"], ad["occupation_score"]], [ad["runner_up_id"], ad["runner_up_score"]]]
        bad += ad["id"] != ref["id"] or occ != ref["occupation"] or skills.get(ad["id"], []) != ref["skills"]
    return bad == 0, bad


def headline(args, tmp: Path) -> dict:
    bundles = (args.title_bundle, args.skill_bundle)
    log(f"headline: analyze {args.ads} ads (fp32, 1 thread) ...")
    run = analyze(CORPUS, tmp / "headline", bundles, "--limit", str(args.ads), "--precision", "fp32")
    log(f"  {run}; per-ad loop ...")
    child = run_child([PY, str(ROOT / "benchmarks" / "analyze_child.py"), "loop", "--corpus", str(CORPUS),
                       "--limit", str(args.ads), "--title-bundle", bundles[0], "--skill-bundle", bundles[1],
                       "--results", str(tmp / "loop.json")], env=_env())
    if child.returncode != 0:
        raise SystemExit(f"loop failed: {child.stderr[-2000:]}")
    loop = json.loads(child.stdout.strip().splitlines()[-1])
    same, differing = _identical(tmp / "headline", tmp / "loop.json")
    log(f"  loop {loop}; identical={same}")
    return {"ads": args.ads, "analyze": run, "loop": loop, "identical": same, "differing_ads": differing,
            "speedup_end_to_end": round(loop["total_s"] / run["wall_s"], 2),
            "speedup_work": round(loop["loop_s"] / run["shard_s"], 2)}


def resampled(path: Path, size: int, seed: int = 0) -> Path:
    """The corpus in order, then random copies of its ads with dates shifted by 30 days per copy round."""
    with gzip.open(CORPUS, "rt", encoding="utf-8") as fh:
        base = [json.loads(line) for line in fh]
    rng = random.Random(seed)
    with open(path, "w", encoding="utf-8") as out:
        for i in range(size):
            ad = dict(base[i]) if i < len(base) else dict(rng.choice(base))
            copy = i // len(base)
            if copy:
                ad["id"] = f"{ad['id']}~{copy}"
                ad["date"] = (dt.date.fromisoformat(ad["date"][:10]) + dt.timedelta(days=30 * copy)).isoformat()
            out.write(json.dumps(ad) + "\n")
    return path


def _small(args) -> list[str]:
    """Flags for the sizes/ray parts: their bundles and taxonomies."""
    return ["--titles-taxonomy", args.size_titles_taxonomy, "--skills-taxonomy", args.size_skills_taxonomy]


def full(args, tmp: Path) -> dict:
    log("full: analyze the whole corpus (product defaults: int8 on this CPU, 1 thread) ...")
    run = analyze(CORPUS, tmp / "full", (args.title_bundle, args.skill_bundle))
    run["ads_per_s"] = round(run["ads"] / run["wall_s"], 2)
    if args.keep:
        import shutil

        shutil.copytree(tmp / "full", args.keep, dirs_exist_ok=True)
    log(f"  {run}")
    return run


def sizes(args, tmp: Path) -> list[dict]:
    bundles = (args.size_title_bundle, args.size_skill_bundle)
    rows = []
    for size in args.sizes:
        log(f"sizes: {size} ads ...")
        run = analyze(resampled(tmp / f"corpus-{size}.jsonl", size), tmp / f"size-{size}", bundles, *_small(args))
        run["ads_per_s"] = round(run["ads"] / run["wall_s"], 1)
        log(f"  {run}")
        rows.append({"size": size, **run})
    return rows


def ray(args, tmp: Path) -> dict:
    bundles = (args.size_title_bundle, args.size_skill_bundle)
    corpus = resampled(tmp / "corpus-ray.jsonl", args.ray_ads)
    log(f"ray: local engine on {args.ray_ads} ads ...")
    local = analyze(corpus, tmp / "ray-local", bundles, *_small(args))
    log(f"  {local}; ray engine (1 CPU, 1 actor) ...")
    child = run_child([PY, str(ROOT / "benchmarks" / "analyze_child.py"), "ray", "--corpus", str(corpus),
                       "--limit", str(args.ray_ads), "--title-bundle", bundles[0], "--skill-bundle", bundles[1],
                       "--precision", "auto", "--out", str(tmp / "ray-ray"), "--cpus", "1", *_small(args)],
                      env=_env())
    if child.returncode != 0:
        raise SystemExit(f"ray failed: {child.stderr[-2000:]}")
    run = json.loads(child.stdout.strip().splitlines()[-1])
    run["wall_s"] = round(child.wall_s, 2)
    log(f"  {run}")
    return {"ads": args.ray_ads, "local_wall_s": local["wall_s"], "ray_wall_s": run["wall_s"],
            "overhead_s": round(run["wall_s"] - local["wall_s"], 2),
            "ratio": round(run["wall_s"] / local["wall_s"], 2)}


def _relative(value):
    """Paths inside the repository as relative paths (results carry no machine paths)."""
    if isinstance(value, str) and value.startswith(str(ROOT) + os.sep):
        return os.path.relpath(value, ROOT)
    return value


def report(data: dict) -> str:
    machine = data["machine"]
    parts = ["# workvec analyze benchmarks\n", (f"Machine: {machine['cpu']}, {machine['usable_cores']} usable cores,"
                                                f" load {machine['load_average']}; 1 thread.\n")]
    if "headline" in data:
        h = data["headline"]
        parts.append(f"## analyze vs per-ad loop ({h['ads']} ads, fp32, O*NET + ESCO defaults)\n\n" + markdown_table(
            ["", "wall s", "ads/s (end to end)", "work s", "ads/s (work)", "peak RSS MiB"],
            [["workvec analyze", h["analyze"]["wall_s"], h["ads"] / h["analyze"]["wall_s"], h["analyze"]["shard_s"],
              h["ads"] / h["analyze"]["shard_s"], h["analyze"]["peak_rss_mib"]],
             ["per-ad loop", h["loop"]["total_s"], h["ads"] / h["loop"]["total_s"], h["loop"]["loop_s"],
              h["ads"] / h["loop"]["loop_s"], h["loop"]["peak_rss_mib"]]])
            + f"\n\nSpeed-up {h['speedup_end_to_end']}x end to end, {h['speedup_work']}x on the work alone; identical"
              f" results: {h['identical']} ({h['differing_ads']} ads differ). Sentences"
              f" {h['analyze']['sentences']:,}, matched {h['analyze']['sentences_matched']:,} (duplicate rate"
              f" {h['analyze']['duplicate_rate']:.1%}).\n")
    if "sizes" in data:
        model = data["args"].get("size_model") or data["bundles"].get("size_skill_bundle")
        parts.append("## Cost vs size\n\n" + f"Model: {model}; taxonomies"
                     f" {Path(data['args']['size_titles_taxonomy']).name} + {Path(data['args']['size_skills_taxonomy']).name}"
                     "; above 5,904 ads the corpus is resampled"
                     " with dates shifted by 30 days per copy round (copies repeat every sentence).\n\n"
                     + markdown_table(
            ["ads", "wall s", "ads/s", "peak RSS MiB", "duplicate rate", "skills"],
            [[r["size"], r["wall_s"], r["ads_per_s"], r["peak_rss_mib"], r["duplicate_rate"], r["skills"]]
             for r in data["sizes"]]) + "\n")
    if "ray" in data:
        r = data["ray"]
        parts.append(f"## Ray engine vs local ({r['ads']} ads, one machine)\n\n" + markdown_table(
            ["engine", "wall s"], [["local", r["local_wall_s"]], ["ray (1 CPU, 1 actor, Ray start-up included)",
                                                                r["ray_wall_s"]]])
            + f"\n\nRay overhead {r['overhead_s']} s ({r['ratio']}x the local wall time).\n")
    if "full" in data:
        f = data["full"]
        parts.append(f"## Whole corpus ({f['ads']:,} ads, int8, 1 thread)\n\n" + markdown_table(
            ["ads", "wall s", "ads/s", "peak RSS MiB", "sentences", "matched", "duplicate rate", "skills"],
            [[f["ads"], f["wall_s"], f["ads_per_s"], f["peak_rss_mib"], f["sentences"], f["sentences_matched"],
              f["duplicate_rate"], f["skills"]]]) + "\n")
    return "\n".join(parts)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--parts", default="headline,sizes,ray")
    p.add_argument("--ads", type=int, default=300, help="headline slice (first N ads)")
    p.add_argument("--sizes", type=lambda s: [int(x) for x in s.split(",")], default=[1000, 10000])
    p.add_argument("--ray-ads", type=int, default=1000)
    p.add_argument("--title-bundle", help="headline title bundle (all-MiniLM-L6-v2; required)")
    p.add_argument("--skill-bundle", help="headline skill bundle (all-MiniLM-L6-v2; required)")
    p.add_argument("--size-title-bundle", help="bundle for sizes/ray (default: --title-bundle)")
    p.add_argument("--size-skill-bundle", help="bundle for sizes/ray (default: --skill-bundle)")
    p.add_argument("--size-titles-taxonomy", default=str(FIXTURES / "analyze-titles.csv"))
    p.add_argument("--size-skills-taxonomy", default=str(FIXTURES / "analyze-skills.csv"))
    p.add_argument("--keep", help="full: copy the run directory here")
    p.add_argument("--size-model", default="", help="how to describe the sizes/ray bundles in the report")
    p.add_argument("--tag", default="", help="suffix of the result file names")
    p.add_argument("--render", help="only rewrite the .md of this results .json")
    args = p.parse_args()
    if args.render:
        path = Path(args.render)
        write_text(path.with_suffix(".md"), report(json.loads(path.read_text(encoding="utf-8"))))
        return
    if not (args.title_bundle and args.skill_bundle):
        p.error("--title-bundle and --skill-bundle are required")
    args.size_title_bundle = args.size_title_bundle or args.title_bundle
    args.size_skill_bundle = args.size_skill_bundle or args.skill_bundle
    parts = args.parts.split(",")
    data: dict = {"machine": machine_info(["workvec", "onnxruntime", "pyarrow", "pandas", "ray"]),
                  "args": {k: _relative(v) for k, v in vars(args).items() if "bundle" not in k and k != "keep"},
                  "bundles": {k: Path(v).name for k, v in vars(args).items() if "bundle" in k and v}}
    with tempfile.TemporaryDirectory(prefix="wv-analyze-bench-") as tmp:
        for name, fn in (("headline", headline), ("sizes", sizes), ("ray", ray), ("full", full)):
            if name in parts:
                data[name] = fn(args, Path(tmp))
    write_json(OUT / f"analyze_speed{args.tag}.json", data)
    write_text(OUT / f"analyze_speed{args.tag}.md", report(data))
    print(report(data))


if __name__ == "__main__":
    main()

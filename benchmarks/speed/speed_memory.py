"""Memory and cold start section of `speed.py`: peak RSS per variant, file sizes, process start to first answer."""

from __future__ import annotations

import json
import shutil
import tempfile
import sys
import time

from _common import log, median, run_child
from speed_sections import call_child, child_rss
from speed_setup import INDEXES, Config, bundle, job_titles, model_dir, model_files, sample_ads, single_thread_env

TARGET_COLD_S = 0.5

COLD = {
    "workvec titles (int8)": """
from workvec.runtime.encoder import Encoder
from workvec.runtime.labels import LabelIndex
from workvec.runtime.taxonomy import load_taxonomy
from workvec.runtime.titles import TitleNormalizer
imported = time.time()
enc = Encoder.open({title!r}, precision="int8", providers="cpu", threads=1)
normalizer = TitleNormalizer(enc, LabelIndex.open(enc, load_taxonomy("onet"), index_dir={indexes!r}, progress=False))
loaded = time.time()
answer = normalizer.search(["senior software engineer"])[0][0].label
""",
    "workvec skills (int8, exact index)": """
from workvec.runtime.encoder import Encoder
from workvec.runtime.labels import LabelIndex
from workvec.runtime.skills import SkillExtractor
from workvec.runtime.taxonomy import load_taxonomy
imported = time.time()
enc = Encoder.open({skill!r}, precision="int8", providers="cpu", threads=1)
labels = LabelIndex.open(enc, load_taxonomy("esco-skills"), index_dir={skill_indexes!r}, include_alt=False,
                         progress=False)
extractor = SkillExtractor(enc, labels)
loaded = time.time()
answer = [m.label for m in extractor.extract({sentence!r}).skills][:3]
""",
    "st-torch titles": """
import sentence_transformers, torch
from speed_child import title_runner
imported = time.time()
run = title_runner("st-torch")
loaded = time.time()
answer = run(["senior software engineer"], 1)[0][0]
""",
    "reference skills (torch)": """
import sentence_transformers, torch
from speed_child import reference_extractor
imported = time.time()
extract, top5 = reference_extractor(0.6)
loaded = time.time()
answer = extract([{sentence!r}])
""",
}
COLD_SENTENCE = "Experience with Python, SQL and cloud platforms such as AWS is required."


def cold_start(name: str, runs: int) -> dict:
    """Process start to first answer of `python -c` loading a bundle + prebuilt index: median of `runs`."""
    from speed_child import SKILL_INDEX_DIR

    body = COLD[name].format(title=str(bundle("title")), skill=str(bundle("skill")), indexes=str(INDEXES),
                                     skill_indexes=str(SKILL_INDEX_DIR), sentence=COLD_SENTENCE)
    code = ("import time, json\n" + body + "\nanswered = time.time()\nfrom _common import peak_rss_mib\n"
            "print(json.dumps({'imported': imported, 'loaded': loaded, 'answered': answered, 'answer': answer, "
            "'peak_rss_mib': peak_rss_mib()}))\n")
    totals, to_import, to_load, rss, answer = [], [], [], [], None
    home = tempfile.mkdtemp(prefix="workvec-cold-")  # an empty optimised-graph cache: run 0 fills it
    env = {**single_thread_env(), "WORKVEC_HOME": home}
    for _ in range(runs + 1):
        started = time.time()
        child = run_child([sys.executable, "-c", code], env=env)
        if child.returncode != 0:
            raise RuntimeError(f"cold start {name} failed:\n{child.stderr[-3000:]}")
        out = json.loads(child.stdout.strip().splitlines()[-1])
        totals.append(out["answered"] - started)
        to_import.append(out["imported"] - started)
        to_load.append(out["loaded"] - started)
        rss.append(child_rss(out, child.peak_rss_mib))
        answer = out["answer"]
    shutil.rmtree(home, ignore_errors=True)
    first = totals.pop(0)
    to_import.pop(0), to_load.pop(0)
    total = median(totals)
    return {"variant": name, "first_run_s": round(first, 3), "runs_s": [round(t, 3) for t in totals],
            "median_s": round(total, 3),
            "start_to_imported_s": round(median(to_import), 3), "start_to_loaded_s": round(median(to_load), 3),
            "peak_rss_mib": max(rss),
            "meets_target": total <= TARGET_COLD_S if name.startswith("workvec") else None, "answer": answer}


def _rss_rows(cfg: Config, fresh: dict) -> list[dict]:
    """Peak RSS per variant: from this run's titles / e2e children, else from small dedicated ones."""
    rows = []
    if "titles" in fresh:
        t = fresh["titles"]
        workload = (f"titles section: {len(t['variants'][0]['latency_ms'])} single titles + the batch sweep "
                    f"{list(t['variants'][0]['titles_per_s'])}")
        rows += [{"variant": f"titles {v['variant']}", "workload": workload, "peak_rss_mib": v["peak_rss_mib"]}
                 for v in t["variants"]]
    else:
        pool = job_titles(320)
        for variant in ("workvec-int8", "workvec-fp32", "st-torch"):
            _, rss = call_child("titles", {"variant": variant, "titles": pool[:256], "latency_titles": pool[256:],
                                           "batches": [64]})
            rows.append({"variant": f"titles {variant}", "workload": "256 titles at batch 64 + 64 single titles",
                         "peak_rss_mib": rss})
    if "e2e" in fresh:
        e = fresh["e2e"]
        rows += [{"variant": f"skills {v['variant']}", "workload": f"e2e section: {v['ads']} ads, {v['sentences']} "
                  "sentences", "peak_rss_mib": v["peak_rss_mib"]} for v in e["variants"]]
    else:
        ads = sample_ads(60, 30)
        for variant in ("workvec", "reference"):
            _, rss = call_child("e2e", {"variant": variant, "ads": [list(a.sentences) for a in ads]})
            workload = f"{len(ads)} ads, {sum(len(a.sentences) for a in ads)} sentences"
            rows.append({"variant": f"skills {variant}", "workload": workload, "peak_rss_mib": rss})
    return rows


def memory(cfg: Config, fresh: dict | None = None) -> dict:
    """Peak RSS of each variant (child processes), model/index file sizes, cold starts (quick: workvec only).
    `fresh` holds the sections measured earlier in this run, whose children's RSS is reused."""
    rows = _rss_rows(cfg, fresh or {})
    from speed_child import SKILL_INDEX_DIR

    files = {"minilm-title bundle": model_files(bundle("title")), "minilm-skill bundle": model_files(bundle("skill")),
             "sentence-transformers model": model_files(model_dir()),
             "skill HNSW index": model_files(SKILL_INDEX_DIR / bundle("skill").name),
             "O*NET index": model_files(INDEXES / bundle("title").name)}
    cold = []
    for name in [n for n in COLD if n.startswith("workvec") or not cfg.quick]:
        log(f"memory: cold start {name} x{cfg.cold_runs} ...")
        cold.append(cold_start(name, cfg.cold_runs))
    return {"threads": 1, "rss": rows, "files_bytes": files, "cold_start": cold, "target_cold_s": TARGET_COLD_S,
            "cold_note": "wall time from Popen to the child's first answer (python -c: imports, bundle load, prebuilt "
                         "index load, one title / one sentence); page cache warm. `first run`: the first process "
                         "on a machine (empty optimised-graph cache: sha256 verification + graph optimisation + "
                         "saving it); the median is over the later runs (cache hit: size check, no optimisation)"}

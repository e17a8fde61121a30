"""`workvec extract --file` on a 2 MB file made of one repeated ad, against the same command of another workvec
checkout (the code before sentence de-duplication, issue 20), in one run; and the skills of both against the ad
alone.

    python benchmarks/speed/extract_repeated.py --baseline-src /path/to/older/checkout

Each command runs as a fresh process with the shipped model, one thread, a warm label index (a first run of each
builds it and is not timed); results go to benchmarks/results/extract_repeated.json.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _common import RESULTS, ROOT, log  # noqa: E402

SAMPLE = ROOT / "tests" / "fixtures" / "ads-sample.jsonl"
TARGET_BYTES = 2_000_000


def _cli(src: Path, home: Path, path: Path) -> tuple[float, dict]:
    env = {**os.environ, "PYTHONPATH": str(src), "WORKVEC_HOME": str(home)}
    cmd = [sys.executable, "-m", "workvec", "extract", "--file", str(path), "--json", "--threads", "1", "--quiet"]
    start = time.perf_counter()
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True, cwd=src)
    return time.perf_counter() - start, json.loads(done.stdout)


def _ids(report: dict) -> list[tuple[str, float]]:
    return sorted((s["id"], s["score"]) for s in report["skills"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline-src", type=Path, required=True, help="checkout of the workvec to compare with")
    args = parser.parse_args()
    ads = [json.loads(line)["text"] for line in SAMPLE.read_text(encoding="utf-8").splitlines()]
    ad = "\n".join(ads[:3])
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        alone, big = folder / "ad.txt", folder / "repeated.txt"
        alone.write_text(ad, encoding="utf-8")
        big.write_text("\n\n".join([ad] * (TARGET_BYTES // (len(ad) + 2) + 1)), encoding="utf-8")
        rows = {}
        for name, src in (("this", ROOT), ("baseline", args.baseline_src.resolve())):
            home = folder / f"home-{name}"
            _cli(src, home, alone)  # builds the label index once
            seconds_alone, report_alone = _cli(src, home, alone)
            log(f"{name}: the ad alone {seconds_alone:.2f} s; now the {big.stat().st_size:,}-byte file ...")
            seconds, report = _cli(src, home, big)
            rows[name] = {"seconds": round(seconds, 2), "seconds_alone": round(seconds_alone, 2),
                          "same_skills_as_alone": _ids(report) == _ids(report_alone),
                          "skills": len(report["skills"]), "truncated": report.get("truncated")}
            log(f"{name}: {rows[name]}")
    result = {"bytes": TARGET_BYTES, "ad_chars": len(ad), **rows,
              "speedup": round(rows["baseline"]["seconds"] / rows["this"]["seconds"], 1)}
    print(json.dumps(result, indent=2))
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "extract_repeated.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()

"""The local engine (one process, shard after shard) and the progress bar both engines share."""

from __future__ import annotations

import sys
import time

from workvec.analyze.pipeline import Analyzer
from workvec.analyze.plan import Plan

__all__ = ["Progress", "run_local"]


class Progress:
    """tqdm on stderr: ads/s and ETA, plus sentences/s and the sentence cache hit rate (quiet off a TTY)."""

    def __init__(self, total: int, *, quiet: bool) -> None:
        from tqdm import tqdm

        self.bar = tqdm(total=total, unit="ad", file=sys.stderr, disable=quiet or not sys.stderr.isatty(),
                        dynamic_ncols=True, smoothing=0.1)
        self.start = time.perf_counter()
        self.sentences = 0
        self.matched = 0

    def skip(self, ads: int) -> None:
        """Ads of shards finished by an earlier run."""
        self.bar.update(ads)

    def done(self, entry: dict) -> None:
        """One shard finished now (its manifest entry)."""
        self.sentences += entry.get("sentences", 0)
        self.matched += entry.get("matched", 0)
        elapsed = max(time.perf_counter() - self.start, 1e-9)
        hit = 1 - self.matched / self.sentences if self.sentences else 0.0
        self.bar.set_postfix_str(f"{self.sentences / elapsed:.0f} sentences/s, cache hits {hit:.0%}", refresh=False)
        self.bar.update(entry["ads"])

    def close(self) -> None:
        self.bar.close()


def run_local(plan: Plan, done: dict[int, dict], progress: Progress) -> None:
    """Analyse every shard not in `done`, in order, writing each atomically as it finishes."""
    analyzer = None
    store = plan.store
    for shard, ads in plan.shards():
        if shard in done:
            progress.skip(len(ads))
            continue
        if analyzer is None:  # models load only when there is work left
            analyzer = Analyzer(plan.spec.models, plan.columns.groups)
        start = time.perf_counter()
        ads_table, skills_table, stats = analyzer.process(ads)
        stats["seconds"] = round(time.perf_counter() - start, 4)
        progress.done(store.write(shard, ads_table, skills_table, stats))

"""The Ray Data engine: the same shards, analysed by an actor pool (one model pair per actor).

The driver streams the inputs through the same reader and row checks as the local engine and stages each
pending shard's checked ads under RUN_DIR/ray-input/ (so the rows, their order and their statuses are the
local engine's). Ray Data then maps a dataset of staged shards with `map_batches` over an actor pool: each actor
loads the models once (intra-op threads = its CPUs), analyses a shard and writes its two Parquet files
atomically; the driver appends each finished shard to the manifest as results stream back, so a killed Ray run
resumes like a local one. Ray does all the scheduling. On a cluster RUN_DIR must be on a filesystem every node
sees (NFS, a mounted bucket) and workvec must be installed on every node.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import pickle
import shutil
import time
from pathlib import Path

from workvec.analyze.local import Progress
from workvec.analyze.pipeline import Analyzer, ModelSpec
from workvec.analyze.plan import Plan
from workvec.analyze.shards import ShardStore, atomic_write_bytes
from workvec.errors import InputError

__all__ = ["run_ray"]


class ShardWorker:
    """Ray Data callable class: models are loaded once per actor; each call analyses whole staged shards."""

    def __init__(self, models: ModelSpec, groups: tuple[str, ...], store_root: str) -> None:
        self.analyzer = Analyzer(models, groups)
        self.store = ShardStore(Path(store_root))

    def __call__(self, batch: dict) -> dict:
        entries = []
        for shard, path in zip(batch["shard"], batch["path"]):
            ads = pickle.loads(Path(path).read_bytes())
            start = time.perf_counter()
            ads_table, skills_table, stats = self.analyzer.process(ads)
            stats["seconds"] = round(time.perf_counter() - start, 4)
            entries.append(json.dumps(self.store.write_files(int(shard), ads_table, skills_table, stats)))
        return {"entry": entries}


def _connect(address: str | None) -> bool:
    """Join `address` (or start a local Ray) unless Ray is already initialised; True when this call started it."""
    try:
        import ray
    except ImportError as exc:
        raise InputError("--engine ray needs Ray Data: pip install 'workvec[scale]'") from exc
    if ray.is_initialized():
        return False
    try:
        ray.init(address=address, include_dashboard=False, logging_level=logging.WARNING, log_to_driver=False)
    except ConnectionError as exc:
        raise InputError(f"--address {address}: no Ray cluster answers there ({exc}); start one with"
                         " `ray start --head` or check the address") from exc
    return True


def _stage(plan: Plan, done: dict[int, dict], progress: Progress) -> list[dict]:
    """Write each pending shard's checked ads to ray-input/ (atomically); returns the dataset's items."""
    staged = plan.spec.out / "ray-input"
    staged.mkdir(parents=True, exist_ok=True)
    items = []
    for shard, ads in plan.shards():
        if shard in done:
            progress.skip(len(ads))
            continue
        path = staged / f"ads-{shard:06d}.pkl"
        atomic_write_bytes(path, pickle.dumps(ads, protocol=pickle.HIGHEST_PROTOCOL))
        items.append({"shard": shard, "path": str(path)})
    return items


def run_ray(plan: Plan, done: dict[int, dict], progress: Progress) -> None:
    """Analyse every pending shard with Ray Data's actor pool; the manifest is kept by this driver."""
    started = _connect(plan.spec.address)
    import ray

    try:
        items = _stage(plan, done, progress)
        if items:
            ray.data.DataContext.get_current().enable_progress_bars = False
            threads = plan.spec.models.threads or 1
            cpus = int(ray.cluster_resources().get("CPU", 1))
            actors = max(1, min(len(items), cpus // threads))
            models = dataclasses.replace(plan.spec.models, threads=threads)
            results = ray.data.from_items(items, override_num_blocks=len(items)).map_batches(
                ShardWorker, fn_constructor_kwargs={"models": models, "groups": plan.columns.groups,
                                                    "store_root": str(plan.store.root)},
                batch_size=1, concurrency=actors, num_cpus=threads)
            for row in results.iter_rows():
                entry = json.loads(row["entry"])
                plan.store.record(entry)
                progress.done(entry)
        shutil.rmtree(plan.spec.out / "ray-input", ignore_errors=True)
    finally:
        if started:
            ray.shutdown()

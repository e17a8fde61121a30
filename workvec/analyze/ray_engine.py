"""The Ray Data engine: the same shards, analysed by an actor pool (one model pair per actor).

The driver streams the inputs through the same reader and row checks as the local engine and stages each
pending shard's checked ads under RUN_DIR/ray-input/ (so the rows, their order and their statuses are the
local engine's). Ray Data then maps a dataset of staged shards with `map_batches` over an actor pool: each actor
loads the models once (intra-op threads = its CPUs), analyses a shard and writes its two Parquet files
atomically; the driver appends each finished shard to the manifest as results stream back, so a killed Ray run
resumes like a local one. Ray does all the scheduling. On a cluster RUN_DIR must be on a filesystem every node
sees (NFS, a mounted bucket) and workvec must be installed on every node; the paths an actor gets are absolute
(an actor's working directory is not the driver's).

Joining: `--address` (else RAY_ADDRESS) names a running cluster; with neither, a new local Ray starts
(`ray.init(address="local")`), never the cluster /tmp/ray/ray_current_cluster names (which may be dead). A
HOST:PORT where nothing accepts a connection is refused at once (`ray.init` would wait many minutes for it). A
cluster with Ray's token authentication (Ray >= 2.52; `ray start --head` turns it on by itself when it finds
~/.ray/auth_token) refuses a client that sends no token, and a client joining an explicit address sends one only
with RAY_AUTH_MODE=token: that error names the fix instead of Ray's 'Failed to connect'.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import pickle
import shutil
import socket
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


TOKEN_SOURCES = ("put the cluster's token (`ray get-auth-token` on the head node prints it) in RAY_AUTH_TOKEN, in a"
                 " file named by RAY_AUTH_TOKEN_PATH, or in ~/.ray/auth_token (Ray reads them in that order)")


def _target(address: str | None) -> tuple[str, str]:
    """What `ray.init` joins (`--address`, else RAY_ADDRESS, else "local": a new local Ray) and how errors name it."""
    if address:
        return address, f"--address {address}"
    env = os.environ.get("RAY_ADDRESS")
    if env:
        return env, f"RAY_ADDRESS={env}"
    return "local", "a local Ray"


def _host_port(address: str) -> tuple[str, int] | None:
    """(host, port) of a plain HOST:PORT address; None for "auto", "local", ray://... and anything Ray parses."""
    host, sep, port = address.rpartition(":")
    if "://" in address or not sep or not host or not port.isdigit():
        return None
    return host.strip("[]"), int(port)


def _unreachable(address: str) -> str | None:
    """Why nothing accepts a connection at a HOST:PORT address (None when something does, or it is no HOST:PORT)."""
    where = _host_port(address)
    if where is None:
        return None
    try:
        with socket.create_connection(where, timeout=5):
            return None
    except OSError as exc:
        return exc.strerror or str(exc) or type(exc).__name__


def _chain_text(exc: BaseException) -> str:
    """The messages of an exception and of its causes (Ray keeps the real reason in a cause's text)."""
    parts = []
    seen: BaseException | None = exc
    while seen is not None and len(parts) < 20:
        parts.append(f"{type(seen).__name__}: {seen}")
        seen = seen.__cause__ or seen.__context__
    return "\n".join(parts)


def _auth_refused(exc: BaseException) -> bool:
    """Whether Ray gave up because of token authentication (Ray >= 2.52)."""
    text = _chain_text(exc)
    return "InvalidAuthToken" in text or "AuthenticationError" in text


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _connect(address: str | None) -> bool:
    """Join `address` (or RAY_ADDRESS, else start a local Ray) unless Ray is already initialised; True when this
    call initialised Ray (and so shuts it down)."""
    try:
        import ray
    except ImportError as exc:
        raise InputError("--engine ray needs Ray Data: pip install 'workvec[scale]'") from exc
    if ray.is_initialized():
        return False
    target, where = _target(address)
    reason = _unreachable(target)
    if reason is not None:
        raise InputError(f"{where}: no Ray cluster answers there ({reason}); start one with"
                         f" `ray start --head --port={_host_port(target)[1]}` on that host, or check the address")
    try:
        ray.init(address=target, include_dashboard=False, logging_level=logging.WARNING, log_to_driver=False)
    except (ConnectionError, RuntimeError, ValueError, ray.exceptions.RayError) as exc:
        if _auth_refused(exc):
            if os.environ.get("RAY_AUTH_MODE", "").strip().lower() != "token":
                raise InputError(f"{where}: the Ray cluster there uses token authentication and RAY_AUTH_MODE is not"
                                 f" 'token' here: set RAY_AUTH_MODE=token and {TOKEN_SOURCES}") from exc
            found = "no authentication token was found" not in _chain_text(exc)
            raise InputError(f"{where}: RAY_AUTH_MODE=token, but " + (
                "the Ray cluster there refused this machine's token" if found else "Ray found no token here")
                + f": {TOKEN_SOURCES}") from exc
        if target == "local":
            raise InputError(f"could not start a local Ray ({_first_line(exc)}); pass --address to join a"
                             " running cluster") from exc
        raise InputError(f"{where}: could not join the Ray cluster there ({_first_line(exc)}); check the address"
                         " and that this machine runs the same Ray and Python versions as the cluster") from exc
    return True


def _absolute(models: ModelSpec) -> ModelSpec:
    """The model paths as every actor sees them: relative paths resolved here (names and absent paths kept)."""
    from workvec.runtime.taxonomy import EMBEDDED

    def fix(value: str | None, names: tuple[str, ...] = ()) -> str | None:
        if value is None or value in names or Path(value).is_absolute():
            return value
        path = Path(value).expanduser()
        return str(path.resolve()) if path.exists() else value

    return dataclasses.replace(models, title_bundle=fix(models.title_bundle), skill_bundle=fix(models.skill_bundle),
                               titles_taxonomy=fix(models.titles_taxonomy, EMBEDDED),
                               skills_taxonomy=fix(models.skills_taxonomy, EMBEDDED))


def _stage(plan: Plan, done: dict[int, dict], progress: Progress) -> list[dict]:
    """Write each pending shard's checked ads to ray-input/ (atomically); returns the dataset's items."""
    staged = plan.spec.out.resolve() / "ray-input"
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
            models = dataclasses.replace(_absolute(plan.spec.models), threads=threads)
            results = ray.data.from_items(items, override_num_blocks=len(items)).map_batches(
                ShardWorker, fn_constructor_kwargs={"models": models, "groups": plan.columns.groups,
                                                    "store_root": str(plan.store.root.resolve())},
                batch_size=1, compute=ray.data.ActorPoolStrategy(size=actors), num_cpus=threads)
            for row in results.iter_rows():
                entry = json.loads(row["entry"])
                plan.store.record(entry)
                progress.done(entry)
        shutil.rmtree(plan.spec.out / "ray-input", ignore_errors=True)
    finally:
        if started:
            ray.shutdown()

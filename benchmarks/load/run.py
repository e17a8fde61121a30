"""Load test of `workvec serve` (loopback only, bounded in time): throughput, p50/p95/p99, errors, server RSS.

    flock /work/bench.lock python benchmarks/load/run.py --model-dir ST_FOLDER [--title-bundle B --skill-bundle B] [--seconds 8]

Runs, each server a fresh subprocess: the service with dynamic batching and with batching off on mixed
titles (/v1/normalize) and job-ad sentences (/v1/extract) at concurrency 1, 8, 32, 64; /v1/embeddings on the
same texts against a peer (infinity-emb when --infinity-python is given, else a FastAPI handler calling
sentence-transformers per request) (`--parts levels`); overload (`--parts overload`): on one fresh server, the
sustainable rate (closed loop, concurrency 32), twice that rate open loop for 30 s, then 5 s at concurrency 8.
Texts: JobBERT vacancy titles and SkillSpan sentences from the shared data. Results: benchmarks/results/load/.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import csv
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))
from _common import machine_info, percentile, write_json, write_text

LEVELS = (1, 8, 32, 64)


def texts(shared: Path, n: int = 2000, seed: int = 0) -> tuple[list[str], list[str]]:
    """Vacancy titles and job-ad sentences (5+ tokens), shuffled with a fixed seed."""
    with open(shared / "bench/jobbert/titles.validation.csv", encoding="utf-8") as fh:
        titles = [row["vacancyTitle"] for row in csv.DictReader(fh) if row["vacancyTitle"].strip()]
    sentences = []
    with open(shared / "corpus/skillspan/json/dev.json", encoding="utf-8") as fh:
        for line in fh:
            tokens = json.loads(line)["tokens"]
            if len(tokens) >= 5:
                sentences.append(" ".join(tokens))
    rng = random.Random(seed)
    return rng.sample(titles, n), rng.sample(sentences, min(n, len(sentences)))


def rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as fh:
        return next(int(line.split()[1]) for line in fh if line.startswith("VmRSS")) / 1024


@contextlib.contextmanager
def server(cmd: list[str], port: int, env: dict, ready: str = "/health", limit: float = 600.0):
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        until = time.monotonic() + limit
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"{cmd[:4]} exited {proc.returncode}: {proc.stderr.read().decode()[-1500:]}")
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"http://127.0.0.1:{port}{ready}", timeout=2).status_code == 200:
                    break
            if time.monotonic() > until:
                raise RuntimeError(f"{cmd[:4]} not ready after {limit} s")
            time.sleep(0.5)
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()


def requests_for(kind: str, titles: list[str], sentences: list[str], model: str):
    """An endless cycle of (path, body): mixed titles and sentences, one text per request."""
    i = 0
    while True:
        t, s = titles[i % len(titles)], sentences[i % len(sentences)]
        if kind == "match":
            yield ("/v1/normalize", {"titles": [t]}) if i % 2 == 0 else ("/v1/extract", {"texts": [s]})
        else:
            yield "/v1/embeddings", {"input": [t if i % 2 == 0 else s], "model": model}
        i += 1


def summary(latencies: list[float], codes: dict, elapsed: float, peak: float, **extra) -> dict:
    ok = codes.get("200", 0)
    ms = sorted(x * 1000 for x in latencies)
    return {**extra, "requests": len(ms), "ok": ok, "errors": len(ms) - ok, "codes": codes,
            "throughput_rps": round(ok / elapsed, 1), "p50_ms": round(percentile(ms, 50), 1),
            "p95_ms": round(percentile(ms, 95), 1), "p99_ms": round(percentile(ms, 99), 1), "rss_mib": round(peak, 1)}


async def post_raw(host: str, port: int, path: str, body: dict, server_ms: list | None = None) -> str:
    """One POST on a fresh connection with a bare HTTP/1.1 client; the status code. Far cheaper than httpx per
    request, so that the open loop really offers its rate when the client shares the server's cores (with
    httpx here, the client fell behind: the server's queue never passed 16 texts while answers took 37 s).
    `server_ms` gets the answer's `Server-Timing` duration (time inside the server's app), when it has one."""
    data = json.dumps(body).encode()
    reader, writer = await asyncio.open_connection(host, port)
    try:
        writer.write(f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
                     f"Content-Length: {len(data)}\r\nConnection: close\r\n\r\n".encode() + data)
        await writer.drain()
        head, _, _ = (await reader.read()).partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        if server_ms is not None:
            timing = [v for k, _, v in (line.partition(":") for line in lines[1:]) if k.lower() == "server-timing"]
            if timing and "dur=" in timing[0]:
                server_ms.append(float(timing[0].split("dur=")[1].split(";")[0]))
        return lines[0].split()[1]
    finally:
        writer.close()


async def closed_loop(url: str, reqs, concurrency: int, seconds: float, pid: int, cap: int = 20000) -> dict:
    """`concurrency` clients, each sending its next request (bare client) when the last answers, for `seconds`
    or `cap` requests. httpx here fell behind the server (19 vs 85 req/s at concurrency 32-64 on these
    shared cores), so every level uses the bare client."""
    latencies, codes, peak = [], {}, [rss_mib(pid)]
    host, port = url.rsplit("//", 1)[1].split(":")
    stop = time.monotonic() + seconds

    async def worker() -> None:
        while time.monotonic() < stop and len(latencies) < cap:
            t0 = time.perf_counter()
            try:
                key = await asyncio.wait_for(post_raw(host, int(port), *next(reqs)), 120)
            except (OSError, asyncio.TimeoutError, IndexError) as exc:
                key = type(exc).__name__
            latencies.append(time.perf_counter() - t0)
            codes[key] = codes.get(key, 0) + 1
            peak.append(rss_mib(pid))

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return summary(latencies, codes, time.perf_counter() - started, max(peak), concurrency=concurrency)


async def open_loop(url: str, reqs, rate: float, seconds: float, pid: int) -> dict:
    """Requests arrive at `rate` per second whatever the answers (what overload looks like). Also: p99 of the
    200s alone, and `drain_s`: how long after the last arrival the last answer came."""
    latencies, codes, peak, pending, ok_ms, in_server = [], {}, [rss_mib(pid)], [], [], []
    host, port = url.rsplit("//", 1)[1].split(":")

    async def one(path, body) -> None:
        t0 = time.perf_counter()
        try:
            server_ms: list = []
            key = await asyncio.wait_for(post_raw(host, int(port), path, body, server_ms), 120)
        except (OSError, asyncio.TimeoutError, IndexError) as exc:
            key = type(exc).__name__
        latencies.append(time.perf_counter() - t0)
        codes[key] = codes.get(key, 0) + 1
        if key == "200":
            ok_ms.append(latencies[-1] * 1000)
            in_server.extend(server_ms)

    async def sampler() -> None:
        while not pending or not all(t.done() for t in pending):
            peak.append(rss_mib(pid))
            await asyncio.sleep(0.25)

    started = time.perf_counter()
    sampling = asyncio.ensure_future(sampler())
    n = 0
    while (now := time.perf_counter() - started) < seconds:
        while n < now * rate:
            pending.append(asyncio.ensure_future(one(*next(reqs))))
            n += 1
        await asyncio.sleep(0.005)
    await asyncio.gather(*pending)
    elapsed = time.perf_counter() - started
    await sampling
    ok_ms.sort()
    in_server.sort()
    return summary(latencies, codes, elapsed, max(peak), rate=rate, seconds=seconds,
                   p50_200_ms=round(percentile(ok_ms, 50), 1) if ok_ms else None,
                   p99_200_ms=round(percentile(ok_ms, 99), 1) if ok_ms else None,
                   p99_200_server_ms=round(percentile(in_server, 99), 1) if in_server else None,
                   drain_s=round(elapsed - seconds, 1))


def workvec_cmd(args, port: int, *extra: str) -> list[str]:
    bundles = [f"--{kind}-bundle={b}" for kind, b in (("title", args.title_bundle), ("skill", args.skill_bundle)) if b]
    return [sys.executable, "-m", "workvec", "serve", *bundles, "--port", str(port), "--log-level", "warning", *extra]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--title-bundle", help="default: the service's default (the shipped model)")
    p.add_argument("--skill-bundle", help="default: the service's default (the shipped model)")
    p.add_argument("--seconds", type=float, default=8.0, help="per concurrency level")
    p.add_argument("--overload-seconds", type=float, default=30.0)
    p.add_argument("--infinity-python", help="python of a venv with infinity-emb (else the sentence-transformers handler)")
    p.add_argument("--model-dir", help="sentence-transformers folder for the peer (with model.onnx for infinity)")
    p.add_argument("--port", type=int, default=18190)
    p.add_argument("--out", default=str(REPO / "benchmarks/results/load"))
    p.add_argument("--parts", default="levels,overload", help="comma-separated: levels, overload")
    p.add_argument("--serve-args", default="", help="extra `workvec serve` arguments for the overload server")
    args = p.parse_args()
    shared = Path(os.environ.get("WORKVEC_SHARED", REPO.parent / "shared/data"))
    titles, sentences = texts(shared)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    url = f"http://127.0.0.1:{args.port}"
    results: dict = {"machine": machine_info(["onnxruntime", "fastapi", "uvicorn", "httpx"]), "runs": {}}

    def levels(name: str, cmd: list[str], kind: str, model: str = "title", ready: str = "/ready") -> None:
        with server(cmd, args.port, env, ready=ready) as proc:
            runs = []
            for c in LEVELS:
                reqs = requests_for(kind, titles, sentences, model)
                runs.append(asyncio.run(closed_loop(url, reqs, c, args.seconds, proc.pid)))
                print(name, runs[-1], flush=True)
            results["runs"][name] = runs

    parts = set(args.parts.split(","))
    out = Path(args.out)
    if "levels" in parts:
        levels("workvec batching", workvec_cmd(args, args.port), "match")
        levels("workvec batching off", workvec_cmd(args, args.port, "--no-batching"), "match")
        levels("workvec /v1/embeddings", workvec_cmd(args, args.port, "--no-skills"), "embed")
        if args.infinity_python:
            peer = [args.infinity_python, "-m", "infinity_emb.cli", "v2", "--model-id", args.model_dir, "--engine",
                    "optimum", "--device", "cpu", "--port", str(args.port), "--host", "127.0.0.1"]
            levels("infinity-emb /v1/embeddings", peer, "embed", model=args.model_dir, ready="/health")
        else:
            peer = [sys.executable, str(HERE / "st_server.py"), args.model_dir, str(args.port)]
            levels("sentence-transformers handler /v1/embeddings", peer, "embed", ready="/docs")
        write_json(out / "load.json", results)
        write_text(out / "load.md", report(results))
    if "overload" in parts:
        results["overload"] = overload(args, url, env, titles, sentences)
        write_json(out / "overload.json", {"machine": results["machine"], **results["overload"]})
        write_text(out / "overload.md", overload_report(results["overload"]) + "\n")


def overload(args, url: str, env: dict, titles: list[str], sentences: list[str]) -> dict:
    """On one server (the product defaults plus --serve-args), all with the bare client: the sustainable rate
    (closed loop at concurrency 32), twice that rate, open loop, for --overload-seconds, then 5 s at
    concurrency 8."""
    extra = args.serve_args.split()
    with server(workvec_cmd(args, args.port, *extra), args.port, env, ready="/ready") as proc:
        reqs = requests_for("match", titles, sentences, "title")
        base = asyncio.run(closed_loop(url, reqs, 32, args.seconds, proc.pid))
        print("sustainable", base, flush=True)
        sustainable = base["throughput_rps"]
        over = asyncio.run(open_loop(url, reqs, 2 * sustainable, args.overload_seconds, proc.pid))
        print("overload", over, flush=True)
        after = asyncio.run(closed_loop(url, reqs, 8, 5.0, proc.pid))
        print("after", after, flush=True)
        return {"serve_args": extra, "sustainable_rps": sustainable, "sustainable": base, "during": over,
                "after": after, "alive": proc.poll() is None}


def report(results: dict) -> str:
    lines = ["| run | concurrency | req/s | p50 ms | p95 ms | p99 ms | errors | server RSS MiB |", "|---" * 8 + "|"]
    for name, runs in results["runs"].items():
        for r in runs:
            lines.append(f"| {name} | {r['concurrency']} | {r['throughput_rps']} | {r['p50_ms']} | {r['p95_ms']} |"
                         f" {r['p99_ms']} | {r['errors']} | {r['rss_mib']} |")
    return "\n".join(lines) + "\n"


def overload_report(o: dict) -> str:
    d, a = o["during"], o["after"]
    return (f"Overload ({' '.join(o['serve_args']) or 'defaults'}): {d['rate']:.1f} req/s offered (2x the"
            f" {o['sustainable_rps']} req/s sustained at concurrency 32) for {d['seconds']:.0f} s: {d['requests']}"
            f" requests, codes {d['codes']}; 200s: p50 {d['p50_200_ms']} ms, p99 {d['p99_200_ms']} ms (inside the"
            f" server, by its Server-Timing header: p99 {d.get('p99_200_server_ms')} ms); all answered"
            f" {d['drain_s']} s after the last arrival; peak RSS {d['rss_mib']} MiB; server alive after:"
            f" {o['alive']}; then 5 s at concurrency 8: {a['throughput_rps']} req/s, p99 {a['p99_ms']} ms,"
            f" codes {a['codes']}.")


if __name__ == "__main__":
    main()

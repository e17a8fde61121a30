"""Build-time warm-up of the container image (Containerfile, builder stage), run once with WORKVEC_HOME set.

1. Opens TitleNormalizer and SkillExtractor with the default bundle and taxonomies (the ones `workvec serve`
   loads), which builds their label indexes under $WORKVEC_HOME/indexes: the image's first request then finds
   them (building them takes minutes; loading them, under a second).
2. Runs `workvec serve` on a loopback port and sends one request to each /v1 endpoint, then SIGTERM: the build
   fails unless the service answers and exits 0, and Python leaves bytecode for exactly the modules it imports.

Standard library and workvec only (no HTTP client in the image).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request


def log(message: str) -> None:
    print(f"container_warm: {message}", file=sys.stderr, flush=True)


def build_indexes() -> None:
    import workvec

    started = time.perf_counter()
    titles = workvec.TitleNormalizer.open(progress=False)
    skills = workvec.SkillExtractor.open(progress=False)
    answer = titles.normalize(["Sr. Java Dev"], k=1)[0].to_json()
    report = skills.extract("You build data pipelines in Python and write efficient SQL.").to_json()
    log(f"indexes ready in {time.perf_counter() - started:.0f} s under {os.environ.get('WORKVEC_HOME')}")
    log(f"normalize: {json.dumps(answer)[:200]}")
    log(f"extract: {json.dumps(report)[:200]}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def call(url: str, body: dict | None = None, timeout: float = 60.0) -> dict:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, headers={"content-type": "application/json"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.loads(response.read())


def smoke_serve() -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    cmd = [sys.executable, "-m", "workvec", "serve", "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
    process = subprocess.Popen(cmd, cwd="/")
    try:
        until = time.monotonic() + 300
        while True:
            if process.poll() is not None:
                raise SystemExit(f"container_warm: workvec serve exited {process.returncode} before /ready")
            try:
                call(base + "/ready", timeout=2)
                break
            except OSError:
                if time.monotonic() > until:
                    raise SystemExit("container_warm: workvec serve not ready after 300 s") from None
                time.sleep(0.2)
        call(base + "/v1/normalize", {"titles": ["Registered Nurse"], "k": 3})
        call(base + "/v1/extract", {"texts": ["You know Python and SQL."]})
        call(base + "/v1/embeddings", {"input": ["registered nurse"], "model": "title", "encoding_format": "base64"})
        call(base + "/info")
        urllib.request.urlopen(base + "/metrics", timeout=10).read()
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=60)
    if code != 0:
        raise SystemExit(f"container_warm: workvec serve exited {code} on SIGTERM")
    log("workvec serve answered /v1/normalize, /v1/extract, /v1/embeddings and exited 0 on SIGTERM")


if __name__ == "__main__":
    if not os.environ.get("WORKVEC_HOME"):
        raise SystemExit("container_warm: set WORKVEC_HOME (where the image keeps its indexes)")
    build_indexes()
    smoke_serve()

"""Helpers for the serve tests: real `workvec serve` subprocesses on free loopback ports."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "fixtures" / "bundles"
KEY_ENV = "WORKVEC_TEST_API_KEY"
KEY = "s3cret-key"

TITLES = [
    ("T1", "Software Developer", ["Java Developer", "Programmer"]),
    ("T2", "Registered Nurse", ["Nurse", "RN"]),
    ("T3", "Truck Driver", ["Lorry Driver", "Delivery Driver"]),
    ("T4", "Accountant", ["Bookkeeper", "Financial Accountant"]),
    ("T5", "Data Scientist", ["Machine Learning Engineer", "Data Analyst"]),
    ("T6", "Chef", ["Cook", "Kitchen Manager"]),
    ("T7", "Sales Manager", ["Account Executive", "Sales Representative"]),
    ("T8", "Teacher", ["Primary School Teacher", "Tutor"]),
]
SKILLS = [
    ("S1", "Python (computer programming)", []),
    ("S2", "SQL", []),
    ("S3", "manage a team", []),
    ("S4", "customer service", []),
    ("S5", "drive trucks", []),
    ("S6", "prepare financial statements", []),
    ("S7", "cloud computing", []),
    ("S8", "project management", []),
]
ADS = [
    "We need strong Python and SQL skills. You will manage a small team.",
    "Deliver excellent customer service. Drive trucks across the region safely.",
    "Prepare monthly financial statements and support project management in the cloud.",
]
QUERIES = ["Sr. Java Dev", "RN night shift", "HGV driver", "bookkeeper part time", "head chef", "ML engineer",
           "account exec", "maths tutor"]


def bundles() -> tuple[Path, Path]:
    """The committed tiny bundles (per-row int8: batch-invariant; torch-free)."""
    return FIXTURES / "tiny-title", FIXTURES / "tiny-skill"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    url: str
    process: subprocess.Popen
    log: Path

    def client(self, *, key: str | None = KEY, timeout: float = 30.0) -> httpx.Client:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=timeout)


def serve_args(tmp: Path, *extra: str, skills: bool = True) -> list[str]:
    """Arguments for a small service: dev bundles, 8-concept taxonomies written under `tmp`."""
    from conftest import write_taxonomy

    title, skill = bundles()
    titles_csv = write_taxonomy(tmp / "titles.csv", TITLES)
    args = ["--title-bundle", str(title), "--titles-taxonomy", str(titles_csv), "--index-dir", str(tmp)]
    if skills:
        args += ["--skill-bundle", str(skill), "--skills-taxonomy", str(write_taxonomy(tmp / "skills.csv", SKILLS))]
    else:
        args.append("--no-skills")
    return args + ["--threads", "1", "--log-level", "warning", *extra]


@contextlib.contextmanager
def running(args: list[str], tmp: Path, *, key: bool = True, ready_s: float = 120.0) -> Iterator[Server]:
    """Start `python -m workvec serve ARGS` on a free port; wait for /ready; SIGTERM it afterwards."""
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(REPO), KEY_ENV: KEY}
    cmd = [sys.executable, "-m", "workvec", "serve", *args, "--port", str(port)]
    if key:
        cmd += ["--api-key-env", KEY_ENV]
    log = tmp / f"serve-{port}.log"
    with open(log, "wb") as fh:
        process = subprocess.Popen(cmd, env=env, stdout=fh, stderr=subprocess.STDOUT, cwd=tmp)
    server = Server(f"http://127.0.0.1:{port}", process, log)
    try:
        _wait_ready(server, ready_s)
        yield server
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                code = process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
                raise AssertionError(f"server did not exit within 30 s of SIGTERM: {log.read_text()[-2000:]}") from None
            assert code == 0, f"server exited {code} on SIGTERM: {log.read_text()[-2000:]}"


@contextlib.contextmanager
def slow_client(server: Server, *, key: bool = True) -> Iterator[None]:
    """One POST /v1/embeddings whose body never finishes arriving: a request on its way, so the batcher
    waits up to --max-wait-ms for company (a lone request would run at once)."""
    host, port = server.url.rsplit("//", 1)[1].split(":")
    auth = f"Authorization: Bearer {KEY}\r\n" if key else ""
    with socket.create_connection((host, int(port))) as sock:
        sock.sendall(f"POST /v1/embeddings HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
                     f"{auth}Content-Length: 1000\r\n\r\n{{".encode())
        time.sleep(0.2)  # the service has it
        yield


def _wait_ready(server: Server, limit: float) -> None:
    until = time.monotonic() + limit
    while time.monotonic() < until:
        if server.process.poll() is not None:
            raise AssertionError(f"server exited {server.process.returncode}: {server.log.read_text()[-2000:]}")
        try:
            if httpx.get(server.url + "/ready", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"server not ready after {limit} s: {server.log.read_text()[-2000:]}")

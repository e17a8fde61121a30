"""`workvec analyze --engine ray` as the README runs it: against a real `ray start --head` on 127.0.0.1 (with Ray's
token authentication on, as Ray >= 2.59 turns it on by itself), with a wrong address, and without --address while
the machine's last-cluster file names a dead cluster. Every Ray here is this module's own (a private temp dir, a
free port); teardown stops exactly its processes (never a machine-wide `ray stop`)."""

from __future__ import annotations

import pytest

pytest.importorskip("pandas", reason="the analyze extra is not installed (pip install 'workvec[analyze]')")
pytest.importorskip("pyarrow", reason="the analyze extra is not installed (pip install 'workvec[analyze]')")
pytest.importorskip("ray", reason="Ray is not installed (pip install 'workvec[scale]')")

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from analyze_support import SAMPLE, analyze_bundles, base_args, rows, taxonomies

from workvec.cli import main

if not sys.platform.startswith("linux"):
    pytest.skip("teardown finds this module's Ray processes under /proc (Linux only)", allow_module_level=True)

REPO = Path(__file__).resolve().parents[1]
RAY_CLI = Path(sys.executable).with_name("ray")  # the `ray` script installed beside this interpreter
MARK = "WORKVEC_TEST_RAY_MARK"  # set on every process this module starts: Ray's workers start their own sessions
LIMIT = ("--limit", "8", "--shard-rows", "4")  # two shards: quick, and still more than one map call


@pytest.fixture(scope="module")
def models(request):
    return analyze_bundles(request), taxonomies()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _short_tempdir() -> Path:
    """A private directory with a short path (Ray's unix sockets live under it: paths must stay < 108 bytes)."""
    return Path(tempfile.mkdtemp(prefix="wvray-", dir="/tmp"))


def _clean_env(mark: str, **extra: str) -> dict[str, str]:
    """This environment without any Ray address or auth settings of the caller's, plus this test's marker."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RAY_ADDRESS", "RAY_AUTH", "RAY_TMPDIR"))}
    env.update({"PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
                "RAY_USAGE_STATS_ENABLED": "0", MARK: mark, **extra})
    return env


def _ours(pgid: int, mark: str) -> list[int]:
    """Live processes of one test Ray: in the process group it was started in, or carrying its marker."""
    found, needle = [], f"{MARK}={mark}".encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            stat = (entry / "stat").read_text()
            state, _ppid, group = stat[stat.rindex(")") + 2:].split()[:3]
            if state != "Z" and (int(group) == pgid or needle in (entry / "environ").read_bytes()):
                found.append(int(entry.name))
        except (OSError, ValueError):
            continue
    return found


def _stop(pgid: int, mark: str) -> None:
    """SIGTERM every process of one test Ray, then SIGKILL what is left after a grace period."""
    for sig, grace in ((signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)):
        pids = _ours(pgid, mark)
        for pid in pids:
            try:
                os.kill(pid, sig)
            except (ProcessLookupError, PermissionError):
                pass
        deadline = time.monotonic() + grace
        while pids and time.monotonic() < deadline:
            time.sleep(0.2)
            pids = _ours(pgid, mark)
        if not pids:
            return


def _workvec(args: list[str], env: dict[str, str], cwd: Path, timeout: float = 150) -> subprocess.CompletedProcess:
    """`python -m workvec ARGS` in its own session; whatever Ray it left behind is stopped before returning (a
    marker of its own: workers of a running cluster carry the cluster's, and the cluster's teardown stops them)."""
    env = {**env, MARK: uuid.uuid4().hex}
    proc = subprocess.Popen([sys.executable, "-m", "workvec", *args], env=env, cwd=cwd, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        pytest.fail(f"workvec {' '.join(args[:1])} ran past {timeout} s; stderr tail:\n{err[-3000:]}")
    finally:
        _stop(proc.pid, env[MARK])
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


@pytest.fixture(scope="module")
def ray_head():
    """`ray start --head` on 127.0.0.1 with a free port, its own temp dir and token authentication on (its token
    in a private file: ~/.ray is left alone); yields (address, env for a client holding the token)."""
    if not RAY_CLI.is_file():
        pytest.skip(f"no `ray` command beside {sys.executable}")
    root, port, mark = _short_tempdir(), _free_port(), uuid.uuid4().hex
    token = root / "auth_token"
    token.write_text(secrets.token_hex(32), encoding="utf-8")
    auth = {"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN_PATH": str(token)}
    command = [str(RAY_CLI), "start", "--head", "--node-ip-address=127.0.0.1", f"--port={port}", "--num-cpus=1",
               "--include-dashboard=false", "--disable-usage-stats", f"--temp-dir={root / 'ray'}"]
    head = subprocess.Popen(command, env=_clean_env(mark, **auth), cwd=root, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        try:
            log, _ = head.communicate(timeout=90)
        except subprocess.TimeoutExpired:
            head.kill()
            log, _ = head.communicate()
        assert head.returncode == 0, f"`ray start --head` failed:\n{log[-3000:]}"
        yield f"127.0.0.1:{port}", _clean_env(mark, **auth)
    finally:
        _stop(head.pid, mark)
        shutil.rmtree(root, ignore_errors=True)


def _error_line(result: subprocess.CompletedProcess) -> str:
    """The one `workvec: error:` line a refused run ends with (Ray's own log lines may come before it)."""
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode == 2, result.stderr[-3000:]
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    assert [line for line in lines if line.startswith("workvec: error:")] == lines[-1:], result.stderr[-3000:]
    return lines[-1]


@pytest.mark.integration  # ~30 s: a real head node, a local run and a Ray run
def test_ray_cluster_run_equals_the_local_engine(models, ray_head, tmp_path):
    """The README recipe on one machine: token auth on, the client with RAY_AUTH_MODE=token and the token; the run
    dir and model paths are relative to the driver's directory (not the head's), as a user would type them."""
    address, env = ray_head
    local = tmp_path / "local"
    assert main(["analyze", str(SAMPLE), "--out", str(local), *base_args(*models, *LIMIT)]) == 0
    (title, skill), (titles, skills) = models
    rel = [os.path.relpath(p, tmp_path) for p in (title, skill, titles, skills)]
    result = _workvec(["analyze", os.path.relpath(SAMPLE, tmp_path), "--out", "ray-run", *base_args(rel[:2], rel[2:],
                       *LIMIT), "--engine", "ray", "--address", address], env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-5000:]
    assert "``concurrency`` is deprecated" not in result.stderr  # map_batches(concurrency=N) was, in Ray 2.51
    ray_ads, ray_skills = rows(tmp_path / "ray-run")
    local_ads, local_skills = rows(local)
    assert len(ray_ads) == 8 and ray_skills
    occupation = ("id", "occupation_id", "occupation_score", "runner_up_id", "runner_up_score", "skills", "status")
    assert [{k: a[k] for k in occupation} for a in ray_ads] == [{k: a[k] for k in occupation} for a in local_ads]
    assert [(s["id"], s["skill_id"], s["score"]) for s in ray_skills] == \
        [(s["id"], s["skill_id"], s["score"]) for s in local_skills]
    assert (ray_ads, ray_skills) == (local_ads, local_skills)  # every column
    assert not (tmp_path / "ray-run" / "ray-input").exists()


@pytest.mark.integration  # ~25 s: Ray retries the refused handshake before it gives up
def test_token_cluster_without_ray_auth_mode_names_the_fix(models, ray_head, tmp_path):
    """The issue's failure: the cluster wants a token, the client sends none (Ray sends one to an explicit address
    only with RAY_AUTH_MODE=token). The error says so instead of 'no Ray cluster answers there'."""
    address, env = ray_head
    env = {k: v for k, v in env.items() if not k.startswith("RAY_AUTH")}
    result = _workvec(["analyze", str(SAMPLE), "--out", str(tmp_path / "run"), *base_args(*models, *LIMIT),
                       "--engine", "ray", "--address", address], env, cwd=tmp_path, timeout=120)
    line = _error_line(result)
    assert line.startswith(f"workvec: error: --address {address}: the Ray cluster there uses token authentication")
    assert "set RAY_AUTH_MODE=token" in line and "RAY_AUTH_TOKEN_PATH" in line and "~/.ray/auth_token" in line
    assert "ray get-auth-token" in line and "no Ray cluster answers" not in line


def test_without_address_a_local_ray_starts_unless_ray_address_names_one(monkeypatch):
    from workvec.analyze.ray_engine import _host_port, _target

    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    assert _target(None) == ("local", "a local Ray")  # not None: that joins /tmp/ray/ray_current_cluster's cluster
    assert _target("10.0.0.5:6379") == ("10.0.0.5:6379", "--address 10.0.0.5:6379")
    monkeypatch.setenv("RAY_ADDRESS", "10.0.0.7:6379")  # as `ray job submit` sets it for its entrypoint
    assert _target(None) == ("10.0.0.7:6379", "RAY_ADDRESS=10.0.0.7:6379")
    assert _host_port("10.0.0.5:6379") == ("10.0.0.5", 6379) and _host_port("[::1]:6379") == ("::1", 6379)
    assert [_host_port(a) for a in ("auto", "local", "ray://head:10001", "head")] == [None] * 4


# ~5 s, no Ray starts: the address is refused before ray.init (which would wait many minutes for it)
def test_wrong_address_is_one_error_line_naming_the_fix(models, tmp_path):
    port = _free_port()  # nothing listens there once the probe socket is closed
    start = time.monotonic()
    result = _workvec(["analyze", str(SAMPLE), "--out", str(tmp_path / "run"), *base_args(*models, *LIMIT),
                       "--engine", "ray", "--address", f"127.0.0.1:{port}"], _clean_env(""), cwd=tmp_path,
                      timeout=60)
    line = _error_line(result)
    assert line == (f"workvec: error: --address 127.0.0.1:{port}: no Ray cluster answers there (Connection refused);"
                    f" start one with `ray start --head --port={port}` on that host, or check the address")
    assert time.monotonic() - start < 45


@pytest.mark.integration  # ~30 s: a local Ray starts and stops
def test_no_address_starts_a_local_ray_despite_a_stale_current_cluster_file(models, tmp_path):
    """Without --address the README promises a local Ray. `ray.init(address=None)` would join the cluster that
    RAY_TMPDIR/ray/ray_current_cluster names (here a dead one: it then hangs for minutes); workvec starts its own."""
    root = _short_tempdir()
    try:
        (root / "ray").mkdir()
        (root / "ray" / "ray_current_cluster").write_text(f"127.0.0.1:{_free_port()}", encoding="utf-8")
        token = root / "auth_token"  # a local Ray turns token auth on; its token stays here, not in ~/.ray
        token.write_text(secrets.token_hex(32), encoding="utf-8")
        env = _clean_env("", RAY_TMPDIR=str(root), RAY_AUTH_MODE="token",
                         RAY_AUTH_TOKEN_PATH=str(token))
        local = tmp_path / "local"
        assert main(["analyze", str(SAMPLE), "--out", str(local), *base_args(*models, *LIMIT)]) == 0
        result = _workvec(["analyze", str(SAMPLE), "--out", str(tmp_path / "ray"), *base_args(*models, *LIMIT),
                           "--engine", "ray"], env, cwd=tmp_path)
        assert result.returncode == 0, result.stderr[-5000:]
        assert rows(tmp_path / "ray") == rows(local)
        assert any((root / "ray").glob("session_*")), "the local Ray should live under RAY_TMPDIR"
    finally:
        shutil.rmtree(root, ignore_errors=True)

"""Check a built `workvec serve` image against a running container (podman; loopback only) and measure it.

    python scripts/container_check.py --image localhost/workvec:serve-amd64 [--out report.json]
        [--save-answers amd64.json] [--expect-answers amd64.json]

Runs the image on 127.0.0.1:<free port> with an API key and one option from the environment
(WORKVEC_SERVE_MAX_TEXTS) and one as an argument (--max-queue), then:
  - times container start -> /ready -> first /v1/normalize answer, and reads the server's RSS at ready;
  - checks /v1/normalize, /v1/extract, /v1/embeddings (and /info's limits, 401 without the key, the
    HEALTHCHECK, the non-root user);
  - compares the answers with this machine's workvec library when it is importable and runs the same CPU
    architecture (ranks equal, scores within --tolerance), or with --expect-answers from another image
    (an arm64 image against the amd64 answers);
  - sends SIGTERM while a request is in flight: that request must be answered and the container exit 0; and
    SIGTERM 0.3 s after start (Python still importing) must stop it too.
Prints a JSON report (sizes with a per-folder breakdown, timings, RSS); exits 1 when a check fails.
Standard library only (the library comparison imports workvec when it can).
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import platform
import shutil
import socket
import struct
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

KEY = "container-check-key"
TITLES = ["Sr. Java Dev", "Registered Nurse", "Barista", "HGV driver", "Accountant - $25/hr"]
AD = "We need a data engineer.\nYou build data pipelines in Python and write efficient SQL."
SENTENCES = [f"You will {verb} {thing} every day." for verb in ("manage", "build", "clean", "repair", "design",
             "sell", "teach", "drive") for thing in ("budgets", "teams", "databases", "trucks", "kitchens",
             "websites", "machines", "reports")]
FAILED: list[str] = []


def log(message: str) -> None:
    print(f"container_check: {message}", file=sys.stderr, flush=True)


def check(ok: bool, what: str) -> bool:
    log(("ok   " if ok else "FAIL ") + what)
    if not ok:
        FAILED.append(what)
    return ok


def podman(runtime: str, *args: str, timeout: float = 120, check_rc: bool = True) -> str:
    done = subprocess.run(["podman", "--runtime", runtime, *args], check=False, capture_output=True, text=True,
                          timeout=timeout)
    if check_rc and done.returncode != 0:
        raise RuntimeError(f"podman {' '.join(args)}: exit {done.returncode}: {done.stderr.strip()[-2000:]}")
    return done.stdout


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def request(url: str, body: dict | None = None, *, key: str | None = KEY, timeout: float = 60.0) -> tuple[int, dict]:
    headers = {"content-type": "application/json"}
    if key:
        headers["authorization"] = f"Bearer {key}"
    data = None if body is None else json.dumps(body).encode()
    try:
        with urllib.request.urlopen(urllib.request.Request(url, data=data, headers=headers), timeout=timeout) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")


def server_pid(pid: int) -> int:
    """The service's process: the container's PID 1 (tini) has it as its child."""
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return int(children[0]) if children else pid


def cpu_s(pid: int) -> float:
    """CPU seconds (user + system, all threads) the process has used: start-up cost without the other load."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return round((int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK"), 2)


def rss_mib(pid: int) -> dict:
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            fields[name] = round(int(value.split()[0]) / 1024, 1)
    return fields


# -- sizes --------------------------------------------------------------------------------------------------
def sizes(runtime: str, image: str, base: str | None) -> dict:
    info = {"image_bytes": int(podman(runtime, "image", "inspect", "-f", "{{.Size}}", image).strip())}
    if base:
        out = podman(runtime, "image", "inspect", "-f", "{{.Size}}", base, check_rc=False).strip()
        info["base_bytes"] = int(out) if out.isdigit() else None
    layers = json.loads(podman(runtime, "history", "--format", "json", image))
    info["layers"] = [{"bytes": layer.get("size", 0), "step": (layer.get("CreatedBy") or layer.get("createdBy") or
                                                              "")[-120:]}
                      for layer in layers if layer.get("size", 0) > 0]
    script = ("cd /opt/workvec/lib/python3*/site-packages && du -sk * | sort -rn | head -25;"
              " du -sk /opt/workvec /var/cache/workvec /var/cache/workvec/indexes/* /usr/lib/python3* /usr/local/lib/python3*"
              " 2>/dev/null; true")
    out = podman(runtime, "run", "--rm", "--pull=never", "--entrypoint", "sh", image, "-c", script)
    info["du_kib"] = {path: int(kib) for kib, path in (line.split("\t", 1) for line in out.splitlines() if "\t" in line)}
    about = podman(runtime, "run", "--rm", "--pull=never", "--entrypoint", "sh", image, "-c",
                   "for f in /var/cache/workvec/indexes/*/about.json; do echo \"$f $(tr -d '\\n ' < $f)\"; done")
    info["indexes"] = dict(line.split(" ", 1) for line in about.splitlines() if " " in line)
    return info


# -- answers ------------------------------------------------------------------------------------------------
def answers(url: str) -> dict:
    code, titles = request(url + "/v1/normalize", {"titles": TITLES, "k": 5})
    check(code == 200 and len(titles["results"]) == len(TITLES), f"/v1/normalize {len(TITLES)} titles -> {code}")
    code, skills = request(url + "/v1/extract", {"texts": [AD]})
    check(code == 200 and len(skills["results"]) == 1, f"/v1/extract -> {code}")
    code, emb = request(url + "/v1/embeddings", {"input": ["registered nurse", "barista"], "model": "title"})
    ok = code == 200 and len(emb["data"]) == 2
    if ok:
        vector = emb["data"][0]["embedding"]
        ok = abs(sum(x * x for x in vector) - 1.0) < 1e-4
    check(ok, f"/v1/embeddings 2 inputs -> {code}, unit length")
    code, b64 = request(url + "/v1/embeddings", {"input": ["registered nurse"], "model": "title", "encoding_format": "base64"})
    if check(code == 200, f"/v1/embeddings base64 -> {code}") and ok:
        raw = base64.b64decode(b64["data"][0]["embedding"])
        floats = struct.unpack(f"<{len(raw) // 4}f", raw)
        check(max(abs(a - b) for a, b in zip(floats, vector)) == 0.0, "base64 and float embeddings carry the same bits")
    return {"normalize": titles.get("results"), "extract": skills.get("results"),
            "embedding_head": (emb["data"][0]["embedding"][:8] if ok else None)}


def ranked(data: dict) -> dict:
    """(ids in order, scores) per title and for the ad's skills."""
    out = {}
    for title, result in zip(TITLES, data["normalize"] or []):
        out[f"normalize {title!r}"] = ([m["id"] for m in result["matches"]], [m["score"] for m in result["matches"]])
    for i, result in enumerate(data["extract"] or []):
        out[f"extract ad {i}"] = ([m["id"] for m in result["skills"]], [m["score"] for m in result["skills"]])
    return out


def compare(mine: dict, theirs: dict, tolerance: float, what: str) -> dict:
    a, b = ranked(mine), ranked(theirs)
    worst, same = 0.0, a.keys() == b.keys()
    for key in a.keys() & b.keys():
        if a[key][0] != b[key][0]:
            same = False
            log(f"{what}: {key}: ranks differ: {a[key][0][:3]} vs {b[key][0][:3]}")
        else:
            worst = max([worst, *(abs(x - y) for x, y in zip(a[key][1], b[key][1]))])
    check(same and worst <= tolerance, f"answers equal {what}: same ranks, largest score difference {worst:.2e}"
                                       f" (<= {tolerance:g})")
    return {"same_ranks": same, "max_score_diff": worst}


def library_answers() -> dict | None:
    """What this machine's workvec gives for the same requests (None when it is not importable)."""
    try:
        import workvec
    except ImportError:
        return None
    titles = workvec.TitleNormalizer.open(progress=False)
    skills = workvec.SkillExtractor.open(progress=False)
    return {"normalize": [a.to_json() for a in titles.normalize(TITLES, k=5)], "extract": [skills.extract(AD).to_json()]}


def early_sigterm(args: argparse.Namespace, name: str, delay: float = 0.3) -> dict:
    """SIGTERM `delay` s after `podman run`, before the service has its handlers: it must still stop."""
    cid = podman(args.runtime, "run", "-d", "--pull=never", "--name", name, *args.run_option, args.image).strip()
    try:
        time.sleep(delay)
        term = time.monotonic()
        podman(args.runtime, "kill", "--signal", "TERM", cid)
        try:
            code = podman(args.runtime, "wait", cid, timeout=60).strip()
        except subprocess.TimeoutExpired:
            code = "still running after 60 s"
        took = round(time.monotonic() - term, 2)
        check(code in ("0", "143"), f"SIGTERM {delay} s after start -> exit {code} after {took} s")
        return {"delay_s": delay, "exit": code, "exit_s": took}
    finally:
        podman(args.runtime, "rm", "-f", "-t", "0", cid, check_rc=False)


def cold_start(args: argparse.Namespace, name: str) -> dict:
    """One fresh container: seconds from `podman run` to /ready and to the first /v1/normalize answer, RSS at
    ready, load average before."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    load = Path("/proc/loadavg").read_text().split()[0]
    started = time.monotonic()
    cid = podman(args.runtime, "run", "-d", "--pull=never", "--name", name, "-p", f"127.0.0.1:{port}:8080",
                 *args.run_option, args.image).strip()
    run: dict = {"load_before": float(load)}
    try:
        pid = int(podman(args.runtime, "inspect", "-f", "{{.State.Pid}}", cid).strip())
        while time.monotonic() - started < args.ready_timeout:
            try:
                if request(url + "/ready", key=None, timeout=2)[0] == 200:
                    run["ready_s"] = round(time.monotonic() - started, 3)
                    break
            except (OSError, ValueError):
                pass
            time.sleep(0.02)
        run["rss_at_ready_mib"] = rss_mib(server_pid(pid)).get("VmRSS")
        run["cpu_s_at_ready"] = cpu_s(server_pid(pid))
        code, _ = request(url + "/v1/normalize", {"titles": ["Sr. Java Dev"], "k": 3}, key=None)
        run["first_normalize_s"] = round(time.monotonic() - started, 3)
        check(code == 200, f"cold start {name}: first /v1/normalize {code} at {run['first_normalize_s']} s")
    finally:
        podman(args.runtime, "rm", "-f", "-t", "30", cid, check_rc=False)
    return run


# -- the run ------------------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--image", required=True)
    ap.add_argument("--base", help="the base image (its size goes in the report)")
    ap.add_argument("--runtime", default="runc")
    ap.add_argument("--out", help="also write the JSON report here")
    ap.add_argument("--save-answers", help="write the container's answers here (to compare another image with)")
    ap.add_argument("--expect-answers", help="compare with answers saved from another image (e.g. amd64 for arm64)")
    ap.add_argument("--tolerance", type=float, default=1e-3, help="largest score difference allowed")
    ap.add_argument("--no-library", action="store_true", help="skip the comparison with this machine's workvec")
    ap.add_argument("--ready-timeout", type=float, default=120.0, help="seconds to wait for /ready (emulation: more)")
    ap.add_argument("--run-option", action="append", default=[], metavar="OPT",
                    help="an extra `podman run` option for every container (repeatable; e.g. --run-option=-e=X=1)")
    ap.add_argument("--only-cold-starts", action="store_true", help="skip the checks: the cold starts only")
    ap.add_argument("--cold-starts", type=int, default=0, metavar="N",
                    help="then N more fresh containers, each timed from `podman run` to its first /v1/normalize answer")
    args = ap.parse_args(argv)
    if shutil.which("podman") is None:
        raise SystemExit("container_check: podman not found")

    inspect = json.loads(podman(args.runtime, "image", "inspect", args.image))[0]
    arch = inspect.get("Architecture")
    config = inspect.get("Config") or {}
    report: dict = {"image": args.image, "architecture": arch, "host": platform.machine(),
                    "load_before": Path("/proc/loadavg").read_text().split()[:3]}
    name = f"workvec-check-{free_port()}"
    if not args.only_cold_starts:
        check((config.get("User") or "root") not in ("", "root", "0"), f"runs as a non-root user ({config.get('User')})")
        health = (inspect.get("Healthcheck") or inspect.get("HealthCheck") or config.get("Healthcheck") or {}).get("Test") or []
        check(any("/ready" in part for part in health), "HEALTHCHECK probes /ready")
        report["sizes"] = sizes(args.runtime, args.image, args.base)

        port = free_port()
        url = f"http://127.0.0.1:{port}"
        started = time.monotonic()
        cid = podman(args.runtime, "run", "-d", "--pull=never", "--name", name, "-p", f"127.0.0.1:{port}:8080",
                     *args.run_option, "-e", f"WORKVEC_API_KEY={KEY}", "-e", "WORKVEC_SERVE_API_KEY_ENV=WORKVEC_API_KEY",
                     "-e", "WORKVEC_SERVE_MAX_TEXTS=64", args.image, "--max-queue", "512").strip()
        try:
            report["run_returned_s"] = round(time.monotonic() - started, 3)
            pid = int(podman(args.runtime, "inspect", "-f", "{{.State.Pid}}", cid).strip())
            ready = None
            while time.monotonic() - started < args.ready_timeout:
                try:
                    if request(url + "/ready", key=None, timeout=2)[0] == 200:
                        ready = time.monotonic() - started
                        break
                except (OSError, ValueError):
                    pass
                if podman(args.runtime, "inspect", "-f", "{{.State.Running}}", cid).strip() != "true":
                    break
                time.sleep(0.02)
            if not check(ready is not None, f"/ready answered 200 after {ready and round(ready, 2)} s"):
                log(podman(args.runtime, "logs", cid, check_rc=False)[-3000:])
                return 1
            report["rss_at_ready_mib"] = rss_mib(server_pid(pid))
            report["cpu_s_at_ready"] = cpu_s(server_pid(pid))
            code, first = request(url + "/v1/normalize", {"titles": ["Sr. Java Dev"], "k": 3})
            first_s = time.monotonic() - started
            check(code == 200, f"first /v1/normalize -> {code} at {first_s:.2f} s from `podman run`")
            report["ready_s"], report["first_normalize_s"] = round(ready, 3), round(first_s, 3)
            report["first_answer"] = (first.get("results") or [{}])[0].get("matches", [])[:1] if code == 200 else first

            code, info = request(url + "/info")
            limits = info.get("limits", {}) if code == 200 else {}
            check(limits.get("max_texts") == 64 and limits.get("max_queue") == 512,
                  "options from the environment (WORKVEC_SERVE_MAX_TEXTS=64) and arguments (--max-queue 512) reach /info")
            check(request(url + "/v1/normalize", {"titles": ["nurse"]}, key=None)[0] == 401, "no API key -> 401")
            user = podman(args.runtime, "exec", cid, "id", "-u").strip()
            check(user not in ("", "0"), f"the server runs as uid {user}")
            hc = subprocess.run(["podman", "--runtime", args.runtime, "healthcheck", "run", cid], check=False, capture_output=True,
                                text=True, timeout=60)
            check(hc.returncode == 0, f"podman healthcheck run -> {hc.returncode} {hc.stdout.strip()} {hc.stderr.strip()[-200:]}")

            mine = answers(url)
            report["rss_after_requests_mib"] = rss_mib(server_pid(pid))
            if args.save_answers:
                Path(args.save_answers).write_text(json.dumps(mine, indent=1) + "\n")
            if args.expect_answers:
                report["vs_expected"] = compare(mine, json.loads(Path(args.expect_answers).read_text()), args.tolerance,
                                                f"with {args.expect_answers}")
            same_arch = {"amd64": "x86_64", "arm64": "aarch64"}.get(arch) == platform.machine()
            if not args.no_library and same_arch:
                theirs = library_answers()
                if theirs is None:
                    log("workvec is not importable here: no comparison with the library")
                else:
                    report["vs_library"] = compare(mine, theirs, args.tolerance, "with this machine's workvec library")

            # SIGTERM with a request in flight: it is answered, then the container exits 0.
            inflight: dict = {}

            def slow() -> None:
                try:
                    inflight["code"] = request(url + "/v1/extract", {"texts": SENTENCES[:64]}, timeout=120)[0]
                except OSError as exc:
                    inflight["error"] = repr(exc)

            thread = threading.Thread(target=slow)
            thread.start()
            time.sleep(0.3)
            term = time.monotonic()
            podman(args.runtime, "kill", "--signal", "TERM", cid)
            code = podman(args.runtime, "wait", cid, timeout=90).strip()
            report["sigterm_exit_s"] = round(time.monotonic() - term, 2)
            thread.join(timeout=60)
            check(inflight.get("code") == 200, f"a request in flight at SIGTERM is answered ({inflight})")
            check(code == "0", f"SIGTERM -> exit {code} after {report['sigterm_exit_s']} s")
            logs = podman(args.runtime, "logs", cid, check_rc=False)
            report["log_tail"] = logs.strip().splitlines()[-6:]
        finally:
            podman(args.runtime, "rm", "-f", cid, check_rc=False)
        report["early_sigterm"] = early_sigterm(args, f"{name}-early")
    if args.cold_starts:
        report["cold_starts"] = [cold_start(args, f"{name}-cold{i}") for i in range(args.cold_starts)]
        firsts = sorted(run["first_normalize_s"] for run in report["cold_starts"])
        report["cold_start_median_s"] = firsts[len(firsts) // 2]
        log(f"cold starts (podman run -> first /v1/normalize answer): {firsts}")
    report["failed"] = FAILED
    text = json.dumps(report, indent=1)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n")
    return 1 if FAILED else 0


if __name__ == "__main__":
    sys.exit(main())

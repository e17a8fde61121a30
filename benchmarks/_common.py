"""Helpers shared by the benchmark scripts: machine info, percentiles, child processes, result files."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
CACHE = ROOT / ".bench-cache"  # git-ignored: models, bundles and exports the benchmarks build
# The shared data folder: $WORKVEC_SHARED, else <repo>/../shared/data (tests/conftest.py resolves it the same way).
SHARED_DATA = Path(os.environ.get("WORKVEC_SHARED") or ROOT.parent / "shared" / "data").expanduser()
SHARED = SHARED_DATA.parent  # shared/ itself (tools/ lives next to data/)
# CPU features that decide which int8 kernels onnxruntime and torch can use.
FLAGS_OF_INTEREST = ("avx", "avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512_vnni", "avx_vnni", "amx_int8")


def log(message: str) -> None:
    """Progress line on stderr, flushed at once (results go to stdout and files)."""
    print(message, file=sys.stderr, flush=True)


def cpu_flags() -> set[str]:
    """The CPU feature flags from /proc/cpuinfo (empty where it does not exist)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith(("flags", "Features")):
                return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def cpu_model() -> str:
    """The CPU's marketing name, or the platform's processor string."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def versions(packages: Sequence[str]) -> dict[str, str]:
    """Installed version of each distribution ("absent" when it is not installed)."""
    found: dict[str, str] = {}
    for name in packages:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "absent"
    return found


def machine_info(packages: Sequence[str]) -> dict[str, Any]:
    """What a reader needs to compare numbers across machines."""
    import psutil

    flags = cpu_flags()
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - non-Linux
        usable = os.cpu_count() or 1
    return {
        "cpu": cpu_model(),
        "arch": platform.machine(),
        "flags": [f for f in FLAGS_OF_INTEREST if f in flags],
        "physical_cores": psutil.cpu_count(logical=False),
        "logical_cores": psutil.cpu_count(logical=True),
        "usable_cores": usable,
        "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "os": platform.platform(),
        "python": platform.python_version(),
        "versions": versions(packages),
    }


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100, linear interpolation) of `values`."""
    if not values:
        raise ValueError("percentile of no values")
    return float(np.percentile(np.asarray(values, dtype=np.float64), q))


def median(values: Sequence[float]) -> float:
    """The median of `values`."""
    return percentile(values, 50)


def peak_rss_mib(pid: int | str = "self") -> float | None:
    """A live process's peak resident set (VmHWM from /proc) in MiB; None where it cannot be read."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


@dataclass(frozen=True)
class ChildRun:
    """A finished child process: its output, exit status, peak RSS (its own) and wall time."""

    stdout: str
    stderr: str
    returncode: int
    peak_rss_mib: float | None
    wall_s: float


def run_child(cmd: Sequence[str], env: dict[str, str] | None = None, timeout: float | None = None,
              poll_s: float = 0.05) -> ChildRun:
    """Run `cmd` to completion, sampling its VmHWM every `poll_s` (getrusage's ru_maxrss is no use here: a child
    forked from a big parent inherits the parent's high-water mark). A child that must be exact about its peak
    also reports `peak_rss_mib()` itself just before it exits."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        started = time.perf_counter()
        proc = subprocess.Popen(list(cmd), stdout=out, stderr=err, env=env, text=True)
        peak: float | None = None
        while proc.poll() is None:
            seen = peak_rss_mib(proc.pid)
            if seen is not None:
                peak = max(peak or 0.0, seen)
            if timeout is not None and time.perf_counter() - started > timeout:
                proc.kill()
                proc.wait()
                break
            time.sleep(poll_s)
        wall = time.perf_counter() - started
        out.seek(0)
        err.seek(0)
        return ChildRun(out.read(), err.read(), proc.returncode, peak, wall)


def portable(text: str) -> str:
    """`text` with this machine's absolute paths replaced by placeholders (<repo>, <shared>, <site-packages>, ~),
    so committed results say where things were without naming one machine's folders."""
    import site
    import sysconfig

    roots = [(str(ROOT), "<repo>"), (str(SHARED.resolve()), "<shared>"), (str(SHARED), "<shared>"),
             (sysconfig.get_paths()["purelib"], "<site-packages>"),
             *((p, "<site-packages>") for p in site.getsitepackages()), (str(Path.home()), "~")]
    for root, placeholder in sorted(roots, key=lambda r: -len(r[0])):
        text = text.replace(root, placeholder)
    return text


def write_json(path: Path, data: Any) -> Path:
    """Write `data` as indented JSON (dataclasses must be converted by the caller), paths made portable."""
    return write_text(path, json.dumps(data, indent=2, ensure_ascii=False))


def write_text(path: Path, text: str) -> Path:
    """Write a text file (markdown tables), creating its folder, paths made portable."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = portable(text)
    path.write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8")
    return path


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[Any]], align: str | None = None) -> str:
    """A GitHub markdown table; `align` is one character per column ("l" or "r"), right-aligned by default."""
    align = align or "l" + "r" * (len(headers) - 1)
    rule = ["---:" if a == "r" else ":---" for a in align]
    lines = [headers, rule, *[[_cell(v) for v in row] for row in rows]]
    return "\n".join("| " + " | ".join(str(c) for c in line) + " |" for line in lines)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}" if abs(value) < 1 else f"{value:.1f}"
    return str(value)

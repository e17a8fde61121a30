"""Virtual environments of the peers a user would pick instead of workvec (OpenVINO through sentence-transformers,
fastembed), each created by the benchmark in `.bench-cache/venvs/NAME` with its own pinned packages, so that
their pins never touch the product's venv.

A venv is reused while its `.pins` stamp equals the pins below; otherwise it is rebuilt. torch comes from the
machine's CPU wheel when pip can find it (constraints.txt keeps pip off CUDA builds, as scripts/install.sh does).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/: the shared _common helpers
from _common import CACHE, ROOT, log  # noqa: E402

VENVS = CACHE / "venvs"
# Top-level pins per peer; everything else is what pip resolves for them (recorded in the results as `freeze`).
PEERS: dict[str, tuple[str, ...]] = {
    # sentence-transformers' OpenVINO backend (optimum-intel + openvino) and its static int8 export (nncf + datasets)
    # (without the optimum-intel pin pip picks 1.15.0, which imports openvino.runtime, gone in openvino 2026)
    "openvino": ("torch==2.13.0", "sentence-transformers[openvino]==5.7.0", "optimum-intel[openvino,nncf]==2.2.0",
                 "datasets==5.0.1"),
    # fastembed with a custom local ONNX model (add_custom_model + specific_model_path)
    "fastembed": ("fastembed==0.9.1",),
}
TORCH_FIRST = {"openvino": "torch==2.13.0"}  # installed alone first, pinned, so no other package pulls CUDA torch
# Uninstalled after: PyPI's torchvision (an optimum-intel requirement) is built against CUDA torch; beside the CPU
# torch its ops do not register and `transformers.AutoProcessor` (imported by optimum-intel's quantizer) fails with
# "operator torchvision::nms does not exist". Only optimum-intel's visual-language models import it.
REMOVE_AFTER = {"openvino": ("torchvision",)}
# encode_speed.py's peer variants and the venv each runs in
PEER_ENV = {"ov-fp32": "openvino", "ov-int8-static": "openvino", "fastembed-fp32": "fastembed",
            "fastembed-int8": "fastembed"}


def python_of(name: str) -> Path:
    """The peer venv's interpreter."""
    return VENVS / name / "bin" / "python"


def ensure(name: str) -> tuple[Path | None, str]:
    """The peer venv `name` (created or rebuilt when its pins changed): its python, or None and why it failed."""
    pins, removed = PEERS[name], REMOVE_AFTER.get(name, ())
    wanted = [*pins, *(f"-{p}" for p in removed)]  # the stamp: what the venv was built from
    venv, stamp = VENVS / name, VENVS / name / ".pins"
    if python_of(name).is_file() and stamp.is_file() and json.loads(stamp.read_text()) == wanted:
        return python_of(name), "cached"
    shutil.rmtree(venv, ignore_errors=True)
    log(f"creating the {name} peer venv in {venv} ({', '.join(wanted)}) ...")
    base = getattr(sys, "_base_executable", sys.executable)
    steps = [[base, "-m", "venv", str(venv)],
             [str(python_of(name)), "-m", "pip", "install", "-q", "--upgrade", "pip"]]
    if name in TORCH_FIRST:
        steps.append([str(python_of(name)), "-m", "pip", "install", "-q", "-c", str(ROOT / "constraints.txt"),
                      TORCH_FIRST[name]])
    steps.append([str(python_of(name)), "-m", "pip", "install", "-q", *pins])
    if removed:
        steps.append([str(python_of(name)), "-m", "pip", "uninstall", "-q", "-y", *removed])
    for cmd in steps:
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            why = f"`{' '.join(cmd[1:])}` failed ({proc.returncode}): {proc.stderr.strip()[-600:]}"
            log(f"  {name}: {why}")
            return None, why
    stamp.write_text(json.dumps(wanted))
    return python_of(name), "created"


def freeze(name: str) -> list[str]:
    """`pip freeze` of the peer venv (what was measured)."""
    proc = subprocess.run([str(python_of(name)), "-m", "pip", "freeze", "--all"], capture_output=True, text=True)
    return [line for line in proc.stdout.splitlines() if line and not line.startswith("-e ")]


if __name__ == "__main__":  # python benchmarks/speed/_peer_envs.py [NAME ...]: build the venvs ahead of a run
    for peer in sys.argv[1:] or list(PEERS):
        print(peer, *ensure(peer))

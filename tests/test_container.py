"""The container image of `workvec serve` (Containerfile, scripts/container.sh).

Fast tier: every serve option can come from the environment (WORKVEC_SERVE_<OPTION>, what the image sets and
`docker run -e` overrides), and the Containerfile keeps its promises on paper (multi-stage, non-root,
HEALTHCHECK on /ready, base as an argument, indexes built at build time).
Slow tier: scripts/container.sh builds the image with podman on a local debootstrap base and checks it against
a running container (/ready, /v1/normalize, /v1/extract, /v1/embeddings, SIGTERM); skipped with the reason
where podman (or root, for debootstrap) is not available.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from workvec.errors import InputError
from workvec.serve.cli import ENV_PREFIX, register

ROOT = Path(__file__).resolve().parents[1]
CONTAINERFILE = ROOT / "Containerfile"


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    return parser.parse_args(["serve", *argv])


def test_every_serve_option_reads_the_environment(monkeypatch) -> None:
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    serve = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices["serve"]
    options = [a for a in serve._actions if a.option_strings and a.dest != "help"]
    assert len(options) >= 20
    for action in options:  # a value that differs from the default, as the environment would give it
        value = ("1" if action.nargs == 0 else next(c for c in action.choices if c != action.default)
                 if action.choices else "7" if action.type in (int, float) else "from-env")
        monkeypatch.setenv(ENV_PREFIX + action.dest.upper(), value)
    monkeypatch.setenv(ENV_PREFIX + "NO_TITLES", "0")  # both sides off would be refused by the settings
    args = parse([])
    assert args.env_errors == []
    assert (args.port, args.max_texts, args.max_wait_ms, args.threads) == (7, 7, 7.0, 7)
    assert (args.host, args.api_key_env, args.titles_taxonomy) == ("from-env", "from-env", "from-env")
    assert (args.no_titles, args.no_skills, args.no_batching) == (False, True, True)
    assert args.precision != "auto" and args.log_level != "info"


def test_the_command_line_wins_and_empty_means_unset(monkeypatch) -> None:
    monkeypatch.setenv("WORKVEC_SERVE_PORT", "9000")
    monkeypatch.setenv("WORKVEC_SERVE_MAX_TEXTS", "")
    args = parse(["--port", "9100"])
    assert (args.port, args.max_texts, args.host) == (9100, 256, "127.0.0.1")


def test_bad_environment_values_are_named_when_serve_runs(monkeypatch) -> None:
    from workvec.serve.cli import _serve

    monkeypatch.setenv("WORKVEC_SERVE_PORT", "eighty")
    monkeypatch.setenv("WORKVEC_SERVE_NO_SKILLS", "maybe")
    monkeypatch.setenv("WORKVEC_SERVE_PRECISION", "fp16")
    args = parse([])
    with pytest.raises(InputError) as caught:
        _serve(args)
    message = str(caught.value)
    assert "WORKVEC_SERVE_PORT='eighty': --port takes a number" in message
    assert "WORKVEC_SERVE_NO_SKILLS='maybe': --no-skills is a flag, set it to 1 or 0" in message
    assert "WORKVEC_SERVE_PRECISION='fp16': --precision is one of auto, int8, fp32" in message


def test_containerfile_shape() -> None:
    text = CONTAINERFILE.read_text(encoding="utf-8")
    lines = [line.strip() for line in text.splitlines()]
    assert lines.index("ARG BASE=python:3.11-slim") < lines.index("FROM ${BASE} AS builder") < lines.index("FROM ${BASE}")
    final = text[text.index("\nFROM ${BASE}\n"):]
    assert "g++" not in final and "pip install" not in final  # builds stay in the builder stage
    assert "\nUSER workvec\n" in final and "useradd --system --uid 10001" in final
    assert "HEALTHCHECK" in final and "/ready" in final.split("HEALTHCHECK", 1)[1]
    assert 'ENTRYPOINT ["/usr/bin/tini", "--", "workvec", "serve"]' in final and "WORKVEC_SERVE_HOST=0.0.0.0" in final
    assert "container_warm.py" in text.split("\nFROM ${BASE}\n")[0]  # indexes built at build time
    ignore = (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
    assert ignore[ignore.index("*") + 1:].count("!scripts/container_warm.py") == 1


def _why_not() -> str | None:
    if shutil.which("podman") is None:
        return "podman is not installed (apt-get install -y podman runc; see scripts/container.sh)"
    if shutil.which("runc") is None:
        return "runc is not installed (podman's crun fails on these machines' hybrid cgroups)"
    if os.geteuid() != 0:
        return "needs root (debootstrap makes the local base image; rootful podman)"
    if shutil.which("debootstrap") is None:
        base = subprocess.run(["podman", "image", "exists", "localhost/workvec-base:bookworm-amd64"], check=False)
        if base.returncode != 0:
            return "debootstrap is not installed and there is no localhost/workvec-base image"
    return None


@pytest.mark.slow
def test_image_builds_and_serves(tmp_path: Path) -> None:
    """scripts/container.sh all: base (once), build, run and check. Several minutes on 2 cores (the index build)."""
    why = _why_not()
    if why:
        pytest.skip(why)
    out = tmp_path / "check.json"
    done = subprocess.run(["bash", str(ROOT / "scripts" / "container.sh"), "all"], check=False, cwd=ROOT,
                          env={**os.environ, "CHECK_OUT": str(out), "ARCH": "amd64", "LANGUAGE_GUARD": "script"},
                          capture_output=True, text=True, timeout=3600)
    assert done.returncode == 0, done.stderr[-4000:]
    report = json.loads(out.read_text())
    assert report["failed"] == []
    assert report["sizes"]["image_bytes"] <= 400e6, report["sizes"]
    assert report["rss_at_ready_mib"]["VmRSS"] < 400
    assert report["vs_library"]["same_ranks"]

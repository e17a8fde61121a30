"""The peers' own model assets (OpenVINO exports and their calibration set, fastembed's Dense head), per model."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING, Any

from _common import CACHE, log
from _peer_envs import PEER_ENV, ensure
from _speed_assets import SKILLSPAN_JSON, ModelAssets, sentences

if TYPE_CHECKING:
    from encode_speed import Config

CALIBRATION_CONFIG = "skillspan"  # the config name of the local calibration dataset folder


def calibration_folder(exclude: int = 2048) -> Path:
    """A local Hugging Face dataset folder (README.md `configs:` + train.csv, column `text`) of SkillSpan *train*
    sentences, for OpenVINO's static int8 calibration without the hub; the first `exclude` sentences of the
    benchmark's own sampling order (its measured sentences) are left out, so calibration never sees them."""
    import csv

    out = CACHE / "calibration" / "skillspan-train"
    if (out / "train.csv").is_file():
        return out
    measured = set(sentences(exclude).texts)
    rows = [json.loads(line)["tokens"] for line in (SKILLSPAN_JSON / "train.json").read_text(encoding="utf-8").splitlines()
            if line]
    texts = [t for t in dict.fromkeys(" ".join(r) for r in rows if len(r) >= 5) if t not in measured]
    tmp = out.with_name(out.name + ".partial")
    tmp.mkdir(parents=True, exist_ok=True)
    with open(tmp / "train.csv", "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["text"])
        writer.writerows([t] for t in texts)
    (tmp / "README.md").write_text(
        f"---\nconfigs:\n- config_name: {CALIBRATION_CONFIG}\n  data_files:\n  - split: train\n    path: train.csv\n---\n"
        f"SkillSpan train sentences of >= 5 tokens ({len(texts)}), minus the encode_speed benchmark's sentences.\n",
        encoding="utf-8")
    tmp.rename(out)
    return out


def head_weights(st_dir: Path, name: str) -> Path | None:
    """The anchor route's Dense head (weight, bias) as .npz, for peers that run the transformer only and have no
    such module (fastembed); None when the model has no head."""
    out = CACHE / "heads" / f"{name}.npz"
    if out.is_file():
        return out
    import numpy as np
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(st_dir), device="cpu")
    modules = list(model)
    if len(modules) < 3 or type(modules[2]).__name__ != "Router":
        return None
    state = modules[2].state_dict()
    pick = lambda end: next(v for k, v in state.items() if "anchor" in k and k.endswith(end))  # noqa: E731
    out.parent.mkdir(parents=True, exist_ok=True)
    np.savez(out, weight=pick("weight").float().numpy(), bias=pick("bias").float().numpy())
    return out


def openvino_exports(python: Path, st_dir: Path, name: str, num_samples: int) -> tuple[Path | None, str]:
    """sentence-transformers' OpenVINO export of `st_dir` (fp32) and its static int8 export
    (`export_static_quantized_openvino_model`, calibrated on `calibration_folder()`), built by `python` (the
    openvino peer venv) into one folder; None and the failure when it cannot be built."""
    out = CACHE / "st-openvino" / f"{name}-cal{num_samples}"
    builder = Path(__file__).resolve().with_name("_peer_build.py")
    if (out / "openvino" / "openvino_model_qint8_quantized.xml").is_file():
        return out, "cached"
    calib = calibration_folder()
    log(f"exporting {st_dir} with sentence-transformers backend='openvino' + static int8 -> {out} ...")
    env = {**__import__("os").environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    proc = subprocess.run([str(python), str(builder), str(st_dir), str(out), str(calib), CALIBRATION_CONFIG,
                           str(num_samples)], capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        return None, f"the OpenVINO export failed ({proc.returncode}): {proc.stderr.strip()[-800:]}"
    return out, "built"


def prepare_peers(cfg: Config, model: ModelAssets) -> tuple[dict[str, Any], dict[str, str]]:
    """The peers' venvs and assets for `model`: job fields (with the peer variants that can run) and, per peer
    variant that cannot, exactly why."""
    wanted = [v for v in cfg.variants if v in PEER_ENV]
    extra: dict[str, Any] = {"peer_variants": []}
    why: dict[str, str] = {}
    if not wanted:
        return extra, why
    from workvec.runtime.manifest import read_manifest

    extra["hidden"] = int(json.loads((model.st_dir / "config.json").read_text())["hidden_size"])
    head = head_weights(model.st_dir, model.name)
    extra["head"] = str(head) if head else None
    for env in dict.fromkeys(PEER_ENV[v] for v in wanted):
        python, said = ensure(env)
        mine = [v for v in wanted if PEER_ENV[v] == env]
        if python is None:
            why.update({v: f"venv {env}: {said}" for v in mine})
            continue
        if env == "openvino":
            folder, said = openvino_exports(python, model.st_dir, model.name, cfg.ov_calibration_samples)
            if folder is None:
                why.update({v: said for v in mine})
                continue
            extra["ov_dir"] = str(folder)
        extra["peer_variants"] += mine
    if read_manifest(model.bundle).branch and "fastembed" in str(extra["peer_variants"]) and not head:
        why.update({v: "the model has a route but no Dense head was found" for v in extra["peer_variants"]
                    if v.startswith("fastembed")})
    return extra, why

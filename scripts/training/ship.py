"""Export the trained checkpoint through workvec's gate and copy the shipped part into the package.

The exported bundle is a skill bundle (token vectors + mean-pooled sentence vector) that also serves titles
(`"tasks": ["skill", "title"]` in its manifest): the model was trained for both on the same pooled vector.
What ships (workvec/models/<name>/) is the int8 model, the tokenizer and a manifest listing only those two files;
the fp32 model stays in the full bundle (`--bundle-out`), and its sha256 is kept as `source_fp32_sha256`.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

from workvec.export import ExportRequest, export_bundle
from workvec.runtime.manifest import MANIFEST_NAME, MODEL_FILES, TOKENIZER_FILE

SHIPPED = (MODEL_FILES["int8"], TOKENIZER_FILE)
# 7-bit weights: the one int8 preset that gives the right vectors on every CPU (full-range s8 needs VNNI or ARM,
# and the package ships no fp32 model to fall back to), and the same bundle wherever the script runs
PORTABLE_PRESET = "avx2"
CALIBRATION = Path(__file__).with_name("calibration.json")  # the shipped model's tuned skill threshold
TASKS = ["skill", "title"]


def export_and_ship(checkpoint: Path, bundle: Path, ship_dir: Path | None, record: dict,
                    log: Callable[[str], None]) -> None:
    """Export `checkpoint` to `bundle` (gate included) and, when `ship_dir` is given, write the shipped copy."""
    log(f"exporting {checkpoint} -> {bundle} (parity gate, per-row int8, {PORTABLE_PRESET} preset) ...")
    export_bundle(ExportRequest(model=str(checkpoint), kind="skill", out=bundle, quantize=PORTABLE_PRESET), log=log)
    manifest = json.loads((bundle / MANIFEST_NAME).read_text(encoding="utf-8"))
    manifest["tasks"] = TASKS
    (bundle / MANIFEST_NAME).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    (bundle / "train.json").write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")
    if ship_dir is None:
        return
    ship_dir.mkdir(parents=True, exist_ok=True)  # its README.md (the model card) and __init__-free files stay
    for name in SHIPPED:
        shutil.copy2(bundle / name, ship_dir / name)
    shipped = dict(manifest)
    shipped["source_fp32_sha256"] = manifest["files"][MODEL_FILES["fp32"]]["sha256"]
    shipped["files"] = {name: manifest["files"][name] for name in SHIPPED}
    shipped["source"] = {**manifest["source"], "model": f"scripts/train_default.py (step {record['best_step']})",
                         "path": None}  # not this machine's checkpoint folder
    _write(ship_dir / MANIFEST_NAME, _calibrated(shipped))
    summary = {k: record[k] for k in ("base", "base_sha256", "settings", "inputs", "counts", "versions",
                                      "best_step", "best_validation_full", "zero_shot_validation", "train_seconds")}
    (ship_dir / "train.json").write_text(json.dumps(summary, indent=1) + "\n", encoding="utf-8")
    log(f"shipped {', '.join(SHIPPED)} + {MANIFEST_NAME} to {ship_dir}")


def _calibrated(shipped: dict) -> dict:
    """`shipped` with the tuned skill threshold (calibration.json, from benchmarks/quality/tune_extract.py on
    validation) when it was tuned for this very model."""
    calibration = json.loads(CALIBRATION.read_text(encoding="utf-8")) if CALIBRATION.is_file() else {}
    if calibration.get("model_sha256") != shipped.get("source_fp32_sha256"):
        return shipped
    return {**shipped, "skill_threshold": calibration["skill_threshold"]}


def _write(path: Path, manifest: dict) -> None:
    path.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def calibrate(ship_dir: Path) -> bool:
    """Apply calibration.json to an already shipped manifest (after tuning); True when it was for this model."""
    path = ship_dir / MANIFEST_NAME
    shipped = json.loads(path.read_text(encoding="utf-8"))
    calibrated = _calibrated(shipped)
    _write(path, calibrated)
    return "skill_threshold" in calibrated

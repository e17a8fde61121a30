"""Build sentence-transformers' OpenVINO exports of one model (run by _peer_assets.openvino_exports with the
openvino peer venv's python): the fp32 IR (`backend="openvino"` + save) and the static int8 IR of
`export_static_quantized_openvino_model`, calibrated on a local dataset folder (all four dataset arguments given,
so nothing is fetched from the hub).

    python _peer_build.py ST_DIR OUT_DIR CALIBRATION_DIR CONFIG_NAME NUM_SAMPLES
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path


def main(st_dir: str, out: str, calibration: str, config: str, num_samples: int) -> None:
    """Export fp32 when missing, then the static int8 file beside it."""
    from optimum.intel import OVQuantizationConfig
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.backend import export_static_quantized_openvino_model

    target = Path(out)
    if not (target / "openvino" / "openvino_model.xml").is_file():
        tmp = target.with_name(target.name + ".partial")
        shutil.rmtree(tmp, ignore_errors=True)
        SentenceTransformer(st_dir, device="cpu", backend="openvino").save(str(tmp))
        shutil.rmtree(target, ignore_errors=True)
        tmp.rename(target)
    model = SentenceTransformer(str(target), device="cpu", backend="openvino")
    export_static_quantized_openvino_model(
        model, OVQuantizationConfig(num_samples=num_samples), str(target), dataset_name=calibration,
        dataset_config_name=config, dataset_split="train", column_name="text")
    print("OK", target, flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:5], int(sys.argv[5]))

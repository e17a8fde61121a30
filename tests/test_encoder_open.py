"""`Encoder.open` on the committed tiny bundles: precision, providers and options, bundle integrity, graph cache."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import copy_bundle
from encoder_support import DIM, MAX_LEN, TEXTS

from workvec import Encoder
from workvec.errors import BundleError, InputError, ProviderError
from workvec.runtime import cpu
from workvec.runtime.cpu import int8_weight_problem
from workvec.runtime.manifest import MANIFEST_NAME

# --- loading ------------------------------------------------------------------------------------------------


def test_auto_precision_is_int8_on_cpu(tiny_title_bundle):
    encoder = Encoder.open(tiny_title_bundle, threads=1)
    assert encoder.info.precision == "int8"
    assert encoder.info.providers[0] == "CPUExecutionProvider"
    assert encoder.info.dim == encoder.dim == DIM and encoder.info.max_seq_length == MAX_LEN
    assert encoder.info.threads == 1 and encoder.info.bundle == str(tiny_title_bundle)


def test_options_are_keyword_only(tiny_title_bundle):
    with pytest.raises(TypeError):
        Encoder.open(tiny_title_bundle, "fp32")  # type: ignore[misc]
    with pytest.raises(TypeError):
        Encoder.open(tiny_title_bundle).encode(["a"], 8)  # type: ignore[misc]


def test_fp32_only_bundle_refuses_int8(tiny_title_bundle, tmp_path):
    bundle = copy_bundle(tiny_title_bundle, tmp_path / "fp32-only")
    (bundle / "model.int8.onnx").unlink()
    manifest = json.loads((bundle / MANIFEST_NAME).read_text(encoding="utf-8"))
    del manifest["files"]["model.int8.onnx"]
    (bundle / MANIFEST_NAME).write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(BundleError, match="no int8 model"):
        Encoder.open(bundle, precision="int8", providers="cpu")
    assert Encoder.open(bundle).info.precision == "fp32"  # auto falls back to what the bundle has


def _full_range_s8(bundle, *, fp32: bool = True):
    """`bundle` re-labelled as exported with the avx512_vnni preset (full-range s8 weights)."""
    manifest = json.loads((bundle / MANIFEST_NAME).read_text(encoding="utf-8"))
    manifest["quantization"].update(preset="avx512_vnni", reduce_range=False, weight_type="QInt8")
    if not fp32:
        (bundle / "model.onnx").unlink()
        del manifest["files"]["model.onnx"]
    (bundle / MANIFEST_NAME).write_text(json.dumps(manifest), encoding="utf-8")
    return bundle


def test_int8_weight_problem_needs_vnni_on_x86():
    vnni_s8 = {"weight_type": "QInt8", "reduce_range": False, "preset": "avx512_vnni"}
    avx2 = {"avx2", "fma", "avx512f", "avx512bw"}
    assert "saturating" in int8_weight_problem(vnni_s8, flags=avx2, machine="x86_64")
    assert int8_weight_problem(vnni_s8, flags=avx2 | {"avx512_vnni"}, machine="x86_64") is None
    assert int8_weight_problem(vnni_s8, flags=avx2 | {"avx_vnni"}, machine="x86_64") is None
    assert int8_weight_problem(vnni_s8, flags={"asimd"}, machine="aarch64") is None
    assert int8_weight_problem({**vnni_s8, "reduce_range": True}, flags=avx2, machine="x86_64") is None
    assert int8_weight_problem({**vnni_s8, "weight_type": "QUInt8"}, flags=avx2, machine="x86_64") is None


def test_full_range_int8_on_a_cpu_without_vnni(tiny_title_bundle, tmp_path, monkeypatch):
    """Such a CPU would saturate: auto runs fp32 with a warning, int8 or an int8-only bundle is refused."""
    monkeypatch.setattr(cpu, "cpu_flags", lambda: {"avx2", "fma"})
    monkeypatch.setattr(cpu.platform, "machine", lambda: "x86_64")
    bundle = _full_range_s8(copy_bundle(tiny_title_bundle, tmp_path / "vnni"))
    with pytest.warns(UserWarning, match="running its fp32 model instead"):
        assert Encoder.open(bundle, providers="cpu").info.precision == "fp32"
    with pytest.raises(BundleError, match="--quantize avx2 .* or open it with precision='fp32'"):
        Encoder.open(bundle, precision="int8", providers="cpu")
    int8_only = _full_range_s8(copy_bundle(tiny_title_bundle, tmp_path / "vnni-int8"), fp32=False)
    with pytest.raises(BundleError, match="saturating"):
        Encoder.open(int8_only, providers="cpu")
    monkeypatch.setattr(cpu, "cpu_flags", lambda: {"avx2", "fma", "avx512_vnni"})
    assert Encoder.open(bundle, providers="cpu").info.precision == "int8"


def test_unknown_provider_lists_available(tiny_title_bundle):
    with pytest.raises(ProviderError) as info:
        Encoder.open(tiny_title_bundle, providers=["FooExecutionProvider"])
    message = str(info.value)
    assert "FooExecutionProvider" in message and "CPUExecutionProvider" in message


def test_unknown_provider_alias(tiny_title_bundle):
    with pytest.raises(ProviderError, match="'tpu'"):
        Encoder.open(tiny_title_bundle, providers="tpu")


def test_bad_precision_and_threads(tiny_title_bundle):
    with pytest.raises(InputError, match="precision"):
        Encoder.open(tiny_title_bundle, precision="fp16")
    with pytest.raises(InputError, match="threads"):
        Encoder.open(tiny_title_bundle, threads=0)


@pytest.fixture
def bundle_copy(tiny_title_bundle, tmp_path):
    return copy_bundle(tiny_title_bundle, tmp_path / "bundle")


def test_flipped_byte_is_detected(bundle_copy):
    path = bundle_copy / "model.int8.onnx"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(BundleError, match=r"model\.int8\.onnx.*altered"):
        Encoder.open(bundle_copy, precision="int8", providers="cpu")
    Encoder.open(bundle_copy, precision="fp32", providers="cpu")  # the untouched fp32 model still loads


def test_graph_cache_serves_later_loads_with_equal_outputs(bundle_copy, tmp_path, monkeypatch):
    monkeypatch.setenv("WORKVEC_HOME", str(tmp_path / "home"))
    first = Encoder.open(bundle_copy, precision="int8", providers="cpu")
    entries = list((tmp_path / "home" / "graphs").glob("*.onnx"))
    assert len(entries) == 1 and not list((tmp_path / "home" / "graphs").glob(".*"))  # no temp file left
    second = Encoder.open(bundle_copy, precision="int8", providers="cpu")
    np.testing.assert_array_equal(first.encode(TEXTS), second.encode(TEXTS))


def test_graph_cache_never_hides_an_altered_model(bundle_copy, tmp_path, monkeypatch):
    monkeypatch.setenv("WORKVEC_HOME", str(tmp_path / "home"))
    Encoder.open(bundle_copy, precision="int8", providers="cpu")  # fills the cache
    path = bundle_copy / "model.int8.onnx"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))  # same size, new mtime: a different file state
    with pytest.raises(BundleError, match=r"model\.int8\.onnx.*altered"):
        Encoder.open(bundle_copy, precision="int8", providers="cpu")


def test_graph_cache_can_be_turned_off(bundle_copy, tmp_path, monkeypatch):
    monkeypatch.setenv("WORKVEC_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("WORKVEC_GRAPH_CACHE", "0")
    Encoder.open(bundle_copy, precision="int8", providers="cpu")
    assert not (tmp_path / "home" / "graphs").exists()


def test_truncated_file_is_detected(bundle_copy):
    path = bundle_copy / "model.int8.onnx"
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])
    for verify in (True, False):  # the size check runs even without the sha256 pass
        with pytest.raises(BundleError, match=r"model\.int8\.onnx.*truncated"):
            Encoder.open(bundle_copy, precision="int8", providers="cpu", verify=verify)


def test_missing_or_broken_manifest(bundle_copy, tmp_path):
    (bundle_copy / "tokenizer.json").unlink()
    with pytest.raises(BundleError, match=r"tokenizer\.json.*missing"):
        Encoder.open(bundle_copy, precision="int8", providers="cpu")
    (bundle_copy / MANIFEST_NAME).write_text("{not json")
    with pytest.raises(BundleError, match="not valid JSON"):
        Encoder.open(bundle_copy)
    with pytest.raises(BundleError, match="does not exist"):
        Encoder.open(tmp_path / "nowhere")

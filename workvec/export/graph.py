"""Build the torch module that becomes the ONNX graph, with the model's whole head inside it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workvec.errors import ExportError
from workvec.export._deps import require
from workvec.export.source import HEAD_TYPES, ModelSource

torch = require("torch")
OPSET = 17


@dataclass(frozen=True)
class GraphSpec:
    """What the exported graph computes."""

    kind: str
    branch: str | None
    inputs: tuple[str, ...]
    head: tuple[str, ...]
    pooling: str
    normalize: bool


class _Graph(torch.nn.Module):
    """transformer -> pooling -> head (one Router branch, Dense, ...) -> optional L2 normalisation."""

    def __init__(self, transformer, pooling, head: list, normalize: bool, skill: bool) -> None:
        super().__init__()
        self.transformer = transformer
        self.pooling = pooling
        self.head = torch.nn.ModuleList(head)
        self.normalize = normalize
        self.skill = skill

    def forward(self, input_ids, attention_mask, token_type_ids=None):  # noqa: D102
        kwargs = {"input_ids": input_ids, "attention_mask": attention_mask}
        if token_type_ids is not None:
            kwargs["token_type_ids"] = token_type_ids
        tokens = self.transformer(**kwargs, return_dict=False)[0]
        features = self.pooling({"token_embeddings": tokens, "attention_mask": attention_mask})
        for module in self.head:
            features = module(features)
        embedding = features["sentence_embedding"]
        if self.normalize:
            embedding = torch.nn.functional.normalize(embedding, p=2.0, dim=1)
        return (tokens, embedding) if self.skill else embedding


def load_model(source: ModelSource) -> Any:
    """Load the sentence-transformers model on CPU in eval mode."""
    st = require("sentence_transformers")
    try:
        model = st.SentenceTransformer(str(source.path), device="cpu", local_files_only=True)
    except Exception as exc:
        raise ExportError(f"sentence-transformers cannot load {source.path}: {type(exc).__name__}: {exc}") from exc
    model.max_seq_length = source.max_seq_length
    return model.eval()


def routes(model: Any) -> dict[str, list]:
    """The Router/Asym branches of `model` (empty when it has none)."""
    for module in model:
        if type(module).__name__ in HEAD_TYPES:
            return {name: list(seq) for name, seq in module.sub_modules.items()}
    return {}


def default_branch(model: Any) -> str | None:
    """`anchor` when the head has it (JobBERT-v2), else the Router's default route."""
    found = routes(model)
    if not found:
        return None
    if "anchor" in found:
        return "anchor"
    router = next(m for m in model if type(m).__name__ in HEAD_TYPES)
    return router.default_route or next(iter(found))


def build(model: Any, kind: str, branch: str | None) -> tuple[_Graph, GraphSpec]:
    """The module to export and its description; validates `branch` against the model's routes."""
    found = routes(model)
    if kind == "skill" and branch is not None:
        raise ExportError("--branch applies to --kind title only; skill bundles output the pooled transformer states")
    if branch is not None and not found:
        raise ExportError(f"--branch {branch!r} given, but the model has no Asym/Router head; drop --branch")
    if branch is not None and branch not in found:
        raise ExportError(f"--branch {branch!r} is not a route of this model; its routes are {sorted(found)}")
    if kind == "title" and branch is None:
        branch = default_branch(model)
    modules = list(model)
    transformer, pooling, rest = modules[0], modules[1], modules[2:]
    head: list = []
    normalize = False
    if kind == "title":
        for module in rest:
            name = type(module).__name__
            if name in HEAD_TYPES:
                head.extend(found[branch])
            elif name == "Normalize":
                normalize = True
            else:
                head.append(module)
    inputs = tuple(n for n in ("input_ids", "attention_mask", "token_type_ids") if n in model.tokenizer.model_input_names)
    spec = GraphSpec(
        kind=kind,
        branch=branch if kind == "title" else None,
        inputs=inputs,
        head=tuple(type(m).__name__ for m in head),
        pooling=_pooling_name(pooling),
        normalize=normalize,
    )
    return _Graph(transformer.auto_model, pooling, head, normalize, kind == "skill").eval(), spec


def export_onnx(graph: _Graph, spec: GraphSpec, tokenizer: Any, path: Path) -> None:
    """Trace `graph` to ONNX at `path` with dynamic batch and sequence axes."""
    sample = tokenizer(["a software engineer", "senior data analyst with python and sql"], padding=True, return_tensors="pt")
    args = tuple(sample[name] for name in spec.inputs)
    outputs = ["token_embeddings", "sentence_embedding"] if spec.kind == "skill" else ["sentence_embedding"]
    axes = {name: {0: "batch", 1: "sequence"} for name in spec.inputs}
    axes["sentence_embedding"] = {0: "batch"}
    if spec.kind == "skill":
        axes["token_embeddings"] = {0: "batch", 1: "sequence"}
    with torch.inference_mode():
        torch.onnx.export(
            graph,
            args,
            str(path),
            input_names=list(spec.inputs),
            output_names=outputs,
            dynamic_axes=axes,
            opset_version=OPSET,
            do_constant_folding=True,
            dynamo=False,
        )


def _pooling_name(pooling: Any) -> str:
    """The pooling mode as a string ("mean", "cls", or "mean+max" for combined modes)."""
    mode = getattr(pooling, "pooling_mode", "mean")
    return "+".join(mode) if isinstance(mode, (list, tuple)) else str(mode)

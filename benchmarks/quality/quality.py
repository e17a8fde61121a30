"""Retrieval quality of workvec bundles against the sentence-transformers reference.

    python benchmarks/quality/quality.py skills --data FILE [--data FILE ...] --labels FILE [--model MODEL]
        [--scorer {contextmatch,cosine}] [--label-vectors {pooled,unit}]
        [--variants reference,fp32_exact,int8_exact,int8_index] [--limit N] [--json OUT] [--fresh]
    python benchmarks/quality/quality.py titles --data FILE --occupations FILE [--model MODEL] [--variants ...]
        [--limit N] [--json OUT] [--fresh]
    python benchmarks/quality/quality.py extract [--bundle DIR] [--splits validation,test] [--threshold T] [--top-k K]
        [--no-requirement-filter] [--no-group] [--json OUT]     (quality_extract.py: what `workvec extract` answers)

Variants, all on the same queries:
  reference   sentence-transformers (torch), exact scoring, the model's own head (skills: token embeddings
              and transformer+pooling label vectors; titles: model.encode, through the Router/Asym branch)
  fp32_exact  the bundle's fp32 graph (onnxruntime), exact scoring over every target
  int8_exact  the bundle's int8 graph, exact scoring over every target
  int8_index  the product path: int8 graph + HNSW label index for candidates, then
              skills: SkillExtractor.score_sentence_tokens (exact ConTeXT-match of the candidates), or the
                      index's top INDEX_K labels (exact cosines) with --scorer cosine;
              titles: TitleNormalizer.search(k=INDEX_K) (concepts by their best label, product order).
              Targets outside the candidates rank after all candidates, in target-list order: a query whose
              gold is missed gets rank #candidates+1.., so its MRR share is a slight over-estimate (at most
              1/(#candidates+1)), and int8_index can read a hair above int8_exact.
              Bundles exported before 2026-11-27 have int8 vectors that depend on batch composition
              (per-tensor activation scales: one text against itself in another batch read cosine
              0.98-0.99), so for them int8_index - int8_exact is that noise plus HNSW recall; per-row int8
              bundles are batch-invariant (parity.int8.batch_invariance), leaving only HNSW recall.
Ranks are 1-based under a stable descending sort: ties go to the earlier target (label-list / taxonomy order).
Ties matter for titles "/all": occupations sharing an alternative label tie exactly (1,135 of the 15,463
JobBERT titles); counting ties optimistically would read MRR 0.374 instead of 0.364.

Skills (workrb protocol, see quality_data.py): MRR, RP@K = |relevant in top K| / min(K, |relevant|), per-query
mean. ConTeXT-match scores token vectors against the raw mean-pooled label vectors (the product's formula,
workvec.runtime.contextmatch). --label-vectors unit L2-normalises the label vectors first, which is what
`model.encode(labels)` gives for models ending in Normalize (all-MiniLM-L6-v2, all-mpnet-base-v2) and what
shared/data/README.md's ConTeXT-match figures used (MiniLM HOUSE 0.300, TECH 0.422; raw vectors read 0.333,
0.425). Cosine scoring is invariant to it. Titles: each distinct title once with one occupation (see
quality_data.load_titles); MRR and R@K (percent) micro-averaged over titles, scored (a) by preferred labels
only ("/preferred") and (b) by preferred + alternative labels, a concept by its best ("/all").

Caches (git-ignored .bench-cache): bundles in bundles/<model-dir-name>-<kind> (exported with export_bundle on
first use; the default model's directory is called "model", so its bundles are minilm-<kind>, shared with the
speed benchmarks), label indexes in indexes/quality/ (HNSW; a folder of their own, so the
exact-mode indexes other tools keep under the same names do not collide), target vectors in vectors/ (keyed by the encoder's identity
and the texts; --fresh re-encodes).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/: the shared _common helpers
import quality_data as qd  # noqa: E402
import quality_extract  # noqa: E402
from quality_metrics import SKILL_KEYS, TITLE_KEYS, Metrics, deltas, markdown  # noqa: E402
from _common import log, machine_info, write_json  # noqa: E402
from quality_assets import (  # noqa: E402
    BUNDLES, SETTINGS, cached_vectors, load_encoder, model_identity, open_index, reference_model)

from workvec.runtime.contextmatch import (  # noqa: E402
    compute_skill_norms, cosine_scores, match_scores, match_scores_batch)

VARIANTS = ("reference", "fp32_exact", "int8_exact", "int8_index")
QUERY_BATCH = 64  # queries scored together (bounds the (batch x targets) score matrix)
TITLE_BATCH = 512
INDEX_K = 100  # int8_index: concepts per title / labels per sentence (cosine) fetched from the index
PACKAGES = ("workvec", "numpy", "onnxruntime", "hnswlib", "tokenizers", "torch", "sentence-transformers")


# -------------------------------------------------------------------------------------------- skills
def skill_scorer(variant: str, model: str, labels: list[str], scorer: str, tax_name: str, unit: bool):
    """A function sentences -> (len, n_labels) scores; label vectors are encoded here, once.
    `unit`: ConTeXT-match against L2-normalised label vectors instead of the raw mean-pooled ones."""
    n = len(labels)
    if variant == "reference":
        import torch

        from workvec.export.reference import pooled_encoder, token_outputs

        st = reference_model(model)
        pooled = pooled_encoder(st)

        def tokens_fn(texts):
            with torch.inference_mode():
                return token_outputs(st, texts)

        def vectors_fn(texts):
            with torch.inference_mode():
                return pooled(texts)
        identity = ["reference-pooled", model_identity(model)]
    elif variant in ("fp32_exact", "int8_exact"):
        enc = load_encoder(model, "skill", variant.split("_")[0])
        tokens_fn = lambda texts: [t.vectors for t in enc.encode_tokens(texts, batch_size=32)]  # noqa: E731
        vectors_fn = lambda texts: enc.encode(texts, batch_size=128)  # noqa: E731
        identity = [enc.info.precision, enc.manifest.identity()]
    elif variant == "int8_index":
        from workvec.runtime.skills import ExtractSettings, SkillExtractor

        enc = load_encoder(model, "skill", "int8")
        index = open_index(enc, qd.label_taxonomy(labels, tax_name), include_alt=False)
        assert index.labels == tuple(labels)
        extractor = SkillExtractor(enc, index, ExtractSettings(threshold=0))
        unit_vecs = index.index.vectors()

        def index_scores(texts):
            out = np.full((len(texts), n), -np.inf, dtype=np.float32)
            if scorer == "contextmatch":
                for row, tokens in enumerate(t.vectors for t in enc.encode_tokens(texts, batch_size=32)):
                    rows, scores = extractor.score_sentence_tokens(tokens)
                    out[row, rows] = match_scores(tokens, unit_vecs[rows]) if unit else scores
            else:
                rows, scores = index.search(enc.encode(texts, batch_size=128), INDEX_K)
                np.put_along_axis(out, rows, scores, axis=1)
            return out
        return index_scores
    else:
        raise SystemExit(f"unknown variant {variant!r}; choose from {', '.join(VARIANTS)}")
    label_vecs = cached_vectors(identity, labels, vectors_fn)
    if unit:
        label_vecs = label_vecs / np.maximum(np.linalg.norm(label_vecs, axis=1, keepdims=True), 1e-12)
    if scorer == "contextmatch":
        norms = compute_skill_norms(label_vecs)
        return lambda texts: match_scores_batch(tokens_fn(texts), label_vecs, skill_norms=norms)
    return lambda texts: cosine_scores(vectors_fn(texts), label_vecs)


def run_skills(args) -> dict:
    labels = qd.load_label_list(args.labels)
    datasets = {qd.dataset_name(p): qd.load_skill_queries(p, labels)[: args.limit] for p in args.data}
    for name, queries in datasets.items():
        log(f"{name}: {len(queries)} queries over {len(labels)} labels")
    tax_name = Path(args.labels).stem
    results: dict = {name: {} for name in datasets}
    seconds = {}
    for variant in args.variants:
        started = time.perf_counter()
        score = skill_scorer(variant, args.model, labels, args.scorer, tax_name, args.label_vectors == "unit")
        for name, queries in datasets.items():
            metrics = Metrics(SKILL_KEYS)
            for lo in range(0, len(queries), QUERY_BATCH):
                batch = queries[lo:lo + QUERY_BATCH]
                for q, row in zip(batch, score([q.sentence for q in batch])):
                    metrics.add_skill(row, q.relevant)
            results[name][variant] = metrics.summary()
            log(f"{variant} {name}: {results[name][variant]}")
        seconds[variant] = round(time.perf_counter() - started, 1)
    return {"task": "skills", "scorer": args.scorer, "label_vectors": args.label_vectors,
            "labels": str(args.labels), "n_labels": len(labels),
            "datasets": results, "seconds": seconds}


# -------------------------------------------------------------------------------------------- titles
def title_concept_scores(variant: str, model: str, taxonomy, titles: list[str]):
    """Yield (setting, (n_titles, n_concepts) scores in TITLE_BATCH chunks) for preferred and all labels."""
    labels, owners = taxonomy.labels(include_alt=True)
    owners = np.asarray(owners)
    starts = np.flatnonzero(np.r_[True, owners[1:] != owners[:-1]])  # each concept's first (preferred) label
    if variant == "int8_index":
        from workvec.runtime.titles import TitleNormalizer

        enc = load_encoder(model, "title", "int8")
        ids = {c.id: i for i, c in enumerate(taxonomy.concepts)}
        def ranked(found):  # the product's order, exactly; concepts not found rank after all found
            out = np.full((len(found), len(taxonomy)), -np.inf, dtype=np.float32)
            for row, matches in enumerate(found):
                for pos, m in enumerate(matches):
                    out[row, ids[m.id]] = len(matches) - pos
            return out

        for setting, alt in (("preferred", False), ("all", True)):
            normalizer = TitleNormalizer(enc, open_index(enc, taxonomy, include_alt=alt), floor=None)
            normalize = (lambda t: [a.matches for a in normalizer.normalize(t, k=INDEX_K)]) if SETTINGS.get(
                "clean_titles") else (lambda t: normalizer.search(t, k=INDEX_K))  # --clean: the product's cleaning
            yield setting, (ranked(normalize(titles[lo:lo + TITLE_BATCH]))
                            for lo in range(0, len(titles), TITLE_BATCH))
        return
    if variant == "reference":
        import torch

        from workvec.export.graph import default_branch
        from workvec.export.reference import title_encoder

        st = reference_model(model)
        encode = title_encoder(st, default_branch(st))
        with torch.inference_mode():
            t_vecs = encode(titles)
            l_vecs = cached_vectors(["reference-title", model_identity(model), default_branch(st)], labels, encode)
    elif variant in ("fp32_exact", "int8_exact"):
        enc = load_encoder(model, "title", variant.split("_")[0])
        t_vecs = enc.encode(titles, batch_size=128)
        l_vecs = cached_vectors([enc.info.precision, enc.manifest.identity()], labels,
                                lambda texts: enc.encode(texts, batch_size=128))
    else:
        raise SystemExit(f"unknown variant {variant!r}; choose from {', '.join(VARIANTS)}")
    unit = lambda x: x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)  # noqa: E731
    t_vecs, l_vecs = unit(np.asarray(t_vecs, np.float32)), unit(np.asarray(l_vecs, np.float32))
    chunks = lambda f: (f(t_vecs[lo:lo + TITLE_BATCH]) for lo in range(0, len(t_vecs), TITLE_BATCH))  # noqa: E731
    yield "preferred", chunks(lambda t: t @ l_vecs[starts].T)
    yield "all", chunks(lambda t: np.maximum.reduceat(t @ l_vecs.T, starts, axis=1))


def run_titles(args) -> dict:
    taxonomy = qd.load_occupations(args.occupations)
    queries, counts = qd.load_titles(args.data, taxonomy)
    queries = queries[: args.limit]
    log(f"titles: {len(queries)} queries over {len(taxonomy)} occupations; {counts}")
    name = qd.dataset_name(args.data).replace("titles.", "jobbert-")
    results: dict = {f"{name}/preferred": {}, f"{name}/all": {}}
    seconds = {}
    titles = [q.title for q in queries]
    for variant in args.variants:
        started = time.perf_counter()
        for setting, chunks in title_concept_scores(variant, args.model, taxonomy, titles):
            metrics, i = Metrics(TITLE_KEYS), 0
            for block in chunks:
                for row in block:
                    metrics.add_title(row, queries[i].target)
                    i += 1
            results[f"{name}/{setting}"][variant] = metrics.summary()
            log(f"{variant} {name}/{setting}: {metrics.summary()}")
        seconds[variant] = round(time.perf_counter() - started, 1)
    return {"task": "titles", "occupations": str(args.occupations), "n_occupations": len(taxonomy),
            "title_counts": counts, "datasets": results, "seconds": seconds}


def parse_args(argv=None):
    from workvec.defaults import default_model

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="task", required=True)
    quality_extract.add_arguments(sub.add_parser("extract", help="whole-ad P/R/F1 and boilerplate FP rate"))
    for task in ("skills", "titles"):
        p = sub.add_parser(task)
        p.add_argument("--data", action="append" if task == "skills" else "store", required=True, type=Path)
        if task == "skills":
            p.add_argument("--labels", required=True, type=Path)
            p.add_argument("--scorer", choices=("contextmatch", "cosine"), default="contextmatch")
            p.add_argument("--label-vectors", choices=("pooled", "unit"), default="pooled",
                           help="ConTeXT-match against raw mean-pooled label vectors (the product's formula, default)"
                                " or L2-normalised ones (what model.encode gives; the data README's figures)")
        else:
            p.add_argument("--occupations", required=True, type=Path)
            p.add_argument("--clean", action="store_true", help="int8_index: clean titles first (TitleNormalizer.answer)")
        p.add_argument("--model", default=None, help="sentence-transformers directory or hub id (default: MiniLM)")
        p.add_argument("--variants", default=",".join(VARIANTS))
        p.add_argument("--limit", type=int, default=None, help="first N queries per dataset")
        p.add_argument("--json", type=Path, default=None)
        p.add_argument("--fresh", action="store_true", help="re-encode targets cached in .bench-cache/vectors")
    args = parser.parse_args(argv)
    if args.task == "extract":
        return args
    args.model = str(args.model or default_model())
    args.variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    bad = [v for v in args.variants if v not in VARIANTS]
    if bad or not args.variants:
        parser.error(f"--variants: unknown {bad}; choose from {', '.join(VARIANTS)}")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.task == "extract":  # quality_extract.py: the product's answers, not rankings
        report = {**quality_extract.run_extract(args), "machine": machine_info(PACKAGES)}
        print(quality_extract.markdown(report))
        if args.json:
            write_json(args.json, report)
            Path(args.json).with_suffix(".md").write_text(quality_extract.markdown(report) + "\n", encoding="utf-8")
        return 0
    SETTINGS["vector_cache"] = not args.fresh
    SETTINGS["clean_titles"] = getattr(args, "clean", False)
    started = time.perf_counter()
    report = run_skills(args) if args.task == "skills" else run_titles(args)
    report = {"task": report.pop("task"), "model": args.model, **report}
    report["delta"] = deltas(report["datasets"])
    report["bundles"] = BUNDLES
    report.update(limit=args.limit, vector_cache=not args.fresh,
                  total_seconds=round(time.perf_counter() - started, 1), machine=machine_info(PACKAGES))
    print(markdown(report))
    if args.json:
        write_json(args.json, report)
        Path(args.json).with_suffix(".md").write_text(markdown(report) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
